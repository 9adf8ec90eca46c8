// Internals of the evidence renderers (evidence_render.cpp) that tests reach: the PDF with a
// chosen font file, and the one text cleaner every renderer uses. Pure functions, thread-safe.
#pragma once

#include <string>
#include <string_view>

#include "rp/evidence.h"

namespace rp {

// EvidencePdf with the TrueType font at `font_path` instead of kEvidenceFont.
Status EvidencePdfWithFont(const EvidenceReport& r, const TimeZone& zone, const std::string& font_path,
                           std::string* pdf);

// `text` as valid UTF-8 for a document: a byte that does not begin a valid sequence and a control
// character (C0 other than tab, CR and LF; DEL; C1) become U+FFFD; tab, CR and LF stay when
// `keep_breaks`, else each becomes a space.
std::string CleanText(std::string_view text, bool keep_breaks);

// The one HTML escaper: CleanText (breaks kept), then & < > " ' as character references.
std::string HtmlEscape(std::string_view text);

}  // namespace rp
