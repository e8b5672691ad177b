#include "profile/run/bpf_eval.h"

#include <array>
#include <cstring>

namespace seccomp_gate::profile::run {
namespace {

// What the kernel answers for a program it would not run (a division by zero at run time).
constexpr std::uint32_t kKill = SECCOMP_RET_KILL_THREAD;

std::optional<std::uint32_t> load_word(const seccomp_data& data, std::uint32_t offset) {
    // The kernel only accepts aligned 32-bit loads inside struct seccomp_data, in host order.
    if (offset % 4 != 0 || offset > sizeof(seccomp_data) - 4) return std::nullopt;
    std::uint32_t word = 0;
    std::memcpy(&word, reinterpret_cast<const unsigned char*>(&data) + offset, sizeof word);
    return word;
}

std::optional<std::uint32_t> alu(std::uint16_t op, std::uint32_t a, std::uint32_t operand) {
    switch (op) {
        case BPF_ADD:
            return a + operand;
        case BPF_SUB:
            return a - operand;
        case BPF_MUL:
            return a * operand;
        case BPF_DIV:
            return operand == 0 ? std::nullopt : std::optional(a / operand);
        case BPF_MOD:
            return operand == 0 ? std::nullopt : std::optional(a % operand);
        case BPF_AND:
            return a & operand;
        case BPF_OR:
            return a | operand;
        case BPF_XOR:
            return a ^ operand;
        case BPF_LSH:
            return operand >= 32 ? 0U : a << operand;
        case BPF_RSH:
            return operand >= 32 ? 0U : a >> operand;
        case BPF_NEG:
            return 0U - a;
        default:
            return std::nullopt;
    }
}

}  // namespace

std::optional<BpfProgram> BpfProgram::from_bytes(std::string_view bytes) {
    if (bytes.empty() || bytes.size() % sizeof(sock_filter) != 0) return std::nullopt;
    BpfProgram program;
    program.instructions_.resize(bytes.size() / sizeof(sock_filter));
    std::memcpy(program.instructions_.data(), bytes.data(), bytes.size());
    return program;
}

std::optional<std::uint32_t> BpfProgram::evaluate(const seccomp_data& data) const {
    std::uint32_t a = 0;
    std::uint32_t x = 0;
    std::array<std::uint32_t, BPF_MEMWORDS> scratch{};
    std::size_t pc = 0;
    while (pc < instructions_.size()) {
        const sock_filter& ins = instructions_[pc++];
        const std::uint16_t code = ins.code;
        switch (BPF_CLASS(code)) {
            case BPF_LD:
            case BPF_LDX: {
                std::optional<std::uint32_t> value;
                switch (BPF_MODE(code)) {
                    case BPF_ABS:
                        if (BPF_SIZE(code) != BPF_W) return std::nullopt;
                        value = load_word(data, ins.k);
                        break;
                    case BPF_IMM:
                        value = ins.k;
                        break;
                    case BPF_LEN:
                        value = static_cast<std::uint32_t>(sizeof(seccomp_data));
                        break;
                    case BPF_MEM:
                        if (ins.k >= scratch.size()) return std::nullopt;
                        value = scratch[ins.k];
                        break;
                    default:
                        return std::nullopt;
                }
                if (!value) return std::nullopt;
                (BPF_CLASS(code) == BPF_LD ? a : x) = *value;
                break;
            }
            case BPF_ST:
            case BPF_STX:
                if (ins.k >= scratch.size()) return std::nullopt;
                scratch[ins.k] = BPF_CLASS(code) == BPF_ST ? a : x;
                break;
            case BPF_ALU: {
                const auto result = alu(BPF_OP(code), a, BPF_SRC(code) == BPF_X ? x : ins.k);
                if (!result) {
                    if (BPF_OP(code) == BPF_DIV || BPF_OP(code) == BPF_MOD) return kKill;
                    return std::nullopt;
                }
                a = *result;
                break;
            }
            case BPF_JMP: {
                if (BPF_OP(code) == BPF_JA) {
                    pc += ins.k;
                    break;
                }
                const std::uint32_t operand = BPF_SRC(code) == BPF_X ? x : ins.k;
                bool taken = false;
                switch (BPF_OP(code)) {
                    case BPF_JEQ:
                        taken = a == operand;
                        break;
                    case BPF_JGT:
                        taken = a > operand;
                        break;
                    case BPF_JGE:
                        taken = a >= operand;
                        break;
                    case BPF_JSET:
                        taken = (a & operand) != 0;
                        break;
                    default:
                        return std::nullopt;
                }
                pc += taken ? ins.jt : ins.jf;
                break;
            }
            case BPF_RET:
                if (BPF_RVAL(code) == BPF_K) return ins.k;
                if (BPF_RVAL(code) == BPF_A) return a;
                return std::nullopt;
            case BPF_MISC:
                if (BPF_MISCOP(code) == BPF_TAX) {
                    x = a;
                } else if (BPF_MISCOP(code) == BPF_TXA) {
                    a = x;
                } else {
                    return std::nullopt;
                }
                break;
            default:
                return std::nullopt;
        }
    }
    return std::nullopt;  // ran off the end: the kernel refuses such a program
}

std::string describe_action(std::uint32_t ret) {
    const std::uint32_t data = ret & SECCOMP_RET_DATA;
    switch (ret & SECCOMP_RET_ACTION_FULL) {
        case SECCOMP_RET_KILL_PROCESS:
            return "SCMP_ACT_KILL_PROCESS";
        case SECCOMP_RET_KILL_THREAD:
            return "SCMP_ACT_KILL_THREAD";
        case SECCOMP_RET_TRAP:
            return "SCMP_ACT_TRAP";
        case SECCOMP_RET_ERRNO: {
            const int code = static_cast<int>(data);
            const char* name = strerrorname_np(code);
            return "SCMP_ACT_ERRNO(" +
                   (name != nullptr ? std::string(name) : std::to_string(code)) + ")";
        }
        // Under try there is no seccomp tracer and no notification listener: the kernel answers
        // ENOSYS for both, as it does in a container without them.
        case SECCOMP_RET_USER_NOTIF:
            return "SCMP_ACT_NOTIFY (no listener: ENOSYS)";
        case SECCOMP_RET_TRACE:
            return "SCMP_ACT_TRACE(" + std::to_string(data) + ") (no seccomp tracer: ENOSYS)";
        case SECCOMP_RET_LOG:
            return "SCMP_ACT_LOG";
        case SECCOMP_RET_ALLOW:
            return "SCMP_ACT_ALLOW";
        default:
            return "unknown seccomp action " + std::to_string(ret);
    }
}

}  // namespace seccomp_gate::profile::run
