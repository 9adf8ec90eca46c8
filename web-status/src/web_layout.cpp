// The frame every page shares (docs/web.md "Pages"): the layout template, the style sheet, the
// page's language and the switch between English and Swedish, and how times and amounts are
// written. The layout is a mustache template; the page's own part comes in already rendered
// from the page's template, so every value is escaped once, where it is inserted.
#include <Poco/DeflatingStream.h>

#include <mstch/mstch.hpp>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "web_app.h"

namespace rp::web {

namespace {

constexpr const char* kLayout = R"(<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
{{#refresh}}<meta http-equiv="refresh" content="{{refresh}}">
{{/refresh}}<title>{{title}} · restoreproof</title>
<link rel="stylesheet" href="/static/app.css">
</head>
<body>
<a class="skip" href="#main">{{t_skip}}</a>
<header class="top">
<p class="brand">restoreproof</p>
{{#who}}<nav aria-label="{{t_nav}}"><ul>
{{#nav}}<li><a href="{{href}}"{{#current}} aria-current="page"{{/current}}>{{label}}</a></li>
{{/nav}}</ul></nav>
<div class="who"><span>{{name}} ({{role}})</span>
<form method="post" action="/logout"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">{{t_signout}}</button></form>
</div>
{{/who}}<nav class="lang" aria-label="{{t_language}}"><ul>
<li><a href="/lang?to=en&amp;back={{back}}" lang="en" hreflang="en"{{#en}} aria-current="true"{{/en}}>English</a></li>
<li><a href="/lang?to=sv&amp;back={{back}}" lang="sv" hreflang="sv"{{#sv}} aria-current="true"{{/sv}}>Svenska</a></li>
</ul></nav>
</header>
<main id="main">
{{#can_refresh}}<p class="refresh">{{#refresh}}{{t_refreshing}} <a href="{{path}}">{{t_stop_refresh}}</a>{{/refresh}}{{^refresh}}<a href="{{path}}?refresh=on">{{t_start_refresh}}</a>{{/refresh}}</p>
{{/can_refresh}}{{{main}}}
</main>
<footer><p>restoreproof {{version}} · {{t_zone}} {{zone}}</p></footer>
</body>
</html>
)";

// Colour never stands alone: every verdict is also a word and an icon. The colours keep a
// contrast of at least 4.5:1 on their backgrounds (WCAG 2.1 AA). Under 700 px a table's rows
// become cards, each cell led by its column's name, and a long verdict (the overall one, the
// log's chain check) wraps rather than scrolling the page sideways.
constexpr const char* kStyle = R"(:root{--fg:#1f2328;--muted:#57606a;--bg:#ffffff;--line:#d0d7de;--ok:#116329;--okbg:#dafbe1;--warn:#7d4e00;--warnbg:#fff8c5;--fail:#a40e26;--failbg:#ffebe9;--link:#0550ae}
*{box-sizing:border-box}
body{margin:0;font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;color:var(--fg);background:var(--bg);line-height:1.45;font-size:16px}
a{color:var(--link)}
.skip{position:absolute;left:-9999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px 8px;z-index:2}
header.top{display:flex;flex-wrap:wrap;align-items:center;gap:8px 24px;padding:8px 16px;border-bottom:1px solid var(--line);background:#f6f8fa}
.brand{font-weight:700;margin:0}
header nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:4px 16px;margin:0;padding:0}
header nav a[aria-current]{font-weight:700;text-decoration:none;border-bottom:2px solid var(--fg);color:var(--fg)}
.who{display:flex;align-items:center;gap:8px;margin-left:auto}
.who form{margin:0}
main{padding:16px;max-width:1880px;margin:0 auto}
footer{padding:8px 16px;color:var(--muted);border-top:1px solid var(--line)}
h1{font-size:1.6rem;margin:0.2em 0 0.4em}h2{font-size:1.25rem;margin:1.2em 0 0.4em}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:6px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{background:#f6f8fa}
.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:2px 8px;border-radius:12px;font-weight:700;white-space:nowrap}
.v-ok{color:var(--ok);background:var(--okbg)}.v-warning{color:var(--warn);background:var(--warnbg)}.v-failing{color:var(--fail);background:var(--failbg)}
.overall{font-size:1.4rem;padding:12px 16px;border-radius:8px;margin:8px 0 16px}
.muted{color:var(--muted)}
button,input,select{font:inherit}
button{padding:4px 12px;border:1px solid #8c959f;border-radius:6px;background:#f6f8fa;color:var(--fg);cursor:pointer}
button:focus,a:focus,input:focus,select:focus{outline:3px solid #0969da;outline-offset:2px}
form.inline{display:inline;margin:0}
progress{width:10em;height:1em}
.cal{display:grid;grid-template-columns:repeat(auto-fill,minmax(2.6em,1fr));gap:3px;list-style:none;padding:0;margin:0 0 8px;max-width:60em}
.cal li{padding:2px;border-radius:4px;text-align:center;font-size:0.8rem;border:1px solid var(--line)}
.cal .d-verified{background:var(--okbg);color:var(--ok)}.cal .d-present{background:#ddf4ff;color:#0a3069}.cal .d-missing{background:var(--failbg);color:var(--fail)}
.refresh{margin:0 0 8px}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;list-style:none;padding:0}
svg{max-width:100%;height:auto}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px}dl.facts dt{font-weight:700}dl.facts dd{margin:0}
.sr{position:absolute;width:1px;height:1px;margin:-1px;padding:0;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.cal .dom{display:block;font-variant-numeric:tabular-nums}.cal .mark{font-weight:700}
.legend .key{display:inline-block;min-width:2.6em;padding:0 4px;border-radius:4px;text-align:center;font-weight:700;border:1px solid var(--line)}
.key.d-verified{background:var(--okbg);color:var(--ok)}.key.d-present{background:#ddf4ff;color:#0a3069}.key.d-missing{background:var(--failbg);color:var(--fail)}
figure.chart{margin:8px 0 16px}figure.chart figcaption{margin-top:4px}
form.action{margin:8px 0 16px}
code{font-family:ui-monospace,"DejaVu Sans Mono",monospace;font-size:0.9em;overflow-wrap:anywhere}
fieldset{border:1px solid var(--line);border-radius:6px;margin:0 0 12px;padding:8px 16px}
ul.checks{list-style:none;padding:0;columns:16em}ul.checks li{padding:2px 0}
ul.pager{list-style:none;display:flex;gap:16px;padding:0}
table.log td{font-size:0.9rem}
dl.facts{grid-template-columns:max-content minmax(0,1fr)}dl.facts dd{min-width:0;overflow-wrap:anywhere}
.v{display:inline-block;padding:0 6px;border-radius:10px;font-weight:700;white-space:nowrap}
.v.cov{white-space:normal}
.v.v-ok::before{content:"\2714\00a0" / ""}.v.v-warning::before{content:"\25B2\00a0" / ""}.v.v-failing::before{content:"\2716\00a0" / ""}.v.v-unchecked::before{content:"?\00a0" / ""}
@media (max-width:700px){
 table.dash td:nth-child(1)::before{content:"Target: "}table.dash td:nth-child(2)::before{content:"Status: "}table.dash td:nth-child(3)::before{content:"Newest backup: "}table.dash td:nth-child(4)::before{content:"Last restore test: "}table.dash td:nth-child(5)::before{content:"Retention: "}table.dash td:nth-child(6)::before{content:"Redundancy: "}table.dash td:nth-child(7)::before{content:"Restore time vs. objective: "}table.dash td:nth-child(8)::before{content:"Class (K/R/T): "}table.dash td:nth-child(9)::before{content:"Owner: "}
 html[lang=sv] table.dash td:nth-child(1)::before{content:"Mål: "}html[lang=sv] table.dash td:nth-child(3)::before{content:"Senaste kopia: "}html[lang=sv] table.dash td:nth-child(4)::before{content:"Senaste återläsningstest: "}html[lang=sv] table.dash td:nth-child(5)::before{content:"Lagring: "}html[lang=sv] table.dash td:nth-child(6)::before{content:"Redundans: "}html[lang=sv] table.dash td:nth-child(7)::before{content:"Återläsningstid mot mål: "}html[lang=sv] table.dash td:nth-child(8)::before{content:"Klass (K/R/T): "}html[lang=sv] table.dash td:nth-child(9)::before{content:"Ägare: "}
 table.cards,table.cards tbody,table.cards tr,table.cards td{display:block;width:100%}
 table.cards thead{position:absolute;left:-9999px}
 table.cards tr{border:1px solid var(--line);border-radius:8px;margin:0 0 12px;padding:4px 0}
 table.cards td{border:0;padding:2px 8px}
 table.cards td::before{content:attr(data-label) ": ";font-weight:700}
 .who{margin-left:0}
 dl.facts{grid-template-columns:1fr}
}
@media (min-width:1600px){body{font-size:18px}}
@media (max-width:700px){dl.facts{grid-template-columns:minmax(0,1fr)}table.cards td{overflow-wrap:anywhere}.verdict{white-space:normal}}
)";

const Msg kSkip{"Skip to the content", "Hoppa till innehållet"};
const Msg kNav{"Pages", "Sidor"};
const Msg kSignOut{"Sign out", "Logga ut"};
const Msg kLanguage{"Language", "Språk"};
const Msg kZone{"Times in", "Tider i"};
const Msg kNavDashboard{"Continuity", "Kontinuitet"};
const Msg kNavDrills{"Drills", "Övningar"};
const Msg kNavLog{"Restoration log", "Återläsningslogg"};
const Msg kNavEvidence{"Evidence", "Underlag"};
const Msg kNavPassword{"Password", "Lösenord"};
const Msg kStartRefresh{"Refresh this page automatically", "Uppdatera sidan automatiskt"};
const Msg kStopRefresh{"Stop refreshing", "Sluta uppdatera"};
const Msg kRefreshing{"This page reloads itself every minute.", "Sidan laddas om varje minut."};
const Msg kRefreshingFast{"This page reloads itself every 5 seconds.", "Sidan laddas om var 5:e sekund."};

// A local path to return to after the language switch: "/" unless `back` is a path on this
// server made of the characters a path and query may hold.
std::string SafeBack(const std::string& back) {
  if (back.empty() || back[0] != '/' || (back.size() > 1 && (back[1] == '/' || back[1] == '\\'))) return "/";
  for (char ch : back) {
    const auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"' || c == '<' || c == '>') return "/";
  }
  return back;
}

std::string PercentEncode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (char ch : s) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '/' || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

}  // namespace

bool RefreshAsked(const Request& request) { return request.query == "refresh=on"; }

const char* LangCode(Lang lang) { return lang == Lang::kSv ? "sv" : "en"; }

Lang PickLang(const Request& request) {
  if (const auto c = request.cookies.find("rp_lang"); c != request.cookies.end()) {
    if (c->second == "sv") return Lang::kSv;
    if (c->second == "en") return Lang::kEn;
  }
  if (const auto h = request.headers.find("accept-language"); h != request.headers.end())
    if (PreferredLanguage(h->second, {"en", "sv"}) == "sv") return Lang::kSv;
  return Lang::kEn;
}

std::string Gzip(const std::string& text) {
  std::ostringstream out;
  {
    Poco::DeflatingOutputStream z(out, Poco::DeflatingStreamBuf::STREAM_GZIP, 6);
    z.write(text.data(), static_cast<std::streamsize>(text.size()));
    z.close();
  }
  return std::move(out).str();
}

Reply Html(int status, std::string body) { return {status, "text/html; charset=utf-8", std::move(body), {}}; }

Reply SeeOther(const std::string& location) {
  Reply r = Text(303, "see " + location + "\n");
  r.headers.emplace_back("Location", location);
  return r;
}

std::string RenderPage(State& state, const Request& request, const Identity* who, Lang lang, const PageParts& page) {
  const auto config = state.config();
  std::string back = request.path;
  if (!request.query.empty()) back += "?" + request.query;
  mstch::map ctx{{"lang", std::string(LangCode(lang))},
                 {"title", page.title},
                 {"main", page.main_html},
                 {"t_skip", std::string(T(lang, kSkip))},
                 {"t_nav", std::string(T(lang, kNav))},
                 {"t_signout", std::string(T(lang, kSignOut))},
                 {"t_language", std::string(T(lang, kLanguage))},
                 {"t_zone", std::string(T(lang, kZone))},
                 {"zone", config->appliance.zone.name()},
                 {"version", std::string(RP_VERSION)},
                 {"back", PercentEncode(SafeBack(back))},
                 {"en", lang == Lang::kEn},
                 {"sv", lang == Lang::kSv}};
  // A page that changes reloads itself only when asked (`?refresh=on`, a link on the page): a
  // page that reloads by itself is a time limit the reader did not choose (WCAG 2.2.1), but a
  // wall screen opens the link once and keeps it.
  if (page.refresh_s > 0) {
    ctx.emplace("can_refresh", true);
    ctx.emplace("path", request.path);
    if (RefreshAsked(request)) ctx.emplace("refresh", std::to_string(page.refresh_s));
    ctx.emplace("t_start_refresh", std::string(T(lang, kStartRefresh)));
    ctx.emplace("t_stop_refresh", std::string(T(lang, kStopRefresh)));
    ctx.emplace("t_refreshing", std::string(T(lang, page.refresh_s < 60 ? kRefreshingFast : kRefreshing)));
  }
  if (who) {
    mstch::array nav;
    auto add = [&](const char* href, const Msg& label) {
      nav.push_back(mstch::map{{"href", std::string(href)}, {"label", std::string(T(lang, label))},
                               {"current", page.current == href}});
    };
    add("/", kNavDashboard);
    add("/drills", kNavDrills);
    if (RoleAllows(who->role, Role::kAuditor)) {
      add("/log", kNavLog);
      add("/evidence", kNavEvidence);
    }
    if (!who->token && !who->proxy) add("/password", kNavPassword);
    ctx.emplace("who", mstch::map{{"name", who->name},
                                  {"role", std::string(RoleName(who->role))},
                                  {"csrf", who->csrf},
                                  {"nav", nav}});
  }
  return mstch::render(kLayout, ctx);
}

std::string FormatTime(const Config& config, int64_t t) {
  if (t <= 0) return "-";
  return config.appliance.zone.Format(t, "%Y-%m-%d %H:%M");
}

std::string FormatAge(Lang, int64_t s) {  // min, h and d are written alike in both languages
  if (s < 0) s = 0;
  char buf[64];
  if (s < 3600)
    std::snprintf(buf, sizeof buf, "%lld min", static_cast<long long>(s / 60));
  else if (s < 2 * 86400)
    std::snprintf(buf, sizeof buf, "%lld h", static_cast<long long>(s / 3600));
  else
    std::snprintf(buf, sizeof buf, "%lld d", static_cast<long long>(s / 86400));
  return buf;
}

std::string FormatDuration(double s) {
  char buf[64];
  if (!(s >= 0)) s = 0;
  if (s < 10)
    std::snprintf(buf, sizeof buf, "%.2f s", s);
  else if (s < 60)
    std::snprintf(buf, sizeof buf, "%.0f s", s);
  else if (s < 3600)
    std::snprintf(buf, sizeof buf, "%d min %02d s", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  else if (s < 100 * 86400.0)
    std::snprintf(buf, sizeof buf, "%d h %02d min", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
  else
    std::snprintf(buf, sizeof buf, "> 2400 h");  // an estimate this far out says only "very long"
  return buf;
}

std::string FormatBytes(uint64_t b) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  double v = static_cast<double>(b);
  int u = 0;
  while (v >= 1024 && u < 5) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  if (u == 0)
    std::snprintf(buf, sizeof buf, "%llu B", static_cast<unsigned long long>(b));
  else
    std::snprintf(buf, sizeof buf, v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string FormatRate(double bps) {
  if (!(bps > 0)) return "-";
  return FormatBytes(static_cast<uint64_t>(std::llround(bps))) + "/s";
}

std::optional<Reply> LayoutRoute(State& state, const Request& request) {
  const bool get = request.method == "GET" || request.method == "HEAD";
  if (request.path == "/static/app.css") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    Reply r{200, "text/css; charset=utf-8", kStyle, {}};
    return r;
  }
  if (request.path == "/lang") {
    if (!get) return MethodNotAllowed("GET, HEAD", false);
    const QueryParameters q = ParseQuery(request.query, {"to", "back"});
    if (!q.error.empty()) return Text(400, q.error + "\n");
    const auto to = q.values.find("to");
    if (to == q.values.end() || (to->second != "en" && to->second != "sv")) return Text(400, "to: expected en or sv\n");
    const auto back = q.values.find("back");
    Reply r = SeeOther(SafeBack(back == q.values.end() ? "/" : back->second));
    // A preference, not a secret: kept a year, sent only to this server.
    std::string cookie = "rp_lang=" + to->second + "; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax";
    if (state.tls()) cookie += "; Secure";
    r.headers.emplace_back("Set-Cookie", cookie);
    return r;
  }
  return std::nullopt;
}

}  // namespace rp::web
