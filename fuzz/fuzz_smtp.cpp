// libFuzzer target for the e-mail text pieces (rp/smtp_text.h, controller/src/smtp_text.cpp,
// compiled here alone: the rest of rp_controller needs Poco). Any bytes as an SMTP server's
// EHLO reply (rp::ParseEhloReply) give capabilities, never a crash: the same as a second,
// simpler reader of the grammar rp/smtp_text.h documents; the reply is read line by line, so
// the capabilities of two replies joined are those of each, and neither CRLF line ends nor
// letter case change them. Any bytes as a subject (rp::EncodeHeaderText) give a header value
// of printable ASCII in which a CR or LF appears only as the fold "\r\n ": it is the text with
// control characters made spaces when that is printable ASCII of at most 900 characters
// without "=?", else encoded words "=?UTF-8?B?...?=" of at most 68 characters whose decoded
// bytes, joined, are that text, each word whole UTF-8 when the text is valid UTF-8. rp::Base64
// of any bytes decodes back to them. Traps when one breaks. Single-threaded; no state between
// inputs.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "rp/smtp_text.h"

namespace {

void Check(bool ok) {
  if (!ok) __builtin_trap();
}

// ---- EHLO replies ----

bool Same(const rp::SmtpCapabilities& a, const rp::SmtpCapabilities& b) {
  return a.starttls == b.starttls && a.auth_plain == b.auth_plain && a.auth_login == b.auth_login &&
         a.smtputf8 == b.smtputf8;
}

rp::SmtpCapabilities Union(const rp::SmtpCapabilities& a, const rp::SmtpCapabilities& b) {
  return {a.starttls || b.starttls, a.auth_plain || b.auth_plain, a.auth_login || b.auth_login,
          a.smtputf8 || b.smtputf8};
}

std::string AsciiCase(std::string_view s, bool upper) {
  std::string out(s);
  for (char& ch : out) {
    if (upper && ch >= 'a' && ch <= 'z') ch = static_cast<char>(ch - 'a' + 'A');
    if (!upper && ch >= 'A' && ch <= 'Z') ch = static_cast<char>(ch - 'A' + 'a');
  }
  return out;
}

// The reply as rp/smtp_text.h describes it, read another way: LF-separated lines; after the
// first, each of at least four characters is a keyword and parameters from its fifth on,
// split at ASCII white space, in any case.
rp::SmtpCapabilities Reference(std::string_view reply) {
  rp::SmtpCapabilities caps;
  const auto space = [](char ch) {
    return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\v' || ch == '\f' || ch == '\r';
  };
  size_t line_start = reply.find('\n');
  while (line_start != std::string_view::npos) {
    ++line_start;
    const size_t line_end = std::min(reply.find('\n', line_start), reply.size());
    std::vector<std::string> words;
    for (size_t i = line_start + 4; i < line_end; ++i) {
      if (space(reply[i])) continue;
      size_t j = i;
      while (j < line_end && !space(reply[j])) ++j;
      words.push_back(AsciiCase(reply.substr(i, j - i), true));
      i = j;
    }
    line_start = line_end == reply.size() ? std::string_view::npos : line_end;
    if (words.empty()) continue;
    if (words[0] == "STARTTLS") caps.starttls = true;
    if (words[0] == "SMTPUTF8") caps.smtputf8 = true;
    if (words[0].rfind("AUTH=", 0) == 0)
      words[0].erase(0, 5);
    else if (words[0] == "AUTH")
      words[0].clear();
    else
      continue;
    for (const std::string& m : words) {
      if (m == "PLAIN") caps.auth_plain = true;
      if (m == "LOGIN") caps.auth_login = true;
    }
  }
  return caps;
}

void EhloReplies(std::string_view reply) {
  const rp::SmtpCapabilities caps = rp::ParseEhloReply(reply);
  Check(Same(caps, Reference(reply)));

  // Nothing is offered that the reply does not name.
  const std::string upper = AsciiCase(reply, true);
  const auto names = [&](const char* word) { return upper.find(word) != std::string::npos; };
  Check(!caps.starttls || names("STARTTLS"));
  Check(!caps.smtputf8 || names("SMTPUTF8"));
  Check(!caps.auth_plain || (names("AUTH") && names("PLAIN")));
  Check(!caps.auth_login || (names("AUTH") && names("LOGIN")));
  // The first line is the server's name: alone, it offers nothing.
  if (reply.find('\n') == std::string_view::npos) Check(Same(caps, rp::SmtpCapabilities{}));

  // Letter case and CRLF line ends do not matter.
  Check(Same(rp::ParseEhloReply(upper), caps));
  Check(Same(rp::ParseEhloReply(AsciiCase(reply, false)), caps));
  std::string crlf;
  for (char ch : reply) crlf += ch == '\n' ? std::string("\r\n") : std::string(1, ch);
  Check(Same(rp::ParseEhloReply(crlf), caps));

  // Line by line: a reply with more lines after it offers what each part offers.
  const std::string_view head = reply.substr(0, reply.size() / 2);
  const std::string_view tail = reply.substr(reply.size() / 2);
  const rp::SmtpCapabilities joined = rp::ParseEhloReply(std::string(head) + "\n" + std::string(tail));
  Check(Same(joined, Union(rp::ParseEhloReply(head), rp::ParseEhloReply("name\n" + std::string(tail)))));
  // And a well-formed line after any reply is read.
  const rp::SmtpCapabilities more = rp::ParseEhloReply(std::string(reply) + "\r\n250-STARTTLS\r\n250 auth=login plain");
  Check(more.starttls && more.auth_login && more.auth_plain && more.smtputf8 == caps.smtputf8);
}

// ---- base64 and header text ----

int Sextet(char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

// Strict standard base64: whole quads, "=" only as the last one or two characters, no bits
// left over in the padding. nullopt when `s` is not that.
std::optional<std::string> DecodeBase64(std::string_view s) {
  if (s.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < s.size() && s[s.size() - 1 - pad] == '=') ++pad;
  std::string out;
  unsigned bits = 0;
  int nbits = 0;
  for (size_t i = 0; i + pad < s.size(); ++i) {
    const int v = Sextet(s[i]);
    if (v < 0) return std::nullopt;
    bits = (bits << 6 | static_cast<unsigned>(v)) & 0xFFFFFFu;
    nbits += 6;
    if (nbits >= 8) {
      nbits -= 8;
      out += static_cast<char>((bits >> nbits) & 0xFFu);
    }
  }
  if ((bits & ((1u << nbits) - 1)) != 0) return std::nullopt;  // non-zero bits in the padding
  if (pad != (3 - out.size() % 3) % 3) return std::nullopt;
  return out;
}

// Well-formed UTF-8 (RFC 3629): no overlong forms, surrogates or code points above U+10FFFF.
bool ValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    unsigned cp = 0;
    if (c < 0x80)
      n = 1, cp = c;
    else if (c >= 0xC2 && c <= 0xDF)
      n = 2, cp = c & 0x1Fu;
    else if (c >= 0xE0 && c <= 0xEF)
      n = 3, cp = c & 0x0Fu;
    else if (c >= 0xF0 && c <= 0xF4)
      n = 4, cp = c & 0x07u;
    else
      return false;
    if (i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = cp << 6 | (cc & 0x3Fu);
    }
    if ((n == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) || (n == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
      return false;
    i += n;
  }
  return true;
}

void Base64RoundTrips(std::string_view bytes) {
  const std::string encoded = rp::Base64(bytes);
  Check(encoded.size() == 4 * ((bytes.size() + 2) / 3));
  const std::optional<std::string> back = DecodeBase64(encoded);
  Check(back.has_value() && *back == bytes);
}

void HeaderText(std::string_view text) {
  std::string clean(text);
  bool ascii = true;
  for (char& ch : clean) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c == 0x7f) ch = ' ';
    if (c >= 0x80) ascii = false;
  }
  const std::string out = rp::EncodeHeaderText(text);

