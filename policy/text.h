#pragma once
// How values taken from a request appear in messages: quoted, escaped and bounded, so that a
// hostile value can neither forge the structure of a message (a `"` or a `; ` inside a value
// stays inside its quotes) nor make a response large (a 5 MB container name is shown cut).

#include <cstddef>
#include <string>
#include <string_view>

namespace seccomp_gate {

// Values longer than this are cut (at a UTF-8 character boundary) when shown in a message.
inline constexpr std::size_t kMaxShownValueBytes = 256;

// `"value"`, with `"`, `\` and control characters escaped as in JSON; a value over
// kMaxShownValueBytes is cut and followed by how long it was: `"aaa…" (1048576 bytes)`.
std::string quoted(std::string_view value);

// The value itself when it is short and made of the characters of Kubernetes names (letters,
// digits, `.-_/:`), else as quoted() shows it: for names that appear unquoted in field paths and
// object references.
std::string shown(std::string_view value);

// At most kMaxShownValueBytes of `value` (cut at a character boundary, then "…"), unquoted: for
// log fields, which their writer escapes.
std::string clipped(std::string_view value);

}  // namespace seccomp_gate
