#pragma once
// A small command-line parser: `--flag VALUE`, `--flag=VALUE`, boolean `--flag`, positionals,
// and `--` ending the options (everything after it is kept as `command`).

#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace seccomp_gate::cli {

// A usage error: printed with the command's name, exit code 2.
class UsageError : public std::runtime_error {
  public:
    using std::runtime_error::runtime_error;
};

struct Args {
    std::map<std::string, std::string> values;
    std::set<std::string> flags;
    std::vector<std::string> positionals;
    std::vector<std::string> command;  // after "--"
    bool help = false;

    std::optional<std::string> value(const std::string& name) const;
    std::string required(const std::string& name) const;
    bool flag(const std::string& name) const { return flags.count(name) != 0; }
};

// `with_value` and `boolean` list the options a command accepts (without the dashes).
Args parse_args(const std::vector<std::string>& argv, const std::set<std::string>& with_value,
                const std::set<std::string>& boolean);

}  // namespace seccomp_gate::cli
