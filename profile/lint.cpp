#include "profile/lint.h"

#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "profile/filter.h"

namespace seccomp_gate::profile {
namespace {

// Document order matters for the findings (and for the reader), so objects keep their key order.
using Json = nlohmann::ordered_json;

constexpr auto kChecks = std::to_array<LintCheck>({
    {"json", Severity::kError, "the file is not valid JSON"},
    {"schema", Severity::kError,
     "a field of the runtime format is missing, misspelt or of the wrong type (errnoRet 0 to "
     "4095)"},
    {"unknown-action", Severity::kError, "an action libseccomp does not have"},
    {"unknown-architecture", Severity::kError, "an architecture libseccomp does not have"},
    {"unknown-flag", Severity::kError, "a filter flag runc does not support"},
    {"errno-ret", Severity::kError,
     "errnoRet or defaultErrnoRet with an action other than SCMP_ACT_ERRNO or SCMP_ACT_TRACE"},
    {"notify", Severity::kError,
     "SCMP_ACT_NOTIFY as defaultAction, without listenerPath, or for write (runc refuses them)"},
    {"arg-index", Severity::kError, "an argument condition whose index is not 0 to 5"},
    {"arg-op", Severity::kError, "an argument condition with an unknown operator"},
    {"empty-names", Severity::kError, "a syscalls[] rule that names no system call"},
    {"unknown-syscall", Severity::kError,
     "a system call name unknown on every architecture the profile lists"},
    {"contradictory-rules", Severity::kError,
     "the same system call in two rules without arguments, with different actions"},
    {"compile", Severity::kError,
     "libseccomp cannot build or compile the BPF filter for one of the profile's architectures"},
    {"permissive-default", Severity::kWarning,
     "defaultAction SCMP_ACT_ALLOW or SCMP_ACT_LOG: the profile blocks only what it lists"},
    {"dangerous-syscall", Severity::kWarning,
     "a rule allows a system call that lets a container reach the kernel or the host"},
    {"exit-blocked", Severity::kWarning,
     "exit, exit_group or rt_sigreturn is not allowed: every process fails, the pod crash-loops"},
    {"docker-only-key", Severity::kWarning,
     "archMap, includes, excludes or name: Docker reads them, containerd ignores them"},
    {"no-architectures", Severity::kWarning,
     "no architectures: the filter covers the node's native system call table only"},
    {"lint-internal", Severity::kError, "the linter could not finish (out of memory, ...)"},
});

// Why each of these is out of place in a container: they reach kernel state that is not
// namespaced (modules, keyrings, clocks, swap, kexec), widen the kernel attack surface well
// beyond what applications need (bpf, perf, userfaultfd, new namespaces), or cross the
// container's boundary (ptrace and process_vm_* into other processes, mounts, file handles).
// Docker's default profile withholds most of them unless the container has the matching
// capability. The best-known come first: messages list the first few.
constexpr auto kDangerous = std::to_array<DangerousSyscall>({
    {"ptrace",
     "reads and writes other processes' memory and registers; before Linux 4.8 it "
     "bypasses seccomp"},
    {"bpf", "loads BPF programs into the kernel: a large attack surface, and kernel memory reads"},
    {"mount", "changes the mount table: with a capability, reaches host file systems"},
    {"umount2", "changes the mount table, can expose what a mount hides"},
    {"unshare",
     "creates namespaces: user namespaces open kernel attack surface to unprivileged "
     "code"},
    {"setns", "enters other namespaces"},
    {"keyctl", "the kernel keyring is not namespaced: keys are shared with the host"},
    {"add_key", "the kernel keyring is not namespaced: keys are shared with the host"},
    {"request_key", "the kernel keyring is not namespaced: keys are shared with the host"},
    {"kexec_load", "loads a new kernel to boot into"},
    {"kexec_file_load", "loads a new kernel to boot into"},
    {"init_module", "kernel modules: code in the host kernel"},
    {"finit_module", "kernel modules: code in the host kernel"},
    {"delete_module", "kernel modules: unloads host kernel code"},
    {"open_by_handle_at", "opens host files by handle, past the container's mount namespace"},
    {"perf_event_open", "kernel attack surface, and it observes other processes and the host"},
    {"userfaultfd", "stalls the kernel on page faults: the classic way to win kernel races"},
    {"process_vm_writev", "writes another process's memory"},
    {"pivot_root", "changes the root file system"},
    {"swapon", "turns host swap on"},
    {"swapoff", "turns host swap off"},
    {"reboot", "reboots the host, or with a PID namespace stops the container's init"},
    {"acct", "switches host-wide process accounting"},
    {"clock_adjtime", "the system clock is not namespaced: it changes the host's time"},
    {"clock_settime", "the system clock is not namespaced: it changes the host's time"},
    {"create_module", "kernel modules: code in the host kernel"},
    {"fsconfig", "the new mount API: mounts file systems, as mount does"},
    {"fsmount", "the new mount API: mounts file systems, as mount does"},
    {"fsopen", "the new mount API: mounts file systems, as mount does"},
    {"fspick", "the new mount API: reconfigures mounted file systems"},
    {"ioperm", "raw I/O port access"},
    {"iopl", "raw I/O port access"},
    {"lookup_dcookie", "kernel profiling interface; leaks host paths"},
    {"mount_setattr", "changes mount properties (read-only, idmapping, propagation)"},
    {"move_mount", "the new mount API: attaches mounts, as mount does"},
    {"name_to_handle_at", "file handles: the first half of the open_by_handle_at escape"},
    {"open_tree", "the new mount API: clones mount trees"},
    {"process_vm_readv", "reads another process's memory"},
    {"quotactl", "file system quotas of the host's devices"},
    {"settimeofday", "the system clock is not namespaced: it changes the host's time"},
    {"syslog", "reads and clears the kernel log: leaks kernel addresses"},
    {"vm86", "virtual 8086 mode: old, rarely used kernel code"},
});

// What every process needs to terminate and to return from a signal handler, and what breaks
// without it.
struct ExitSyscall {
    std::string_view name;
    std::string_view breaks;
};
constexpr auto kExitSyscalls = std::to_array<ExitSyscall>({
    {"exit", "threads cannot end"},
    {"exit_group", "processes cannot exit"},
    {"rt_sigreturn", "processes cannot return from a signal handler"},
});

constexpr std::array<std::string_view, 3> kFlags{
    "SECCOMP_FILTER_FLAG_TSYNC", "SECCOMP_FILTER_FLAG_LOG", "SECCOMP_FILTER_FLAG_SPEC_ALLOW"};

// The kernel caps SECCOMP_RET_ERRNO's data at MAX_ERRNO; runc passes it as int16.
constexpr std::uint64_t kMaxErrno = 4095;
constexpr std::uint64_t kArgumentCount = 6;
constexpr std::size_t kShownValueLength = 60;
constexpr std::size_t kListedDangerous = 6;

// A JSON value as the message shows it: compact, and cut short.
std::string shown(const Json& value) {
    std::string text = value.dump(-1, ' ', false, Json::error_handler_t::replace);
    if (text.size() > kShownValueLength) text = text.substr(0, kShownValueLength) + "...";
    return text;
}

std::string json_quoted(std::string_view text) { return shown(Json(std::string(text))); }

std::string type_name(const Json& value) {
    if (value.is_number_unsigned()) return "a number";
    if (value.is_number_integer()) return "a negative number";
    if (value.is_number_float()) return "a non-integer number";
    return value.type_name();
}

bool is_allow(std::string_view action) {
    return action == "SCMP_ACT_ALLOW" || action == "SCMP_ACT_LOG";
}

bool takes_errno(std::string_view action) {
    return action == "SCMP_ACT_ERRNO" || action == "SCMP_ACT_TRACE";
}

std::string rule_field(std::size_t rule) { return "syscalls[" + std::to_string(rule) + "]"; }

std::string name_field(std::size_t rule, std::size_t name) {
    return rule_field(rule) + ".names[" + std::to_string(name) + "]";
}

std::string action_text(std::string_view action, std::optional<std::uint32_t> errno_ret) {
    std::string text(action);
    if (errno_ret) text += " (errnoRet " + std::to_string(*errno_ret) + ")";
    return text;
}

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
    std::string text;
    for (const auto& item : items) {
        if (!text.empty()) text += separator;
        text += item;
    }
    return text;
}

class Linter {
  public:
    LintReport run(std::string_view text);

