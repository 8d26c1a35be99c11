// The page as docker-compose runs it: served from its own origin (like the
// nginx container, with config.js pointing at the API), the real
// standalone shim on another origin with CORS and API keys on.
//
//   E2E_SPLIT_URL   the page's server (e2e/serve.mjs), serving E2E_CONFIG_ROOT/config.js
//   E2E_API_URL     the standalone shim it talks to
//   E2E_READ_KEY, E2E_WRITE_KEY   the shim's keys
//   E2E_CONFIG_SCRIPT  the web container's docker-entrypoint.d script,
//                   run here with WEB_ROOT=E2E_CONFIG_ROOT to write config.js
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { launch } from './browser.mjs';

const pageUrl = process.env.E2E_SPLIT_URL;
const apiUrl = process.env.E2E_API_URL;
const readKey = process.env.E2E_READ_KEY;
const writeKey = process.env.E2E_WRITE_KEY;
const configScript = process.env.E2E_CONFIG_SCRIPT;
const configRoot = process.env.E2E_CONFIG_ROOT;
assert.ok(pageUrl && apiUrl && readKey && writeKey, 'E2E_SPLIT_URL, E2E_API_URL and the keys must be set');
assert.ok(configScript && configRoot, 'E2E_CONFIG_SCRIPT and E2E_CONFIG_ROOT must be set');

/** config.js as the web container writes it at start, from this environment. */
function writeConfig(env) {
  execFileSync('sh', [configScript], { env: { PATH: process.env.PATH, WEB_ROOT: configRoot, ...env }, stdio: 'pipe' });
}

const USER = 5151;
let b;
let page;
const R = () => page.locator('#view-record');
const S = () => page.locator('#view-search');
const A = () => page.locator('#view-activity');

before(async () => {
  // As docker-compose would start the web service with WEB_API_KEY_READ= and
  // WEB_API_KEY_WRITE= set empty: the API named, no keys given.
  writeConfig({ REACT_APP_API_BASE_URL: `${apiUrl}/api` });
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
    await page.getByRole('button', { name: 'Connection', exact: true }).click();
    await page.locator('.connection-body code').getByText(apiUrl).waitFor();
  });

  test('asks for the key when the API refuses', async () => {
    b.expectHttpError(401, '/api/events');
    await S().getByLabel('User id').fill(String(USER));
    await S().getByRole('button', { name: 'Search' }).click();
    await S().getByRole('alert').getByText(/Enter the API key under "Connection"/).waitFor();
  });

  test('pages across origins with the read key (Link is exposed)', async () => {
    // The panel closed when the search button was clicked.
    await page.getByRole('button', { name: 'Connection', exact: true }).click();
    await page.getByLabel('Read key (search, activity)').fill(readKey);
    await page.getByLabel('Write key (record)').fill(writeKey);
    await page.getByRole('button', { name: 'Connection', exact: true }).click();
    await S().getByLabel('Per page').selectOption('10');
    await S().getByRole('button', { name: 'Search' }).click();
    await page.getByRole('heading', { name: 'Page 1 · events 1–10' }).waitFor();
    const next = S().getByRole('button', { name: 'Next →' }).first();
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

describe('the page with the keys the web service gives it (WEB_API_KEY_*)', () => {
  let fresh;
  before(async () => {
    writeConfig({ API_BASE_URL_DEFAULT: apiUrl, WEB_API_KEY_READ: readKey, WEB_API_KEY_WRITE: writeKey });
    fresh = await launch(); // a new profile: nothing entered under "Connection"
  });
  after(async () => {
    await fresh?.close();
  });

  test('searches and records without asking for a key', async () => {
    const p = fresh.page;
    await p.goto(pageUrl + '/#search');
    const search = p.locator('#view-search');
    await search.getByLabel('User id').fill(String(USER));
    await search.getByRole('button', { name: 'Search' }).click();
    await p.getByRole('heading', { name: /^Page 1 · events 1–/ }).waitFor();
    await p.goto(pageUrl + '/#record');
    const record = p.locator('#view-record');
    await record.getByLabel('User id').fill(String(USER));
    await record.getByLabel('Action').selectOption('created');
    await record.getByRole('button', { name: 'Record event' }).click();
    await p.getByRole('heading', { name: /^Stored as event \d+$/ }).waitFor();
    await p.getByRole('button', { name: 'Connection', exact: true }).click();
    assert.equal(await p.getByLabel('Read key (search, activity)').getAttribute('placeholder'), 'given by the server');
    assert.equal(await p.evaluate(() => window.localStorage.length), 0);
  });

  test('logged no console error', () => {
    assert.deepEqual(fresh.errors, []);
  });
});
