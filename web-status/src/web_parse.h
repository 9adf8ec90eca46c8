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

// An Accept-Language header (RFC 9110 §12.5.4: "sv-SE,sv;q=0.9,en;q=0.8"): the one of `supported`
// (primary language tags, lower case) the client prefers most, by q-value and then by order;
// a range's primary subtag is compared case-insensitively, "*" matches the first of `supported`,
// q=0 excludes. "" when none matches or the header is malformed in a way that hides the choice.
std::string PreferredLanguage(std::string_view header, std::initializer_list<std::string_view> supported);

// Whether an Accept-Encoding header (RFC 9110 §12.5.3: "gzip, deflate, br;q=0.5") allows gzip:
// `gzip` or `x-gzip` with a q-value above 0, or `*` above 0 when gzip is not itself refused with
// q=0. Names compare case-insensitively; a malformed q-value refuses its coding.
bool AcceptsGzip(std::string_view header);

}  // namespace rp