  private:
    void add(Severity severity, std::string_view check, std::string field, std::string message) {
        findings_.push_back({severity, std::string(check), std::move(field), std::move(message)});
    }
    void error(std::string_view check, std::string field, std::string message) {
        add(Severity::kError, check, std::move(field), std::move(message));
    }
    void warn(std::string_view check, std::string field, std::string message) {
        add(Severity::kWarning, check, std::move(field), std::move(message));
    }
    // A schema error: the document cannot become a Profile.
    void schema(std::string field, std::string message) {
        schema_ok_ = false;
        error("schema", std::move(field), std::move(message));
    }
    bool errors_so_far() const {
        return std::any_of(findings_.begin(), findings_.end(),
                           [](const LintFinding& f) { return f.severity == Severity::kError; });
    }

    // Decoding: the runtime format's schema, plus the checks that need the raw document.
    void decode(const Json& document, Profile& profile);
    void decode_rule(const Json& entry, std::size_t index, SyscallRule& rule);
    void decode_arg(const Json& arg, const std::string& where, ArgRule& rule);
    std::optional<std::string> string_field(const Json& value, const std::string& field);
    std::optional<std::uint32_t> errno_field(const Json& value, const std::string& field);
    std::optional<std::uint64_t> u64_field(const Json& value, const std::string& field);
    std::vector<std::string> string_list(const Json& value, const std::string& field);
    void docker_key(const std::string& field, std::string_view key, const Json& value);

