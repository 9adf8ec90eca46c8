// The web pages in a real headless Chromium (Debian's, driven by playwright-core) against a real
// `restoreproof serve` of the demo estate: signing in, the dashboard with the demo's failing
// targets first, a failing target's calendar and chart, "Test now" watched to its end, an
// evidence bundle downloaded and verified, the demo admin's one-time password changed, the
// language switch; then every page in English and Swedish at 1920 and 360 px wide, each checked
// by axe-core against WCAG 2.1 A and AA (zero violations) and kept as a screenshot.
//
//   RP_BINARY=build/restoreproof node tests/browser/pages.test.mjs [ARTIFACT_DIR]
//
// ARTIFACT_DIR (or RP_ARTIFACTS; default ./browser-artifacts) receives the screenshots, the
// downloaded bundle and serve's log. Exit 0 when every check passed, 1 naming each that failed.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const { Appliance, TARGETS, launchChromium, signIn, waitFor } = await import('./appliance.mjs').catch((e) => {
  console.log(`FAIL cannot load the browser tests' npm packages (${e.message.split('\n')[0]}): ` +
              'run scripts/deps.sh, which runs npm ci --prefix tests/browser');
  process.exit(1);
});

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];
const WIDTHS = [1920, 360];
const DEADLINE_S = 200;  // below CTest's timeout (300 s), so serve is always stopped by this script

const artifacts = path.resolve(process.argv[2] || process.env.RP_ARTIFACTS || 'browser-artifacts');
fs.mkdirSync(artifacts, { recursive: true });
// Only what an earlier run left here goes: the directory may be one the caller keeps other files in.
for (const f of fs.readdirSync(artifacts))
  if (/\.(png|tar\.gz)$|^serve\.log$|^demo-output\.txt$/.test(f)) fs.rmSync(path.join(artifacts, f), { force: true });

const failures = [];
let passed = 0;
const started = Date.now();
const stamp = () => `${((Date.now() - started) / 1000).toFixed(1).padStart(5)} s`;
function fail(what) { failures.push(what); console.log(`${stamp()} FAIL ${what}`); }
function pass(what) { ++passed; console.log(`${stamp()} ok   ${what}`); }

// Runs one check; a thrown error is its failure. Returns whether it passed.
async function check(name, fn) {
  try {
    await fn();
    pass(name);
    return true;
  } catch (e) {
    fail(`${name}: ${e.message.split('\n')[0]}`);
    if (e.message.includes('\n')) console.log(e.message.split('\n').slice(1, 30).map((l) => `        ${l}`).join('\n'));
    return false;
  }
}
function expect(cond, message) { if (!cond) throw new Error(message); }

const PASSWORDS = { admin: 'browser-admin-pw-1', operator: 'browser-operator-pw-1',
                    auditor: 'browser-auditor-pw-1', viewer: 'browser-viewer-pw-1' };

async function newContext(browser, lang, width = 1280, { favicon404 = true } = {}) {
  // The server's Content-Security-Policy forbids scripts; axe is injected past it.
  const context = await browser.newContext({ bypassCSP: true, viewport: { width, height: 900 },
                                             acceptDownloads: true, locale: 'en-GB' });
  context.setDefaultTimeout(30_000);
  context.setDefaultNavigationTimeout(60_000);
  if (lang) await context.addCookies([{ name: 'rp_lang', value: lang, url: app.url }]);
  // Chromium asks for /favicon.ico by itself. Answered 303 to /login, that request brings a new
  // sign-in CSRF cookie, and the form loaded before it no longer matches: the first check below
  // shows that with the browser as it is; the other contexts answer it 404 in the browser, as
  // the server should, so the checks after sign-in still run.
  if (favicon404) await context.route('**/favicon.ico', (route) => route.fulfill({ status: 404, body: '' }));
  return context;
}

// axe-core's WCAG 2.1 A/AA violations on the page as it is, or throws; retried when the page's
// own refresh navigated away in the middle.
async function axeViolations(page) {
  for (let attempt = 1; ; ++attempt) {
    try {
      await page.addScriptTag({ path: AXE });
      const r = await page.evaluate((tags) => window.axe.run(document, {
        runOnly: { type: 'tag', values: tags }, resultTypes: ['violations'] }), AXE_TAGS);
      return r.violations;
    } catch (e) {
      if (attempt >= 3 || !/context was destroyed|navigat/i.test(e.message)) throw e;
      await page.waitForLoadState('load');
    }
  }
}

