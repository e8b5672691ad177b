#include "policy/text.h"

#include <algorithm>
#include <cstdio>

namespace seccomp_gate {
namespace {

// The longest prefix of `value` of at most `limit` bytes that does not split a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view value, std::size_t limit) {
    if (value.size() <= limit) return value;
    std::size_t end = limit;
    // Step back over continuation bytes (10xxxxxx) to the start of the cut character.
    while (end > 0 && (static_cast<unsigned char>(value[end]) & 0xC0U) == 0x80U) --end;
    return value.substr(0, end);
}

bool needs_escape(char c) {
    return c == '"' || c == '\\' || static_cast<unsigned char>(c) < 0x20U || c == 0x7F;
}

// What Kubernetes names, namespaces and annotation keys are made of.
bool is_name_character(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_' || c == '/' || c == ':';
}

// `c` as it appears between quotes: itself, or its JSON escape.
std::string_view escaped(const char& c, char (&code)[8]) {
    switch (c) {
        case '"':
            return "\\\"";
        case '\\':
            return "\\\\";
        case '\n':
            return "\\n";
        case '\t':
            return "\\t";
        case '\r':
            return "\\r";
        default:
            break;
    }
    if (!needs_escape(c)) return {&c, 1};
    std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned char>(c));
    return code;
}

}  // namespace

std::string quoted(std::string_view value) {
    std::string out = "\"";
    std::size_t i = 0;
    while (i < value.size()) {
        // One character at a time (a whole UTF-8 sequence), so that a cut never splits one and
        // the escaped text, not the raw value, is what the bound counts.
        std::size_t length = 1;
        while (i + length < value.size() &&
               (static_cast<unsigned char>(value[i + length]) & 0xC0U) == 0x80U) {
            ++length;
        }
        char code[8];
        const std::string_view piece =
            length == 1 ? escaped(value[i], code) : value.substr(i, length);
        if (out.size() - 1 + piece.size() > kMaxShownValueBytes) break;
        out += piece;
        i += length;
    }
    if (i < value.size()) {
        out += "…\" (" + std::to_string(value.size()) + " bytes)";
    } else {
        out += '"';
    }
    return out;
}

std::string clipped(std::string_view value) {
    const std::string_view head = utf8_prefix(value, kMaxShownValueBytes);
    return head.size() == value.size() ? std::string(value) : std::string(head) + "…";
}

std::string shown(std::string_view value) {
    if (value.size() <= kMaxShownValueBytes &&
        std::all_of(value.begin(), value.end(), is_name_character)) {
        return std::string(value);
    }
    return quoted(value);
}

}  // namespace seccomp_gate
