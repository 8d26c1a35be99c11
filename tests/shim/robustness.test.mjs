// What must hold when things go wrong or get big: configuration errors,
// API keys, CORS with listed origins, a flat-memory export, SIGTERM under load
// losing no acknowledged event, PostgreSQL stopped and started under the
// shim, and the in-database worker killed and restarted by the postmaster.
// Runs after api.test.mjs, alone: it stops the cluster.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import http from 'node:http';
import {
  env, dbUrl, req, event, freshUser, uuid, range, psql, startShim, stopShim,
  cluster, rss, workerPid, waitFor, sleep, metric, holdLock, waitForLockWaiters,
} from './helpers.mjs';

const [portKeys, portCors, portTerm, portDown, portExports] = env.spare;

describe('configuration', () => {
  test('an invalid setting stops the program with one line naming it', () => {
    const r = spawnSync(env.bin, [], { timeout: 20000, env: { HTTP_PORT: 'eighty', DB_URL: dbUrl }, encoding: 'utf8' });
    assert.equal(r.status, 2);
    assert.equal(r.stderr, 'user-activity-shim: invalid HTTP_PORT "eighty": must be an integer from 1 to 65535\n');
  });

  test('a port in use is one clear line and exit 1', () => {
    const r = spawnSync(env.bin, [], { timeout: 20000,
      env: { HTTP_PORT: new URL(env.modes.standalone).port, HTTP_LISTEN_ADDRESS: '127.0.0.1', DB_URL: dbUrl },
      encoding: 'utf8',
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^user-activity-shim: cannot listen on 127\.0\.0\.1:\d+: /);
  });
});

describe('libpq environment', () => {
  test('without DB_URL the PG* variables apply', async () => {
    const shim = await startShim(portKeys, {
      DB_URL: null, PGHOST: '127.0.0.1', PGPORT: String(env.pgPort), PGUSER: 'user_activity_http', PGDATABASE: env.db,
    });
    try {
      assert.equal((await req(shim.base, 'GET', '/readyz')).status, 200);
      assert.equal((await req(shim.base, 'POST', '/api/event', { body: event(freshUser()) })).status, 201);
    } finally {
      await stopShim(shim);
    }
  });
});

describe('API keys', () => {
  let shim;
  after(() => shim && stopShim(shim));

  test('each level needs its key, compared exactly; the admin key opens all', async () => {
    shim = await startShim(portKeys, {
      HTTP_API_KEY_WRITE: 'w-key', HTTP_API_KEY_READ: 'r-key', HTTP_API_KEY_ADMIN: 'a-key',
      HTTP_ALLOW_UNAUTHENTICATED: null,
    });
    const b = shim.base;
    const u = freshUser();
    const auth = (k) => ({ Authorization: `Bearer ${k}` });
    let r = await req(b, 'POST', '/api/event', { body: event(u) });
    assert.equal(r.status, 401);
    assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="user_activity"');
    assert.equal(r.json.field, 'Authorization');
    assert.equal((await req(b, 'POST', '/api/event', { body: event(u), headers: auth('w-ke') })).status, 401);
    assert.equal((await req(b, 'POST', '/api/event', { body: event(u), headers: auth('w-key!') })).status, 401);
    assert.equal((await req(b, 'POST', '/api/event', { body: event(u), headers: auth('r-key') })).status, 401);
    assert.equal((await req(b, 'POST', '/api/event', { body: event(u), headers: auth('w-key') })).status, 201);
    const q = `/api/events?user_id=${u}&${range}`;
    assert.equal((await req(b, 'GET', q)).status, 401);
    assert.equal((await req(b, 'GET', q, { headers: auth('w-key') })).status, 401);
    assert.equal((await req(b, 'GET', q, { headers: auth('r-key') })).status, 200);
    assert.equal((await req(b, 'GET', q, { headers: auth('a-key') })).status, 200);
    assert.equal((await req(b, 'GET', '/api/counting/status')).status, 401);
    assert.equal((await req(b, 'GET', '/api/counting/status', { headers: auth('r-key') })).status, 200);
    assert.equal((await req(b, 'DELETE', `/api/users/${u}/events`, { headers: auth('r-key') })).status, 401);
    assert.equal((await req(b, 'DELETE', `/api/users/${u}/events`, { headers: auth('a-key') })).status, 200);
    // operations stay open
    assert.equal((await req(b, 'GET', '/healthz')).status, 200);
    assert.equal((await req(b, 'GET', '/metrics')).status, 200);
    assert.doesNotMatch(shim.out, /w-key|r-key|a-key/, 'keys never logged');
    // the log: one JSON object per line; requests with their route template
    const lines = shim.out.trim().split('\n').map((l) => JSON.parse(l));
    const requests = lines.filter((l) => l.msg === 'request');
    assert.ok(requests.length >= 10);
    for (const l of lines) assert.ok(l.time && l.level && l.msg, JSON.stringify(l));
    for (const l of requests) {
      for (const k of ['method', 'route', 'status', 'duration_ms', 'request_id']) assert.ok(k in l, k);
    }
    assert.ok(requests.some((l) => l.route === '/api/users/{id}/events' && l.method === 'DELETE'));
    assert.ok(!shim.out.includes(String(u)), 'no user ids (raw paths, bodies) in the log');
  });
});

describe('CORS with listed origins', () => {
  let shim;
  after(() => shim && stopShim(shim));

  test('a listed origin is echoed with Vary and credentials; others are refused', async () => {
    shim = await startShim(portCors, {
      HTTP_CORS_ALLOWED_ORIGINS: 'http://page.example,http://other.example',
      HTTP_CORS_ALLOWED_METHODS: 'GET,POST', HTTP_CORS_ALLOWED_HEADERS: 'Content-Type',
      HTTP_CORS_MAX_AGE_HOURS_CACHE: '2', HTTP_CORS_ALLOW_CREDENTIALS: 'true',
    });
    const pre = (origin) => req(shim.base, 'OPTIONS', '/api/events', {
      headers: { Origin: origin, 'Access-Control-Request-Method': 'GET' },
    });
    let r = await pre('http://other.example');
    assert.equal(r.status, 204);
    assert.equal(r.headers.get('access-control-allow-origin'), 'http://other.example');
    assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
    assert.equal(r.headers.get('access-control-allow-methods'), 'GET,POST');
    assert.equal(r.headers.get('access-control-max-age'), '7200');
    assert.match(r.headers.get('vary'), /Origin/);
    r = await pre('http://evil.example');
    assert.equal(r.status, 403);
    assert.equal(r.json.field, 'Origin');
    r = await req(shim.base, 'GET', '/healthz', { headers: { Origin: 'http://evil.example' } });
    assert.equal(r.headers.get('access-control-allow-origin'), null);
  });

  test('credentials with a wildcard origin are refused at start', () => {
    const r = spawnSync(env.bin, [], { timeout: 20000,
      env: { HTTP_CORS_ALLOW_CREDENTIALS: 'true', HTTP_CORS_ALLOWED_ORIGINS: '*', DB_URL: dbUrl },
      encoding: 'utf8',
    });
    assert.equal(r.status, 2);
    assert.match(r.stderr, /HTTP_CORS_ALLOW_CREDENTIALS/);
  });
});

// Streams an export, counting lines and sampling the shim's RSS.
function streamExport(base, pid, query, accept) {
  return new Promise((resolve, reject) => {
    let lines = 0;
    let bytes = 0;
    let peak = rss(pid);
    const start = peak;
    const timer = setInterval(() => { peak = Math.max(peak, rss(pid)); }, 50);
    http.get(`${base}/api/events?${query}`, { headers: { Accept: accept } }, (res) => {
      res.on('data', (d) => {
        bytes += d.length;
        for (let i = 0; i < d.length; i++) if (d[i] === 10) lines++;
      });
      res.on('end', () => {
        clearInterval(timer);
        peak = Math.max(peak, rss(pid));
        resolve({ status: res.statusCode, lines, bytes, start, peak, headers: res.headers });
      });
      res.on('error', reject);
    }).on('error', reject);
  });
}

// The export metrics of a shim's /metrics; each series must be there.
async function exportMetrics(base) {
  const page = (await req(base, 'GET', '/metrics')).text;
  const get = (series) => {
    const line = page.split('\n').find((l) => l.startsWith(series + ' '));
    assert.ok(line, `${series} in /metrics`);
    return Number(line.slice(series.length + 1));
  };
  const p = 'user_activity_tracking_api_';
  return {
    inProgress: get(`${p}exports_in_progress`),
    limit: get(`${p}exports_limit`),
    refused: get(`${p}exports_refused_total`),
    ndjson: get(`${p}export_rows_total{format="ndjson"}`),
    csv: get(`${p}export_rows_total{format="csv"}`),
  };
}

describe('streaming export with flat memory', () => {
  const n = env.exportRows;
  let u;

  test(`load ${n} events of one user`, () => {
    u = freshUser();
    psql(`INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
          SELECT ${u}, 'viewed', '2025-10-10T18:30:00Z', jsonb_build_object('n', g, 'pad', repeat('x', 100))
          FROM generate_series(1, ${n}) AS g`);
  });

  for (const mode of ['standalone', 'worker']) {
    test(`${mode}: NDJSON export of ${n} events, RSS stays flat`, async () => {
      const pid = mode === 'standalone' ? env.standalonePid : workerPid();
      assert.ok(pid, 'shim pid');
      const before = await exportMetrics(env.modes[mode]);
      const t0 = Date.now();
      const r = await streamExport(env.modes[mode], pid, `user_id=${u}&${range}`, 'application/x-ndjson');
      const secs = (Date.now() - t0) / 1000;
      assert.equal(r.status, 200);
      assert.equal(r.lines, n, 'every event');
      // the rows are added once per buffer, all of them by the end
      const after = await exportMetrics(env.modes[mode]);
      assert.equal(after.ndjson - before.ndjson, n, 'export_rows_total{format="ndjson"} counts every row');
      assert.equal(after.csv, before.csv);
      const growth = r.peak - r.start;
      console.log(`# ${mode}: ${n} rows, ${(r.bytes / 1048576).toFixed(0)} MiB in ${secs.toFixed(1)} s; RSS ${(r.start / 1048576).toFixed(1)} -> peak ${(r.peak / 1048576).toFixed(1)} MiB`);
      assert.ok(growth < 32 * 1048576, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB while streaming ${(r.bytes / 1048576).toFixed(0)} MiB`);
      assert.ok(r.bytes > 100 * n, 'the bytes really went through');
    });
  }

  test('a client that goes away mid-export frees its connection', async () => {
    const base = env.modes.standalone;
    await new Promise((resolve) => {
      const rq = http.get(`${base}/api/events?user_id=${u}&${range}`, { headers: { Accept: 'text/csv' } }, (res) => {
        res.once('data', () => { rq.destroy(); resolve(); });
      });
      rq.on('error', () => resolve());
    });
    await waitFor(async () => {
      const page = (await req(base, 'GET', '/metrics')).text;
      return /db_pool_connections\{state="busy"\} 0/.test(page);
    }, 10000, 'pool connection released');
    assert.equal((await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=1`)).status, 200);
  });
});

