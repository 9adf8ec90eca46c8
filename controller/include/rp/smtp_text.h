// The text pieces of sending e-mail that need no network: reading an SMTP server's EHLO reply
// and encoding a header value. Pure functions, free of Poco and OpenSSL, so that the fuzz
// build can compile them alone (fuzz/fuzz_smtp.cpp). Included by rp/notify.h.
#pragma once

#include <string>
#include <string_view>

namespace rp {

// What a server's EHLO reply offers. The reply is outside input: every line is read, none
// trusted to be well-formed.
struct SmtpCapabilities {
  bool starttls = false;
  bool auth_plain = false;
  bool auth_login = false;
  bool smtputf8 = false;
};

// The reply's lines, separated by LF (a CR before it is ignored): the first names the server;
// each later one is "250-" or "250 " (any four characters) and a keyword, in any case, with
// its parameters. AUTH's mechanisms are read as "AUTH PLAIN LOGIN" and "AUTH=LOGIN".
SmtpCapabilities ParseEhloReply(std::string_view reply);

// `text` as an RFC 2047 header value: unchanged when it is printable ASCII of at most 900
// characters without "=?" (which a reader would take for the start of an encoded word), else
// UTF-8 "B" encoded words of at most 68 characters, folded with CRLF and a space, never
// splitting a character of valid UTF-8; decoded and joined, the words give back the text.
// Control characters (below 0x20, and 0x7f) become spaces, so a header cannot be ended from
// inside it.
std::string EncodeHeaderText(std::string_view text);

// `bytes` in standard base64 (RFC 4648, "+/" and "=" padding), without line breaks.
std::string Base64(std::string_view bytes);

}  // namespace rp
