// IP addresses and networks as the configuration writes them (`[web] trusted_proxies`:
// "127.0.0.1", "10.0.0.0/8", "::1", "fd00::/8") and as the web server meets a client's address.
// Pure functions over text, no sockets, no resolver: a host name is not an address. Thread-safe.
// Fuzzed by fuzz/fuzz_web_parse.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace rp {

// An IPv4 or IPv6 network: the address's bytes (IPv4 in the first 4) and the prefix length.
// A single address is a network of 32 (IPv4) or 128 (IPv6) bits. The bits after the prefix are
// zero.
struct IpNetwork {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};
  int prefix = 0;
  bool operator==(const IpNetwork&) const = default;
};

// An address: dotted IPv4 (four decimal numbers 0-255, no leading zeros: "010" could be read as
// octal), or IPv6 text (RFC 4291 §2.2: eight groups of 1-4 hex digits, one "::" for a run of
// zero groups, an IPv4 tail as in "::ffff:192.0.2.1"), without a zone ("%eth0") or brackets.
// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) is the IPv4 address, so that a server listening
// on "::" still recognises an IPv4 client. nullopt when the text is anything else.
std::optional<IpNetwork> ParseIpAddress(std::string_view text);

// A network: an address, or ADDRESS/PREFIX with PREFIX 0-32 (IPv4) or 0-128 (IPv6) in decimal
// without leading zeros. nullopt, and why in *why (when given), for anything else, including an
// address with bits set after the prefix ("10.1.0.0/8": meant 10.0.0.0/8, or 10.1.0.0/16?).
std::optional<IpNetwork> ParseIpNetwork(std::string_view text, std::string* why = nullptr);

// The canonical text: dotted IPv4, IPv6 in RFC 5952's form (lower case, the longest run of two
// or more zero groups as "::"), "/PREFIX" unless a single address. Parses back to `net`.
std::string FormatIpNetwork(const IpNetwork& net);

// Whether `address` (text as above; a zone suffix "%..." is ignored) lies in `net`. An IPv4
// address is never in an IPv6 network and the other way round (an IPv4-mapped address counts
// as IPv4). False when `address` is not an address.
bool IpNetworkContains(const IpNetwork& net, std::string_view address);

}  // namespace rp
