// `seccomp-gate profile lint|try|record`, and `profile lint [--output text|json] [--strict]
// PATH...`: the profile linter over files and directories.

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <system_error>
#include <vector>

#include "cli/args.h"
#include "cli/commands.h"
#include "policy/io/files.h"
#include "profile/lint.h"

namespace seccomp_gate::cli {
namespace {

namespace fs = std::filesystem;
using profile::LintReport;
using profile::Severity;

constexpr const char* kProfileHelp = R"(usage: seccomp-gate profile lint|try|record [OPTIONS] ...

Seccomp profiles in the JSON format of the kubelet's runtimes (containerd, CRI-O, runc, crun).

commands:
  lint     check profile files: schema, actions, system call names per architecture, that each
           compiles to a BPF filter; warns about weak profiles
  try      run a command under a profile on this kernel, the way a container runtime applies it
  record   run a command, record the system calls it makes, write an allow-list profile

Run `seccomp-gate profile <command> --help` for the options of a command.
)";

constexpr const char* kLintHelpHead =
    R"(usage: seccomp-gate profile lint [--output text|json] [--strict] PATH...

Checks seccomp profiles the way a container runtime reads them: the runtime format's fields and
types, actions, argument conditions, system call names on each listed architecture, and that the
profile compiles to a BPF filter with libseccomp for each of its architectures. Warns about
profiles that confine little. The webhook's catalog loader leaves out every profile with a lint
error. PATH is a profile file (whatever its name), a directory (every file under it, read as
the catalog loader reads it: symlinked directories inside it followed, ConfigMap "..data"
entries skipped) or - for stdin; a file over 1 MiB, the catalog's limit, cannot be read.

options:
  --output text|json   text: one line per finding, `file: field: severity: message [check]`
                       (default); json: {"summary", "files", "findings"}
  --strict             warnings fail too (exit 1)

exit: 0 no errors (warnings allowed), 1 errors (or warnings with --strict),
      2 usage, or a path that cannot be read

checks (docs/profiles.md explains each):
)";

constexpr std::size_t kCheckColumn = 30;
constexpr std::size_t kReadChunk = 64 * 1024;

// Reads a profile file or stdin as the catalog would take it: at most kMaxProfileBytes (a path
// such as /dev/zero must not be read forever). Throws ConfigError("NAME: ...").
std::string read_profile_bytes(int fd, const std::string& name) {
    std::string content;
    std::array<char, kReadChunk> buffer{};
    while (true) {
        const ssize_t got = ::read(fd, buffer.data(), buffer.size());
        if (got < 0) {
            if (errno == EINTR) continue;
            throw ConfigError(name + ": read error: " + std::system_category().message(errno));
        }
        if (got == 0) return content;
        content.append(buffer.data(), static_cast<std::size_t>(got));
        if (content.size() > io::kMaxProfileBytes) {
            throw ConfigError(name + ": larger than " + std::to_string(io::kMaxProfileBytes) +
                              " bytes, the catalog's limit for a profile file");
        }
    }
}

std::string read_profile_file(const std::string& path) {
    const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        throw ConfigError(path + ": cannot open: " + std::system_category().message(errno));
    }
    try {
        std::string content = read_profile_bytes(fd, path);
        ::close(fd);
        return content;
    } catch (...) {
        ::close(fd);
        throw;
    }
}

struct LintedFile {
    std::string file;
    std::string read_error;  // the file could not be read: not linted
    LintReport report;
};

std::size_t total(const std::vector<LintedFile>& files, Severity severity) {
    std::size_t count = 0;
    for (const auto& file : files) count += file.report.count(severity);
    return count;
}

void write_text(const std::vector<LintedFile>& files, std::ostream& out) {
    for (const auto& file : files) {
        for (const auto& finding : file.report.findings) {
            out << file.file << ": " << (finding.field.empty() ? "" : finding.field + ": ")
                << profile::to_string(finding.severity) << ": " << finding.message << " ["
                << finding.check << "]\n";
        }
    }
}

