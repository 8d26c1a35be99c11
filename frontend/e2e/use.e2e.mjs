// The page as people use it (issue #20), in Debian's chromium against the
// real shim and PostgreSQL that tests/suites/30-frontend.sh starts: 5 users
// and 450 events over 6 days, a product analyst's and a frontend
// developer's tries, at 1280x900 and at a phone's 390x844.  One test per
// problem the issue lists, each checking axe-core's WCAG 2.1 A/AA rules at
// both sizes in the states it reaches, error states included.
//
//   E2E_BASE_URL   the shim serving the page (the extension's HTTP worker)
//   PGHOST, PGPORT, PGDATABASE, PGUSER   the database
//   SCREENSHOTS=1  also write docs/screenshots/*-{desktop,phone}.png
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { axeViolations, berlinWall, launch } from './browser.mjs';

const base = process.env.E2E_BASE_URL;
assert.ok(base, 'E2E_BASE_URL must name the shim');
const shots = process.env.SCREENSHOTS === '1' ? join(dirname(fileURLToPath(import.meta.url)), '../../docs/screenshots') : null;

const USERS = [101, 102, 103, 104, 105];
const PER_USER = 90;
const ACTIONS = ['created', 'updated', 'deleted', 'viewed'];
const DESKTOP = { width: 1280, height: 900 };
const PHONE = { width: 390, height: 844 };
const DEVICES = ['iPhone 14', 'Pixel 8', 'Firefox on Linux'];

let b;
let page;
const R = () => page.locator('#view-record');
const S = () => page.locator('#view-search');
const A = () => page.locator('#view-activity');

function sql(query) {
  return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tAc', query], { encoding: 'utf8' }).trim();
}

/** A small deterministic generator, so that every run seeds the same data. */
function lcg(seed) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648;
  };
}

/**
 * The state the test reached, at both sizes: no axe violation, nothing
 * wider than a phone's screen, and with SCREENSHOTS=1 a picture of each
 * (name-desktop.png, name-phone.png).  Ends at the desktop size.
 */
async function checkBothSizes(name, { shoot = false } = {}) {
  for (const [size, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ]) {
    await page.setViewportSize(viewport);
    await page.waitForTimeout(150); // layout and the results' layout switch
    assert.deepEqual(await axeViolations(page), [], `${name} at ${size}`);
    if (size === 'phone') {
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${name}: ${overflow}px wider than a phone's screen`);
    }
    if (shots && shoot) {
      mkdirSync(shots, { recursive: true });
      await page.screenshot({ path: join(shots, `${name}-${size}.png`), fullPage: true });
    }
  }
  await page.setViewportSize(DESKTOP);
}

/** A "YYYY-MM-DD HH:MM:SS" wall time in Europe/Berlin (the browser's
 * zone) as milliseconds since the epoch. */
function berlinMs(wall) {
  const guess = Date.parse(`${wall.replace(' ', 'T')}Z`);
  return guess - (Date.parse(`${berlinWall(new Date(guess)).replace(' ', 'T')}Z`) - guess);
}

const activeId = () => page.evaluate(() => document.activeElement?.id ?? '');
const statusTexts = (view) => view.locator('[role="status"]').allTextContents();

before(async () => {
  // 5 users, 90 events each, acted at random moments of the last 6 days
  // and sent in that random order, so that recorded order is not acted
  // order; every third from an iPhone.
  const rnd = lcg(20);
  const now = Date.now();
  const events = [];
  for (const user of USERS) {
    for (let i = 0; i < PER_USER; i++) {
      events.push({
        user_id: user,
        action: ACTIONS[Math.floor(rnd() * 4)],
        event_action_timestamp: new Date(now - Math.floor(rnd() * 6 * 86400_000) - 60_000).toISOString(),
        metadata: { device: DEVICES[i % 3], page: `/items/${i}` },
      });
    }
  }
  for (let i = 0; i < events.length; i += 150) {
    const res = await fetch(`${base}/api/events`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(events.slice(i, i + 150)),
    });
    assert.equal(res.status, 201);
  }
  assert.equal(JSON.parse(sql('SELECT user_activity.count_activity()')).status, 'counted');
  sql("SELECT user_activity.schedule_counting('0 */4 * * *')");
  b = await launch({ viewport: DESKTOP });
  page = b.page;
});

