#include "cli/args.h"

namespace seccomp_gate::cli {

std::optional<std::string> Args::value(const std::string& name) const {
    const auto found = values.find(name);
    if (found == values.end()) return std::nullopt;
    return found->second;
}

std::string Args::required(const std::string& name) const {
    auto found = value(name);
    if (!found) throw UsageError("--" + name + " is required");
    return *found;
}

Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
                const std::set<std::string>& boolean) {
    Args args;
    for (std::size_t i = 0; i < argv.size(); ++i) {
        const std::string& arg = argv[i];
        if (arg == "--") {
            args.command.assign(argv.begin() + static_cast<std::ptrdiff_t>(i) + 1, argv.end());
            break;
        }
        if (arg == "-h" || arg == "--help") {
            args.help = true;
            continue;
        }
        if (!arg.starts_with("--") || arg == "-") {
            args.positionals.push_back(arg);
            continue;
        }
        std::string name = arg.substr(2);
        std::optional<std::string> inline_value;
        if (const auto equals = name.find('='); equals != std::string::npos) {
            inline_value = name.substr(equals + 1);
            name.resize(equals);
        }
        if (with_value.count(name) != 0) {
            if (!inline_value) {
                if (i + 1 >= argv.size()) throw UsageError("--" + name + " needs a value");
                inline_value = argv[++i];
            }
            args.values[name] = *inline_value;
        } else if (boolean.count(name) != 0) {
            if (inline_value) throw UsageError("--" + name + " takes no value");
            args.flags.insert(name);
        } else {
            throw UsageError("unknown option --" + name);
        }
    }
    return args;
}

}  // namespace seccomp_gate::cli
