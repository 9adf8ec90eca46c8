// Internal: the locale libarchive converts member names through. libarchive converts a name
// between the archive's charset (UTF-8 in pax and zip with the UTF-8 flag, UTF-16 in 7z) and
// the calling thread's LC_CTYPE; in the C locale every name outside ASCII fails ("Pathname
// can't be converted from UTF-8 to current locale") whatever the caller's LANG says. Readers
// use a UTF-8 locale of their own, so names are restored as their UTF-8 (or, where the archive
// stores no charset, raw) bytes. Loaded once, before the worker's Landlock hides
// /usr/lib/locale; thread-safe; never freed (one immutable object per process).
#pragma once

#include <locale.h>

#include <string_view>

namespace rp::detail {

// libarchive normalises every name it converts from UTF-8 or UTF-16 to Unicode NFC. True when
// that may change `utf8`'s bytes: it is not valid UTF-8, or holds a code point outside the
// ranges known to be unchanged by NFC (ASCII, Latin, Greek and Cyrillic letters without the
// few singletons, CJK ideographs, kana, Hangul syllables, common punctuation). Readers keep a
// name's stored bytes only where this says so, so their memory grows with unusual names only.
bool NfcMayChange(std::string_view utf8);

// A UTF-8 LC_CTYPE locale (C.UTF-8, else the first UTF-8 locale installed of a short list), or
// (locale_t)0 when none is installed.
locale_t Utf8NameLocale();

}  // namespace rp::detail
