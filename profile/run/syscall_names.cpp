#include "profile/run/syscall_names.h"

#include <seccomp.h>

#include <array>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "profile/filter.h"

namespace seccomp_gate::profile::run {
namespace {

constexpr std::int32_t kX32SyscallBit = 0x40000000;

struct CompatArches {
    std::uint32_t native;
    std::vector<std::uint32_t> compat;
};

}  // namespace

std::uint32_t call_arch(const SyscallEntry& entry) {
    if (entry.arch == SCMP_ARCH_X86_64 && (entry.nr & kX32SyscallBit) != 0) return SCMP_ARCH_X32;
    return entry.arch;
}

std::optional<std::string> syscall_name(std::uint32_t arch, std::int32_t nr) {
    const std::unique_ptr<char, decltype(&std::free)> name(
        seccomp_syscall_resolve_num_arch(arch, nr), &std::free);
    if (!name) return std::nullopt;
    return std::string(name.get());
}

std::string arch_display_name(std::uint32_t arch) {
    const std::string_view name = arch_name(arch);
    if (!name.empty()) return std::string(name);
    std::array<char, 16> hex{};
    std::snprintf(hex.data(), hex.size(), "0x%08x", arch);
    return std::string("arch ") + hex.data();
}

std::vector<std::uint32_t> machine_architectures() {
    const std::vector<CompatArches> pairs = {
        {SCMP_ARCH_X86_64, {SCMP_ARCH_X86, SCMP_ARCH_X32}},
        {SCMP_ARCH_AARCH64, {SCMP_ARCH_ARM}},
        {SCMP_ARCH_MIPS64, {SCMP_ARCH_MIPS64N32, SCMP_ARCH_MIPS}},
        {SCMP_ARCH_MIPSEL64, {SCMP_ARCH_MIPSEL64N32, SCMP_ARCH_MIPSEL}},
        {SCMP_ARCH_PPC64LE, {SCMP_ARCH_PPC64, SCMP_ARCH_PPC}},
        {SCMP_ARCH_PPC64, {SCMP_ARCH_PPC}},
        {SCMP_ARCH_S390X, {SCMP_ARCH_S390}},
    };
    const std::uint32_t native = seccomp_arch_native();
    std::vector<std::uint32_t> arches{native};
    for (const CompatArches& pair : pairs) {
        if (pair.native == native)
            arches.insert(arches.end(), pair.compat.begin(), pair.compat.end());
    }
    return arches;
}

}  // namespace seccomp_gate::profile::run
