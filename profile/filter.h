#pragma once
// Building the BPF filter a container runtime (runc / crun, both through libseccomp) builds for a
// profile. The linter's "compiles" check and `profile try` share this code, so what lint accepts
// is what try runs.

#include <linux/bpf_common.h>
#include <seccomp.h>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "profile/profile.h"

namespace seccomp_gate::profile {

// RAII owner of a libseccomp filter context (scmp_filter_ctx); move-only.
class Filter {
  public:
    Filter() = default;
    explicit Filter(scmp_filter_ctx ctx) : ctx_(ctx) {}
    ~Filter();
    Filter(Filter&& other) noexcept;
    Filter& operator=(Filter&& other) noexcept;
    Filter(const Filter&) = delete;
    Filter& operator=(const Filter&) = delete;

    scmp_filter_ctx get() const { return ctx_; }
    explicit operator bool() const { return ctx_ != nullptr; }
    // Gives up ownership: the caller must seccomp_release() the result.
    scmp_filter_ctx release();

  private:
    scmp_filter_ctx ctx_ = nullptr;
};

// The filter a container runtime (runc / crun via libseccomp) builds for `profile`: the default
// action (with defaultErrnoRet), the profile's architectures (the native one always included, as
// runc does; none listed = native only), every rule with its errnoRet and args, and the flags
// (SECCOMP_FILTER_FLAG_LOG -> SCMP_FLTATR_CTL_LOG, SPEC_ALLOW -> SCMP_FLTATR_CTL_SSB, TSYNC
// ignored), libseccomp's binary tree above 32 name entries as runc sets it. NoNewPrivs is left to
// the caller's choice: SCMP_FLTATR_CTL_NNP stays at libseccomp's default, 1 (seccomp_load sets
// no_new_privs, as runtimes do for most containers); a caller that handles no_new_privs itself, as
// runc does, sets it to 0. Syscall names libseccomp does not know on any architecture are skipped,
// as runc skips them; names that exist only on some of the filter's architectures apply where they
// exist. A rule that repeats one already added (same system call, action and conditions) is not
// added again: libseccomp would ignore it anyway. On failure returns an empty Filter and sets
// `error` (naming the field/syscall libseccomp refused).
Filter build_filter(const Profile& profile, std::string& error);

// Where and why building a filter failed: `field` is a path into the profile
// ("syscalls[3].names[1]", "flags[0]", "architectures").
struct FilterError {
    std::string field;
    std::string message;
};

// build_filter's engine, for the linter's "compiles" check: the filter for exactly `arches`
// (tokens from arch_token), plus the native architecture when `keep_native` (without it, the
// architectures may be of the other byte order than this machine's). Same rules, same
// skipping; `error.field` is empty on success.
Filter build_filter_for(const Profile& profile, std::span<const std::uint32_t> arches,
                        bool keep_native, FilterError& error);

// The kernel refuses a seccomp program of more instructions than this (BPF_MAXINSNS); runc's
// start of the container then fails with "invalid argument".
inline constexpr std::size_t kMaxFilterInstructions = BPF_MAXINSNS;

// Compiles `filter` to its BPF program (struct sock_filter[]), which is where libseccomp finds
// what rule adding does not (a filter too large, ...). nullopt with `error` set on failure.
std::optional<std::string> export_bpf(const Filter& filter, std::string& error);

// Action string ("SCMP_ACT_ERRNO") -> libseccomp action value, errno applied (ERRNO and TRACE;
// without one they get EPERM, as runc gives them); nullopt if unknown.
std::optional<std::uint32_t> action_value(std::string_view action,
                                          std::optional<std::uint32_t> errno_ret);

// "SCMP_ARCH_X86_64" -> SCMP_ARCH_X86_64 (libseccomp's token); nullopt if unknown.
std::optional<std::uint32_t> arch_token(std::string_view name);
// The inverse: SCMP_ARCH_X86_64 -> "SCMP_ARCH_X86_64"; empty if unknown.
std::string_view arch_name(std::uint32_t token);
// Whether the architecture is big-endian (s390x, ppc64, mips, parisc). A libseccomp filter holds
// architectures of one byte order only (seccomp_arch_add fails with EDOM).
bool big_endian(std::uint32_t token);
// Every architecture libseccomp knows (the tokens arch_token returns).
std::vector<std::uint32_t> known_architectures();
// "SCMP_CMP_EQ" -> SCMP_CMP_EQ; nullopt if unknown.
std::optional<scmp_compare> compare_op(std::string_view name);

}  // namespace seccomp_gate::profile