void write_json(const std::vector<LintedFile>& files, std::ostream& out) {
    using nlohmann::ordered_json;
    ordered_json file_list = ordered_json::array();
    ordered_json findings = ordered_json::array();
    std::size_t unreadable = 0;
    for (const auto& file : files) {
        ordered_json entry{{"file", file.file},
                           {"errors", file.report.count(Severity::kError)},
                           {"warnings", file.report.count(Severity::kWarning)}};
        if (!file.read_error.empty()) {
            entry["read_error"] = file.read_error;
            ++unreadable;
        }
        file_list.push_back(std::move(entry));
        for (const auto& finding : file.report.findings) {
            findings.push_back({{"file", file.file},
                                {"field", finding.field},
                                {"severity", profile::to_string(finding.severity)},
                                {"check", finding.check},
                                {"message", finding.message}});
        }
    }
    const ordered_json document{{"summary",
                                 {{"files", files.size()},
                                  {"errors", total(files, Severity::kError)},
                                  {"warnings", total(files, Severity::kWarning)},
                                  {"unreadable", unreadable}}},
                                {"files", std::move(file_list)},
                                {"findings", std::move(findings)}};
    out << document.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

int run_lint(const std::vector<std::string>& argv) {
    const Args args = parse_args(argv, {"output"}, {"strict"});
    if (args.help) {
        std::cout << kLintHelpHead;
        for (const auto& check : profile::lint_checks()) {
            const std::size_t pad =
                check.id.size() < kCheckColumn ? kCheckColumn - check.id.size() : 1;
            std::cout << "  " << check.id << std::string(pad, ' ')
                      << profile::to_string(check.severity) << ": " << check.summary << "\n";
        }
        return kExitOk;
    }
    const std::string output = args.value("output").value_or("text");
    if (output != "text" && output != "json") throw UsageError("--output must be text or json");
    if (args.positionals.empty()) throw UsageError("needs at least one PATH (or - for stdin)");
    if (!args.command.empty()) throw UsageError("takes no command after --");

    if (std::count(args.positionals.begin(), args.positionals.end(), "-") > 1) {
        throw UsageError("- (stdin) can be given once");
    }

    std::vector<LintedFile> files;
    const auto lint_bytes = [&](const std::string& name, const auto& read) {
        try {
            files.push_back({name, "", profile::lint_profile(read())});
        } catch (const ConfigError& read_error) {
            files.push_back({name, read_error.what(), {}});
        }
    };
    for (const auto& path : args.positionals) {
        if (path == "-") {
            lint_bytes("<stdin>", [] { return read_profile_bytes(STDIN_FILENO, "<stdin>"); });
            continue;
        }
        std::error_code error;
        if (!fs::exists(path, error)) {
            files.push_back({path, "no such file or directory", {}});
            continue;
        }
        if (!fs::is_directory(path, error)) {
            // A file named on the command line is linted whatever its name.
            lint_bytes(path, [&] { return read_profile_file(path); });
            continue;
        }
        // A directory is read exactly as the catalog loader and sync-profiles read it.
        try {
            const std::vector<CatalogFile> catalog = io::read_catalog_files(path);
            if (catalog.empty()) files.push_back({path, "no files in this directory", {}});
            for (const CatalogFile& file : catalog) {
                const std::string name = (fs::path(path) / file.relative_path).string();
                if (!file.read_error.empty()) {
                    files.push_back({name, file.read_error, {}});
                } else {
                    files.push_back({name, "", profile::lint_profile(file.content)});
                }
            }
        } catch (const ConfigError& walk_error) {
            files.push_back({path, walk_error.what(), {}});
        }
    }

    if (output == "json") {
        write_json(files, std::cout);
    } else {
        write_text(files, std::cout);
    }
    std::size_t unreadable = 0;
    for (const auto& file : files) {
        if (file.read_error.empty()) continue;
        ++unreadable;
        // read_file's messages already start with the path.
        const bool named = file.read_error.starts_with(file.file);
        std::cerr << "seccomp-gate profile lint: " << (named ? "" : file.file + ": ")
                  << file.read_error << "\n";
    }
    const std::size_t errors = total(files, Severity::kError);
    const std::size_t warnings = total(files, Severity::kWarning);
    std::cerr << "linted " << files.size() - unreadable << " profiles: " << errors << " errors, "
              << warnings << " warnings";
    if (unreadable > 0) std::cerr << ", " << unreadable << " unreadable";
    std::cerr << "\n";
    if (unreadable > 0) return kExitBadInput;
    if (errors > 0 || (warnings > 0 && args.flag("strict"))) return kExitFindings;
    return kExitOk;
}

// Usage errors of a subcommand name it, so the hint points at the right --help.
template <typename Command>
int with_usage(const char* name, Command command, const std::vector<std::string>& argv) {
    try {
        return command(argv);
    } catch (const UsageError& error) {
        std::cerr << "seccomp-gate profile " << name << ": " << error.what()
                  << " (see seccomp-gate profile " << name << " --help)\n";
        return kExitBadInput;
    }
}

}  // namespace

int profile_command(const std::vector<std::string>& argv) {
    if (argv.empty()) {
        std::cerr << kProfileHelp;
        return kExitBadInput;
    }
    const std::string& command = argv[0];
    const std::vector<std::string> rest(argv.begin() + 1, argv.end());
    if (command == "--help" || command == "-h" || command == "help") {
        std::cout << kProfileHelp;
        return kExitOk;
    }
    if (command == "lint") return with_usage("lint", profile_lint_command, rest);
    if (command == "try") return with_usage("try", profile_try_command, rest);
    if (command == "record") return with_usage("record", profile_record_command, rest);
    throw UsageError("unknown command \"" + command + "\" (lint, try or record)");
}

int profile_lint_command(const std::vector<std::string>& argv) { return run_lint(argv); }

}  // namespace seccomp_gate::cli