describe('exports bounded so that other requests keep the pool', () => {
  const rows = 60000;
  let u;
  let shim;
  const held = [];
  after(async () => {
    for (const h of held) h.destroy();
    if (shim) await stopShim(shim);
  });

  // An export whose client reads nothing: it holds its database connection
  // until the client goes away.
  const holdExport = (base) => new Promise((resolve, reject) => {
    const rq = http.get(`${base}/api/events?user_id=${u}&${range}`,
      { headers: { Accept: 'application/x-ndjson' } }, (res) => {
        res.pause();
        const h = { status: res.statusCode, destroy: () => rq.destroy() };
        held.push(h);
        resolve(h);
      });
    rq.on('error', (e) => { if (!held.length) reject(e); });
  });
  const busy = async (base) => metric((await req(base, 'GET', '/metrics')).text,
    'user_activity_tracking_db_pool_connections{state="busy"}');
  // ten ingests and ten searches at once, each timed
  const others = (base) => Promise.all(Array.from({ length: 20 }, async (_, i) => {
    const t0 = Date.now();
    const r = i % 2
      ? await req(base, 'POST', '/api/event', { body: event(freshUser()) })
      : await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=5`);
    return { status: r.status, ms: Date.now() - t0 };
  }));

  test(`load ${rows} events to export`, () => {
    u = freshUser();
    psql(`INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata)
          SELECT ${u}, 'viewed', '2025-10-10T18:30:00Z', jsonb_build_object('n', g, 'pad', repeat('x', 300))
          FROM generate_series(1, ${rows}) AS g`);
  });

  test('an export over the limit is answered 429 at once; ingest and search keep answering', async () => {
    // four connections: by default at most two exports
    shim = await startShim(portExports, { HTTP_THREADS: '2', DB_POOL_SIZE: '4' });
    await waitFor(() => /4 database connections, at most 2 exports/.test(shim.out), 5000, 'the start line');
    const b = shim.base;
    let m = await exportMetrics(b);
    assert.deepEqual([m.inProgress, m.limit, m.refused], [0, 2, 0], 'a fresh shim: none in progress, limit 2');
    // a client that reads nothing keeps its export in progress
    assert.equal((await holdExport(b)).status, 200);
    assert.equal((await exportMetrics(b)).inProgress, 1, 'exports_in_progress while one is held');
    assert.equal((await holdExport(b)).status, 200);
    await waitFor(async () => (await busy(b)) === 2, 10000, 'two connections held by exports');
    assert.equal((await exportMetrics(b)).inProgress, 2);
    const t0 = Date.now();
    const r = await req(b, 'GET', `/api/events?user_id=${u}&${range}`, { headers: { Accept: 'text/csv' } });
    const ms = Date.now() - t0;
    assert.equal(r.status, 429, r.text);
    assert.ok(ms < 1000, `answered in ${ms} ms, without waiting for a connection`);
    assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
    assert.equal(r.headers.get('retry-after'), '5');
    assert.equal(r.json.status, 429);
    assert.equal(r.json.title, 'Too Many Requests');
    assert.match(r.json.detail, /At most 2 exports stream at once \(HTTP_MAX_EXPORTS/);
    assert.equal(r.json.request_id, r.headers.get('x-request-id'));
    m = await exportMetrics(b);
    assert.deepEqual([m.inProgress, m.refused], [2, 1], 'the 429 counted as refused, not in progress');
    // the other requests have the other two connections
    const done = await others(b);
    for (const d of done) {
      assert.ok([200, 201].includes(d.status), `status ${d.status}`);
      assert.ok(d.ms < 4000, `answered in ${d.ms} ms`);
    }
    console.log(`# two exports held: 20 ingests and searches at once, slowest ${Math.max(...done.map((d) => d.ms))} ms`);
    // a finished (here: abandoned) export frees its slot
    held.shift().destroy();
    await waitFor(async () => (await busy(b)) === 1, 10000, 'the abandoned export released');
    assert.equal((await holdExport(b)).status, 200);
    assert.equal((await req(b, 'GET', `/api/events?user_id=${u}&${range}`,
      { headers: { Accept: 'application/x-ndjson' } })).status, 429);
    for (const h of held.splice(0)) h.destroy();
    await waitFor(async () => (await busy(b)) === 0, 10000, 'every export released');
    await waitFor(async () => (await exportMetrics(b)).inProgress === 0, 10000, 'exports_in_progress back to 0');
    assert.equal((await exportMetrics(b)).refused, 2, 'both 429s counted');
    await stopShim(shim);
    shim = null;
  });

  test('worker: the same bound (user_activity.http_max_exports, default half of 6)', async () => {
    const b = env.modes.worker;
    const before = await exportMetrics(b);
    assert.deepEqual([before.inProgress, before.limit], [0, 3], 'the worker: none in progress, limit 3');
    assert.equal((await holdExport(b)).status, 200);
    assert.equal((await exportMetrics(b)).inProgress, 1, 'exports_in_progress while one is held');
    for (let i = 0; i < 2; i++) assert.equal((await holdExport(b)).status, 200);
    await waitFor(async () => (await busy(b)) === 3, 10000, 'three worker connections held by exports');
    const r = await req(b, 'GET', `/api/events?user_id=${u}&${range}`, { headers: { Accept: 'text/csv' } });
    assert.equal(r.status, 429, r.text);
    assert.match(r.json.detail, /At most 3 exports stream at once/);
    const m = await exportMetrics(b);
    assert.deepEqual([m.inProgress, m.refused - before.refused], [3, 1], 'the 429 counted as refused');
    for (const d of await others(b)) {
      assert.ok([200, 201].includes(d.status), `status ${d.status}`);
      assert.ok(d.ms < 4000, `answered in ${d.ms} ms`);
    }
    for (const h of held.splice(0)) h.destroy();
    await waitFor(async () => (await busy(b)) === 0, 10000, 'every worker export released');
    await waitFor(async () => (await exportMetrics(b)).inProgress === 0, 10000, 'exports_in_progress back to 0');
  });

  test('HTTP_MAX_EXPORTS as large as the pool: exports starve the other requests', async () => {
    // what the bound prevents: the same load with every connection exportable
    shim = await startShim(portExports, { HTTP_THREADS: '2', DB_POOL_SIZE: '4', HTTP_MAX_EXPORTS: '4' });
    const b = shim.base;
    assert.equal((await exportMetrics(b)).limit, 4, 'exports_limit follows HTTP_MAX_EXPORTS');
    for (let i = 0; i < 4; i++) assert.equal((await holdExport(b)).status, 200);
    await waitFor(async () => (await busy(b)) === 4, 10000, 'four connections held by exports');
    const r = await req(b, 'GET', `/api/events?user_id=${u}&${range}&limit=5`);
    assert.equal(r.status, 503, r.text);
    for (const h of held.splice(0)) h.destroy();
    await waitFor(async () => (await busy(b)) === 0, 10000, 'every export released');
  });
});

