// End-to-end tests of the page in Debian's chromium against the real HTTP
// shim and PostgreSQL that tests/suites/30-frontend.sh starts; the shim
// serves the built page at / (as in "make run").
//
//   E2E_BASE_URL   the shim, e.g. http://127.0.0.1:18330
//   PGHOST, PGPORT, PGDATABASE, PGUSER   the database (for the count)
//
// use.e2e.mjs tries the page as people use it, and takes the screenshots.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { axeViolations, berlinWall, launch } from './browser.mjs';

const base = process.env.E2E_BASE_URL;
assert.ok(base, 'E2E_BASE_URL must name the shim');

const RECORD_USER = 6;
const PAGING_USER = 4242;
const PAGING_EVENTS = 260;
const ACTIONS = ['created', 'updated', 'deleted', 'viewed'];

let b; // the browser
let page;
let seeded = []; // the paging user's events as sent

/** A date as a datetime-local value in the browser's zone (Europe/Berlin). */
const berlinInput = (date) => berlinWall(date).replace(' ', 'T');

async function api(path, init) {
  const res = await fetch(base + path, init);
  const text = await res.text();
  return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : null };
}

function sql(query) {
  return execFileSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-tAc', query], { encoding: 'utf8' }).trim();
}

const R = () => page.locator('#view-record');
const S = () => page.locator('#view-search');
const A = () => page.locator('#view-activity');

/** The ids of the events in the results table, top to bottom. */
async function shownIds() {
  return (await page.locator('section[aria-labelledby="search-results-title"] tbody tr td:first-child').allTextContents()).map(Number);
}

before(async () => {
  // A few hundred events for one user through the API's batch endpoint,
  // acted-at times spread over the last two days, in four batches with a
  // count after each, so that the chart has several periods.
  const now = Date.now();
  const all = Array.from({ length: PAGING_EVENTS }, (_, i) => ({
    user_id: PAGING_USER,
    action: ACTIONS[i % 4],
    event_action_timestamp: new Date(now - (PAGING_EVENTS - i) * 600_000).toISOString(),
    metadata: { n: i, page: `/items/${i}`, agent: 'Mozilla/5.0 (X11; Linux x86_64) e2e seeding' },
  }));
  seeded = all;
  const sizes = [40, 90, 60, 70];
  for (let start = 0, k = 0; k < sizes.length; start += sizes[k], k++) {
    const r = await api('/api/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(all.slice(start, start + sizes[k])),
    });
    assert.equal(r.status, 201, `seeding answered ${r.status}: ${JSON.stringify(r.body)}`);
    assert.equal(JSON.parse(sql('SELECT user_activity.count_activity()')).status, 'counted');
  }
  b = await launch();
  page = b.page;
});

after(async () => {
  await b?.close();
});

