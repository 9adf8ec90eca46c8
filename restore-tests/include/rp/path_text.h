// Paths as raw bytes and their printable form. Archive member names are kept byte-exact
// (non-UTF-8 included); anything shown to a person or put into JSON goes through
// EscapePath(), which is reversible by UnescapePath(). Pure functions, thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace rp {

// Valid UTF-8 passes through except '\\' -> "\\\\", control bytes -> "\\n", "\\t", "\\xNN";
// bytes that are not valid UTF-8 become "\\xNN".
std::string EscapePath(std::string_view raw);

// For showing a message to a person: like EscapePath but a backslash stays as it is, so the
// escaped paths messages already hold are not escaped twice. Not reversible.
std::string EscapeMessage(std::string_view text);

// True when `s` is valid UTF-8 (no overlong forms, surrogates or values past U+10FFFF).
bool IsValidUtf8(std::string_view s);

// Inverse of EscapePath; nullopt on a malformed escape.
std::optional<std::string> UnescapePath(std::string_view escaped);

// Normalises a member name from an archive or manifest: strips leading "./" and repeated
// slashes and a trailing slash. Returns nullopt (with *why set) when the name is unsafe:
// absolute, contains a ".." component, or contains a NUL byte. An empty result means the
// archive root itself (".", "./").
std::optional<std::string> NormaliseMemberPath(std::string_view name, std::string* why);

}  // namespace rp
