#include "profile/filter.h"

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <set>
#include <tuple>
#include <utility>

namespace seccomp_gate::profile {
namespace {

struct NamedArch {
    std::string_view name;
    std::uint32_t token;
    bool big_endian;
};

// The architecture names of the runtime format (OCI runtime-spec `LinuxSeccomp.architectures`),
// each with libseccomp's token and byte order. These are all the architectures libseccomp 2.5.4
// knows. libseccomp keeps the byte order to itself; a unit test checks this table against it
// (it refuses to put architectures of different byte orders in one filter).
constexpr std::array<NamedArch, 19> kArchitectures{{
    {"SCMP_ARCH_X86", SCMP_ARCH_X86, false},
    {"SCMP_ARCH_X86_64", SCMP_ARCH_X86_64, false},
    {"SCMP_ARCH_X32", SCMP_ARCH_X32, false},
    {"SCMP_ARCH_ARM", SCMP_ARCH_ARM, false},
    {"SCMP_ARCH_AARCH64", SCMP_ARCH_AARCH64, false},
    {"SCMP_ARCH_MIPS", SCMP_ARCH_MIPS, true},
    {"SCMP_ARCH_MIPS64", SCMP_ARCH_MIPS64, true},
    {"SCMP_ARCH_MIPS64N32", SCMP_ARCH_MIPS64N32, true},
    {"SCMP_ARCH_MIPSEL", SCMP_ARCH_MIPSEL, false},
    {"SCMP_ARCH_MIPSEL64", SCMP_ARCH_MIPSEL64, false},
    {"SCMP_ARCH_MIPSEL64N32", SCMP_ARCH_MIPSEL64N32, false},
    {"SCMP_ARCH_PPC", SCMP_ARCH_PPC, true},
    {"SCMP_ARCH_PPC64", SCMP_ARCH_PPC64, true},
    {"SCMP_ARCH_PPC64LE", SCMP_ARCH_PPC64LE, false},
    {"SCMP_ARCH_S390", SCMP_ARCH_S390, true},
    {"SCMP_ARCH_S390X", SCMP_ARCH_S390X, true},
    {"SCMP_ARCH_PARISC", SCMP_ARCH_PARISC, true},
    {"SCMP_ARCH_PARISC64", SCMP_ARCH_PARISC64, true},
    {"SCMP_ARCH_RISCV64", SCMP_ARCH_RISCV64, false},
}};

struct NamedOp {
    std::string_view name;
    scmp_compare op;
};

constexpr std::array<NamedOp, 7> kOperators{{
    {"SCMP_CMP_NE", SCMP_CMP_NE},
    {"SCMP_CMP_LT", SCMP_CMP_LT},
    {"SCMP_CMP_LE", SCMP_CMP_LE},
    {"SCMP_CMP_EQ", SCMP_CMP_EQ},
    {"SCMP_CMP_GE", SCMP_CMP_GE},
    {"SCMP_CMP_GT", SCMP_CMP_GT},
    {"SCMP_CMP_MASKED_EQ", SCMP_CMP_MASKED_EQ},
}};

// runc's default when ERRNO or TRACE come without errnoRet.
constexpr std::uint32_t kDefaultErrno = EPERM;

// runc (libcontainer/seccomp) sets SCMP_FLTATR_CTL_OPTIMIZE to 2 above this many entries.
constexpr std::size_t kRuncBinaryTreeAbove = 32;

// libseccomp returns -errno.
std::string rc_text(int rc) { return std::strerror(-rc); }

// The libseccomp calls a filter is made of, each made once: runc makes the same call again for
// every repeated name or rule, which libseccomp takes as a no-op but pays for (its rule database
// grows more expensive with every call: 20 000 repeats of "read" took 3 s). Keyed by system call
// number, action and conditions.
using RuleKey = std::tuple<int, std::uint32_t, std::vector<std::array<std::uint64_t, 4>>>;

RuleKey rule_key(int number, std::uint32_t action, std::span<const scmp_arg_cmp> conditions) {
    std::vector<std::array<std::uint64_t, 4>> parts;
    parts.reserve(conditions.size());
    for (const scmp_arg_cmp& c : conditions) {
        parts.push_back({c.arg, static_cast<std::uint64_t>(c.op), c.datum_a, c.datum_b});
    }
    return {number, action, std::move(parts)};
}

// Adds one syscalls[] entry the way runc does: every name resolved on the native architecture
// (libseccomp translates the number to each architecture of the filter by name; names that exist
// only elsewhere resolve to a negative pseudo-number that libseccomp translates too), names
// libseccomp does not know at all skipped, rules whose action is the default action skipped
// (libseccomp refuses them with EACCES; runc drops them), and conditions on the same argument
// index split into one rule each (OR), since libseccomp allows one condition per argument.
FilterError add_rule(scmp_filter_ctx ctx, const SyscallRule& rule, std::size_t rule_index,
                     std::uint32_t default_action, std::set<RuleKey>& added) {
    const std::string where = "syscalls[" + std::to_string(rule_index) + "]";
    const auto action = action_value(rule.action, rule.errno_ret);
    if (!action) return {where + ".action", "\"" + rule.action + "\" is not a seccomp action"};
    if (*action == default_action) return {};

    std::vector<scmp_arg_cmp> conditions;
    std::array<unsigned, 6> per_index{};
    bool repeated_index = false;
    for (std::size_t i = 0; i < rule.args.size(); ++i) {
        const ArgRule& arg = rule.args[i];
        const auto op = compare_op(arg.op);
        const std::string arg_where = where + ".args[" + std::to_string(i) + "]";
        if (!op) return {arg_where + ".op", "\"" + arg.op + "\" is not a comparison operator"};
        if (arg.index >= per_index.size()) {
            return {arg_where + ".index", std::to_string(arg.index) + " is not 0 to 5"};
        }
        repeated_index = repeated_index || ++per_index[arg.index] > 1;
        conditions.push_back(scmp_arg_cmp{arg.index, *op, arg.value, arg.value_two});
    }

    for (std::size_t n = 0; n < rule.names.size(); ++n) {
        const std::string& name = rule.names[n];
        const int number = seccomp_syscall_resolve_name(name.c_str());
        if (number == __NR_SCMP_ERROR) continue;  // unknown everywhere: runc skips it
        const auto add = [&](std::span<const scmp_arg_cmp> with) -> FilterError {
            if (!added.insert(rule_key(number, *action, with)).second) return {};
            const int rc =
                seccomp_rule_add_array(ctx, *action, number, static_cast<unsigned>(with.size()),
                                       with.empty() ? nullptr : with.data());
            if (rc >= 0) return {};
            const std::string why =
                rc == -EEXIST ? "an earlier rule has the same conditions and another action"
                              : rc_text(rc);
            return {where + ".names[" + std::to_string(n) + "]",
                    "libseccomp refused the rule for \"" + name + "\" (" + why + ")"};
        };
        if (repeated_index) {
            for (const scmp_arg_cmp& condition : conditions) {
                FilterError failure = add(std::span(&condition, 1));
                if (!failure.field.empty()) return failure;
            }
        } else {
            FilterError failure = add(conditions);
            if (!failure.field.empty()) return failure;
        }
    }
    return {};
}

std::string_view byte_order(std::uint32_t token) {
    return big_endian(token) ? "big-endian" : "little-endian";
}

// libseccomp's refusal of an architecture, explained: EDOM is its answer to a byte order other
// than the filter's.
std::string arch_refused(std::uint32_t arch, int rc, std::uint32_t first, bool first_is_native) {
    const std::string name(arch_name(arch));
    if (rc == -EDOM && big_endian(arch) != big_endian(first)) {
        return "\"" + name + "\" is " + std::string(byte_order(arch)) + " and " +
               std::string(arch_name(first)) +
               (first_is_native ? " (this machine's architecture, always in the filter)" : "") +
               " is " + std::string(byte_order(first)) +
               ": a seccomp filter has one byte order, libseccomp refuses to mix them (" +
               rc_text(rc) + ")";
    }
    return "libseccomp refused \"" + name + "\" (" + rc_text(rc) + ")";
}

}  // namespace

Filter::~Filter() {
    if (ctx_ != nullptr) seccomp_release(ctx_);
}

Filter::Filter(Filter&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}

Filter& Filter::operator=(Filter&& other) noexcept {
    if (this != &other) {
        if (ctx_ != nullptr) seccomp_release(ctx_);
        ctx_ = std::exchange(other.ctx_, nullptr);
    }
    return *this;
}

scmp_filter_ctx Filter::release() { return std::exchange(ctx_, nullptr); }

std::optional<std::uint32_t> action_value(std::string_view action,
                                          std::optional<std::uint32_t> errno_ret) {
    const std::uint32_t data = errno_ret.value_or(kDefaultErrno);
    if (action == "SCMP_ACT_KILL" || action == "SCMP_ACT_KILL_THREAD") return SCMP_ACT_KILL_THREAD;
    if (action == "SCMP_ACT_KILL_PROCESS") return SCMP_ACT_KILL_PROCESS;
    if (action == "SCMP_ACT_TRAP") return SCMP_ACT_TRAP;
    if (action == "SCMP_ACT_ERRNO") return SCMP_ACT_ERRNO(data);
    if (action == "SCMP_ACT_TRACE") return SCMP_ACT_TRACE(data);
    if (action == "SCMP_ACT_ALLOW") return SCMP_ACT_ALLOW;
    if (action == "SCMP_ACT_LOG") return SCMP_ACT_LOG;
    if (action == "SCMP_ACT_NOTIFY") return SCMP_ACT_NOTIFY;
    return std::nullopt;
}

std::optional<std::uint32_t> arch_token(std::string_view name) {
    for (const auto& arch : kArchitectures) {
        if (arch.name == name) return arch.token;
    }
    return std::nullopt;
}

std::string_view arch_name(std::uint32_t token) {
    for (const auto& arch : kArchitectures) {
        if (arch.token == token) return arch.name;
    }
    return {};
}

bool big_endian(std::uint32_t token) {
    for (const auto& arch : kArchitectures) {
        if (arch.token == token) return arch.big_endian;
    }
    return false;
}

std::vector<std::uint32_t> known_architectures() {
    std::vector<std::uint32_t> tokens;
    for (const auto& arch : kArchitectures) tokens.push_back(arch.token);
    return tokens;
}

std::optional<scmp_compare> compare_op(std::string_view name) {
    for (const auto& op : kOperators) {
        if (op.name == name) return op.op;
    }
    return std::nullopt;
}

Filter build_filter_for(const Profile& profile, std::span<const std::uint32_t> arches,
                        bool keep_native, FilterError& error) {
    error = {};
    const auto default_action = action_value(profile.default_action, profile.default_errno_ret);
    if (!default_action) {
        error = {"defaultAction", "\"" + profile.default_action + "\" is not a seccomp action"};
        return {};
    }
    Filter filter(seccomp_init(*default_action));
    if (!filter) {
        error = {"defaultAction",
                 "libseccomp refused \"" + profile.default_action + "\" as the default action"};
        return {};
    }
    const std::uint32_t native = seccomp_arch_native();
    const bool native_wanted =
        keep_native || std::find(arches.begin(), arches.end(), native) != arches.end();
    // Without the native architecture, it leaves first: libseccomp refuses an architecture whose
    // byte order differs from the filter's, and the filter for s390x is still built on x86_64.
    if (!native_wanted && !arches.empty()) {
        const int rc = seccomp_arch_remove(filter.get(), SCMP_ARCH_NATIVE);
        if (rc < 0) {
            error = {"architectures",
                     "libseccomp could not drop the native architecture (" + rc_text(rc) + ")"};
            return {};
        }
    }
    std::optional<std::uint32_t> first;
    if (native_wanted) first = native;
    for (const std::uint32_t arch : arches) {
        if (arch == native) continue;
        const int rc = seccomp_arch_add(filter.get(), arch);
        if (rc < 0 && rc != -EEXIST) {
            error = {"architectures", arch_refused(arch, rc, first.value_or(arch), native_wanted)};
            return {};
        }
        if (!first) first = arch;
    }
    // runc turns libseccomp's binary tree on above 32 system call entries (one per name); it
    // changes the program, and so its length, which the kernel limits.
    std::size_t entries = 0;
    for (const auto& rule : profile.syscalls) entries += rule.names.size();
    if (entries > kRuncBinaryTreeAbove) {
        const int rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_OPTIMIZE, 2);
        if (rc < 0) {
            error = {"syscalls",
                     "libseccomp refused the binary tree optimization (" + rc_text(rc) + ")"};
            return {};
        }
    }
    for (std::size_t i = 0; i < profile.flags.size(); ++i) {
        const std::string& flag = profile.flags[i];
        const std::string where = "flags[" + std::to_string(i) + "]";
        int rc = 0;
        if (flag == "SECCOMP_FILTER_FLAG_TSYNC") continue;  // runc syncs threads itself
        if (flag == "SECCOMP_FILTER_FLAG_LOG") {
            rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_LOG, 1);
        } else if (flag == "SECCOMP_FILTER_FLAG_SPEC_ALLOW") {
            rc = seccomp_attr_set(filter.get(), SCMP_FLTATR_CTL_SSB, 1);
        } else {
            error = {where, "\"" + flag + "\" is not a flag runc supports"};
            return {};
        }
        if (rc < 0) {
            error = {where, "libseccomp refused \"" + flag + "\" (" + rc_text(rc) + ")"};
            return {};
        }
    }
    std::set<RuleKey> added;
    for (std::size_t i = 0; i < profile.syscalls.size(); ++i) {
        error = add_rule(filter.get(), profile.syscalls[i], i, *default_action, added);
        if (!error.field.empty()) return {};
    }
    return filter;
}

