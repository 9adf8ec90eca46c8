// The appliance under a browser test: the demo estate built by `restoreproof demo --no-serve`
// in a temporary directory, users made with `user add`, and `restoreproof serve` as a child
// process in its own process group on a loopback port of its choosing (read back from the
// `web-started` event of its JSON log). Used by pages.test.mjs and screenshot.mjs.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.RP_CHROMIUM || '/usr/bin/chromium';
export const TARGETS = ['payroll', 'case-files', 'website', 'hr-archive', 'mail'];

// Polls `probe` (sync or async) every `every_ms` until it returns a truthy value, which it
// returns; throws `what` after `timeout_ms`.
export async function waitFor(what, probe, timeout_ms, every_ms = 250) {
  const end = Date.now() + timeout_ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeout_ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every_ms));
  }
}

export function binary() {
  const bin = process.env.RP_BINARY;
  if (!bin || !fs.existsSync(bin)) throw new Error(`RP_BINARY must name the built restoreproof (got "${bin ?? ''}")`);
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (scripts/deps.sh)`);
  return bin;
}

// A demo estate under a new temporary directory, ready to serve on 127.0.0.1:0.
export class Appliance {
  constructor() {
    this.bin = binary();
    this.tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rp-browser-'));
    this.dir = path.join(this.tmp, 'demo');
    this.config = path.join(this.dir, 'restoreproof.toml');
    this.log = path.join(this.tmp, 'serve.log');
    this.child = null;
    this.port = 0;
  }

  get url() { return `http://127.0.0.1:${this.port}`; }

  // `restoreproof demo --no-serve`; returns the demo admin's one-time password it printed.
  buildDemo() {
    const r = spawnSync(this.bin, ['demo', '--dir', this.dir, '--port', '0', '--no-serve'],
                        { encoding: 'utf8', timeout: 240_000, maxBuffer: 16 << 20 });
    this.demoOutput = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    if (r.error || r.status !== 0)
      throw new Error(`restoreproof demo --no-serve exited ${r.status ?? r.error}:\n${this.demoOutput}`);
    const m = /password: ([0-9a-f]{4}(?:-[0-9a-f]{4}){5})\n/.exec(r.stdout);
    if (!m) throw new Error(`restoreproof demo printed no one-time password:\n${this.demoOutput}`);
    // The demo writes listen = "127.0.0.1:PORT" from --port; make sure it is port 0 here.
    const toml = fs.readFileSync(this.config, 'utf8');
    const fixed = toml.replace(/^listen = ".*"$/m, 'listen = "127.0.0.1:0"');
    if (!/^listen = "127\.0\.0\.1:0"$/m.test(fixed)) throw new Error(`${this.config} has no [appliance] listen line`);
    fs.writeFileSync(this.config, fixed);
    return m[1];
  }

  // `restoreproof user add NAME --role ROLE`, the password on standard input.
  addUser(name, role, password) {
    const r = spawnSync(this.bin, ['--config', this.config, 'user', 'add', name, '--role', role],
                        { input: `${password}\n`, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`user add ${name} --role ${role} exited ${r.status}: ${r.stderr}`);
  }

  // Starts `serve`, waits for its port and for /readyz to answer 200.
  async start() {
    const err = fs.openSync(this.log, 'a');
    this.child = spawn(this.bin, ['--config', this.config, 'serve'],
                       { stdio: ['ignore', 'ignore', err], detached: true });
    fs.closeSync(err);
    this.exited = new Promise((resolve) => this.child.on('exit', (code, sig) => resolve({ code, sig })));
    this.child.on('exit', (code, sig) => { this.child = null; this.died = { code, sig }; });
    this.port = await waitFor('the web-started event in the serve log', () => {
      if (!this.child) throw new Error(`serve exited before it listened:\n${this.serveLog()}`);
      for (const line of this.serveLog().split('\n')) {
        try {
          const j = JSON.parse(line);
          if (j.event === 'web-started' && j.port) return j.port;
        } catch { /* a line still being written */ }
      }
      return 0;
    }, 60_000);
    await waitFor(`${this.url}/readyz to answer 200`, async () => {
      try { return (await fetch(`${this.url}/readyz`)).status === 200; } catch { return false; }
    }, 60_000, 500);
  }

  serveLog() { try { return fs.readFileSync(this.log, 'utf8'); } catch { return ''; } }

  // SIGTERM to serve, up to 30 s for its drain, then SIGKILL to its process group. Returns how
  // it ended ({code, sig, early: true} when it had exited by itself), or null if never started.
  async stop() {
    if (!this.child) return this.died ? { ...this.died, early: true } : null;
    const pid = this.child.pid;
    this.child.kill('SIGTERM');
    const timeout = new Promise((r) => setTimeout(() => r(null), 30_000));
    const how = await Promise.race([this.exited, timeout]);
    if (!how) {
      try { process.kill(-pid, 'SIGKILL'); } catch { /* already gone */ }
      await this.exited;
      return { code: null, sig: 'SIGKILL (no exit 30 s after SIGTERM)' };
    }
    return how;
  }

  remove() { fs.rmSync(this.tmp, { recursive: true, force: true }); }
}

export async function launchChromium() {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-background-networking'],
    timeout: 60_000,
  });
}

// Signs in through the form at /login; returns the path the server sent the browser to, or
// throws with the form's message when it came back.
export async function signIn(page, base, name, password, { navigate = true } = {}) {
  if (navigate) await page.goto(`${base}/login`);
  await page.fill('#name', name);
  await page.fill('#password', password);
  // The POST answers 303 (signed in) or the form again: wait for whichever page loads.
  const [response] = await Promise.all([page.waitForNavigation({ timeout: 60_000 }),
                                        page.click('button[type=submit]')]);
  const where = new URL(page.url()).pathname;
  if (where === '/login') {
    const alert = await page.locator('[role=alert]').first().textContent({ timeout: 2000 }).catch(() => null);
    throw new Error(`signing in as ${name} answered ${response?.status()} with the form again: ` +
                    `${alert ? `"${alert.trim()}"` : 'no message'}`);
  }
  return where;
}