    // The checks on the decoded profile.
    void check_semantics(const Profile& profile);
    void check_unknown_syscalls(const Profile& profile);
    void check_contradictions(const Profile& profile);
    void check_compiles(const Profile& profile);
    void check_permissive(const Profile& profile);
    void check_dangerous(const Profile& profile);
    void check_exit(const Profile& profile);

    std::vector<LintFinding> findings_;
    bool schema_ok_ = true;
};

std::optional<std::string> Linter::string_field(const Json& value, const std::string& field) {
    if (value.is_string()) return value.get<std::string>();
    schema(field, "must be a string, not " + type_name(value) + " " + shown(value));
    return std::nullopt;
}

std::optional<std::uint32_t> Linter::errno_field(const Json& value, const std::string& field) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() <= kMaxErrno) {
        return static_cast<std::uint32_t>(value.get<std::uint64_t>());
    }
    schema(field, "must be an errno number from 0 to 4095, not " + shown(value));
    return std::nullopt;
}

std::optional<std::uint64_t> Linter::u64_field(const Json& value, const std::string& field) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    schema(field,
           "must be an integer from 0 to 2^64-1, not " + type_name(value) + " " + shown(value));
    return std::nullopt;
}

std::vector<std::string> Linter::string_list(const Json& value, const std::string& field) {
    std::vector<std::string> items;
    if (value.is_null()) return items;
    if (!value.is_array()) {
        schema(field, "must be a list of strings, not " + type_name(value) + " " + shown(value));
        return items;
    }
    for (std::size_t i = 0; i < value.size(); ++i) {
        auto item = string_field(value[i], field + "[" + std::to_string(i) + "]");
        items.push_back(item.value_or(std::string{}));
    }
    return items;
}