describe('group commit: writers grow with the load', () => {
  test('a second connection writes once a full group waits; a stuck group holds up no more', async () => {
    // groups of at most 3: one writer waits on a lock, three requests queue
    // (a full group), and the next one starts a second writer with them
    const shim = await startShim(portTerm, { HTTP_THREADS: '4', HTTP_GROUP_MAX: '3' });
    try {
      const base = `http://127.0.0.1:${portTerm}`;
      const u = freshUser();
      const lock = await holdLock('LOCK TABLE ONLY user_activity.events IN SHARE MODE');
      let all;
      try {
        const post = (i) => req(base, 'POST', '/api/event', { body: event(u, { metadata: { i } }) });
        all = [post(0)];
        await waitForLockWaiters(1, '%record_event%');
        for (let i = 1; i <= 2; i++) all.push(post(i));
        await sleep(300);
        // two queued: still one writer
        assert.equal(psql(`SELECT count(*) FROM pg_catalog.pg_stat_activity
          WHERE wait_event_type = 'Lock' AND query LIKE '%record_event%'`), '1');
        all.push(post(3));
        await waitForLockWaiters(2, '%record_event%');
      } finally {
        await lock.release();
      }
      const rs = await Promise.all(all);
      for (const r of rs) assert.equal(r.status, 201, r.text);
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '4');
      const page = (await req(base, 'GET', '/metrics')).text;
      assert.equal(metric(page, 'user_activity_tracking_db_group_commit_events_total'), 4);
      assert.equal(metric(page, 'user_activity_tracking_db_group_commit_transactions_total'), 2,
        'the first event alone, then the three queued ones together');
    } finally {
      await stopShim(shim);
    }
  });

  test('a deadlock between a group and another transaction: the group is rolled back, each event written again, none lost', async () => {
    // Groups of two.  Session T holds the event_ids k0 and y; the request
    // for k0 takes the writer and waits on T; x and y queue and go out as
    // a second group, which stores x and waits on T for y; then T asks for
    // x.  The group's backend finds the deadlock (its deadlock_timeout,
    // 3 s, lets T close the cycle first; T's is longer) and fails; the
    // shim writes x and y again, each alone, and they wait on T, which
    // rolls back.  Every request is then stored once.
    // deadlock_timeout is a superuser's setting: a login role of its own
    // (not a superuser, as the shim requires) carries it
    psql(`DO $$ BEGIN
        IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = 'test_deadlock') THEN
          CREATE ROLE test_deadlock LOGIN IN ROLE user_activity_writer;
        END IF;
      END $$; ALTER ROLE test_deadlock SET deadlock_timeout = '3s'`);
    const shim = await startShim(portTerm, {
      HTTP_THREADS: '4', HTTP_GROUP_MAX: '2', DB_URL: dbUrl.replace('user=user_activity_http', 'user=test_deadlock'),
    });
    const t = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
      '-p', String(env.pgPort), '-U', 'postgres', '-d', env.db], { stdio: ['pipe', 'ignore', 'pipe'] });
    let tErr = '';
    t.stderr.on('data', (d) => { tErr += d; });
    const tExited = new Promise((resolve) => t.on('exit', resolve));
    const tState = () => psql(`SELECT state || ' ' || coalesce(wait_event_type = 'Lock', false) FROM pg_catalog.pg_stat_activity
      WHERE application_name = 'test deadlock'`);
    try {
      const base = `http://127.0.0.1:${portTerm}`;
      const u = freshUser();
      // x before y in key order: the group's one statement claims its keys
      // in that order, so it takes x and then waits on T for y
      const k0 = uuid();
      const [x, y] = [uuid(), uuid()].sort();
      const record = (id) => `SELECT user_activity.record_event('${JSON.stringify(event(u, { event_id: id, metadata: { by: 't' } }))}');\n`;
      const page = async () => (await req(base, 'GET', '/metrics')).text;
      const deadlocks = () => Number(psql(`SELECT deadlocks FROM pg_catalog.pg_stat_database WHERE datname = current_database()`));
      const deadlocksBefore = deadlocks();
      const retriesBefore = metric(await page(), 'user_activity_tracking_db_group_commit_retries_total');

      t.stdin.write(`SET application_name = 'test deadlock';\nSET deadlock_timeout = '1min';\nBEGIN;\n${record(k0)}${record(y)}`);
      await waitFor(async () => tState() === 'idle in transaction false', 10000, 'T holds k0 and y');

      const post = (id, i) => req(base, 'POST', '/api/event', { body: event(u, { event_id: id, metadata: { i } }) });
      const rs = [post(k0, 0)];
      await waitForLockWaiters(1, '%record_event%');
      rs.push(post(x, 1));
      // x queued (in flight: k0, x and this /metrics request), then y
      await waitFor(async () => metric(await page(), 'user_activity_tracking_api_requests_in_flight') >= 3, 10000, 'x queued');
      rs.push(post(y, 2));
      await waitForLockWaiters(2, '%record_event%');

      t.stdin.write(record(x));
      // the group fails, T gets x, and the group's events, written again, wait on T
      await waitFor(async () => tState() === 'idle in transaction false', 10000, `T stored x: ${tErr}`);
      await waitForLockWaiters(2, '%record_event%');
      t.stdin.end('ROLLBACK;\n');
      assert.equal(await tExited, 0, tErr);

      const answers = await Promise.all(rs);
      answers.forEach((r, i) => {
        assert.equal(r.status, 201, r.text);
        assert.deepEqual(r.json.metadata, { i });
      });
      assert.equal(psql(`SELECT string_agg(metadata->>'i', ',' ORDER BY metadata->>'i') FROM user_activity.events WHERE user_id = ${u}`), '0,1,2');
      assert.equal(metric(await page(), 'user_activity_tracking_db_group_commit_retries_total'), retriesBefore + 1,
        'the group written again');
      await waitFor(async () => deadlocks() === deadlocksBefore + 1, 20000, 'PostgreSQL saw one deadlock');
    } finally {
      if (t.exitCode === null) t.kill();
      await stopShim(shim);
    }
  });
});

