// The page as docker-compose runs it: served from its own origin (like the
// nginx container, with config.js pointing at the API), the real
// standalone shim on another origin with CORS and API keys on.
//
//   E2E_SPLIT_URL   the page's server (e2e/serve.mjs)
//   E2E_API_URL     the standalone shim it talks to
//   E2E_READ_KEY, E2E_WRITE_KEY   the shim's keys
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { launch } from './browser.mjs';

const pageUrl = process.env.E2E_SPLIT_URL;
const apiUrl = process.env.E2E_API_URL;
const readKey = process.env.E2E_READ_KEY;
const writeKey = process.env.E2E_WRITE_KEY;
assert.ok(pageUrl && apiUrl && readKey && writeKey, 'E2E_SPLIT_URL, E2E_API_URL and the keys must be set');

const USER = 5151;
let b;
let page;
const R = () => page.locator('#view-record');
const S = () => page.locator('#view-search');
const A = () => page.locator('#view-activity');

before(async () => {
  const events = Array.from({ length: 30 }, (_, i) => ({
    user_id: USER,
    action: ['created', 'updated', 'deleted', 'viewed'][i % 4],
    event_action_timestamp: new Date(Date.now() - i * 60_000).toISOString(),
    metadata: { i },
  }));
  const res = await fetch(`${apiUrl}/api/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${writeKey}` },
    body: JSON.stringify(events),
  });
  assert.equal(res.status, 201);
  b = await launch();
  page = b.page;
});

after(async () => {
  await b?.close();
});

describe('the page on its own origin, the API with CORS and keys', () => {
  test('talks to the API named in config.js', async () => {
    await page.goto(pageUrl + '/#search');
    await page.getByText('Connection', { exact: true }).click();
    await page.locator('.connection-body code').getByText(apiUrl).waitFor();
  });

  test('asks for the key when the API refuses', async () => {
    b.expectHttpError(401, '/api/events');
    await S().getByLabel('User id').fill(String(USER));
    await S().getByRole('button', { name: 'Search' }).click();
    await S().getByRole('alert').getByText(/Enter the API key under "Connection"/).waitFor();
  });

  test('pages across origins with the read key (Link is exposed)', async () => {
    await page.getByLabel('Read key (search, activity)').fill(readKey);
    await page.getByLabel('Write key (record)').fill(writeKey);
    await page.getByText('Connection', { exact: true }).click();
    await S().getByLabel('Per page').selectOption('10');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    const next = S().getByRole('button', { name: 'Next →' });
    await next.click();
    await page.getByRole('heading', { name: 'Page 2 · events 11–20' }).waitFor();
    await next.click();
    await page.getByRole('heading', { name: 'Page 3 · events 21–30' }).waitFor();
    const [download] = await Promise.all([
      page.waitForEvent('download'),
      S().getByRole('button', { name: 'Download NDJSON' }).click(),
    ]);
    assert.equal(readFileSync(await download.path(), 'utf8').trimEnd().split('\n').length, 30);
  });

  test('records with the write key, keys kept across a reload', async () => {
    await page.goto(pageUrl + '/#record');
    await page.reload();
    await R().getByLabel('User id').fill(String(USER));
    await R().getByLabel('Action').selectOption('viewed');
    await R().getByRole('button', { name: 'Record event' }).click();
    await page.getByRole('heading', { name: /^Stored as event \d+$/ }).waitFor();
  });

  test('reads counts and the counting status across origins', async () => {
    await page.goto(pageUrl + '/#activity');
    await page.reload();
    // GET /api/counting/status with the read key, through CORS
    const counting = A().getByRole('region', { name: 'Counting' });
    await counting.getByText('no pg_cron job: counting runs only when called').waitFor();
    assert.equal(await counting.getByRole('alert').count(), 0);
    await A().getByLabel('User id').fill(String(USER));
    await A().getByRole('button', { name: 'Show activity' }).click();
    await page.getByRole('heading', { name: `User ${USER}: events per counting period` }).waitFor();
    await page.getByRole('region', { name: 'Top users' }).waitFor();
  });

  test('logged no console error', () => {
    assert.deepEqual(b.errors, []);
  });
});
