// The README's pictures of the demo dashboard: builds the demo estate, serves it, signs in as
// the demo admin (changing its one-time password) and photographs `/` in English at 1280 px
// (docs/img/dashboard.png) and 360 px wide (docs/img/dashboard-phone.png), full page.
//
//   RP_BINARY=build/restoreproof node tests/browser/screenshot.mjs [OUT_DIR]   (or scripts/screenshots.sh)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

import { Appliance, launchChromium, signIn, waitFor } from './appliance.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const out = path.resolve(process.argv[2] || path.join(here, '../../docs/img'));
fs.mkdirSync(out, { recursive: true });

const app = new Appliance();
let browser = null;
try {
  const otp = app.buildDemo();
  await app.start();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-GB' });
  await context.addCookies([{ name: 'rp_lang', value: 'en', url: app.url }]);
  const page = await context.newPage();
  if (await signIn(page, app.url, 'demo-admin', otp) === '/password') {
    await page.fill('#current', otp);
    await page.fill('#new', 'demo-screenshot-pw');
    await page.fill('#repeat', 'demo-screenshot-pw');
    await Promise.all([page.waitForNavigation(), page.click('main form button[type="submit"]')]);
  }
  // A calm picture: the restores serve may start on its schedule are over first (at most 90 s).
  await waitFor('no restore running on the dashboard', async () => {
    await page.goto(`${app.url}/`);
    return (await page.locator('#running').count()) === 0;
  }, 90_000, 3000).catch((e) => console.log(`note: ${e.message}; photographed as it is`));
  for (const [file, width] of [['dashboard.png', 1280], ['dashboard-phone.png', 360]]) {
    await page.setViewportSize({ width, height: width === 360 ? 740 : 800 });
    await page.goto(`${app.url}/`);
    await page.screenshot({ path: path.join(out, file), fullPage: true });
    console.log(`${path.join(out, file)}: ${fs.statSync(path.join(out, file)).size} bytes`);
  }
} finally {
  if (browser) await browser.close();
  await app.stop();
  app.remove();
}
