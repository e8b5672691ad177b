#pragma once
// Runs a compiled seccomp filter (classic BPF, as libseccomp hands it to the kernel) on one system
// call, the way the kernel does. `profile try` uses it to know, for each call the traced command
// makes, what the filter answered: exact, where guessing from a -EPERM return value is not (EPERM
// is also what a missing capability returns).

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace seccomp_gate::profile::run {

// A compiled filter: the struct sock_filter array of seccomp(SECCOMP_SET_MODE_FILTER).
class BpfProgram {
  public:
    // `bytes` as profile::export_bpf returns them (a whole number of sock_filter).
    static std::optional<BpfProgram> from_bytes(std::string_view bytes);

    // The filter's return value (SECCOMP_RET_ACTION_FULL | data) for `data`; nullopt when the
    // program does something the kernel would have refused to load (runs off its end, reads
    // outside struct seccomp_data, scratch index out of range).
    std::optional<std::uint32_t> evaluate(const seccomp_data& data) const;

    std::size_t size() const { return instructions_.size(); }

  private:
    std::vector<sock_filter> instructions_;
};

// A seccomp return value in the profile format's words: "SCMP_ACT_ALLOW",
// "SCMP_ACT_ERRNO(EPERM)", "SCMP_ACT_KILL_PROCESS", ...
std::string describe_action(std::uint32_t ret);

}  // namespace seccomp_gate::profile::run
