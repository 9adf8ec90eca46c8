#include "sources/name_locale.h"

#include <cstdint>
#include <initializer_list>

namespace rp::detail {
namespace {

// Code points NFC leaves as they are, by block: none of them combines with what precedes it,
// and none is a singleton or a composition exclusion.
bool NfcStable(uint32_t cp) {
  if (cp < 0x0300) return true;  // ASCII, Latin-1, Latin Extended-A/B, IPA, spacing modifiers
  if (cp >= 0x0370 && cp <= 0x03FF)  // Greek, but for its singletons
    return cp != 0x0374 && cp != 0x037E && cp != 0x0387;
  if (cp >= 0x0400 && cp <= 0x052F) return cp < 0x0483 || cp > 0x0489;  // Cyrillic, no marks
  if (cp >= 0x2000 && cp <= 0x206F) return true;   // general punctuation
  if (cp >= 0x20A0 && cp <= 0x20CF) return true;   // currency symbols
  if (cp >= 0x3000 && cp <= 0x3029) return true;   // CJK punctuation, before its tone marks
  if (cp >= 0x3041 && cp <= 0x3096) return true;   // hiragana
  if (cp >= 0x30A1 && cp <= 0x30FA) return true;   // katakana
  if (cp >= 0x4E00 && cp <= 0x9FFF) return true;   // CJK unified ideographs
  if (cp >= 0xAC00 && cp <= 0xD7A3) return true;   // Hangul syllables (precomposed)
  if (cp >= 0xFF01 && cp <= 0xFF5E) return true;   // fullwidth ASCII forms
  return false;
}

}  // namespace

bool NfcMayChange(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1Fu; }
    else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0Fu; }
    else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07u; }
    else return true;
    if (i + len > s.size()) return true;
    for (size_t k = 1; k < len; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return true;
      cp = (cp << 6) | (cc & 0x3Fu);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF || !NfcStable(cp))
      return true;
    i += len;
  }
  return false;
}

locale_t Utf8NameLocale() {
  static const locale_t loaded = [] {
    for (const char* name : {"C.UTF-8", "C.utf8", "en_US.UTF-8", "en_GB.UTF-8", "sv_SE.UTF-8"})
      if (locale_t l = newlocale(LC_CTYPE_MASK, name, static_cast<locale_t>(nullptr))) return l;
    return static_cast<locale_t>(nullptr);
  }();
  return loaded;
}

}  // namespace rp::detail
