// profile/run/bpf_eval: running a compiled filter on one system call gives what the kernel gives.
// Filters come from profile::build_filter (libseccomp, as runc builds them); a few hand-written
// programs cover the instructions libseccomp does not emit for these profiles.

#include "profile/run/bpf_eval.h"

#include <doctest/doctest.h>
#include <sys/syscall.h>

#include <cerrno>

#include "profile/filter.h"

namespace seccomp_gate::testing {
namespace {

using profile::run::BpfProgram;

constexpr std::uint32_t kX32Bit = 0x40000000;
constexpr std::int32_t kX32Mkdir = 83;  // x32 numbers are x86_64's with the x32 bit

BpfProgram compile(const profile::Profile& model) {
    std::string error;
    const profile::Filter filter = profile::build_filter(model, error);
    REQUIRE_MESSAGE(filter, error);
    const auto bytes = profile::export_bpf(filter, error);
    REQUIRE_MESSAGE(bytes, error);
    auto program = BpfProgram::from_bytes(*bytes);
    REQUIRE(program);
    return std::move(*program);
}

seccomp_data call(std::int32_t nr, std::uint32_t arch = SCMP_ARCH_X86_64, std::uint64_t arg0 = 0) {
    seccomp_data data{};
    data.nr = nr;
    data.arch = arch;
    data.args[0] = arg0;
    return data;
}

profile::Profile allow_all_but_mkdir() {
    profile::Profile model;
    model.default_action = "SCMP_ACT_ALLOW";
    model.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
    profile::SyscallRule rule;
    rule.names = {"mkdir", "mkdirat"};
    rule.action = "SCMP_ACT_ERRNO";
    rule.errno_ret = EACCES;
    model.syscalls.push_back(rule);
    return model;
}

sock_filter ins(std::uint16_t code, std::uint32_t k, std::uint8_t jt = 0, std::uint8_t jf = 0) {
    return sock_filter{code, jt, jf, k};
}

BpfProgram hand_written(const std::vector<sock_filter>& instructions) {
    const std::string bytes(reinterpret_cast<const char*>(instructions.data()),
                            instructions.size() * sizeof(sock_filter));
    auto program = BpfProgram::from_bytes(bytes);
    REQUIRE(program);
    return std::move(*program);
}

TEST_CASE("a libseccomp filter answers per system call, architecture and errno") {
#if defined(__x86_64__)
    const BpfProgram program = compile(allow_all_but_mkdir());
    CHECK(program.evaluate(call(SYS_mkdir)) == (SECCOMP_RET_ERRNO | EACCES));
    CHECK(program.evaluate(call(SYS_mkdirat)) == (SECCOMP_RET_ERRNO | EACCES));
    CHECK(program.evaluate(call(SYS_getpid)) == SECCOMP_RET_ALLOW);
    CHECK(program.evaluate(call(39 /* i386 mkdir */, SCMP_ARCH_X86)) ==
          (SECCOMP_RET_ERRNO | EACCES));
    CHECK(program.evaluate(call(static_cast<std::int32_t>(kX32Bit) + kX32Mkdir)) ==
          (SECCOMP_RET_ERRNO | EACCES));
    // An architecture the profile does not list: libseccomp's bad-arch action.
    std::uint32_t bad_arch = 0;
    {
        std::string error;
        const profile::Filter filter = profile::build_filter(allow_all_but_mkdir(), error);
        REQUIRE(seccomp_attr_get(filter.get(), SCMP_FLTATR_ACT_BADARCH, &bad_arch) == 0);
    }
    CHECK(program.evaluate(call(SYS_getpid, SCMP_ARCH_AARCH64)) == bad_arch);
#else
    MESSAGE("skipped: x86_64 system call numbers, on another architecture");
#endif
}

TEST_CASE("argument conditions are evaluated on the call's arguments") {
#if defined(__x86_64__)
    profile::Profile model;
    model.default_action = "SCMP_ACT_ERRNO";
    profile::SyscallRule rule;
    rule.names = {"personality"};
    rule.action = "SCMP_ACT_ALLOW";
    rule.args.push_back(profile::ArgRule{0, 8, 0, "SCMP_CMP_EQ"});
    model.syscalls.push_back(rule);
    const BpfProgram program = compile(model);
    CHECK(program.evaluate(call(SYS_personality, SCMP_ARCH_X86_64, 8)) == SECCOMP_RET_ALLOW);
    CHECK(program.evaluate(call(SYS_personality, SCMP_ARCH_X86_64, 9)) ==
          (SECCOMP_RET_ERRNO | EPERM));
    CHECK(program.evaluate(call(SYS_getpid)) == (SECCOMP_RET_ERRNO | EPERM));
#else
    MESSAGE("skipped: x86_64 system call numbers, on another architecture");
#endif
}

TEST_CASE("hand-written programs: scratch memory, ALU, jumps, RET A") {
    // A = nr; M[0] = A; A = (A * 2) | 1; X = A; A = M[0]; if A & 4 -> RET X else RET 7
    const BpfProgram program = hand_written({
        ins(BPF_LD | BPF_W | BPF_ABS, 0),
        ins(BPF_ST, 0),
        ins(BPF_ALU | BPF_MUL | BPF_K, 2),
        ins(BPF_ALU | BPF_OR | BPF_K, 1),
        ins(BPF_MISC | BPF_TAX, 0),
        ins(BPF_LD | BPF_MEM, 0),
        ins(BPF_JMP | BPF_JSET | BPF_K, 4, 0, 1),
        ins(BPF_MISC | BPF_TXA, 0),
        ins(BPF_RET | BPF_A, 0),
    });
    CHECK(program.evaluate(call(5)) == 11U);  // 5 & 4: A = X = 11
    CHECK(program.evaluate(call(3)) == 3U);   // jump over TXA: RET A = M[0] = 3
}

TEST_CASE("programs the kernel would refuse or kill on") {
    SUBCASE("running off the end") {
        CHECK_FALSE(hand_written({ins(BPF_LD | BPF_W | BPF_ABS, 0)}).evaluate(call(1)));
    }
    SUBCASE("a load outside struct seccomp_data") {
        CHECK_FALSE(hand_written({ins(BPF_LD | BPF_W | BPF_ABS, sizeof(seccomp_data)),
                                  ins(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)})
                        .evaluate(call(1)));
    }
    SUBCASE("an unaligned load") {
        CHECK_FALSE(hand_written(
                        {ins(BPF_LD | BPF_W | BPF_ABS, 2), ins(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)})
                        .evaluate(call(1)));
    }
    SUBCASE("division by a zero X kills, as in the kernel") {
        CHECK(hand_written({ins(BPF_LDX | BPF_IMM, 0), ins(BPF_ALU | BPF_DIV | BPF_X, 0),
                            ins(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)})
                  .evaluate(call(1)) == SECCOMP_RET_KILL_THREAD);
    }
    SUBCASE("bytes that are not whole instructions") {
        CHECK_FALSE(BpfProgram::from_bytes(std::string(12, '\0')));
        CHECK_FALSE(BpfProgram::from_bytes(""));
    }
}

TEST_CASE("actions are described in the profile format's words") {
    using profile::run::describe_action;
    CHECK(describe_action(SECCOMP_RET_ERRNO | EPERM) == "SCMP_ACT_ERRNO(EPERM)");
    CHECK(describe_action(SECCOMP_RET_ERRNO | ENOSYS) == "SCMP_ACT_ERRNO(ENOSYS)");
    CHECK(describe_action(SECCOMP_RET_KILL_PROCESS) == "SCMP_ACT_KILL_PROCESS");
    CHECK(describe_action(SECCOMP_RET_KILL_THREAD) == "SCMP_ACT_KILL_THREAD");
    CHECK(describe_action(SECCOMP_RET_TRAP | 3) == "SCMP_ACT_TRAP");
    CHECK(describe_action(SECCOMP_RET_LOG) == "SCMP_ACT_LOG");
    CHECK(describe_action(SECCOMP_RET_ALLOW) == "SCMP_ACT_ALLOW");
    CHECK(describe_action(SECCOMP_RET_TRACE | 5) ==
          "SCMP_ACT_TRACE(5) (no seccomp tracer: ENOSYS)");
}

}  // namespace
}  // namespace seccomp_gate::testing
