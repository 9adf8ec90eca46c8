// The web server's readers of the bytes a client sends in a request line and body (private to
// rp_web): percent-decoding, application/x-www-form-urlencoded forms (sign-in and POST bodies,
// query strings), the check of a query string against the names a route accepts, decimal query
// values, and the path segments after /api/v1. No Poco here: fuzz/fuzz_web_parse.cpp compiles
// this file into itself. Cookies are parsed by Poco (HTTPServerRequest::getCookies) in
// web_server.cpp, not here.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace rp {

// Percent-decoding: "%hh" (two hex digits, either case) becomes that byte, '+' becomes a space
// when `plus`, every other byte is kept as it is (no byte is refused, including NUL and
// non-UTF-8). nullopt for a malformed escape: a '%' not followed by two hex digits, including one
// too near the end. The result is never longer than `text`.
std::optional<std::string> PercentDecode(std::string_view text, bool plus);

// An application/x-www-form-urlencoded text, name=value&name=value...: split at every '&', each
// piece at its first '=' (a piece without '=' is a name with an empty value; an empty piece is
// skipped), names and values percent-decoded with '+' as a space. nullopt when any name or
// value has a malformed escape. A repeated name keeps its first value and sets *repeated
// (cleared first when given).
std::optional<std::map<std::string, std::string>> ParseForm(std::string_view text, bool* repeated = nullptr);

// A query string checked against the names a route accepts.
struct QueryParameters {
  std::map<std::string, std::string> values;  // decoded; empty when `error` is set
  std::string error;                          // non-empty: the answer is 400 with this message
};

// The query string (after '?', not decoded) against `allowed`: a malformed string (ParseForm),
// a repeated name or a name not in `allowed` is an error naming which.
QueryParameters ParseQuery(std::string_view query, std::initializer_list<std::string_view> allowed);

// A decimal integer in [lo, hi] (an optional '-', digits, nothing else); nullopt otherwise.
std::optional<int64_t> ParseDecimal(const std::string& text, int64_t lo, int64_t hi);

// The request path after "/api/v1" (`path` must begin with it; the server calls this only for
// "/api/v1" and paths beginning "/api/v1/"), the one character after it dropped, the rest split
// at '/' and each
// segment percent-decoded without '+' (so an encoded '/' stays inside its segment). "/api/v1"
// and "/api/v1/" give no segments; nullopt when a segment has a malformed escape.
std::optional<std::vector<std::string>> SplitApiPath(std::string_view path);

}  // namespace rp