// In the page: its width, and the innermost elements that reach past the viewport's right edge
// or whose content does (as tag#id.class with their width), at most 6.
function widestElements() {
  const limit = document.documentElement.clientWidth;
  const over = [...document.body.querySelectorAll('*')].filter((e) => {
    const r = e.getBoundingClientRect();
    return r.right > limit + 1 || (r.width > 0 && r.left + e.scrollWidth > limit + 1);
  });
  const innermost = over.filter((e) => !over.some((o) => o !== e && e.contains(o)));
  const name = (e) => e.tagName.toLowerCase() + (e.id ? `#${e.id}` : '') +
    [...e.classList].map((c) => `.${c}`).join('') + ` (${Math.round(e.getBoundingClientRect().width)} px)`;
  return { width: document.documentElement.scrollWidth, elements: innermost.slice(0, 6).map(name) };
}

function describeViolations(violations) {
  const lines = [];
  for (const v of violations) {
    lines.push(`${v.id} (${v.impact}): ${v.help}`);
    for (const n of v.nodes.slice(0, 8)) {
      lines.push(`    at ${n.target.join(' ')}`);
      if (n.failureSummary) lines.push(`       ${n.failureSummary.replace(/\s*\n\s*/g, ' ')}`);
    }
    if (v.nodes.length > 8) lines.push(`    ... and ${v.nodes.length - 8} more`);
  }
  return lines.join('\n');
}

// --- the appliance ------------------------------------------------------------------------------

const app = new Appliance();
let browser = null;