void Linter::docker_key(const std::string& field, std::string_view key, const Json& value) {
    if (key == "archMap") {
        warn("docker-only-key", field,
             "containerd ignores Docker's \"archMap\": the filter holds only the architectures "
             "in \"architectures\" (and the node's native one)");
    } else if (key == "includes") {
        warn("docker-only-key", field,
             "Docker applies this rule only when " + shown(value) +
                 " holds; containerd ignores \"includes\" and applies it always, which can "
                 "allow more than the profile means");
    } else if (key == "excludes") {
        warn("docker-only-key", field,
             "Docker skips this rule when " + shown(value) +
                 " holds; containerd ignores \"excludes\" and applies it always, which can allow "
                 "more than the profile means");
    } else {
        warn("docker-only-key", field,
             "containerd ignores Docker's old \"name\" " + shown(value) +
                 ": the rule does not apply to it there; list it in \"names\"");
    }
}

void Linter::decode(const Json& document, Profile& profile) {
    if (!document.is_object()) {
        schema("", "a profile must be a JSON object, not " + type_name(document));
        return;
    }
    for (const auto& [key, value] : document.items()) {
        if (key == "defaultAction") {
            const auto action = string_field(value, key);
            if (!action) continue;
            profile.default_action = *action;
            if (!action_value(*action, std::nullopt)) {
                error("unknown-action", key, json_quoted(*action) + " is not a seccomp action");
            } else if (*action == "SCMP_ACT_NOTIFY") {
                error("notify", key,
                      "SCMP_ACT_NOTIFY cannot be the default action: the runtime's own calls "
                      "after the filter is loaded, handing the listener to the agent among them, "
                      "would wait for an agent that does not have it yet (runc refuses it)");
            }
        } else if (key == "defaultErrnoRet") {
            profile.default_errno_ret = errno_field(value, key);
        } else if (key == "architectures") {
            profile.architectures = string_list(value, key);
            for (std::size_t i = 0; i < profile.architectures.size(); ++i) {
                const std::string& arch = profile.architectures[i];
                if (!arch.empty() && !arch_token(arch)) {
                    error("unknown-architecture", key + "[" + std::to_string(i) + "]",
                          json_quoted(arch) +
                              " is not an architecture (SCMP_ARCH_X86_64, "
                              "SCMP_ARCH_AARCH64, ...)");
                }
            }
        } else if (key == "flags") {
            profile.flags = string_list(value, key);
            for (std::size_t i = 0; i < profile.flags.size(); ++i) {
                const std::string& flag = profile.flags[i];
                if (!flag.empty() &&
                    std::find(kFlags.begin(), kFlags.end(), flag) == kFlags.end()) {
                    error("unknown-flag", key + "[" + std::to_string(i) + "]",
                          json_quoted(flag) +
                              " is not a flag runc supports (SECCOMP_FILTER_FLAG_TSYNC, "
                              "SECCOMP_FILTER_FLAG_LOG, SECCOMP_FILTER_FLAG_SPEC_ALLOW)");
                }
            }
        } else if (key == "listenerPath") {
            profile.listener_path = string_field(value, key).value_or(std::string{});
        } else if (key == "listenerMetadata" || key == "comment") {
            string_field(value, key);
        } else if (key == "archMap") {
            docker_key(key, key, value);
        } else if (key == "syscalls") {
            if (value.is_null()) continue;
            if (!value.is_array()) {
                schema(key, "must be a list of rules, not " + type_name(value));
                continue;
            }
            profile.syscalls.resize(value.size());
            for (std::size_t i = 0; i < value.size(); ++i) {
                decode_rule(value[i], i, profile.syscalls[i]);
            }
        } else {
            schema(key, "unknown field " + json_quoted(key) + " (not in the runtime format)");
        }
    }
    if (!document.contains("defaultAction")) schema("defaultAction", "is required");

    if (profile.default_errno_ret && !profile.default_action.empty() &&
        !takes_errno(profile.default_action)) {
        error("errno-ret", "defaultErrnoRet",
              std::to_string(*profile.default_errno_ret) + " goes with defaultAction " +
                  profile.default_action +
                  ", which returns no errno (only SCMP_ACT_ERRNO and "
                  "SCMP_ACT_TRACE do)");
    }
}