describe('SIGTERM during load', () => {
  for (const group of ['off', 'on']) test(`group commit ${group}: stops accepting, drains, exits 0; every acknowledged event is stored`, async () => {
    const shim = await startShim(portTerm, { HTTP_THREADS: '4', HTTP_GROUP_COMMIT: group });
    const u = freshUser();
    const acked = [];
    let stop = false;
    let errors = 0;
    const client = async () => {
      while (!stop) {
        const id = uuid();
        try {
          const r = await fetch(`${shim.base}/api/event`, {
            method: 'POST', headers: { 'Content-Type': 'application/json' },
            body: JSON.stringify(event(u, { event_id: id })),
          });
          if (r.status === 201) acked.push(id);
          await r.arrayBuffer();
        } catch {
          errors++;
          await sleep(5);
        }
      }
    };
    const clients = Array.from({ length: 16 }, client);
    // under load, not after a fixed time: a busy machine may take longer
    // than a second to acknowledge the first events
    await sleep(1000);
    await waitFor(() => acked.length > 50, 20000, 'more than 50 acknowledged events').catch(() => {});
    const before = acked.length;
    shim.kill('SIGTERM');
    const exit = await shim.exited;
    stop = true;
    await Promise.all(clients);
    assert.equal(exit.code, 0, `exit ${JSON.stringify(exit)}: ${shim.err}`);
    assert.ok(before > 50, `load was running (${before} acknowledged before SIGTERM)`);
    assert.match(shim.out, /got SIGTERM, shutting down/);
    const stored = new Set(psql(`SELECT event_id FROM user_activity.events WHERE user_id = ${u}`).split('\n'));
    const lost = acked.filter((id) => !stored.has(id));
    console.log(`# ${acked.length} acknowledged, ${stored.size} stored, ${errors} refused after SIGTERM`);
    assert.equal(lost.length, 0, `${lost.length} acknowledged events lost`);
  });
});

