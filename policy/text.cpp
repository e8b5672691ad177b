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

}  // namespace

std::string quoted(std::string_view value) {
    const std::string_view head = utf8_prefix(value, kMaxShownValueBytes);
    std::string out;
    out.reserve(head.size() + 2);
    out += '"';
    for (const char c : head) {
        if (!needs_escape(c)) {
            out += c;
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            case '\r':
                out += "\\r";
                break;
            default: {
                char code[8];
                std::snprintf(code, sizeof code, "\\u%04x", static_cast<unsigned char>(c));
                out += code;
            }
        }
    }
    if (head.size() < value.size()) {
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