void Linter::decode_rule(const Json& entry, std::size_t index, SyscallRule& rule) {
    const std::string where = rule_field(index);
    if (!entry.is_object()) {
        schema(where, "must be an object, not " + type_name(entry) + " " + shown(entry));
        return;
    }
    bool has_name = false;
    for (const auto& [key, value] : entry.items()) {
        const std::string field = where + "." + key;
        if (key == "names") {
            if (value.is_null()) continue;
            rule.names = string_list(value, field);
            if (value.is_array() && value.empty()) {
                error("empty-names", field, "is empty: the rule applies to no system call");
            }
            for (std::size_t n = 0; n < rule.names.size(); ++n) {
                if (value[n].is_string() && rule.names[n].empty()) {
                    schema(name_field(index, n), "must be a system call name, not \"\"");
                }
            }
        } else if (key == "action") {
            const auto action = string_field(value, field);
            if (!action) continue;
            rule.action = *action;
            if (!action_value(*action, std::nullopt)) {
                error("unknown-action", field, json_quoted(*action) + " is not a seccomp action");
            }
        } else if (key == "errnoRet") {
            rule.errno_ret = errno_field(value, field);
        } else if (key == "args") {
            if (value.is_null()) continue;
            if (!value.is_array()) {
                schema(field, "must be a list of argument conditions, not " + type_name(value));
                continue;
            }
            rule.args.resize(value.size());
            for (std::size_t a = 0; a < value.size(); ++a) {
                decode_arg(value[a], field + "[" + std::to_string(a) + "]", rule.args[a]);
            }
        } else if (key == "comment") {
            string_field(value, field);
        } else if (key == "includes" || key == "excludes" || key == "name") {
            has_name = has_name || key == "name";
            docker_key(field, key, value);
        } else {
            schema(field, "unknown field " + json_quoted(key) + " (not in the runtime format)");
        }
    }
    if (!entry.contains("action")) schema(where + ".action", "is required");
    const auto names = entry.find("names");
    if ((names == entry.end() || names->is_null()) && !has_name) {
        error("empty-names", where, "has no \"names\": the rule applies to no system call");
    }

    if (rule.errno_ret && !rule.action.empty() && !takes_errno(rule.action)) {
        error("errno-ret", where + ".errnoRet",
              std::to_string(*rule.errno_ret) + " goes with action " + rule.action +
                  ", which returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)");
    }
}

void Linter::decode_arg(const Json& arg, const std::string& where, ArgRule& rule) {
    if (!arg.is_object()) {
        schema(where, "must be an object, not " + type_name(arg) + " " + shown(arg));
        return;
    }
    for (const auto& [key, value] : arg.items()) {
        const std::string field = where + "." + key;
        if (key == "index") {
            if (!value.is_number()) {
                schema(field, "must be a number, not " + type_name(value) + " " + shown(value));
            } else if (!value.is_number_unsigned() ||
                       value.get<std::uint64_t>() >= kArgumentCount) {
                error("arg-index", field,
                      shown(value) +
                          " is not an argument index: system calls have arguments 0 "
                          "to 5");
            } else {
                rule.index = static_cast<unsigned>(value.get<std::uint64_t>());
            }
        } else if (key == "value") {
            rule.value = u64_field(value, field).value_or(0);
        } else if (key == "valueTwo") {
            rule.value_two = u64_field(value, field).value_or(0);
        } else if (key == "op") {
            const auto op = string_field(value, field);
            if (!op) continue;
            rule.op = *op;
            if (!compare_op(*op)) {
                error("arg-op", field,
                      json_quoted(*op) +
                          " is not an operator (SCMP_CMP_NE, SCMP_CMP_LT, SCMP_CMP_LE, "
                          "SCMP_CMP_EQ, SCMP_CMP_GE, SCMP_CMP_GT, SCMP_CMP_MASKED_EQ)");
            }
        } else {
            schema(field, "unknown field " + json_quoted(key) + " (index, value, valueTwo, op)");
        }
    }
    if (!arg.contains("index")) schema(where + ".index", "is required");
    if (!arg.contains("op")) schema(where + ".op", "is required");
}