describe('PostgreSQL stopped and started under the shim', () => {
  test('503 with Retry-After while down, back by itself, same process', async () => {
    const shim = await startShim(portDown, {});
    try {
      const u = freshUser();
      assert.equal((await req(shim.base, 'POST', '/api/event', { body: event(u) })).status, 201);
      cluster('stop');
      try {
        const r = await req(shim.base, 'POST', '/api/event', { body: event(u) });
        assert.equal(r.status, 503, r.text);
        assert.equal(r.headers.get('retry-after'), '1');
        assert.match(r.headers.get('content-type'), /problem\+json/);
        assert.doesNotMatch(r.text, /127\.0\.0\.1|port|socket/, 'no connection details leak');
        const ready = await req(shim.base, 'GET', '/readyz');
        assert.equal(ready.status, 503);
        const page = (await req(shim.base, 'GET', '/metrics')).text;
        assert.match(page, /user_activity_tracking_db_up 0/);
        assert.equal((await req(shim.base, 'GET', '/healthz')).status, 200, 'alive while the database is down');
      } finally {
        cluster('start');
      }
      const t0 = Date.now();
      await waitFor(async () => (await req(shim.base, 'POST', '/api/event', { body: event(u) })).status === 201,
        15000, 'ingest after restart');
      console.log(`# back ${Date.now() - t0} ms after the server was up`);
      assert.equal(shim.exitCode, null, 'the shim kept running');
      assert.equal((await req(shim.base, 'GET', '/readyz')).status, 200);
    } finally {
      await stopShim(shim);
    }
  });

  test('the standalone shim of the suite also recovered', async () => {
    await waitFor(async () => (await req(env.modes.standalone, 'GET', '/readyz')).status === 200, 15000, 'readyz');
  });
});

describe('in-database worker supervised by the postmaster', () => {
  const base = env.modes.worker;

  test('the worker answers after the server restarted', async () => {
    await waitFor(async () => (await req(base, 'GET', '/readyz')).status === 200, 30000, 'worker ready');
  });

  test('SIGTERM: the worker drains, exits and is started again', async () => {
    const pid = workerPid();
    assert.ok(pid);
    process.kill(pid, 'SIGTERM');
    await waitFor(() => workerPid() && workerPid() !== pid, 30000, 'new worker');
    await waitFor(async () => (await req(base, 'POST', '/api/event', { body: event(freshUser()) })).status === 201,
      30000, 'worker serving');
  });

  test('SIGKILL: the postmaster restarts it (after crash recovery)', async () => {
    const pid = workerPid();
    assert.ok(pid);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => workerPid() && workerPid() !== pid, 60000, 'new worker');
    await waitFor(async () => (await req(base, 'POST', '/api/event', { body: event(freshUser()) })).status === 201,
      60000, 'worker serving');
    const log = spawnSync('grep', ['-c', 'user_activity http shim', `${env.pgData}/server.log`], { encoding: 'utf8' });
    assert.ok(Number(log.stdout) > 0);
  });
});