  // Printable ASCII; CR and LF only as the fold CRLF SP, which cannot end the header.
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (c == '\r')
      Check(out.compare(i, 3, "\r\n ") == 0 && i > 0 && i + 3 < out.size());
    else if (c == '\n')
      Check(i > 0 && out[i - 1] == '\r');
    else
      Check(c >= 0x20 && c < 0x7f);
  }

  if (ascii && clean.size() <= 900 && clean.find("=?") == std::string::npos) {
    Check(out == clean);
    return;
  }

  // Encoded words, one per folded line, that decode to the clean text.
  const bool whole_characters = ValidUtf8(clean);
  std::string decoded;
  size_t start = 0;
  for (;;) {
    const size_t fold = out.find("\r\n ", start);
    const std::string_view word =
        std::string_view(out).substr(start, fold == std::string::npos ? std::string::npos : fold - start);
    constexpr std::string_view kPrefix = "=?UTF-8?B?", kSuffix = "?=";
    Check(word.size() <= 68);
    Check(word.size() > kPrefix.size() + kSuffix.size());
    Check(word.substr(0, kPrefix.size()) == kPrefix && word.substr(word.size() - kSuffix.size()) == kSuffix);
    const std::optional<std::string> bytes =
        DecodeBase64(word.substr(kPrefix.size(), word.size() - kPrefix.size() - kSuffix.size()));
    Check(bytes.has_value() && !bytes->empty());
    if (whole_characters) Check(ValidUtf8(*bytes));
    decoded += *bytes;
    if (fold == std::string::npos) break;
    start = fold + 3;
  }
  Check(decoded == clean);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  EhloReplies(text);
  HeaderText(text);
  Base64RoundTrips(text);
  return 0;
}
