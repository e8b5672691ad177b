#include "profile/lint.h"

#include <linux/filter.h>
#include <seccomp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "profile/filter.h"

namespace seccomp_gate::profile {
namespace {

// Document order matters for the findings (and for the reader), so objects keep their key order.
using Json = nlohmann::ordered_json;

constexpr auto kChecks = std::to_array<LintCheck>({
    {"json", Severity::kError, "the file is not valid JSON"},
    {"schema", Severity::kError,
     "a field of the runtime format is missing, misspelt, of the wrong type (errnoRet 0 to "
     "4095) or given twice"},
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
     "a system call name libseccomp knows on no architecture at all (a typo)"},
    {"contradictory-rules", Severity::kError,
     "the same system call in two rules without arguments, with different actions"},
    {"too-large", Severity::kError,
     "more argument conditions, times architectures, than the linter compiles (1024)"},
    {"compile", Severity::kError,
     "libseccomp cannot build the BPF filter (architectures of both byte orders, a rule it "
     "refuses), or the program is longer than the kernel loads (4096 instructions)"},
    {"syscall-not-on-architectures", Severity::kWarning,
     "a system call that exists only on architectures the profile does not list: skipped"},
    {"repeated-arg-index", Severity::kWarning,
     "two conditions of one rule on the same argument: runc makes them alternatives (OR)"},
    {"other-byte-order", Severity::kWarning,
     "the architectures are all of the other byte order than this machine's: only such nodes "
     "build the filter"},
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
constexpr std::size_t kBpfInstructionBytes = sizeof(sock_filter);

// Appends `value` compactly to `text`, and stops once `text` is longer than a message shows: a
// large or deep value is never walked whole (nlohmann's dump recurses as deep as the value goes,
// and [[[...]]] 200 000 deep, a 400 kB file, overflowed the stack). Each level adds a character
// before it goes deeper, so this recursion ends within kShownValueLength levels.
void render(const Json& value, std::string& text) {
    if (text.size() > kShownValueLength) return;
    if (value.is_array()) {
        text += '[';
        for (auto item = value.begin(); item != value.end(); ++item) {
            if (text.size() > kShownValueLength) return;
            if (item != value.begin()) text += ',';
            render(*item, text);
        }
        text += ']';
    } else if (value.is_object()) {
        text += '{';
        for (auto item = value.begin(); item != value.end(); ++item) {
            if (text.size() > kShownValueLength) return;
            if (item != value.begin()) text += ',';
            text += Json(item.key()).dump(-1, ' ', false, Json::error_handler_t::replace) + ':';
            render(item.value(), text);
        }
        text += '}';
    } else {
        text += value.dump(-1, ' ', false, Json::error_handler_t::replace);
    }
}

// A JSON value as the message shows it: compact, and cut short.
std::string shown(const Json& value) {
    std::string text;
    render(value, text);
    if (text.size() > kShownValueLength) text = text.substr(0, kShownValueLength) + "...";
    return text;
}

std::string json_quoted(std::string_view text) { return shown(Json(std::string(text))); }

// Builds the document with nlohmann's SAX parser rather than its DOM parser, for three things the
// DOM parser loses or makes slow:
// - a key given twice in one object: the DOM parser silently keeps the last, and JSON parsers
//   disagree on which one counts (RFC 8259 section 4), so the webhook could judge one profile
//   and a node enforce another;
// - the text of a number that is not a 64-bit integer (18446744073709551616 would otherwise be
//   shown as 1.8446744073709552e+19);
// - time: ordered_json's insertion searches an object's keys so far (a 1 MB object of 80 000
//   keys took 5 s); this builder appends, and finds duplicates with a hash set.
class JsonBuilder final : public nlohmann::json_sax<Json> {
  public:
    static constexpr std::size_t kMaxDepth = 64;

    struct Duplicate {
        std::string field;  // "syscalls[0].action"
    };

    Json document;
    std::vector<Duplicate> duplicates;                          // the first kNamedDuplicates
    std::size_t more_duplicates = 0;                            // and how many more
    std::unordered_map<std::string, std::string> number_texts;  // field -> the number as written
    std::string parse_error_text;                               // nlohmann's message
    bool too_deep = false;                                      // nested beyond kMaxDepth

    bool null() override { return add(Json(nullptr)); }
    bool boolean(bool value) override { return add(Json(value)); }
    bool number_integer(number_integer_t value) override { return add(Json(value)); }
    bool number_unsigned(number_unsigned_t value) override { return add(Json(value)); }
    bool number_float(number_float_t value, const string_t& text) override {
        // Only where the runtime format has numbers (syscalls[].args[].value is 5 deep): a path
        // costs its depth, and a hostile document is 1 MB of deep floats.
        if (frames_.size() <= kNumberDepth) number_texts.emplace(path(), text);
        return add(Json(value));
    }
    bool string(string_t& value) override { return add(Json(std::move(value))); }
    bool binary(binary_t& value) override { return add(Json::binary(std::move(value))); }
    bool start_object(std::size_t /*elements*/) override { return open(Json::object()); }
    bool key(string_t& key) override {
        Frame& top = frames_.back();
        top.key = key;
        if (!top.keys.insert(std::move(key)).second) {
            // Named up to a few: a path costs its depth (a 1 MB document of 80 000 duplicates
            // 60 000 objects deep would need 10 GB of paths).
            if (duplicates.size() < kNamedDuplicates) {
                duplicates.push_back({path()});
            } else {
                ++more_duplicates;
            }
        }
        return true;
    }
    bool end_object() override { return close(); }
    bool start_array(std::size_t /*elements*/) override { return open(Json::array()); }
    bool end_array() override { return close(); }
    bool parse_error(std::size_t /*position*/, const std::string& /*last_token*/,
                     const nlohmann::detail::exception& error) override {
        parse_error_text = error.what();
        return false;
    }

  private:
    static constexpr std::size_t kNumberDepth = 5;
    static constexpr std::size_t kNamedDuplicates = 20;

    struct Frame {
        Json* value;  // stays valid: only the innermost open container grows
        std::string key;
        std::unordered_set<std::string> keys;
    };

    Json* place(Json value) {
        if (frames_.empty()) {
            document = std::move(value);
            return &document;
        }
        Frame& top = frames_.back();
        if (top.value->is_array()) {
            auto& items = top.value->get_ref<Json::array_t&>();
            items.push_back(std::move(value));
            return &items.back();
        }
        // ordered_map is a vector of pairs: append without its linear key search (and keep a
        // duplicate key too, so that both values are checked).
        Json::object_t::Container& items = top.value->get_ref<Json::object_t&>();
        items.emplace_back(top.key, std::move(value));
        return &items.back().second;
    }
    bool add(Json value) {
        place(std::move(value));
        return true;
    }
    bool open(Json container) {
        // A profile nests 5 levels (syscalls[].args[].value), Docker's includes 4. Anything much
        // deeper is not a profile, and recursive copies and messages of it would overflow the
        // stack: the parse stops here.
        if (frames_.size() >= kMaxDepth) {
            too_deep = true;
            return false;
        }
        Json* placed = place(std::move(container));
        frames_.push_back({placed, {}, {}});
        return true;
    }
    bool close() {
        frames_.pop_back();
        return true;
    }

    // The field the next value goes to, named as the linter names fields:
    // "syscalls[3].args[0].value".
    std::string path() const {
        std::string text;
        for (std::size_t i = 0; i < frames_.size(); ++i) {
            const Frame& frame = frames_[i];
            if (frame.value->is_array()) {
                // An enclosing array's open element is its last; the innermost array's next
                // element is the one being added.
                const std::size_t size = frame.value->size();
                text += "[" + std::to_string(i + 1 == frames_.size() ? size : size - 1) + "]";
            } else {
                if (!text.empty()) text += '.';
                text += frame.key;
            }
        }
        return text;
    }

    std::vector<Frame> frames_;
};

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

    // A value as messages show it: a number as the file writes it, anything else compact.
    std::string shown_at(const Json& value, const std::string& field) const;
    // "a number", "a negative number", "string", ...
    std::string type_name(const Json& value, const std::string& field) const;
    std::string described(const Json& value, const std::string& field) const {
        return type_name(value, field) + " " + shown_at(value, field);
    }
    // Whether a number that nlohmann could only store as a double was written as an integer
    // (one that does not fit 64 bits).
    bool integer_out_of_range(const Json& value, const std::string& field) const;

    // Decoding: the runtime format's schema, plus the checks that need the raw document.
    void decode(const Json& document, Profile& profile);
    void decode_rule(const Json& entry, std::size_t index, SyscallRule& rule);
    bool decode_arg(const Json& arg, const std::string& where, ArgRule& rule);
    std::optional<std::string> string_field(const Json& value, const std::string& field);
    std::optional<std::uint32_t> errno_field(const Json& value, const std::string& field);
    std::optional<std::uint64_t> u64_field(const Json& value, const std::string& field);
    std::vector<std::string> string_list(const Json& value, const std::string& field);
    void docker_key(const std::string& field, std::string_view key, const Json& value);

    // The checks on the decoded profile.
    void check_semantics(const Profile& profile);
    void check_unknown_syscalls(const Profile& profile);
    void check_contradictions(const Profile& profile);
    // Returns false when the architectures mix byte orders (no filter can hold them).
    bool check_byte_order(const Profile& profile, const std::vector<std::uint32_t>& arches);
    void check_size(const Profile& profile, std::size_t architectures);
    void check_compiles(const Profile& profile, const std::vector<std::uint32_t>& arches);
    void check_permissive(const Profile& profile);
    void check_dangerous(const Profile& profile);
    void check_exit(const Profile& profile);

    std::vector<LintFinding> findings_;
    bool schema_ok_ = true;
    std::unordered_map<std::string, std::string> number_texts_;  // from JsonBuilder
};

// The keys of the runtime format that a JSON null leaves unset: containerd decodes profiles with
// Go's encoding/json, for which null is "no value" (pointers and lists stay nil, strings and
// numbers keep their zero value), the same as an absent key. Keys that are then required are
// still reported as missing.
constexpr std::array<std::string_view, 8> kProfileKeys{
    "defaultAction", "defaultErrnoRet",  "architectures", "flags",
    "listenerPath",  "listenerMetadata", "syscalls",      "comment"};
constexpr std::array<std::string_view, 5> kRuleKeys{"names", "action", "errnoRet", "args",
                                                    "comment"};
constexpr std::array<std::string_view, 4> kArgKeys{"index", "value", "valueTwo", "op"};

template <std::size_t N>
bool null_known_key(const std::array<std::string_view, N>& keys, const std::string& key,
                    const Json& value) {
    return value.is_null() && std::find(keys.begin(), keys.end(), key) != keys.end();
}

// Present with a value (a null is as good as absent).
bool has_value(const Json& object, std::string_view key) {
    const auto found = object.find(key);
    return found != object.end() && !found->is_null();
}

std::string Linter::shown_at(const Json& value, const std::string& field) const {
    if (value.is_number_float()) {
        const auto text = number_texts_.find(field);
        if (text != number_texts_.end()) {
            return text->second.size() > kShownValueLength
                       ? text->second.substr(0, kShownValueLength) + "..."
                       : text->second;
        }
    }
    return shown(value);
}

bool Linter::integer_out_of_range(const Json& value, const std::string& field) const {
    if (!value.is_number_float()) return false;
    const auto text = number_texts_.find(field);
    return text != number_texts_.end() && text->second.find_first_of(".eE") == std::string::npos;
}

std::string Linter::type_name(const Json& value, const std::string& field) const {
    if (value.is_number_unsigned()) return "a number";
    if (value.is_number_integer()) return "a negative number";
    if (value.is_number_float()) {
        if (!integer_out_of_range(value, field)) return "a non-integer number";
        return value.get<double>() < 0 ? "a negative number" : "a number";
    }
    return value.type_name();
}

std::optional<std::string> Linter::string_field(const Json& value, const std::string& field) {
    if (value.is_string()) return value.get<std::string>();
    schema(field, "must be a string, not " + described(value, field));
    return std::nullopt;
}

std::optional<std::uint32_t> Linter::errno_field(const Json& value, const std::string& field) {
    if (value.is_number_unsigned() && value.get<std::uint64_t>() <= kMaxErrno) {
        return static_cast<std::uint32_t>(value.get<std::uint64_t>());
    }
    schema(field, "must be an errno number from 0 to 4095, not " + shown_at(value, field));
    return std::nullopt;
}

std::optional<std::uint64_t> Linter::u64_field(const Json& value, const std::string& field) {
    if (value.is_number_unsigned()) return value.get<std::uint64_t>();
    if (integer_out_of_range(value, field) && value.get<double>() > 0) {
        schema(field, "is out of range: " + shown_at(value, field) +
                          " does not fit 64 bits (an argument is 0 to 2^64-1)");
    } else {
        schema(field, "must be an integer from 0 to 2^64-1, not " + described(value, field));
    }
    return std::nullopt;
}

std::vector<std::string> Linter::string_list(const Json& value, const std::string& field) {
    std::vector<std::string> items;
    if (value.is_null()) return items;
    if (!value.is_array()) {
        schema(field, "must be a list of strings, not " + described(value, field));
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
        schema("", "a profile must be a JSON object, not " + type_name(document, ""));
        return;
    }
    for (const auto& [key, value] : document.items()) {
        if (null_known_key(kProfileKeys, key, value)) continue;
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
            if (!value.is_array()) {
                schema(key, "must be a list of rules, not " + type_name(value, key));
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
    if (!has_value(document, "defaultAction")) schema("defaultAction", "is required");

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
        schema(where, "must be an object, not " + described(entry, where));
        return;
    }
    bool has_name = false;
    for (const auto& [key, value] : entry.items()) {
        const std::string field = where + "." + key;
        if (null_known_key(kRuleKeys, key, value)) continue;
        if (key == "names") {
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
            if (!value.is_array()) {
                schema(field,
                       "must be a list of argument conditions, not " + type_name(value, field));
                continue;
            }
            rule.args.resize(value.size());
            // The first condition on each argument index, for repeated-arg-index.
            std::array<std::optional<std::size_t>, kArgumentCount> first_on{};
            bool repeat_reported = false;
            for (std::size_t a = 0; a < value.size(); ++a) {
                const std::string arg_field = field + "[" + std::to_string(a) + "]";
                if (!decode_arg(value[a], arg_field, rule.args[a])) continue;
                auto& first = first_on.at(rule.args[a].index);
                if (!first) {
                    first = a;
                } else if (!repeat_reported) {
                    repeat_reported = true;
                    warn("repeated-arg-index", arg_field + ".index",
                         "argument " + std::to_string(rule.args[a].index) +
                             " is already tested by args[" + std::to_string(*first) +
                             "]: runc then adds each of this rule's " +
                             std::to_string(value.size()) +
                             " conditions as a rule of its own, so the action applies when any "
                             "one of them holds (OR), not only when all do (AND)");
                }
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
    if (!has_value(entry, "action")) schema(where + ".action", "is required");
    if (!has_value(entry, "names") && !has_name) {
        error("empty-names", where, "has no \"names\": the rule applies to no system call");
    }

    if (rule.errno_ret && !rule.action.empty() && !takes_errno(rule.action)) {
        error("errno-ret", where + ".errnoRet",
              std::to_string(*rule.errno_ret) + " goes with action " + rule.action +
                  ", which returns no errno (only SCMP_ACT_ERRNO and SCMP_ACT_TRACE do)");
    }
}

// Returns whether the condition has a valid index (rule.index is then set).
bool Linter::decode_arg(const Json& arg, const std::string& where, ArgRule& rule) {
    if (!arg.is_object()) {
        schema(where, "must be an object, not " + described(arg, where));
        return false;
    }
    bool index_ok = false;
    for (const auto& [key, value] : arg.items()) {
        const std::string field = where + "." + key;
        if (null_known_key(kArgKeys, key, value)) continue;
        if (key == "index") {
            if (!value.is_number()) {
                schema(field, "must be a number, not " + described(value, field));
            } else if (!value.is_number_unsigned() ||
                       value.get<std::uint64_t>() >= kArgumentCount) {
                error("arg-index", field,
                      shown_at(value, field) +
                          " is not an argument index: system calls have arguments 0 "
                          "to 5");
            } else {
                rule.index = static_cast<unsigned>(value.get<std::uint64_t>());
                index_ok = true;
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
    if (!has_value(arg, "index")) schema(where + ".index", "is required");
    if (!has_value(arg, "op")) schema(where + ".op", "is required");
    return index_ok;
}

// The listed architectures libseccomp knows, each once, in the profile's order.
std::vector<std::uint32_t> listed_architectures(const Profile& profile) {
    std::vector<std::uint32_t> arches;
    for (const auto& arch : profile.architectures) {
        if (const auto token = arch_token(arch);
            token && std::find(arches.begin(), arches.end(), *token) == arches.end()) {
            arches.push_back(*token);
        }
    }
    return arches;
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
    std::vector<std::uint32_t> arches = listed_architectures(profile);
    if (arches.empty()) arches.push_back(seccomp_arch_native());
    const bool one_byte_order = check_byte_order(profile, arches);
    check_size(profile, arches.size());
    if (one_byte_order && !errors_so_far()) check_compiles(profile, arches);
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
    // A name that no architecture libseccomp knows has is a typo: runc skips it without a word,
    // and the rule it was in loses it. A name that exists, but only on architectures the
    // profile does not list, is normal in a profile written for several platforms (Docker's
    // default carries _llseek, mmap2, socketcall, clock_gettime64 for 32-bit ones): runc skips
    // it just the same, so it is only a warning in case the architecture was forgotten.
    const std::vector<std::uint32_t> listed = listed_architectures(profile);
    const std::vector<std::uint32_t> all = known_architectures();
    const scmp_version* version = seccomp_version();
    const std::string library = "libseccomp " + std::to_string(version->major) + "." +
                                std::to_string(version->minor) + "." +
                                std::to_string(version->micro);

    std::vector<std::string> listed_names;
    for (const std::uint32_t arch : listed) listed_names.emplace_back(arch_name(arch));

    // Per distinct name: the architectures it exists on, listed first (empty: known nowhere).
    struct Where {
        bool on_listed = false;
        std::vector<std::uint32_t> elsewhere;
    };
    std::unordered_map<std::string, Where> seen;
    const auto where_is = [&](const std::string& name) -> const Where& {
        const auto found = seen.find(name);
        if (found != seen.end()) return found->second;
        Where where;
        const auto known_on = [&](std::uint32_t arch) {
            return seccomp_syscall_resolve_name_arch(arch, name.c_str()) >= 0;
        };
        where.on_listed = std::any_of(listed.begin(), listed.end(), known_on);
        if (!where.on_listed) {
            for (const std::uint32_t arch : all) {
                if (known_on(arch)) where.elsewhere.push_back(arch);
            }
        }
        return seen.emplace(name, std::move(where)).first->second;
    };

    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        const auto& names = profile.syscalls[i].names;
        for (std::size_t n = 0; n < names.size(); ++n) {
            if (names[n].empty()) continue;  // already a schema error
            const Where& where = where_is(names[n]);
            if (where.on_listed) continue;
            if (where.elsewhere.empty()) {
                error("unknown-syscall", name_field(i, n),
                      json_quoted(names[n]) + " is not a system call on any architecture (" +
                          library + ")");
            } else if (!listed.empty()) {
                const std::size_t others = where.elsewhere.size() - 1;
                warn("syscall-not-on-architectures", name_field(i, n),
                     json_quoted(names[n]) + " is not a system call on " +
                         joined(listed_names, " or ") + " (" + library + "); it exists on " +
                         std::string(arch_name(where.elsewhere.front())) +
                         (others == 0 ? ""
                                      : " and " + std::to_string(others) + " other architecture" +
                                            (others == 1 ? "" : "s")) +
                         ", which the profile does not list, so runtimes skip it");
            }
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

bool Linter::check_byte_order(const Profile& profile, const std::vector<std::uint32_t>& arches) {
    // libseccomp puts architectures of one byte order only in a filter (seccomp_arch_add: EDOM),
    // and runc builds one filter with every listed architecture and the node's own: a list that
    // mixes byte orders fails on every node. A list all of the other byte order than this
    // machine's is a profile for other nodes (s390x, ppc64): it is compiled for them here, and
    // fails only on nodes of this machine's byte order.
    const auto index_of = [&](std::uint32_t token) {
        for (std::size_t i = 0; i < profile.architectures.size(); ++i) {
            if (arch_token(profile.architectures[i]) == token) return i;
        }
        return std::size_t{0};
    };
    const auto other = std::find_if(arches.begin(), arches.end(), [&](std::uint32_t arch) {
        return big_endian(arch) != big_endian(arches.front());
    });
    const auto order = [](std::uint32_t arch) {
        return std::string(big_endian(arch) ? "big-endian" : "little-endian");
    };
    if (other != arches.end()) {
        error("compile", "architectures[" + std::to_string(index_of(*other)) + "]",
              std::string(arch_name(*other)) + " is " + order(*other) + " and " +
                  std::string(arch_name(arches.front())) + " is " + order(arches.front()) +
                  ": a seccomp filter has one byte order, so libseccomp cannot build one with "
                  "both and runc fails on every node (\"error adding architecture to seccomp "
                  "filter: numerical argument out of domain\"); keep one byte order per profile");
        return false;
    }
    const std::uint32_t native = seccomp_arch_native();
    if (big_endian(arches.front()) != big_endian(native)) {
        warn("other-byte-order", "architectures",
             "lists only " + order(arches.front()) + " architectures and this machine (" +
                 std::string(arch_name(native)) + ") is " + order(native) +
                 ": runc adds the node's own architecture to the filter, so only " +
                 order(arches.front()) +
                 " nodes can run containers under this profile; on others they fail to start "
                 "(\"numerical argument out of domain\")");
    }
    return true;
}

void Linter::check_size(const Profile& profile, std::size_t architectures) {
    // libseccomp's time to build and compile a filter grows faster than the square of its
    // argument conditions, each compiled once per architecture (on a 2-core x86_64: 10 000
    // conditions on read, 2 s for one architecture; 1 000 spread over many system calls, 5 to
    // 19 s for 2 to 10 architectures), and the webhook and sync-profiles lint every catalog file
    // on every reload. So a profile with more is refused without building it; by then its filter
    // is near or over the kernel's limit anyway.
    std::size_t conditions = 0;
    for (const auto& rule : profile.syscalls) conditions += rule.names.size() * rule.args.size();
    const std::size_t compiled = conditions * architectures;
    if (compiled <= kMaxCompiledConditions) return;
    error("too-large", "syscalls",
          "has " + std::to_string(conditions) +
              " argument conditions (a rule's conditions count once per name) for " +
              std::to_string(architectures) + " architecture" + (architectures == 1 ? "" : "s") +
              ": " + std::to_string(compiled) + " to compile, more than the " +
              std::to_string(kMaxCompiledConditions) +
              " the linter builds a filter for (libseccomp's time grows faster than their "
              "square, and such a filter is near or over the kernel's limit of " +
              std::to_string(kMaxFilterInstructions) + " BPF instructions)");
}

void Linter::check_compiles(const Profile& profile, const std::vector<std::uint32_t>& arches) {
    // Each architecture is built alone, so that a rule only one architecture refuses is
    // reported with it; failures that several share are reported once, naming them all. runc
    // builds one filter with all of them, and the kernel's instruction limit applies to that one:
    // it is built too when the programs of the architectures alone add up to more than the limit
    // (it is never longer than their sum: it shares the default action and merges identical
    // blocks). Only then, because libseccomp takes several times as long for one filter of
    // several architectures as for each alone (one second, against a tenth, for 510 conditions
    // on two).
    const auto architectures_text = [](const std::vector<std::uint32_t>& tokens) {
        std::vector<std::string> names;
        for (const std::uint32_t arch : tokens) names.emplace_back(arch_name(arch));
        return joined(names, ", ");
    };
    // The program's length in instructions; nullopt with `failure` set when it cannot be built.
    const auto build = [&](std::span<const std::uint32_t> tokens,
                           FilterError& failure) -> std::optional<std::size_t> {
        const Filter filter = build_filter_for(profile, tokens, false, failure);
        if (!filter) return std::nullopt;
        std::string export_error;
        const auto program = export_bpf(filter, export_error);
        if (!program) {
            failure = {"", std::move(export_error)};
            return std::nullopt;
        }
        return program->size() / kBpfInstructionBytes;
    };

    std::vector<std::pair<FilterError, std::vector<std::uint32_t>>> failures;
    std::size_t total = 0;
    for (const std::uint32_t arch : arches) {
        FilterError failure;
        if (const auto length = build(std::span(&arch, 1), failure)) {
            total += *length;
            continue;
        }
        const auto same = std::find_if(failures.begin(), failures.end(), [&](const auto& f) {
            return f.first.field == failure.field && f.first.message == failure.message;
        });
        if (same != failures.end()) {
            same->second.push_back(arch);
        } else {
            failures.push_back({std::move(failure), {arch}});
        }
    }
    for (auto& [failure, on] : failures) {
        error("compile", failure.field,
              "no filter for " + architectures_text(on) + ": " + failure.message);
    }
    if (!failures.empty() || total <= kMaxFilterInstructions) return;

    std::size_t length = total;  // one architecture: its filter is runc's
    if (arches.size() > 1) {
        FilterError failure;
        const auto together = build(arches, failure);
        if (!together) {
            error("compile", failure.field,
                  "no filter for " + architectures_text(arches) + " together: " + failure.message);
            return;
        }
        length = *together;
    }
    if (length > kMaxFilterInstructions) {
        error("compile", "syscalls",
              "the filter for " + architectures_text(arches) + " is " + std::to_string(length) +
                  " BPF instructions long; the kernel loads at most " +
                  std::to_string(kMaxFilterInstructions) +
                  ", so runc fails to start the container (\"invalid argument\"): fewer rules "
                  "or architectures");
    }
}

void Linter::check_permissive(const Profile& profile) {
    // (an unknown action is not ALLOW or LOG)
    if (!is_permissive_default(profile.default_action)) return;
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
    JsonBuilder builder;
    if (!Json::sax_parse(text, &builder)) {
        if (builder.too_deep) {
            error("json", "",
                  "nested deeper than " + std::to_string(JsonBuilder::kMaxDepth) +
                      " levels: not a seccomp profile");
            report.findings = std::move(findings_);
            return report;
        }
        // "[json.exception.parse_error.101] parse error at line 1, column 2: ..." -> the part
        // from "line".
        const std::string& what = builder.parse_error_text;
        const auto at = what.find("at line");
        error("json", "",
              "not valid JSON" +
                  (at == std::string::npos ? std::string{} : ": " + what.substr(at + 3)));
        report.findings = std::move(findings_);
        return report;
    }
    for (const auto& duplicate : builder.duplicates) {
        schema(duplicate.field,
               "is given twice in one object: JSON parsers disagree on which one counts (RFC "
               "8259 section 4; containerd's takes the last, others the first or refuse the "
               "file), so what the webhook checks may not be what a node enforces");
    }
    if (builder.more_duplicates > 0) {
        schema("", "and " + std::to_string(builder.more_duplicates) +
                       " more keys given twice in one object");
    }
    number_texts_ = std::move(builder.number_texts);
    Profile profile;
    decode(builder.document, profile);
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