after(async () => {
  sql('SELECT user_activity.unschedule_counting()');
  await b?.close();
});

describe('the page as people use it (#20)', () => {
  test('1. a second event under a spent id is not lost, and a duplicate is no success', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#record`);
    await R().getByLabel('User id').fill('101');
    await R().getByLabel('Action').selectOption('created');
    await R().getByLabel('Metadata (JSON object)').fill('{"device": "iPhone 14"}');
    await R().getByRole('button', { name: 'Generate' }).click();
    const idField = R().getByLabel('Event id (optional)');
    const firstId = await idField.inputValue();
    await R().getByRole('button', { name: 'Record event' }).click();
    const first = Number((await page.getByRole('heading', { name: /^Stored as event \d+$/ }).textContent()).match(/\d+/)[0]);
    // The id is spent: the form holds a new one, and says so.
    const secondId = await idField.inputValue();
    assert.notEqual(secondId, firstId);
    assert.match(secondId, /^[0-9a-f-]{36}$/);
    await R().getByText('A new id for the next event: the last one is spent.').waitFor();

    // Change the action and metadata and send again: a new event.
    await R().getByLabel('Action').selectOption('viewed');
    await R().getByLabel('Metadata (JSON object)').fill('{"device": "Pixel 8"}');
    await R().getByRole('button', { name: 'Record event' }).click();
    const second = Number(
      (await page.getByRole('heading', { name: /^Stored as event \d+$/ }).textContent()).match(/\d+/)[0],
    );
    assert.ok(second > first, 'the second event was stored');
    assert.equal(sql(`SELECT count(*) FROM user_activity.events WHERE id IN (${first}, ${second})`), '2');

    // The first id again, with other data: a warning, not a success.
    await idField.fill(firstId);
    await R().getByRole('button', { name: 'Record event' }).click();
    const warn = page.getByRole('heading', { name: `Not stored: event ${first} already has this event id` });
    await warn.waitFor();
    const card = R().locator('section.result-warn');
    assert.match(await card.textContent(), /differs in action \(stored: created, sent: viewed\), metadata\./);
    assert.ok(
      (await statusTexts(R())).some((t) => t.startsWith(`Not stored: event ${first} already has this event id`)),
      'the warning is announced',
    );
    await checkBothSizes('record-duplicate', { shoot: true });

    // The same data under the first id: "already recorded", neither green
    // nor a warning.
    await R().getByLabel('Action').selectOption('created');
    await R().getByLabel('Metadata (JSON object)').fill('{"device": "iPhone 14"}');
    await R().getByRole('button', { name: 'Record event' }).click();
    await page.getByRole('heading', { name: `Already recorded: event ${first} has this event id` }).waitFor();
    assert.equal(await R().locator('section.result-info').count(), 1);
    assert.equal(await idField.inputValue(), firstId, 'a duplicate does not spend the id again');
  });

  test('2. old results go when a search fails, fade while one runs, and an old download note goes', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#search`);
    await page.reload();
    await S().getByLabel('User id').fill('102');
    await S().getByRole('group', { name: 'When the events were recorded' }).getByRole('button', { name: 'Any time' }).click();
    await S().getByLabel('Per page').selectOption('25');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–25' }).waitFor();
    await S().getByRole('button', { name: 'Next →' }).first().click();
    await page.getByRole('heading', { name: 'Page 2 · events 26–50' }).waitFor();

    // While the next answer is on its way, the page shown is marked stale.
    let release;
    const gate = new Promise((r) => (release = r));
    await page.route('**/api/events?*', async (route) => {
      await gate;
      await route.continue();
    });
    try {
      await S().getByRole('button', { name: 'Next →' }).first().click();
      const results = S().locator('section.results');
      await S().locator('section.results.stale[aria-busy="true"]').waitFor();
      await results.getByText('Updating…').waitFor();
      await checkBothSizes('search-loading');
    } finally {
      release();
    }
    await page.getByRole('heading', { name: 'Page 3 · events 51–75' }).waitFor();
    await page.unroute('**/api/events?*');
    assert.equal(await S().locator('section.results.stale').count(), 0);

    // A download, then a search of another user: the note goes.
    const [download] = await Promise.all([page.waitForEvent('download'), S().getByRole('button', { name: 'Download CSV' }).click()]);
    const rows = Number(sql('SELECT count(*) FROM user_activity.events WHERE user_id = 102'));
    assert.equal(readFileSync(await download.path(), 'utf8').trimEnd().split('\n').length, rows + 1);
    await S().getByText('Downloaded user-102-events.csv').waitFor();
    await S().getByLabel('User id').fill('103');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–25' }).waitFor();
    assert.equal(await S().getByText(/^Downloaded /).count(), 0);

    // A failing request (a cursor not handed out by the API, as a mangled
    // link would have): the error, and none of the old rows.
    const url = new URL(page.url());
    const bad = `${url.hash.replace(/&cursor=[^&]*/, '')}&cursor=AAAA`;
    b.expectHttpError(400, '/api/events');
    await page.goto(`${base}/${bad}`);
    await S().getByRole('alert').getByText(/"cursor" must be a cursor of a previous page/).waitFor();
    assert.equal(await S().locator('section.results').count(), 0, 'no old results under the error');
    assert.equal(await S().locator('tbody tr, .event-card').count(), 0);
    await checkBothSizes('search-error');
  });

  test('3. focus moves to the answer, which is announced and brought into view', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/#record`);
    await page.reload();
    await R().getByLabel('User id').fill('104');
    await R().getByLabel('Action').selectOption('updated');
    const button = R().getByRole('button', { name: 'Record event' });
    await button.focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Stored as event \d+$/ }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'record-result-title');
    assert.ok((await statusTexts(R())).some((t) => /^Stored as event \d+\.$/.test(t)), 'announced');
    assert.ok(await page.getByRole('heading', { name: /^Stored as event/ }).isVisible());
    const inView = (sel) =>
      page.evaluate((s) => {
        const r = document.querySelector(s).getBoundingClientRect();
        return r.top >= 0 && r.bottom <= window.innerHeight;
      }, sel);
    assert.ok(await inView('#record-result-title'), 'the stored event is on screen');

    await page.goto(`${base}/#search`);
    await S().getByLabel('User id').fill('104');
    await S().getByRole('button', { name: 'Search' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Page 1 · events 1–/ }).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'search-results-title');
    assert.ok(await inView('#search-results-title'), 'the results are on screen');
    assert.ok((await statusTexts(S())).some((t) => /^Page 1: events 1 to \d+ of user 104\.$/.test(t)));

    await page.goto(`${base}/#activity`);
    await A().getByLabel('User id').fill('104');
    await A().getByRole('button', { name: 'Show activity' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'chart-title');
    assert.ok(await inView('#chart-title'), 'the chart is on screen');
    assert.ok((await statusTexts(A())).some((t) => /^User 104: \d+ events in \d+ counting periods\./.test(t)));
    assert.notEqual(await activeId(), '');
    await page.setViewportSize(DESKTOP);
  });

  test('4. one time convention, with its zone, local or UTC', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#search?user=105&limit=10`);
    await page.reload();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    const cells = async (n) => S().locator(`tbody tr td:nth-child(${n})`).allTextContents();
    for (const t of [...(await cells(2)), ...(await cells(3))]) {
      assert.match(t, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d (CET|CEST)$/, 'ISO, 24-hour, seconds, zone');
    }
    // No milliseconds anywhere, in any view.
    for (const view of ['search', 'activity', 'record']) {
      await page.goto(`${base}/#${view}`);
      await page.waitForTimeout(300);
      assert.doesNotMatch(await page.locator('main').innerText(), /\d\d:\d\d:\d\d\.\d/, view);
    }
    // Time fields are text in the same form, whatever the browser's locale.
    await page.goto(`${base}/#search`);
    await S().getByRole('group', { name: 'When the events were recorded' }).getByRole('button', { name: 'Last 24 hours' }).click();
    const from = S().getByLabel('Recorded from');
    assert.equal(await from.getAttribute('type'), 'text');
    assert.match(await from.inputValue(), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/);
    await S().getByText(/Times as YYYY-MM-DD HH:MM\[:SS\], 24-hour, in Europe\/Berlin/).waitFor();

    // UTC: the fields keep their moments, the tables and panels follow.
    const before = await from.inputValue();
    await page.getByRole('radio', { name: 'UTC' }).check();
    const utcValue = await from.inputValue();
    assert.equal(Date.parse(`${utcValue.replace(' ', 'T')}Z`), berlinMs(before));
    await page.goto(`${base}/#search?user=105&limit=10`);
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    for (const t of await cells(2)) assert.match(t, / UTC$/);
    await S().getByText('times in UTC (RFC 3339)', { exact: false }).waitFor();
    await page.goto(`${base}/#activity`);
    await A().getByRole('region', { name: 'Counting' }).getByText(/next at \d{4}-\d\d-\d\d \d\d:00:00 UTC/).waitFor();
    await checkBothSizes('activity-utc');
    await page.getByRole('radio', { name: 'Europe/Berlin' }).check();
    await A().getByRole('region', { name: 'Counting' }).getByText(/next at \d{4}-\d\d-\d\d \d\d:00:00 CES?T/).waitFor();
  });

  test('5. search for analysts: order, pagers, two equal ranges, and the count', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#search`);
    await page.reload();
    // The two ranges side by side, both visible, both optional.
    const recorded = S().getByRole('group', { name: 'When the events were recorded' });
    const acted = S().getByRole('group', { name: 'When the users acted' });
    assert.ok((await recorded.isVisible()) && (await acted.isVisible()));
    await S().getByLabel('User id').fill('101');
    await recorded.getByRole('button', { name: 'Any time' }).click();
    await acted.getByRole('button', { name: 'Last 24 hours' }).click();
    await S().getByLabel('Per page').selectOption('100');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: /^(Page 1 · events 1–\d+|No events)$/ }).waitFor();
    const dayAgo = Date.now() - 86400_000;
    const want = Number(
      sql(
        `SELECT count(*) FROM user_activity.events WHERE user_id = 101 AND event_action_timestamp >= to_timestamp(${Math.floor(dayAgo / 1000) - 120})`,
      ),
    );
    // All on one page: the count is exact ("N matches in all").
    const countText = await S().locator('.count').textContent();
    const n = Number(countText.match(/^(\d+) match/)[1]);
    assert.ok(Math.abs(n - want) <= 2, `count ${n}, about ${want} in the database`);

    // More than a page: the pager at the top and at the bottom, and why no total.
    await acted.getByRole('button', { name: 'Any time' }).click();
    await S().getByLabel('Per page').selectOption('25');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–25' }).waitFor();
    assert.equal(await S().getByRole('navigation', { name: 'Result pages (top)' }).count(), 1);
    assert.equal(await S().getByRole('navigation', { name: 'Result pages', exact: true }).count(), 1);
    await S().getByText('More than 25 matches. The API gives no total: counting would read every matching event').waitFor();

    // The order: recorded (the API's) by default, acted time within the page on request.
    const acted2 = async () => (await S().locator('tbody tr td:nth-child(2) time').evaluateAll((ts) => ts.map((t) => Date.parse(t.dateTime))));
    const ids = async () => (await S().locator('tbody tr td:first-child').allTextContents()).map(Number);
    assert.deepEqual(await ids(), [...(await ids())].sort((x, y) => x - y), 'recorded order');
    await S().getByLabel('Order').selectOption('acted-desc');
    const times = await acted2();
    assert.deepEqual(times, [...times].sort((x, y) => y - x), 'acted time, newest first');
    await S().getByText(/Sorted by when the users acted within this page only/).waitFor();
    await S().getByRole('navigation', { name: 'Result pages (top)' }).getByRole('button', { name: 'Next →' }).click();
    await page.getByRole('heading', { name: 'Page 2 · events 26–50' }).waitFor();
    const times2 = await acted2();
    assert.deepEqual(times2, [...times2].sort((x, y) => y - x), 'page 2 sorted alike');
    await S().getByLabel('Order').selectOption('recorded');
    await checkBothSizes('search', { shoot: true });
  });

  test('6. on a phone: one card per event, a chart with every label and its numbers beside the bars', async () => {
    await page.setViewportSize(PHONE);
    await page.goto(`${base}/#search?user=101&limit=10`);
    await page.reload();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    assert.equal(await S().locator('table').count(), 0, 'no table on a phone');
    const cards = S().getByRole('list', { name: 'Events of user 101' }).getByRole('listitem');
    assert.equal(await cards.count(), 10);
    const card = cards.first();
    const box = await card.boundingBox();
    assert.ok(box.x >= 0 && box.x + box.width <= PHONE.width, 'the card fits the screen');
    for (const part of [card.locator('.badge'), card.locator('dd.meta')]) {
      const r = await part.boundingBox();
      assert.ok(r.x + r.width <= PHONE.width, 'action and metadata on screen');
    }

    // The chart of a user with several periods: a count per recorded batch.
    const user = 200000 + (Date.now() % 100000); // a user of its own, run after run
    for (let k = 0; k < 5; k++) {
      const res = await fetch(`${base}/api/events`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(
          Array.from({ length: 3 + k }, (_, i) => ({
            user_id: user,
            action: ACTIONS[(i + k) % 4],
            event_action_timestamp: new Date(Date.now() - i * 60_000).toISOString(),
            metadata: {},
          })),
        ),
      });
      assert.equal(res.status, 201);
      sql('SELECT user_activity.count_activity()');
    }
    await page.goto(`${base}/#activity`);
    await A().getByLabel('User id').fill(String(user));
    await A().getByRole('button', { name: 'Show activity' }).click();
    // The counts' own card (the charts over time may be drawn beside it).
    const perPeriod = page.getByRole('region', { name: `User ${user}: events per counting period` });
    await perPeriod.waitFor();
    await perPeriod.locator('.recharts-bar-rectangle').first().waitFor();
    const labels = await perPeriod.locator('.recharts-xAxis-tick-labels .recharts-cartesian-axis-tick-value').count();
    const periods = await perPeriod.locator('figcaption tbody tr').count();
    assert.ok(periods >= 5);
    assert.equal(labels, periods, 'every period has its label');
    // The numbers of the bar pointed at appear below the chart, not over it.
    await perPeriod.locator('.recharts-bar-rectangle').nth(2).hover();
    const readout = perPeriod.locator('.chart-readout-box');
    await readout.getByText(/Period ending/).waitFor();
    const chartBox = await perPeriod.locator('.recharts-wrapper').first().boundingBox();
    const readBox = await readout.boundingBox();
    assert.ok(readBox.y >= chartBox.y + chartBox.height - 1, 'the readout is below the bars');
    await page.setViewportSize(DESKTOP);
  });

  test('7. the view, its settings and its page are in the address', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#search`);
    await page.reload();
    await S().getByLabel('User id').fill('103');
    await S().getByRole('group', { name: 'When the events were recorded' }).getByRole('button', { name: 'Any time' }).click();
    await S().getByRole('checkbox', { name: 'viewed' }).check();
    await S().getByLabel('Per page').selectOption('10');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    await S().getByRole('button', { name: 'Next →' }).first().click();
    await page.getByRole('heading', { name: /^Page 2 · events 11–\d+$/ }).waitFor();
    const link = new URL(page.url()).hash;
    assert.match(link, /^#search\?user=103&action=viewed&limit=10&cursor=[A-Za-z0-9_-]+$/);
    const rows = await S().locator('tbody tr td:first-child').allTextContents();

    // A reload shows the same page.
    await page.reload();
    await page.getByRole('heading', { name: /^Page 2 · events 11–\d+$/ }).waitFor();
    assert.deepEqual(await S().locator('tbody tr td:first-child').allTextContents(), rows);
    assert.equal(await S().getByLabel('User id').inputValue(), '103');
    assert.ok(await S().getByRole('checkbox', { name: 'viewed' }).isChecked());

    // Shared: another tab opening the link sees the same rows.
    const other = await b.context.newPage();
    await other.goto(`${base}/${link}`);
    await other.getByRole('heading', { name: /^Page 2 · events 11–\d+$/ }).waitFor();
    assert.deepEqual(await other.locator('#view-search tbody tr td:first-child').allTextContents(), rows);
    await other.close();

    // Back goes to page 1.
    await page.goBack();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();

    // The activity view too, and from a top user to that user's events.
    await page.goto(`${base}/#activity`);
    await A().getByLabel('User id').fill('102');
    await A().getByRole('button', { name: 'Show activity' }).click();
    await page.getByRole('heading', { name: 'User 102: events per counting period' }).waitFor();
    assert.match(new URL(page.url()).hash, /^#activity\?user=102&from=\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ&to=/);
    await page.reload();
    await page.getByRole('heading', { name: 'User 102: events per counting period' }).waitFor();
    await page.getByRole('region', { name: 'Top users' }).getByRole('link', { name: 'Events of user 105' }).click();
    await page.getByRole('heading', { name: 'Search events' }).waitFor();
    await page.getByRole('heading', { name: /^Page 1 · events 1–/ }).waitFor();
    assert.equal(await S().getByLabel('User id').inputValue(), '105');
    assert.match(new URL(page.url()).hash, /^#search\?user=105&from=.*&to=/);
  });

  test('8. the Connection panel: an address to edit and test, closing as panels do, keys kept for the tab', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#record`);
    await page.reload();
    const toggle = page.getByRole('button', { name: 'Connection', exact: true });
    const panel = page.getByRole('region', { name: 'Connection' });
    await toggle.click();
    await panel.waitFor();
    await page.keyboard.press('Escape');
    await panel.waitFor({ state: 'hidden' });
    assert.equal(await toggle.evaluate((el) => el === document.activeElement), true, 'focus back on the button');
    await toggle.click();
    await page.locator('#title-record').click();
    await panel.waitFor({ state: 'hidden' });
    await toggle.click();
    await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name: 'Search' }).click();
    await panel.waitFor({ state: 'hidden' });

    // Words wrap at spaces.
    await toggle.click();
    assert.equal(await panel.locator('p.hint').first().evaluate((el) => getComputedStyle(el).wordBreak), 'normal');

    // The test: the API as it is, then an address where nothing answers.
    await panel.getByRole('button', { name: 'Test connection' }).click();
    await panel.getByText('Connected. The API and its database answer. Reading needs no key here.').waitFor();
    const address = panel.getByLabel('API address');
    await address.fill('http://127.0.0.1:9');
    await panel.getByRole('button', { name: 'Use' }).click();
    await panel.locator('code').getByText('http://127.0.0.1:9').waitFor();
    b.expectNetError('127.0.0.1:9/readyz');
    await panel.getByRole('button', { name: 'Test connection' }).click();
    await panel.getByText(/^Not connected\. No answer from http:\/\/127\.0\.0\.1:9/).waitFor();
    await checkBothSizes('connection', { shoot: true });
    await panel.getByRole('button', { name: 'Back to the default' }).click();
    await panel.locator('code').getByText(base).waitFor();

    // Keys: for this tab unless remembered, and the page says which.
    await panel.getByLabel('Read key (search, activity)').fill('some-read-key');
    await panel.getByText(/Kept for this tab only/).waitFor();
    const stored = () =>
      page.evaluate(() => [sessionStorage.getItem('user-activity.api-key.read'), localStorage.getItem('user-activity.api-key.read')]);
    assert.deepEqual(await stored(), ['some-read-key', null]);
    await panel.getByRole('checkbox', { name: 'Remember on this device' }).check();
    await panel.getByText(/in plain text, until you untick this/).waitFor();
    assert.deepEqual(await stored(), [null, 'some-read-key']);
    await panel.getByRole('checkbox', { name: 'Remember on this device' }).uncheck();
    await panel.getByLabel('Read key (search, activity)').fill('');
    assert.deepEqual(await stored(), [null, null]);
    await page.keyboard.press('Escape');
  });

  test('9. plain words: the counting schedule, settings in server messages, one h1', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#activity`);
    await page.reload();
    assert.equal(await page.getByRole('heading', { level: 1 }).count(), 1);
    const counting = page.getByRole('region', { name: 'Counting' });
    await counting.getByText(/^Counted every 4 hours; next at \d{4}-\d\d-\d\d \d\d:00:00 CES?T\.$/).waitFor();
    const technical = counting.locator('details.technical');
    assert.equal(await technical.evaluate((d) => d.open), false, 'the details are folded');
    assert.doesNotMatch(await counting.innerText(), /0 \*\/4/, 'no cron expression in sight');
    await technical.getByText('Technical details').click();
    const lastId = sql('SELECT last_id FROM user_activity.counting_state');
    await technical.getByText(`event ${lastId}, period ending`, { exact: false }).waitFor();
    await technical.getByText('0 */4 * * *').waitFor();
    await checkBothSizes('activity', { shoot: true });

    // A server rule naming a setting gets a plain sentence first.
    await page.goto(`${base}/#record`);
    await R().getByLabel('User id').fill('101');
    await R().getByLabel('Action').selectOption('viewed');
    await R().getByLabel('When the user acted').fill('2099-01-01 12:00');
    b.expectHttpError(400, '/api/event');
    await R().getByRole('button', { name: 'Record event' }).click();
    const err = page.locator('#record-time-error');
    await err.waitFor();
    assert.match(await err.textContent(), /^⚠? ?That time is too far in the future for the server\. Field "event_action_timestamp" must not be more than .* \(user_activity\.future_margin\)\.$/);
    await page.waitForFunction(() => document.activeElement?.id === 'record-time');
    await checkBothSizes('record-error');
    // And a clean form at both sizes, for the record.
    await page.reload();
    await checkBothSizes('record', { shoot: true });
  });

  test('#19: the metadata filter finds the iPhone events, page after page', async () => {
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#search`);
    await page.reload();
    await S().getByLabel('User id').fill('101');
    await S().getByRole('group', { name: 'When the events were recorded' }).getByRole('button', { name: 'Any time' }).click();
    const meta = S().getByLabel('Metadata contains (JSON object, optional)');
    // Checked before it is sent: a JSON object.
    await meta.fill('{"device": "iPhone 14"');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.locator('#search-metadata-error').getByText(/^Line 1, column \d+: /).waitFor();
    await page.waitForFunction(() => document.activeElement?.id === 'search-metadata');
    await checkBothSizes('search-metadata-error');
    await meta.fill('{"device": "iPhone 14"}');
    await S().getByLabel('Per page').selectOption('10');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    assert.match(new URL(page.url()).hash, /&metadata=%7B%22device%22:%22iPhone%2014%22%7D/);
    const want = Number(sql(`SELECT count(*) FROM user_activity.events WHERE user_id = 101 AND metadata @> '{"device": "iPhone 14"}'`));
    const seen = [];
    const next = S().getByRole('button', { name: 'Next →' }).first();
    for (let p = 1; ; p++) {
      for (const m of await S().locator('tbody tr td.meta').allTextContents()) assert.match(m, /"device": ?"iPhone 14"/);
      seen.push(...(await S().locator('tbody tr td:first-child').allTextContents()));
      if (!(await next.isEnabled())) break;
      await next.click();
      await page.getByRole('heading', { name: new RegExp(`^Page ${p + 1} `) }).waitFor();
    }
    assert.equal(seen.length, want, 'every iPhone event once');
    assert.equal(new Set(seen).size, want);
    await S().getByText(`${want} matches in all.`).waitFor();
    // The export takes the same filter.
    const [download] = await Promise.all([page.waitForEvent('download'), S().getByRole('button', { name: 'Download NDJSON' }).click()]);
    const lines = readFileSync(await download.path(), 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l));
    assert.equal(lines.length, want);
    assert.ok(lines.every((e) => e.metadata.device === 'iPhone 14'));
  });

  test('#19: a user\'s activity per day and the active users, charted in the zone shown', async (t) => {
    const paths = (await (await fetch(`${base}/api/openapi.json`)).json()).paths;
    if (!paths['/api/users/{id}/activity'] || !paths['/api/active-users']) {
      t.skip('the API in this tree has no GET /api/users/{id}/activity or GET /api/active-users yet');
      return;
    }
    sql('SELECT user_activity.count_activity()');
    await page.setViewportSize(DESKTOP);
    await page.goto(`${base}/#activity`);
    await page.reload();
    await A().getByLabel('User id').fill('101');
    await A().getByLabel('Buckets').selectOption('day');
    await A().getByRole('radio', { name: 'the users acted' }).check();
    await A().getByRole('button', { name: 'Show activity' }).click();
    const overTime = page.getByRole('region', { name: 'User 101: activity per day' });
    await overTime.waitFor();
    const [from, to] = new URL(page.url()).hash.match(/from=([^&]+)&to=([^&]+)/).slice(1);
    const want = Number(
      sql(
        `SELECT count(*) FROM user_activity.events WHERE user_id = 101 AND event_action_timestamp >= '${from}' AND event_action_timestamp < '${to}'`,
      ),
    );
    await overTime.getByText(new RegExp(`^${want} events by the time users acted, per day in Europe/Berlin`)).waitFor();
    // The table: every day of the range, each row's total its actions' sum.
    const rows = overTime.locator('figcaption tbody tr');
    let sum = 0;
    for (const cells of await rows.evaluateAll((trs) => trs.map((tr) => [...tr.cells].map((c) => c.textContent)))) {
      const [total, ...actions] = cells.slice(1).map(Number);
      assert.equal(total, actions.reduce((a, b) => a + b, 0), cells[0]);
      sum += total;
    }
    assert.equal(sum, want);
    assert.ok((await rows.count()) >= 7, 'a week and more of days, the empty ones too');
    assert.equal(await overTime.locator('.recharts-label-list text').count(), await rows.count(), 'a total on every bar');
    await overTime.locator('.recharts-bar-rectangle').first().hover();
    await overTime.locator('.chart-readout-box').getByText(/\(Europe\/Berlin\)/).waitFor();
    // The readout lists the actions as the legend does.
    const named = await overTime.locator('.chart-readout-box .recharts-tooltip-item-name').allTextContents();
    assert.deepEqual(named, ['created', 'updated', 'deleted', 'viewed']);

    const active = page.getByRole('region', { name: 'Active users per day' });
    await active.waitFor();
    const users = await active.locator('figcaption tbody tr td.num').allTextContents();
    assert.ok(users.length >= 7);
    assert.ok(users.every((u) => Number(u) >= 0 && Number(u) <= Number(sql('SELECT count(DISTINCT user_id) FROM user_activity.events'))));
    assert.ok(users.some((u) => Number(u) >= USERS.length), 'the seeded users were all active on some day');
    await checkBothSizes('activity-charts', { shoot: true });

    // In UTC the buckets are UTC days.
    await page.getByRole('radio', { name: 'UTC' }).check();
    await A().getByRole('button', { name: 'Show activity' }).click();
    await overTime.getByText(/per day in UTC/).waitFor();
    await page.getByRole('radio', { name: 'Europe/Berlin' }).check();
  });

  test('logged no console error', () => {
    assert.deepEqual(b.errors, []);
  });
});