describe('the page, against the real API', () => {
  test('loads with the three views and no console error', async () => {
    await page.goto(base + '/');
    await page.getByRole('heading', { name: 'Record an event' }).waitFor();
    for (const name of ['Record', 'Search', 'Activity']) {
      assert.equal(await page.getByRole('navigation', { name: 'Views' }).getByRole('link', { name }).count(), 1);
    }
  });

  test('records an event with its local time and shows what was stored', async () => {
    await page.goto(base + '/#record');
    await R().getByLabel('User id').fill(String(RECORD_USER));
    await R().getByLabel('Action').selectOption('deleted');
    // 03:30 on the day Berlin moves to summer time: +02:00.
    await R().getByLabel('When the user acted').fill('2026-03-29T03:30:00');
    await R().getByText('Sent as 2026-03-29T03:30:00+02:00').waitFor();
    await R().getByText('Europe/Berlin (UTC+02:00)').first().waitFor();
    await R().getByLabel('Metadata (JSON object)').fill('{"ip": "192.168.1.10",\n "browser": "chromium"}');
    await R().getByText('Valid JSON object').waitFor();
    await R().getByRole('button', { name: 'Record event' }).click();
    const heading = page.getByRole('heading', { name: /^Stored as event \d+$/ });
    await heading.waitFor();
    const id = Number((await heading.textContent()).match(/\d+/)[0]);

    const from = new Date(Date.now() - 3600_000).toISOString();
    const to = new Date(Date.now() + 3600_000).toISOString();
    const r = await api(`/api/events?user_id=${RECORD_USER}&from=${from}&to=${to}`);
    assert.equal(r.status, 200);
    const stored = r.body.find((e) => e.id === id);
    assert.ok(stored, `event ${id} not found through the API`);
    assert.equal(stored.event_action_timestamp, '2026-03-29T01:30:00Z');
    assert.equal(stored.action, 'deleted');
    assert.deepEqual(stored.metadata, { ip: '192.168.1.10', browser: 'chromium' });

    // Find it: the result links to the user's events.
    await R().getByRole('button', { name: `Show user ${RECORD_USER}'s events` }).click();
    await page.getByRole('heading', { name: 'Search events' }).waitFor();
    const row = S().locator('tbody tr', { hasText: String(id) }).first();
    await row.waitFor();
    const cells = await row.locator('td').allTextContents();
    assert.equal(cells[0], String(id));
    assert.equal(cells[1], '2026-03-29 03:30:00 CEST');
    assert.equal(cells[3], 'deleted');
  });

  test('shows the server\'s error next to the field it names', async () => {
    await page.goto(base + '/#record');
    await page.reload();
    await R().getByLabel('User id').fill(String(RECORD_USER));
    await R().getByLabel('Action').selectOption('viewed');
    // Far beyond the server's future margin: only the server knows.
    await R().getByLabel('When the user acted').fill('2099-01-01T12:00:00');
    b.expectHttpError(400, '/api/event');
    await R().getByRole('button', { name: 'Record event' }).click();
    const when = R().getByLabel('When the user acted');
    await page.waitForFunction(() => document.getElementById('record-time')?.getAttribute('aria-invalid') === 'true');
    const describedBy = await when.getAttribute('aria-describedby');
    assert.match(describedBy, /record-time-error/);
    const message = await page.locator('#record-time-error').textContent();
    assert.match(message, /event_action_timestamp/);
    assert.ok(await when.evaluate((el) => el === document.activeElement), 'the field in error has the focus');
    assert.equal(await page.getByRole('heading', { name: /Stored as event/ }).count(), 0);
  });

  test('records an event id once: a retry under it is answered as a duplicate', async () => {
    await page.goto(base + '/#record');
    await page.reload();
    await R().getByLabel('User id').fill(String(RECORD_USER));
    await R().getByLabel('Action').selectOption('updated');
    await R().getByRole('button', { name: 'Generate' }).click();
    const eventId = await R().getByLabel('Event id (optional)').inputValue();
    assert.match(eventId, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    await R().getByRole('button', { name: 'Record event' }).click();
    const stored = page.getByRole('heading', { name: /^Stored as event \d+$/ });
    await stored.waitFor();
    const id = (await stored.textContent()).match(/\d+/)[0];
    // The form moved on to a new id; the retry sends the first one again.
    await R().getByLabel('Event id (optional)').fill(eventId);
    await R().getByRole('button', { name: 'Record event' }).click();
    await page.getByRole('heading', { name: `Already recorded: event ${id} has this event id` }).waitFor();
    await R().getByText(eventId).waitFor();
  });

  test('pages through a few hundred events with the cursor, forwards and back', async () => {
    await page.goto(base + '/#search');
    await S().getByLabel('User id').fill(String(PAGING_USER));
    await S().getByLabel('Per page').selectOption('50');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–50' }).waitFor();
    const first = await shownIds();
    const seen = [...first];
    const next = S().getByRole('button', { name: 'Next →' }).first();
    for (let p = 2; await next.isEnabled(); p++) {
      await next.click();
      await page.getByRole('heading', { name: new RegExp(`^Page ${p} `) }).waitFor();
      seen.push(...(await shownIds()));
      assert.ok(p < 20, 'paging does not end');
    }
    assert.equal(seen.length, PAGING_EVENTS, 'every event once');
    assert.equal(new Set(seen).size, PAGING_EVENTS, 'no event twice');
    assert.deepEqual(seen, [...seen].sort((x, y) => x - y), 'in recorded order');
    await page.getByRole('heading', { name: 'Page 6 · events 251–260' }).waitFor();

    const previous = S().getByRole('button', { name: '← Previous' }).first();
    while (await previous.isEnabled()) await previous.click().then(() => page.waitForTimeout(50));
    await page.getByRole('heading', { name: 'Page 1 · events 1–50' }).waitFor();
    assert.deepEqual(await shownIds(), first);

    // Long metadata expands.
    const summary = S().locator('tbody tr').first().locator('details summary');
    await summary.click();
    await S().locator('tbody tr').first().locator('details pre').getByText('"agent"').waitFor();

  });

  test('downloads every matching event as CSV and NDJSON', async () => {
    for (const [button, lines] of [
      ['Download CSV', PAGING_EVENTS + 1],
      ['Download NDJSON', PAGING_EVENTS],
    ]) {
      const [download] = await Promise.all([page.waitForEvent('download'), S().getByRole('button', { name: button }).click()]);
      const text = readFileSync(await download.path(), 'utf8');
      assert.equal(text.trimEnd().split('\n').length, lines, `${button}: lines`);
      assert.match(download.suggestedFilename(), new RegExp(`^user-${PAGING_USER}-events\\.(csv|ndjson)$`));
      if (button === 'Download NDJSON') {
        const ids = text.trimEnd().split('\n').map((l) => JSON.parse(l).id);
        assert.equal(new Set(ids).size, PAGING_EVENTS);
      }
      await S().getByText(/^Downloaded user-/).waitFor();
    }
  });

  test('filters by when the users acted', async () => {
    // Events 100..109 of the seeded ones, 10 minutes apart.
    const t = (i) => new Date(seeded[i].event_action_timestamp).getTime();
    await page.goto(base + '/#search');
    await page.reload();
    await S().getByLabel('User id').fill(String(PAGING_USER));
    await S().getByLabel('Acted from').fill(berlinInput(new Date(t(100) - 300_000)));
    await S().getByLabel('Acted before').fill(berlinInput(new Date(t(109) + 300_000)));
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    const acted = await S().locator('tbody tr td:nth-child(2)').allTextContents();
    assert.deepEqual(
      acted.map((x) => x.slice(0, 19)),
      seeded.slice(100, 110).map((e) => berlinWall(new Date(e.event_action_timestamp))),
    );
    assert.equal(await S().getByRole('button', { name: 'Next →' }).first().isEnabled(), false);
  });

  test('charts a user\'s activity after a count, with the top users and the last count', async () => {
    const counted = JSON.parse(sql('SELECT user_activity.count_activity()'));
    assert.equal(counted.status, 'counted');
    // counting freshness comes from GET /api/counting/status, the schedule
    // from the pg_cron job (yearly: it does not run during the test)
    sql("SELECT user_activity.schedule_counting('0 0 1 1 *')");
    await page.goto(base + '/#activity');
    const statusReply = page.waitForResponse((r) => new URL(r.url()).pathname === '/api/counting/status');
    await page.reload();
    assert.equal((await statusReply).status(), 200);
    const counting = page.getByRole('region', { name: 'Counting' });
    await counting.getByText('counted', { exact: true }).waitFor();
    await counting.getByText('Counted once a year (day 1 of month 1) at 00:00 (GMT)').waitFor();
    assert.match(await counting.textContent(), new RegExp(`next at ${new Date().getFullYear() + 1}-01-01 0\\d:00:00 CET`));
    await counting.getByText('Technical details').click();
    const lastId = sql('SELECT last_id FROM user_activity.counting_state');
    await counting.getByText(`event ${lastId}, period ending`).waitFor();
    await counting.getByText("(pg_cron's zone: GMT), at most 366 days between runs").waitFor();
    await A().getByLabel('User id').fill(String(PAGING_USER));
    await A().getByRole('button', { name: 'Show activity' }).click();
    // The counts' own card: where the API has them, the charts over time
    // are drawn beside it.
    const perPeriod = page.getByRole('region', { name: `User ${PAGING_USER}: events per counting period` });
    await perPeriod.waitFor();
    await perPeriod.getByText(`${PAGING_EVENTS} events: 65 created, 65 updated, 65 deleted, 65 viewed`).waitFor();
    // Recharts drew the stacked bars, one series per action.
    await perPeriod.locator('.recharts-bar-rectangle').first().waitFor();
    assert.equal(await perPeriod.locator('.recharts-bar').count(), 4);
    // One bar per count: four periods, 40 + 90 + 60 + 70 events.
    await perPeriod.getByText('Counts as a table').click();
    const periods = perPeriod.locator('figcaption tbody tr');
    assert.equal(await periods.count(), 4);
    const totals = [];
    for (let i = 0; i < 4; i++) totals.push((await periods.nth(i).locator('td').allTextContents())[1]);
    assert.deepEqual(totals, ['40', '90', '60', '70']);
    await perPeriod.getByText('Counts as a table').click();
    const top = page.getByRole('region', { name: 'Top users' });
    const firstRow = await top.locator('tbody tr').first().locator('td').allTextContents();
    assert.deepEqual(firstRow.slice(1, 3), [`User ${PAGING_USER}`, String(PAGING_EVENTS)]);
    sql('SELECT user_activity.unschedule_counting()');
    // A top user's button loads that user's chart.
    await top.getByRole('button', { name: `User ${RECORD_USER}` }).click();
    await page.getByRole('heading', { name: `User ${RECORD_USER}: events per counting period` }).waitFor();
  });

  test('passes axe-core\'s WCAG 2.1 A and AA checks in every view, with results shown', async () => {
    // The views as the tests above left them: a stored event, a page of
    // results, the chart and the top users.
    for (const view of ['record', 'search', 'activity']) {
      await page.goto(`${base}/#${view}`);
      await page.locator(`#title-${view}`).waitFor();
      assert.deepEqual(await axeViolations(page), [], view);
    }
  });

  test('is usable at phone width, without sideways scrolling', async () => {
    await page.setViewportSize({ width: 375, height: 740 });
    for (const view of ['record', 'search', 'activity']) {
      await page.goto(`${base}/#${view}`);
      await page.reload();
      await page.locator(`#title-${view}`).waitFor();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      assert.ok(overflow <= 0, `${view}: ${overflow}px wider than the screen`);
    }
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  test('works from the keyboard', async () => {
    await page.goto(base + '/#record');
    await page.reload();
    await R().getByLabel('User id').focus();
    await page.keyboard.type(String(RECORD_USER));
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'record-action');
    await page.keyboard.press('ArrowDown'); // first action: created
    // Tab on to the submit button and press Enter.
    for (let i = 0; i < 15; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.textContent)) === 'Record event') break;
    }
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Record event');
    await page.keyboard.press('Enter');
    await page.getByRole('heading', { name: /^Stored as event \d+$/ }).waitFor();
    // The tabs too.
    await page.getByRole('link', { name: 'Search' }).focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.activeElement?.id === 'title-search');
  });

  test('logged no console error', () => {
    assert.deepEqual(b.errors, []);
  });
});