Filter build_filter(const Profile& profile, std::string& error) {
    std::vector<std::uint32_t> arches;
    for (std::size_t i = 0; i < profile.architectures.size(); ++i) {
        const auto token = arch_token(profile.architectures[i]);
        if (!token) {
            error = "architectures[" + std::to_string(i) + "]: \"" + profile.architectures[i] +
                    "\" is not an architecture libseccomp knows";
            return {};
        }
        arches.push_back(*token);
    }
    FilterError failure;
    Filter filter = build_filter_for(profile, arches, /*keep_native=*/true, failure);
    error = filter ? std::string{} : failure.field + ": " + failure.message;
    return filter;
}

std::optional<std::string> export_bpf(const Filter& filter, std::string& error) {
    // A memfd keeps this free of the file system; libseccomp 2.5 only exports to a descriptor.
    const int fd = memfd_create("seccomp-gate-bpf", MFD_CLOEXEC);
    if (fd < 0) {
        error = std::string("memfd_create: ") + std::strerror(errno);
        return std::nullopt;
    }
    std::string program;
    const int rc = seccomp_export_bpf(filter.get(), fd);
    if (rc < 0) {
        error = "libseccomp could not compile the filter (" + rc_text(rc) + ")";
    } else {
        const off_t size = lseek(fd, 0, SEEK_END);
        program.resize(size > 0 ? static_cast<std::size_t>(size) : 0);
        if (size < 0 || pread(fd, program.data(), program.size(), 0) != size) {
            error = std::string("reading the compiled filter: ") + std::strerror(errno);
            close(fd);
            return std::nullopt;
        }
    }
    close(fd);
    if (rc < 0) return std::nullopt;
    return program;
}

}  // namespace seccomp_gate::profile