void Linter::check_semantics(const Profile& profile) {
    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        const SyscallRule& rule = profile.syscalls[i];
        if (rule.action != "SCMP_ACT_NOTIFY") continue;
        if (profile.listener_path.empty()) {
            error("notify", rule_field(i) + ".action",
                  "SCMP_ACT_NOTIFY needs \"listenerPath\", the seccomp agent's socket (runc "
                  "refuses the profile without it)");
        }
        for (std::size_t n = 0; n < rule.names.size(); ++n) {
            if (rule.names[n] == "write") {
                error("notify", name_field(i, n),
                      "SCMP_ACT_NOTIFY cannot apply to \"write\": the runtime writes to hand the "
                      "listener to the agent, and would wait on itself (runc refuses it)");
            }
        }
    }
    check_unknown_syscalls(profile);
    check_contradictions(profile);
    if (!errors_so_far()) check_compiles(profile);
    check_permissive(profile);
    check_dangerous(profile);
    check_exit(profile);
    if (profile.architectures.empty()) {
        warn("no-architectures", "architectures",
             "is missing: runtimes build the filter for the node's native architecture only, "
             "so 32-bit system calls (SCMP_ARCH_X86 on x86_64, SCMP_ARCH_ARM on aarch64) meet "
             "the filter's bad-architecture action instead of the profile's rules; list the "
             "architectures the profile is for");
    }
}

void Linter::check_unknown_syscalls(const Profile& profile) {
    // The architectures a name must exist on one of: the listed ones, or (none listed) any,
    // since the node's native architecture is not known here.
    std::vector<std::uint32_t> listed;
    for (const auto& arch : profile.architectures) {
        if (const auto token = arch_token(arch)) listed.push_back(*token);
    }
    const std::vector<std::uint32_t> all = known_architectures();
    const std::vector<std::uint32_t>& judged = listed.empty() ? all : listed;
    const scmp_version* version = seccomp_version();
    const std::string library = "libseccomp " + std::to_string(version->major) + "." +
                                std::to_string(version->minor) + "." +
                                std::to_string(version->micro);

    std::vector<std::string> listed_names;
    for (const std::uint32_t arch : listed) listed_names.emplace_back(arch_name(arch));

    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        const auto& names = profile.syscalls[i].names;
        for (std::size_t n = 0; n < names.size(); ++n) {
            if (names[n].empty()) continue;  // already a schema error
            const auto known_on = [&](std::uint32_t arch) {
                return seccomp_syscall_resolve_name_arch(arch, names[n].c_str()) >= 0;
            };
            if (std::any_of(judged.begin(), judged.end(), known_on)) continue;
            std::string message = json_quoted(names[n]) + " is not a system call on ";
            if (listed.empty()) {
                message += "any architecture (" + library + ")";
            } else {
                message += joined(listed_names, " or ") + " (" + library + ")";
                std::vector<std::string> elsewhere;
                for (const std::uint32_t arch : all) {
                    if (known_on(arch)) elsewhere.emplace_back(arch_name(arch));
                }
                if (!elsewhere.empty()) {
                    message += "; it exists on " + joined(elsewhere, ", ") +
                               ", which the profile does not list";
                }
            }
            error("unknown-syscall", name_field(i, n), std::move(message));
        }
    }
}

