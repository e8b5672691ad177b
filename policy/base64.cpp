#include "policy/base64.h"

#include <cstdint>

namespace seccomp_gate {

std::string base64_encode(std::string_view data) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((data.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 2 < data.size(); i += 3) {
        const std::uint32_t chunk =
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16) |
            (static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8) |
            static_cast<unsigned char>(data[i + 2]);
        out += kAlphabet[(chunk >> 18) & 63U];
        out += kAlphabet[(chunk >> 12) & 63U];
        out += kAlphabet[(chunk >> 6) & 63U];
        out += kAlphabet[chunk & 63U];
    }
    const std::size_t rest = data.size() - i;
    if (rest > 0) {
        std::uint32_t chunk = static_cast<std::uint32_t>(static_cast<unsigned char>(data[i])) << 16;
        if (rest == 2)
            chunk |= static_cast<std::uint32_t>(static_cast<unsigned char>(data[i + 1])) << 8;
        out += kAlphabet[(chunk >> 18) & 63U];
        out += kAlphabet[(chunk >> 12) & 63U];
        out += rest == 2 ? kAlphabet[(chunk >> 6) & 63U] : '=';
        out += '=';
    }
    return out;
}

}  // namespace seccomp_gate
