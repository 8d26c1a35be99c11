// browser.mjs: Debian's chromium driven by playwright-core (never a
// downloaded browser), with a fresh profile, and a record of every console
// error and uncaught exception so that a test can insist there were none;
// and what the tests ask of the page in it: axe-core's verdict, and times
// as the browser's zone (Europe/Berlin) shows them.
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's WCAG 2.1 A/AA violations on the page as it is, one line each. */
export async function axeViolations(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.addScriptTag({ path: axePath });
  const result = await page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] } }),
  );
  return result.violations.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

const BERLIN = new Intl.DateTimeFormat('sv-SE', {
  timeZone: 'Europe/Berlin',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
});

/** A moment as "YYYY-MM-DD HH:MM:SS" on the clocks of Europe/Berlin, the
 * zone launch() gives the browser unless told otherwise. */
export function berlinWall(date) {
  return BERLIN.format(date);
}

export async function launch({ timezoneId = 'Europe/Berlin', viewport = { width: 1280, height: 900 } } = {}) {
  const profile = mkdtempSync(join(process.env.E2E_TMP || tmpdir(), 'chromium-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-quic',
      '--disable-sync',
    ],
    acceptDownloads: true,
    timezoneId,
    locale: 'en-GB',
    viewport,
  });
  // Patient on a machine busy with other suites.
  context.setDefaultTimeout(30_000);
  const errors = [];
  // Responses with an error status the test provoked on purpose; Chromium
  // logs each as "Failed to load resource", which is then no fault.
  const allowed = [];
  const watch = (page) => {
    page.on('console', (msg) => {
      if (msg.type() !== 'error') return;
      const text = msg.text();
      const url = msg.location()?.url ?? '';
      const i = allowed.findIndex(
        (a) => (a.status === 'net' ? /net::ERR_/.test(text) : text.includes(`status of ${a.status}`)) && url.includes(a.path),
      );
      if (i >= 0) {
        allowed.splice(i, 1);
        return;
      }
      errors.push(`console error: ${text} (${url})`);
    });
    page.on('pageerror', (err) => errors.push(`uncaught: ${err.message}`));
  };
  context.on('page', watch);
  for (const p of context.pages()) watch(p);
  const page = context.pages()[0] ?? (await context.newPage());
  return {
    context,
    page,
    errors,
    /** Expect one failed response of this status on this path. */
    expectHttpError(status, path) {
      allowed.push({ status, path });
    },
    /** Expect one request to this address to fail without an answer. */
    expectNetError(path) {
      allowed.push({ status: 'net', path });
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
