// The EHLO reply reader and the header encoder (rp/smtp_text.h). No Poco and no OpenSSL here:
// fuzz/fuzz_smtp.cpp compiles this file alone.
#include "rp/smtp_text.h"

#include <algorithm>
#include <cctype>
#include <sstream>

namespace rp {

std::string Base64(std::string_view bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const auto byte = [&](size_t i) { return i < bytes.size() ? unsigned{static_cast<unsigned char>(bytes[i])} : 0u; };
  std::string out;
  out.reserve(4 * ((bytes.size() + 2) / 3));
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const unsigned v = byte(i) << 16 | byte(i + 1) << 8 | byte(i + 2);
    const size_t n = std::min<size_t>(bytes.size() - i, 3);  // bytes in this group
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += n >= 2 ? kAlphabet[(v >> 6) & 63] : '=';
    out += n == 3 ? kAlphabet[v & 63] : '=';
  }
  return out;
}

SmtpCapabilities ParseEhloReply(std::string_view reply) {
  SmtpCapabilities caps;
  size_t start = 0;
  bool first = true;
  while (start <= reply.size()) {
    size_t end = reply.find('\n', start);
    if (end == std::string_view::npos) end = reply.size();
    std::string_view line = reply.substr(start, end - start);
    start = end + 1;
    // "250-KEYWORD params" or "250 KEYWORD params"; the first line is the server's greeting name.
    const bool was_first = first;
    first = false;
    if (was_first || line.size() < 4) continue;
    std::string upper;
    for (char ch : line.substr(4)) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    std::istringstream words(upper);
    std::string keyword;
    words >> keyword;
    if (keyword == "STARTTLS") caps.starttls = true;
    if (keyword == "SMTPUTF8") caps.smtputf8 = true;
    std::string mechanisms;
    if (keyword.rfind("AUTH=", 0) == 0) mechanisms = keyword.substr(5) + " ";
    if (keyword == "AUTH" || keyword.rfind("AUTH=", 0) == 0) {
      std::string m;
      while (words >> m) mechanisms += m + " ";
      std::istringstream list(mechanisms);
      while (list >> m) {
        if (m == "PLAIN") caps.auth_plain = true;
        if (m == "LOGIN") caps.auth_login = true;
      }
    }
    if (end == reply.size()) break;
  }
  return caps;
}

std::string EncodeHeaderText(std::string_view text) {
  std::string clean;
  bool plain = true;
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    const char out = (c < 0x20 || c == 0x7f) ? ' ' : ch;
    if (c >= 0x80) plain = false;
    clean += out;
  }
  if (plain && clean.size() <= 900 && clean.find("=?") == std::string::npos) return clean;
  // Words of at most 42 bytes: 56 base64 characters, 68 with "=?UTF-8?B?" and "?=", so that
  // even the first line, "Subject: " and a word, keeps within 78. Cut only before a lead byte.
  std::string out;
  size_t i = 0;
  while (i < clean.size()) {
    size_t end = std::min(i + 42, clean.size());
    while (end > i + 1 && end < clean.size() && (static_cast<unsigned char>(clean[end]) & 0xC0) == 0x80) --end;
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + Base64(std::string_view(clean).substr(i, end - i)) + "?=";
    i = end;
  }
  return out;
}

}  // namespace rp