void Linter::check_contradictions(const Profile& profile) {
    struct First {
        std::size_t rule;
        std::size_t name;
        std::uint32_t action;
    };
    std::map<std::string, First, std::less<>> first;
    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        const SyscallRule& rule = profile.syscalls[i];
        const auto action = action_value(rule.action, rule.errno_ret);
        if (!rule.args.empty() || !action) continue;
        for (std::size_t n = 0; n < rule.names.size(); ++n) {
            const auto [it, inserted] = first.try_emplace(rule.names[n], First{i, n, *action});
            if (inserted || it->second.action == *action) continue;
            const SyscallRule& other = profile.syscalls[it->second.rule];
            error("contradictory-rules", name_field(i, n),
                  json_quoted(rule.names[n]) + " is " + action_text(rule.action, rule.errno_ret) +
                      " here but " + action_text(other.action, other.errno_ret) + " in " +
                      name_field(it->second.rule, it->second.name) +
                      ", both without argument conditions: the runtime keeps only one of them");
        }
    }
}

void Linter::check_compiles(const Profile& profile) {
    // One filter per listed architecture (the native one when none is listed), so that a rule
    // that only one architecture refuses is reported with it. Failures that every architecture
    // shares are reported once, naming them all.
    std::vector<std::uint32_t> arches;
    for (const auto& arch : profile.architectures) {
        if (const auto token = arch_token(arch);
            token && std::find(arches.begin(), arches.end(), *token) == arches.end()) {
            arches.push_back(*token);
        }
    }
    if (arches.empty()) arches.push_back(seccomp_arch_native());

    std::vector<std::pair<FilterError, std::vector<std::string>>> failures;
    for (const std::uint32_t arch : arches) {
        FilterError failure;
        const Filter filter = build_filter_for(profile, std::span(&arch, 1), false, failure);
        if (filter) {
            std::string export_error;
            if (!export_bpf(filter, export_error)) failure = {"", std::move(export_error)};
        }
        if (failure.field.empty() && failure.message.empty()) continue;
        const auto same = std::find_if(failures.begin(), failures.end(), [&](const auto& f) {
            return f.first.field == failure.field && f.first.message == failure.message;
        });
        if (same != failures.end()) {
            same->second.emplace_back(arch_name(arch));
        } else {
            failures.push_back({std::move(failure), {std::string(arch_name(arch))}});
        }
    }
    for (auto& [failure, on] : failures) {
        error("compile", failure.field,
              "no filter for " + joined(on, ", ") + ": " + failure.message);
    }
}

void Linter::check_permissive(const Profile& profile) {
    if (!is_allow(profile.default_action)) return;  // (an unknown action is not ALLOW or LOG)
    // The dangerous calls that no unconditional rule takes out of the default.
    std::set<std::string_view> blocked;
    for (const auto& rule : profile.syscalls) {
        if (!rule.args.empty() || is_allow(rule.action) || rule.action.empty()) continue;
        blocked.insert(rule.names.begin(), rule.names.end());
    }
    std::vector<std::string> open;
    std::size_t count = 0;
    for (const auto& dangerous : kDangerous) {
        if (blocked.count(dangerous.name) != 0) continue;
        if (++count <= kListedDangerous) open.emplace_back(dangerous.name);
    }
    std::string message = "is " + profile.default_action +
                          ": every system call no rule names is allowed" +
                          (profile.default_action == "SCMP_ACT_LOG" ? " (and logged)" : "");
    if (count > 0) {
        message += ", " + std::to_string(count) + " dangerous ones among them (" +
                   joined(open, ", ") + (count > open.size() ? ", ..." : "") + ")";
    }
    warn("permissive-default", "defaultAction", std::move(message));
}