async function main() {
  console.log(`${stamp()} building the demo estate under ${app.dir}`);
  const otp = app.buildDemo();
  fs.writeFileSync(path.join(artifacts, 'demo-output.txt'), app.demoOutput);
  for (const [role, pw] of Object.entries(PASSWORDS)) app.addUser(role, role, pw);
  await app.start();
  pass(`serve listens on ${app.url} and is ready`);
  browser = await launchChromium();

  // --- signing in with the browser as it is ----------------------------------------------------
  const plain = await newContext(browser, null, 1280, { favicon404: false });
  await check('a browser signs in at /login with its own /favicon.ico request', async () => {
    const p = await plain.newPage();
    try {
      // The favicon request ends before the form is filled in, as it does for a person.
      const cdp = await plain.newCDPSession(p);
      await cdp.send('Network.enable');
      const favicon = new Promise((resolve) => {
        let id = null;
        cdp.on('Network.requestWillBeSent', (e) => { if (e.request.url.endsWith('/favicon.ico')) id = e.requestId; });
        const end = (e) => { if (id && e.requestId === id) resolve(true); };
        cdp.on('Network.loadingFinished', end);
        cdp.on('Network.loadingFailed', end);
        setTimeout(() => resolve(false), 15_000);
      });
      await p.goto(`${app.url}/login`);
      await favicon;
      await signIn(p, app.url, 'viewer', PASSWORDS.viewer, { navigate: false });
    } catch (e) {
      const fav = await fetch(`${app.url}/favicon.ico`, { redirect: 'manual' }).catch(() => null);
      const hint = fav && fav.status === 303 ? ` (GET /favicon.ico answers 303 to ${fav.headers.get('location')}, ` +
        'whose GET /login sets a new rp_login_csrf cookie that no longer matches the token in the form ' +
        'the user is filling in: answer /favicon.ico 404 without a session, and let GET /login keep a ' +
        'valid rp_login_csrf cookie it was sent instead of issuing a new one)' : '';
      throw new Error(`${e.message}${hint}`);
    }
  });
  await plain.close();

  // --- operator: dashboard, a failing target, Test now ---------------------------------------
  const op = await newContext(browser, null);
  const page = await op.newPage();
  let failingTarget = null;
  let runId = null;
  const signedIn = await check('operator signs in and lands on the dashboard', async () => {
    const where = await signIn(page, app.url, 'operator', PASSWORDS.operator);
    expect(where === '/', `after signing in the browser is at ${where}, not /`);
  });
  if (signedIn) {
    await check('the dashboard shows the demo estate, a failing target first', async () => {
      expect((await page.textContent('h1'))?.includes('Continuity status'), 'no "Continuity status" heading');
      const overall = page.locator('.overall');
      const text = ((await overall.textContent()) ?? '').trim();
      expect(/v-failing/.test((await overall.getAttribute('class')) ?? '') && /fail/i.test(text),
             `the overall verdict reads "${text}", expected failing`);
      for (const t of TARGETS)
        expect(await page.locator(`table a[href="/targets/${t}"]`).count() > 0, `no row links to target ${t}`);
      // The targets' table: the one whose rows lead with a target's link; the row's first
      // verdict badge (class v-ok, v-warning or v-failing) is the target's.
      const first = page.locator('main table tbody tr:has(td:first-child a[href^="/targets/"])').first();
      const cls = await first.locator('[class*="v-"]').first().getAttribute('class');
      failingTarget = (await first.locator('a').first().textContent())?.trim();
      expect(/v-failing/.test(cls ?? ''), `the first row (${failingTarget}) is not failing (class "${cls}")`);
    });
  }
  if (failingTarget) {
    await check(`the failing target ${failingTarget} shows its calendar and chart`, async () => {
      await Promise.all([page.waitForURL(`**/targets/${failingTarget}`),
                         page.locator(`main table a[href="/targets/${failingTarget}"]`).first().click()]);
      const days = await page.locator('ol.cal li').count();
      expect(days >= 30, `the retention calendar has ${days} days, expected at least 30`);
      expect(await page.locator('figure.chart svg[role="img"]').count() === 1, 'no SVG chart (figure.chart svg)');
    });
    await check(`"Test now" queues a run of ${failingTarget} and it finishes`, async () => {
      await Promise.all([page.waitForURL(/\/runs\/\d+$/), page.click('form[action$="/test"] button[type="submit"]')]);
      runId = new URL(page.url()).pathname.split('/').pop();
      // The reader asks the page to reload itself (every 5 s while the run is queued or running),
      // unless the run has already ended and the page offers nothing to refresh.
      const ask = page.locator('main p.refresh a[href$="?refresh=on"]');
      if (await ask.count() > 0) await Promise.all([page.waitForURL(/\?refresh=on$/), ask.click()]);
      const state = await waitFor(`run ${runId} to pass or fail`, async () => {
        try {
          const s = (await page.textContent('main [role="status"]', { timeout: 10_000 })) ?? '';
          return /passed|failed/.test(s) ? s.trim() : null;
        } catch { return null; }  // the page was reloading
      }, 90_000, 1000);
      console.log(`        run ${runId}: ${state}`);
    });
  }
  if (signedIn) {
    await check('the language link switches to Swedish and back', async () => {
      await page.goto(`${app.url}/`);
      await Promise.all([page.waitForURL(`${app.url}/`), page.click('nav.lang a[hreflang="sv"]')]);
      expect(await page.getAttribute('html', 'lang') === 'sv', 'the page is not lang="sv" after the switch');
      expect((await page.textContent('h1'))?.includes('Kontinuitetsstatus'), 'no "Kontinuitetsstatus" heading');
      await Promise.all([page.waitForURL(`${app.url}/`), page.click('nav.lang a[hreflang="en"]')]);
      expect((await page.textContent('h1'))?.includes('Continuity status'), 'not English again');
    });
  }
  await op.close();

  // --- auditor: an evidence bundle --------------------------------------------------------------
  const au = await newContext(browser, null);
  const apage = await au.newPage();
  await check('auditor downloads an evidence bundle that `evidence verify` accepts', async () => {
    const where = await signIn(apage, app.url, 'auditor', PASSWORDS.auditor);
    expect(where === '/', `after signing in the auditor is at ${where}`);
    const r = await apage.goto(`${app.url}/evidence`);
    expect(r.status() === 200, `GET /evidence answered ${r.status()}`);
    for (const box of await apage.locator('form.evidence input[type="checkbox"]').all()) await box.check();
    const [download] = await Promise.all([apage.waitForEvent('download', { timeout: 120_000 }),
                                          apage.click('form.evidence button[type="submit"]')]);
    const file = path.join(artifacts, download.suggestedFilename() || 'evidence.tar.gz');
    await download.saveAs(file);
    const v = spawnSync(app.bin, ['evidence', 'verify', file], { encoding: 'utf8', timeout: 120_000 });
    expect(v.status === 0, `restoreproof evidence verify ${file} exited ${v.status}:\n${v.stdout}${v.stderr}`);
  });
  await au.close();

  // --- the demo admin's one-time password ---------------------------------------------------------
  const ad = await newContext(browser, null);
  const dpage = await ad.newPage();
  await check('the demo admin signs in with the one-time password, must change it, lands on /', async () => {
    const where = await signIn(dpage, app.url, 'demo-admin', otp);
    expect(where === '/password', `after signing in with the one-time password the browser is at ${where}`);
    await dpage.fill('#current', otp);
    await dpage.fill('#new', 'a-new-demo-password-1');
    await dpage.fill('#repeat', 'a-new-demo-password-1');
    await Promise.all([dpage.waitForNavigation(), dpage.click('main form button[type="submit"]')]);
    const after = new URL(dpage.url()).pathname;
    expect(after === '/', `after changing the password the browser is at ${after}`);
    const back = await dpage.goto(`${app.url}/drills`);
    expect(new URL(dpage.url()).pathname === '/drills' && back.status() === 200, 'still held at /password');
  });
  await ad.close();

  // --- every page, both languages, two widths: axe and screenshots ------------------------------
  const target = failingTarget ?? 'hr-archive';
  if (!runId) {
    // No run of our own: any run of the drill the demo made.
    const c = await newContext(browser, null);
    const p = await c.newPage();
    await signIn(p, app.url, 'auditor', PASSWORDS.auditor);
    await p.goto(`${app.url}/targets/${target}`);
    const href = await p.locator('a[href^="/runs/"]').first().getAttribute('href').catch(() => null);
    runId = href ? href.split('/').pop() : '1';
    await c.close();
  }
  const pages = [['login', '/login'], ['dashboard', '/'], [`target-${target}`, `/targets/${target}`],
                 [`run-${runId}`, `/runs/${runId}`], ['drills', '/drills'], ['log', '/log'],
                 ['evidence', '/evidence'], ['password', '/password']];
  const table = [];
  for (const lang of ['en', 'sv']) {
    const signed = await newContext(browser, lang, WIDTHS[0]);
    const anon = await newContext(browser, lang, WIDTHS[0]);
    const sp = await signed.newPage();
    const ap = await anon.newPage();
    await signIn(sp, app.url, 'auditor', PASSWORDS.auditor);
    for (const [slug, route] of pages) {
      const p = route === '/login' ? ap : sp;
      const row = { page: route, lang, result: 'pass' };
      for (const width of WIDTHS) {
        const ok = await check(`${route} (${lang}, ${width} px): loads, is in ${lang}, no axe violations`, async () => {
          await p.setViewportSize({ width, height: 900 });
          const r = await p.goto(`${app.url}${route}`);
          const status = r ? r.status() : 0;
          const at = new URL(p.url()).pathname;
          await p.screenshot({ path: path.join(artifacts, `${lang}-${width}-${slug}.png`), fullPage: true });
          expect(status === 200 && at === route, `GET ${route} answered ${status} at ${at}: is the page built?`);
          const problems = [];
          const htmlLang = await p.getAttribute('html', 'lang');
          if (htmlLang !== lang) problems.push(`the page is lang="${htmlLang}" with rp_lang=${lang}: not translated`);
          if (width <= 400) {
            const wide = await p.evaluate(widestElements);
            if (wide.width > width)
              problems.push(`at ${width} px the page is ${wide.width} px wide, it scrolls sideways; ` +
                            `too wide: ${wide.elements.join(', ')}`);
          }
          const violations = await axeViolations(p);
          if (violations.length)
            problems.push(`axe: ${violations.map((v) => v.id).join(', ')}:\n${describeViolations(violations)}`);
          expect(problems.length === 0, problems.join('; '));
        });
        if (!ok) row.result = 'FAIL';
      }
      table.push(row);
    }
    await signed.close();
    await anon.close();
  }
  console.log('\npage                 en    sv');
  for (const [, route] of pages)
    console.log(`${route.padEnd(20)} ${table.find((r) => r.page === route && r.lang === 'en').result.padEnd(5)} ` +
                `${table.find((r) => r.page === route && r.lang === 'sv').result}`);
}

async function cleanup() {
  if (browser) await browser.close().catch(() => {});
  const how = await app.stop();
  fs.writeFileSync(path.join(artifacts, 'serve.log'), app.serveLog());
  if (how && how.early) fail(`serve ended by itself during the test (exit ${how.code}, signal ${how.sig}): see serve.log`);
  else if (how && how.code !== 0) fail(`serve did not stop cleanly on SIGTERM (exit ${how.code}, signal ${how.sig})`);
  else if (how) pass('serve stopped on SIGTERM with exit 0');
  app.remove();
}

let timer;
const deadline = new Promise((_, reject) => {
  timer = setTimeout(() => reject(new Error(`the browser test took more than ${DEADLINE_S} s`)), DEADLINE_S * 1000);
});
try {
  await Promise.race([main(), deadline]);
} catch (e) {
  fail(`stopped: ${e.message}`);
} finally {
  clearTimeout(timer);
  await cleanup();
}
console.log(`\nscreenshots, the evidence bundle and serve's log: ${artifacts}`);
console.log(`browser: ${passed} passed, ${failures.length} failed`);
if (failures.length) {
  console.log('\nfailed:');
  for (const f of failures) console.log(`  ${f}`);
}
process.exit(failures.length ? 1 : 0);