void Linter::check_dangerous(const Profile& profile) {
    const auto default_action = action_value(profile.default_action, profile.default_errno_ret);
    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        const SyscallRule& rule = profile.syscalls[i];
        if (!is_allow(rule.action)) continue;
        // Under a default that already allows the same way, the rule changes nothing: the
        // permissive-default warning says it.
        if (default_action && action_value(rule.action, rule.errno_ret) == default_action) {
            continue;
        }
        for (std::size_t n = 0; n < rule.names.size(); ++n) {
            const auto found =
                std::find_if(kDangerous.begin(), kDangerous.end(),
                             [&](const DangerousSyscall& d) { return d.name == rule.names[n]; });
            if (found == kDangerous.end()) continue;
            warn("dangerous-syscall", name_field(i, n),
                 json_quoted(rule.names[n]) + " is allowed (" + rule.action +
                     (rule.args.empty() ? "" : ", under argument conditions") +
                     "): " + std::string(found->why));
        }
    }
}

void Linter::check_exit(const Profile& profile) {
    if (!action_value(profile.default_action, std::nullopt)) return;  // already an error
    for (const auto& [name, breaks] : kExitSyscalls) {
        // The first rule without argument conditions that names it decides; else the default.
        std::optional<std::pair<std::size_t, std::size_t>> decided;
        for (std::size_t i = 0; i < profile.syscalls.size() && !decided; ++i) {
            const SyscallRule& rule = profile.syscalls[i];
            if (!rule.args.empty()) continue;
            const auto it = std::find(rule.names.begin(), rule.names.end(), name);
            if (it != rule.names.end()) {
                decided = {i, static_cast<std::size_t>(it - rule.names.begin())};
            }
        }
        const std::string consequence = ": " + std::string(breaks) +
                                        ", so containers fail instead of exiting and pods "
                                        "crash-loop";
        if (decided) {
            const SyscallRule& rule = profile.syscalls[decided->first];
            if (is_allow(rule.action)) continue;
            warn("exit-blocked", name_field(decided->first, decided->second),
                 json_quoted(name) + " is " + action_text(rule.action, rule.errno_ret) +
                     consequence);
        } else if (!is_allow(profile.default_action)) {
            warn("exit-blocked", "syscalls",
                 json_quoted(name) + " is not allowed (no rule names it, and defaultAction is " +
                     profile.default_action + ")" + consequence);
        }
    }
}

LintReport Linter::run(std::string_view text) {
    LintReport report;
    Json document;
    try {
        document = Json::parse(text);
    } catch (const Json::parse_error& parse_error) {
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part
        // from "line".
        std::string what = parse_error.what();
        const auto at = what.find("at line");
        error("json", "",
              "not valid JSON" +
                  (at == std::string::npos ? std::string{} : ": " + what.substr(at + 3)));
        report.findings = std::move(findings_);
        return report;
    }
    Profile profile;
    decode(document, profile);
    if (schema_ok_) {
        check_semantics(profile);
        report.profile = std::move(profile);
    }
    report.findings = std::move(findings_);
    return report;
}

}  // namespace

std::string_view to_string(Severity severity) {
    return severity == Severity::kError ? "error" : "warning";
}

std::string LintFinding::text() const { return field.empty() ? message : field + ": " + message; }

bool LintReport::has_errors() const { return count(Severity::kError) > 0; }

std::size_t LintReport::count(Severity severity) const {
    return static_cast<std::size_t>(
        std::count_if(findings.begin(), findings.end(),
                      [&](const LintFinding& f) { return f.severity == severity; }));
}

LintReport lint_profile(std::string_view json_text) {
    try {
        return Linter().run(json_text);
    } catch (const std::exception& failure) {
        // Only resource exhaustion gets here (bad_alloc, ...): a profile must still not pass.
        LintReport report;
        report.findings.push_back(
            {Severity::kError, "lint-internal", "",
             std::string("the profile could not be checked: ") + failure.what()});
        return report;
    }
}

std::span<const LintCheck> lint_checks() { return kChecks; }

std::span<const DangerousSyscall> dangerous_syscalls() { return kDangerous; }

}  // namespace seccomp_gate::profile
