// Access: closed by default, API keys managed in SQL, sessions that are
// never a superuser's, nothing read or held before it is allowed; then CORS
// never reflecting an arbitrary origin with credentials, the analyst role
// unable to write, the shim's role unable to run DDL (and enough for every
// route), and no function captured by hostile objects placed in a schema
// ahead of pg_catalog in the caller's search_path.
//
// Everything runs against both the standalone shim and the in-database
// worker, over real sockets.  The suite's cluster runs its worker open on
// loopback (user_activity.http_allow_unauthenticated); tests that need
// another worker set it with ALTER SYSTEM, restart the cluster, and put it
// back afterwards.
import { describe, test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import {
  env, req, event, freshUser, range, psql, startShim, stopShim, cluster, sleep, waitFor,
  workerPid, rss, metric, promtoolCheck, dbUrl,
} from '../shim/helpers.mjs';

// Runs one statement as role (null: the superuser) and returns its SQLSTATE,
// or 'OK'.
function sqlState(role, sql, { searchPath } = {}) {
  const pre = [role ? `SET ROLE ${role};` : '', searchPath ? `SET search_path = ${searchPath};` : ''].join('\n');
  const r = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'VERBOSITY=sqlstate', '-h', '127.0.0.1',
    '-p', String(env.pgPort), '-U', 'postgres', '-d', env.db],
  { input: `${pre}\n${sql};\n`, encoding: 'utf8' });
  const m = /ERROR:\s+([0-9A-Z]{5})/.exec(r.stderr);
  return m ? m[1] : 'OK';
}

const problem401 = (r) => {
  assert.equal(r.status, 401, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.json.field, 'Authorization');
  assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="user_activity"');
};

const workerPort = Number(new URL(env.modes.worker).port);
const serverLog = () => readFileSync(`${env.pgData}/server.log`, 'utf8');
const bearer = (k) => ({ Authorization: `Bearer ${k}` });
const auth = (base) => async (reason) => metric((await req(base, 'GET', '/metrics')).text,
  `user_activity_http_auth_failures_total{reason="${reason}"}`);

// Restarts the cluster with the worker's settings changed (ALTER SYSTEM; a
// null value resets one) and returns the log written from then on.
async function restartWorker(settings, { ready = true } = {}) {
  for (const [k, v] of Object.entries(settings)) {
    psql(v === null ? `ALTER SYSTEM RESET ${k}` : `ALTER SYSTEM SET ${k} = '${v}'`);
  }
  const from = serverLog().length;
  cluster('restart');
  if (ready) {
    await waitFor(async () => (await fetch(`${env.modes.worker}/readyz`)).status === 200, 30000,
      'the worker after the restart');
  }
  return () => serverLog().slice(from);
}

const workerDefaults = {
  'user_activity.http_allow_unauthenticated': null, 'user_activity.http_listen_address': null,
  'user_activity.http_user': null, 'user_activity.http_port': null,
};
// every test that restarts the worker leaves it as the suite started it
async function resetWorker() {
  await restartWorker(workerDefaults);
}

// Sessions of the worker's pool and key listener: over the local socket
// (the standalone shims of the suite come over TCP).
const shimSessions = (filter = '') => psql(`SELECT count(*) FROM pg_catalog.pg_stat_activity
  WHERE application_name IN ('user_activity_shim', 'user_activity_shim_keys')
    AND client_addr IS NULL ${filter}`);

// The local addresses a TCP port is listened on.
function listenAddresses(port) {
  const r = spawnSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  return r.stdout.trim().split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/)[3]);
}

// Every route of the API, with what it needs: read, write or admin.
const apiRoutes = (u) => [
  ['write', 'POST', '/api/event', { body: event(u) }],
  ['write', 'POST', '/api/events', { body: [event(u)] }],
  ['read', 'GET', `/api/events?user_id=${u}&${range}`, {}],
  ['read', 'GET', `/api/users/${u}/counts?${range}`, {}],
  ['read', 'GET', `/api/counts/top?${range}`, {}],
  ['read', 'GET', '/api/counting/status', {}],
  ['admin', 'DELETE', `/api/users/${u}/events`, {}],
];

describe('closed by default', () => {
  after(resetWorker);

  test('both listen on loopback by default', async () => {
    // the worker: the setting's built-in value, and the socket it holds
    assert.equal(psql("SELECT boot_val FROM pg_catalog.pg_settings WHERE name = 'user_activity.http_listen_address'"),
      '127.0.0.1');
    assert.deepEqual(listenAddresses(workerPort), [`127.0.0.1:${workerPort}`]);
    // the standalone shim without HTTP_LISTEN_ADDRESS
    const shim = await startShim(env.spare[0], { HTTP_LISTEN_ADDRESS: null, HTTP_ALLOW_UNAUTHENTICATED: null });
    try {
      assert.deepEqual(listenAddresses(env.spare[0]), [`127.0.0.1:${env.spare[0]}`]);
      await waitFor(() => /listening on 127\.0\.0\.1:\d+ .*API keys required/.test(shim.out), 5000, 'the start line');
    } finally {
      await stopShim(shim);
    }
    // both default to no CORS origin, no unauthenticated access
    assert.equal(psql(`SELECT string_agg(name || '=' || boot_val, ',' ORDER BY name) FROM pg_catalog.pg_settings
      WHERE name IN ('user_activity.http_cors_allowed_origins', 'user_activity.http_allow_unauthenticated')`),
    'user_activity.http_allow_unauthenticated=off,user_activity.http_cors_allowed_origins=');
  });

  test('unauthenticated access beyond loopback: one line naming the setting, and no server', async () => {
    for (const address of ['0.0.0.0', '*', '::']) {
      const r = spawnSync(env.bin, [], { timeout: 20000, encoding: 'utf8',
        env: { DB_URL: dbUrl, HTTP_PORT: String(env.spare[0]), HTTP_LISTEN_ADDRESS: address, HTTP_ALLOW_UNAUTHENTICATED: 'on' } });
      assert.equal(r.status, 2, r.stderr);
      assert.equal(r.stderr, `user-activity-shim: refusing to listen on ${address} with HTTP_ALLOW_UNAUTHENTICATED=on: unauthenticated access is for loopback only; set API keys instead\n`);
    }
    // on loopback it starts: 127.0.0.0/8
    const shim = spawn(env.bin, [], { stdio: 'ignore',
      env: { DB_URL: dbUrl, HTTP_PORT: String(env.spare[0]), HTTP_LISTEN_ADDRESS: '127.0.0.2', HTTP_ALLOW_UNAUTHENTICATED: 'on' } });
    try {
      await waitFor(async () => (await fetch(`http://127.0.0.2:${env.spare[0]}/api/counting/status`)).status === 200,
        10000, 'the shim on 127.0.0.2');
    } finally {
      shim.kill('SIGTERM');
    }
    const pid = workerPid();
    const log = await restartWorker({ 'user_activity.http_listen_address': '*' }, { ready: false });
    // past the postmaster's 5 s restart delay: the line is not repeated
    await sleep(7000);
    const lines = log().split('\n').filter((l) => l.includes('refusing to listen on'));
    assert.equal(lines.length, 1, log());
    assert.match(lines[0], /LOG: {2}user_activity http shim: refusing to listen on \* with user_activity\.http_allow_unauthenticated=on: unauthenticated access is for loopback only/);
    assert.equal(workerPid(), null, 'the worker is gone for good');
    assert.notEqual(pid, null);
    assert.deepEqual(listenAddresses(workerPort), []);
  });

  test('with the switch off every /api route needs a key; operations and the page stay open', async () => {
    await restartWorker({ 'user_activity.http_allow_unauthenticated': 'off' });
    const shim = await startShim(env.spare[0], { HTTP_ALLOW_UNAUTHENTICATED: null, SHIM_STATIC_DIR: env.staticDir || null });
    try {
      for (const base of [env.modes.worker, shim.base]) {
        const failures = auth(base);
        const missing = await failures('missing');
        const u = freshUser();
        for (const [, method, path, opts] of apiRoutes(u)) problem401(await req(base, method, path, opts));
        assert.equal(await failures('missing'), missing + apiRoutes(u).length);
        for (const path of ['/healthz', '/readyz', '/metrics', '/api/openapi.json']) {
          assert.equal((await req(base, 'GET', path)).status, 200, `${base}${path}`);
        }
        if (base === env.modes.worker || env.staticDir) assert.equal((await req(base, 'GET', '/')).status, 200);
        assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '0');
        const page = (await req(base, 'GET', '/metrics')).text;
        const check = promtoolCheck(page);
        assert.ok(check.ok, check.out);
        assert.match(page, /# TYPE user_activity_http_auth_failures_total counter/);
      }
    } finally {
      await stopShim(shim);
    }
  });
});

describe('API keys managed in SQL', () => {
  let shim;
  before(async () => {
    await restartWorker({ 'user_activity.http_allow_unauthenticated': 'off' });
    shim = await startShim(env.spare[1], {
      HTTP_ALLOW_UNAUTHENTICATED: null,
      HTTP_API_KEY_READ: 'env-read-key-0123456789', HTTP_API_KEY_WRITE: 'env-write-key-0123456789',
      HTTP_API_KEY_ADMIN: 'env-admin-key-0123456789',
    });
  });
  after(async () => {
    if (shim) await stopShim(shim);
    psql("DELETE FROM user_activity.api_keys WHERE name LIKE 'test-%'");
    await resetWorker();
  });
  const modes = () => ({ worker: env.modes.worker, standalone: shim.base });

  // Polls until the request's status is want; returns the seconds it took.
  async function within(base, method, path, opts, want, seconds) {
    const start = Date.now();
    for (;;) {
      const r = await req(base, method, path, opts);
      if (r.status === want) return (Date.now() - start) / 1000;
      if (Date.now() - start > seconds * 1000) assert.fail(`${method} ${path}: ${r.status}, not ${want} after ${seconds} s`);
      await sleep(25);
    }
  }

  test('a new key works within a second; a revoked one fails within a second', async () => {
    for (const [mode, base] of Object.entries(modes())) {
      const u = freshUser();
      const secret = psql(`SELECT user_activity.create_api_key('test-${mode}-rw', 'admin')`);
      assert.match(secret, /^uak_[0-9a-f]{64}$/);
      const took = await within(base, 'POST', '/api/event', { body: event(u), headers: bearer(secret) }, 201, 1);
      assert.ok(took <= 1, `${mode}: ${took} s`);
      const revoked = await auth(base)('revoked');
      assert.equal(psql(`SELECT user_activity.revoke_api_key('test-${mode}-rw')`), 't');
      await within(base, 'GET', `/api/events?user_id=${u}&${range}`, { headers: bearer(secret) }, 401, 1);
      assert.ok(await auth(base)('revoked') > revoked, `${mode}: counted as revoked`);
    }
  });

  test('scopes: read and write keys open their routes only, admin opens all', async () => {
    const keys = {};
    for (const scope of ['read', 'write', 'admin']) {
      keys[scope] = psql(`SELECT user_activity.create_api_key('test-scope-${scope}', '${scope}')`);
    }
    for (const [mode, base] of Object.entries(modes())) {
      await within(base, 'GET', '/api/counting/status', { headers: bearer(keys.admin) }, 200, 1);
      const scope = await auth(base)('scope');
      let refused = 0;
      for (const [level, method, path, opts] of apiRoutes(freshUser())) {
        for (const [k, secret] of Object.entries(keys)) {
          const r = await req(base, method, path, { ...opts, headers: bearer(secret) });
          if (k === 'admin' || k === level) {
            assert.ok(r.status < 300, `${mode} ${method} ${path} with ${k}: ${r.status} ${r.text}`);
          } else {
            problem401(r);
            refused += 1;
          }
        }
      }
      assert.equal(await auth(base)('scope'), scope + refused, mode);
    }
  });

  test('an expired key: 401, counted as expired; wrong and malformed keys: 401 by reason', async () => {
    // create_api_key takes no past expiry: the key is made, then backdated
    const expired = psql("SELECT user_activity.create_api_key('test-expired', 'admin')");
    psql("UPDATE user_activity.api_keys SET expires_at = now() - interval '1 minute' WHERE name = 'test-expired'");
    const soon = psql("SELECT user_activity.create_api_key('test-soon', 'read', now() + interval '4 seconds')");
    const soonMade = Date.now();
    for (const [mode, base] of Object.entries(modes())) {
      await within(base, 'GET', '/api/counting/status', { headers: bearer(soon) }, 200, 1);
      const before = {};
      for (const reason of ['expired', 'unknown', 'malformed']) before[reason] = await auth(base)(reason);
      problem401(await req(base, 'GET', '/api/counting/status', { headers: bearer(expired) }));
      assert.equal(await auth(base)('expired'), before.expired + 1, mode);
      const wrong = [`${soon.slice(0, -1)}${soon.endsWith('0') ? '1' : '0'}`, `${soon}x`, soon.slice(1), soon.toUpperCase(), 'uak_'];
      for (const w of wrong) problem401(await req(base, 'GET', '/api/counting/status', { headers: bearer(w) }));
      const malformed = ['Bearer', `Basic ${soon}`, soon, `Bearer\t${soon}`, `Bearer ${soon} ${soon}`,
        `Bearer ${soon}${'x'.repeat(5000)}`];
      for (const m of malformed) problem401(await req(base, 'GET', '/api/counting/status', { headers: { Authorization: m } }));
      const after = {};
      for (const reason of ['expired', 'unknown', 'malformed']) after[reason] = await auth(base)(reason);
      assert.equal(after.unknown - before.unknown, wrong.length, `${mode}: unknown`);
      assert.equal(after.malformed - before.malformed, malformed.length, `${mode}: malformed`);
    }
    // the clock, at each request: a key that expires while cached
    await sleep(Math.max(0, soonMade + 4200 - Date.now()));
    for (const base of Object.values(modes())) {
      problem401(await req(base, 'GET', '/api/counting/status', { headers: bearer(soon) }));
    }
    // the scheme in any case (RFC 9110)
    const k = psql("SELECT user_activity.create_api_key('test-case', 'read')");
    for (const base of Object.values(modes())) {
      await within(base, 'GET', '/api/counting/status', { headers: { Authorization: `bEaReR ${k}` } }, 200, 1);
    }
    const page = (await req(env.modes.worker, 'GET', '/metrics')).text;
    assert.ok(promtoolCheck(page).ok, promtoolCheck(page).out);
    assert.doesNotMatch(page, /uak_/, 'no key in the metrics');
  });

  test('standalone: the environment keys stay, next to the database keys; no secret in the log', async () => {
    const u = freshUser();
    assert.equal((await req(shim.base, 'POST', '/api/event', { body: event(u), headers: bearer('env-write-key-0123456789') })).status, 201);
    problem401(await req(shim.base, 'GET', `/api/events?user_id=${u}&${range}`, { headers: bearer('env-write-key-0123456789') }));
    assert.equal((await req(shim.base, 'GET', `/api/events?user_id=${u}&${range}`, { headers: bearer('env-read-key-0123456789') })).status, 200);
    assert.equal((await req(shim.base, 'DELETE', `/api/users/${u}/events`, { headers: bearer('env-admin-key-0123456789') })).status, 200);
    // the worker has no environment keys (and no key settings at all)
    problem401(await req(env.modes.worker, 'GET', '/api/counting/status', { headers: bearer('env-read-key-0123456789') }));
    assert.equal(psql("SELECT count(*) FROM pg_catalog.pg_settings WHERE name LIKE 'user_activity.http_api_key%'"), '0');
    assert.doesNotMatch(shim.out + shim.err, /env-(read|write|admin)-key|uak_/);
  });

  test('SIGHUP makes the standalone shim read the keys again, and it keeps serving', async () => {
    // no NOTIFY this time: only the signal can tell the shim
    psql('ALTER TABLE user_activity.api_keys DISABLE TRIGGER USER');
    let k;
    try {
      k = psql("SELECT user_activity.create_api_key('test-sighup', 'read')");
      await sleep(1200);
      problem401(await req(shim.base, 'GET', '/api/counting/status', { headers: bearer(k) }));
      shim.kill('SIGHUP');
      await within(shim.base, 'GET', '/api/counting/status', { headers: bearer(k) }, 200, 1);
    } finally {
      psql('ALTER TABLE user_activity.api_keys ENABLE TRIGGER USER');
    }
    assert.equal(shim.exitCode, null, 'still running');
    assert.match(shim.out, /got SIGHUP, reloading the API keys/);
    assert.equal((await req(shim.base, 'GET', '/api/counting/status', { headers: bearer('env-read-key-0123456789') })).status, 200,
      'the environment keys stay');
  });
});

describe('the shim is never a superuser', () => {
  after(resetWorker);

  test("the worker's and the standalone shim's sessions are user_activity_http, not a superuser", async () => {
    await waitFor(async () => (await req(env.modes.worker, 'GET', '/readyz')).status === 200);
    await req(env.modes.standalone, 'GET', '/readyz');
    const rows = psql(`SELECT DISTINCT a.usename || ':' || r.rolsuper FROM pg_catalog.pg_stat_activity a
      JOIN pg_catalog.pg_roles r ON r.rolname = a.usename
      WHERE a.application_name IN ('user_activity_shim', 'user_activity_shim_keys')`);
    assert.equal(rows, 'user_activity_http:false');
    // and what its statements run as: current_user of a pooled session
    assert.equal(shimSessions("AND usesysid IN (SELECT oid FROM pg_catalog.pg_roles WHERE rolsuper)"), '0');
  });

  test('a superuser login role: the worker does not serve, says so once and tries again later', async () => {
    const log = await restartWorker({ 'user_activity.http_user': 'postgres' }, { ready: false });
    await sleep(4000);
    const lines = log().split('\n').filter((l) => l.includes('is a superuser'));
    assert.equal(lines.length, 1, log());
    assert.match(lines[0], /WARNING: {2}user_activity http shim: refusing to serve: the database role "postgres" is a superuser/);
    assert.deepEqual(listenAddresses(workerPort), []);
    assert.equal(shimSessions(), '0');
    assert.notEqual(workerPid(), null, 'the worker waits rather than exits');
  });

  test('a superuser login role: the standalone shim refuses to start, in one line', () => {
    const r = spawnSync(env.bin, [], { timeout: 20000, encoding: 'utf8',
      env: { DB_URL: dbUrl.replace('user_activity_http', 'postgres'), HTTP_PORT: String(env.spare[0]),
        HTTP_LISTEN_ADDRESS: '127.0.0.1' } });
    assert.equal(r.status, 1);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr, /^user-activity-shim: refusing to serve: the database role "postgres" is a superuser/);
  });
});

describe('nothing read or held before it is allowed', () => {
  after(resetWorker);

  // Sends n requests at once, each a head declaring a body of bytes, and
  // the body; resolves with each reply's status line ('' when the shim
  // closed the connection without one reaching us).  With expect, the head
  // asks "Expect: 100-continue" and the body follows the reply, as from a
  // client that ignores it; without, head and body go out at once, and a
  // reply sent before the body was read may be lost to the reset that
  // closing a socket with unread data sends.
  function flood(port, n, head, bytes, expect) {
    const body = Buffer.alloc(bytes, 0x7b);
    return Promise.all(Array.from({ length: n }, () => new Promise((resolve) => {
      const sock = net.connect(port, '127.0.0.1');
      let out = '';
      let sent = false;
      const send = () => { if (!sent) { sent = true; sock.write(body); } };
      sock.setTimeout(20000, () => sock.destroy());
      sock.on('connect', () => {
        sock.write(`${head}Content-Length: ${bytes}\r\nContent-Type: application/json\r\n${expect ? 'Expect: 100-continue\r\n' : ''}\r\n`);
        if (!expect) send();
      });
      sock.on('data', (d) => { out += d; if (expect) send(); });
      sock.on('error', () => {});
      sock.on('close', () => resolve(out.split('\r\n')[0]));
    })));
  }

  test('150 connections x 1 MB to an unknown path, a wrong method, no key: answered from the head, memory flat', async () => {
    await restartWorker({ 'user_activity.http_allow_unauthenticated': 'off' });
    const shim = await startShim(env.spare[0], { HTTP_ALLOW_UNAUTHENTICATED: null });
    try {
      for (const [mode, port, pid] of [['worker', workerPort, workerPid()], ['standalone', env.spare[0], shim.pid]]) {
        for (const [head, status] of [
          ['POST /no/such/path HTTP/1.1\r\nHost: x\r\n', '404'],
          ['PUT /api/event HTTP/1.1\r\nHost: x\r\n', '405'],
          ['POST /api/events HTTP/1.1\r\nHost: x\r\n', '401'],
          ['GET /api/counting/status HTTP/1.1\r\nHost: x\r\n', '401'],
        ]) {
          const what = `${mode} ${head.split('\r')[0]}`;
          for (const expect of [true, false]) {
            const before = rss(pid);
            const start = Date.now();
            const lines = await flood(port, 150, head, 1024 * 1024, expect);
            const grew = rss(pid) - before;
            const answered = lines.filter((l) => l.startsWith(`HTTP/1.1 ${status} `)).length;
            const other = lines.filter((l) => l && !l.startsWith(`HTTP/1.1 ${status} `));
            assert.deepEqual(other, [], what);
            // without it, how many replies survive the resets depends on the
            // client's timing alone (from 0 to 150 under load), so only the
            // 100-continue run counts them
            if (expect) assert.equal(answered, 150, `${what}: every reply came before the body`);
            // 150 MB were sent; a shim that buffered them would grow by as much
            assert.ok(grew < 24 * 1024 * 1024, `${what}: RSS grew ${(grew / 1048576).toFixed(1)} MB`);
            console.log(`# ${what}${expect ? ' (Expect: 100-continue)' : ''}: 150 x 1 MB, ${answered} answered ${status}, `
              + `the others reset, in ${Date.now() - start} ms; RSS ${(before / 1048576).toFixed(1)} -> ${((before + grew) / 1048576).toFixed(1)} MB`);
          }
        }
        assert.equal((await req(`http://127.0.0.1:${port}`, 'GET', '/healthz')).status, 200);
      }
    } finally {
      await stopShim(shim);
    }
  });

  test('a port already taken: the worker says so once, waits without a database connection, starts once it is free', async () => {
    const port = env.spare[2];
    const blocker = net.createServer().listen(port, '127.0.0.1');
    await new Promise((r) => blocker.on('listening', r));
    let released = false;
    try {
      // the standalone shim: one line, exit 1, no connection left behind
      const r = spawnSync(env.bin, [], { timeout: 20000, encoding: 'utf8',
        env: { DB_URL: dbUrl, HTTP_PORT: String(port), HTTP_LISTEN_ADDRESS: '127.0.0.1' } });
      assert.equal(r.status, 1);
      assert.match(r.stderr, new RegExp(`^user-activity-shim: cannot listen on 127\\.0\\.0\\.1:${port}: Address already in use\n$`));

      const log = await restartWorker({ 'user_activity.http_port': String(port) }, { ready: false });
      const pid = await waitFor(() => workerPid(), 10000, 'the worker');
      await sleep(8000);
      const lines = log().split('\n').filter((l) => l.includes('cannot listen on'));
      assert.equal(lines.length, 1, log());
      assert.match(lines[0], /WARNING: {2}user_activity http shim cannot start: cannot listen on 127\.0\.0\.1:\d+: Address already in use/);
      assert.equal(workerPid(), pid, 'the same worker all along: it did not exit');
      assert.equal(shimSessions(), '0', 'no pool while the port is taken');
      blocker.close();
      released = true;
      await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).status === 200, 70000,
        'the worker on the freed port');
      // the threads may serve before the main thread's line is written
      await waitFor(() => /user_activity http shim started after all/.test(log()), 5000, 'the line saying it started');
    } finally {
      if (!released) blocker.close();
    }
  });

  test("the postmaster's death: the worker stops its HTTP threads, then exits", async () => {
    await resetWorker();
    const postmaster = Number(readFileSync(`${env.pgData}/postmaster.pid`, 'utf8').split('\n')[0]);
    const pid = workerPid();
    const from = serverLog().length;
    try {
      process.kill(postmaster, 'SIGKILL');
      await waitFor(() => { try { process.kill(pid, 0); return false; } catch { return true; } }, 10000, 'the worker to exit');
      assert.match(serverLog().slice(from), /user_activity http shim: the postmaster died, stopping the HTTP threads/);
      assert.equal((await fetch(`${env.modes.worker}/healthz`).catch((e) => e)).cause?.code, 'ECONNREFUSED');
    } finally {
      // a new postmaster, once the old one's children are gone
      await sleep(1000);
      await waitFor(() => { try { cluster('start'); return true; } catch { return false; } }, 30000, 'the cluster to start');
      await waitFor(async () => (await fetch(`${env.modes.worker}/readyz`)).status === 200, 30000, 'the worker');
    }
  });
});

describe('CORS', () => {
  let shim;
  after(() => shim && stopShim(shim));

  test('the default allows no origin at all, never with credentials', async () => {
    for (const base of Object.values(env.modes)) {
      for (const origin of ['http://evil.example', 'null', 'https://attacker.test:8443']) {
        const r = await req(base, 'GET', '/healthz', { headers: { Origin: origin } });
        assert.equal(r.headers.get('access-control-allow-origin'), null);
        assert.equal(r.headers.get('access-control-allow-credentials'), null);
        const pre = await req(base, 'OPTIONS', '/api/event', {
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
        assert.equal(pre.status, 403);
        assert.equal(pre.headers.get('access-control-allow-origin'), null);
        assert.equal(pre.headers.get('access-control-allow-credentials'), null);
      }
    }
  });

  test('"*", when set, never allows credentials', async () => {
    const star = await startShim(env.spare[3], { HTTP_CORS_ALLOWED_ORIGINS: '*' });
    try {
      for (const origin of ['http://evil.example', 'null']) {
        const r = await req(star.base, 'GET', '/healthz', { headers: { Origin: origin } });
        assert.equal(r.headers.get('access-control-allow-origin'), '*');
        assert.equal(r.headers.get('access-control-allow-credentials'), null);
      }
    } finally {
      await stopShim(star);
    }
  });
  test('listed origins with credentials: only those are echoed; look-alikes are not', async () => {
    shim = await startShim(env.spare[3], {
      HTTP_CORS_ALLOWED_ORIGINS: 'https://app.example, https://admin.example:8443',
      HTTP_CORS_ALLOW_CREDENTIALS: 'true',
    });
    const evil = ['https://evil.example', 'null', 'https://app.example.evil.com', 'https://evilapp.example',
      'http://app.example', 'https://app.example:444', 'https://app.exampl', 'https://app.example/',
      'https://app.example,https://evil.example', 'https://admin.example', '*', ''];
    for (const origin of evil) {
      const r = await req(shim.base, 'GET', '/healthz', { headers: { Origin: origin } });
      assert.equal(r.headers.get('access-control-allow-origin'), null, origin);
      assert.equal(r.headers.get('access-control-allow-credentials'), null, origin);
      const pre = await req(shim.base, 'OPTIONS', '/api/event', {
        headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
      assert.equal(pre.headers.get('access-control-allow-origin'), null, origin);
      if (origin) assert.equal(pre.status, 403, origin);
    }
    for (const origin of ['https://app.example', 'https://admin.example:8443']) {
      const r = await req(shim.base, 'GET', '/healthz', { headers: { Origin: origin } });
      assert.equal(r.headers.get('access-control-allow-origin'), origin);
      assert.equal(r.headers.get('access-control-allow-credentials'), 'true');
      assert.match(r.headers.get('vary') || '', /Origin/);
    }
  });
});

describe('roles', () => {
  const tables = ['events', 'user_event_counts', 'counting_state', 'counting_runs'];
  const column = { events: 'user_id', user_event_counts: 'user_id', counting_state: 'last_id', counting_runs: 'outcome' };
  const writes = (t) => [
    `INSERT INTO user_activity.${t} DEFAULT VALUES`,
    `UPDATE user_activity.${t} SET ${column[t]} = ${column[t]}`,
    `DELETE FROM user_activity.${t}`,
    `TRUNCATE user_activity.${t}`,
  ];

  test('the analyst role (user_activity_reader) cannot write', () => {
    const u = freshUser();
    const statements = [
      ...tables.flatMap(writes),
      "SELECT nextval('user_activity.events_id_seq')",
      `SELECT user_activity.record_event('${JSON.stringify(event(u))}')`,
      `SELECT user_activity.record_event(${u}, 'viewed', '2025-10-10T18:30:00Z')`,
      `SELECT user_activity.record_events('[${JSON.stringify(event(u))}]')`,
      `SELECT user_activity.delete_user_events(${u})`,
      'SELECT user_activity.count_activity()',
      'CALL user_activity.run_counting()',
      "SELECT user_activity.schedule_counting('*/5 * * * *')",
      'SELECT user_activity.unschedule_counting()',
      'CREATE TABLE user_activity.mine (x int)',
    ];
    for (const s of statements) assert.equal(sqlState('user_activity_reader', s), '42501', s);
    // it reads
    assert.equal(sqlState('user_activity_reader', 'SELECT count(*) FROM user_activity.events'), 'OK');
    assert.equal(sqlState('user_activity_reader',
      `SELECT * FROM user_activity.search_events('{"user_id": "${u}", "from": "2000-01-01T00:00:00Z", "to": "2100-01-01T00:00:00Z"}')`), 'OK');
    assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '0');
  });

  test("the shim's role (user_activity_writer) cannot run DDL nor write tables directly", () => {
    const statements = [
      ...tables.flatMap(writes),
      ...tables.flatMap((t) => [
        `ALTER TABLE user_activity.${t} ADD COLUMN x int`, `DROP TABLE user_activity.${t}`,
        `CREATE INDEX ON user_activity.${t} (${column[t]})`, `GRANT SELECT ON user_activity.${t} TO PUBLIC`,
        `CREATE TRIGGER t BEFORE INSERT ON user_activity.${t} FOR EACH ROW EXECUTE FUNCTION suppress_redundant_updates_trigger()`]),
      'CREATE TABLE user_activity.mine (x int)',
      'CREATE TABLE public.mine (x int)',
      'CREATE SCHEMA mine',
      "CREATE FUNCTION user_activity.record_event(text) RETURNS int LANGUAGE sql AS 'SELECT 1'",
      'DROP FUNCTION user_activity.record_event(jsonb)',
      'ALTER FUNCTION user_activity.record_event(jsonb) SECURITY INVOKER',
      "ALTER TYPE user_activity.action ADD VALUE 'hacked'",
      'DROP EXTENSION user_activity',
      'ALTER EXTENSION user_activity UPDATE',
      'ALTER SEQUENCE user_activity.events_id_seq RESTART',
      "SELECT setval('user_activity.events_id_seq', 1)",
      'SELECT user_activity.count_activity()',
      'CALL user_activity.run_counting()',
      "SELECT user_activity.schedule_counting('*/5 * * * *')",
      'SET user_activity.max_batch_size = 100000',
    ];
    for (const s of statements) assert.equal(sqlState('user_activity_writer', s), '42501', s);
  });

  test("a shim connected as the writer role serves every route", async () => {
    const shim = await startShim(env.spare[2], { DB_ROLE: 'user_activity_writer' });
    try {
      const u = freshUser();
      const b = shim.base;
      assert.equal((await req(b, 'POST', '/api/event', { body: event(u) })).status, 201);
      assert.equal((await req(b, 'POST', '/api/events', { body: [event(u), event(u)] })).status, 201);
      const found = await req(b, 'GET', `/api/events?user_id=${u}&${range}`);
      assert.equal(found.json.length, 3);
      const csv = await req(b, 'GET', `/api/events?user_id=${u}&${range}`, { headers: { Accept: 'text/csv' } });
      assert.equal(csv.status, 200);
      assert.equal(csv.text.trim().split('\n').length, 4);
      assert.equal((await req(b, 'GET', `/api/users/${u}/counts?${range}`)).status, 200);
      assert.equal((await req(b, 'GET', `/api/counts/top?${range}`)).status, 200);
      assert.equal((await req(b, 'GET', '/metrics')).status, 200);
      const del = await req(b, 'DELETE', `/api/users/${u}/events`);
      assert.equal(del.status, 200, del.text);
      assert.equal(del.json.events_deleted, 3);
    } finally {
      await stopShim(shim);
    }
  });
});

describe('search_path capture', () => {
  after(() => psql('DROP SCHEMA IF EXISTS capture CASCADE'));

  test('look-alike operators, functions and tables ahead of pg_catalog capture no call', () => {
    // A schema the shim's role may write to, holding look-alikes of what the
    // functions use; each look-alike counts its calls in a sequence (which a
    // rollback does not undo).
    psql(`DROP SCHEMA IF EXISTS capture CASCADE; CREATE SCHEMA capture;
      GRANT USAGE, CREATE ON SCHEMA capture TO PUBLIC;
      CREATE SEQUENCE capture.hits; GRANT USAGE ON SEQUENCE capture.hits TO PUBLIC;
      CREATE TABLE capture.events (LIKE user_activity.events);
      CREATE TABLE capture.user_event_counts (LIKE user_activity.user_event_counts);
      CREATE TABLE capture.counting_state (LIKE user_activity.counting_state);
      CREATE TABLE capture.counting_runs (LIKE user_activity.counting_runs);
      GRANT ALL ON ALL TABLES IN SCHEMA capture TO PUBLIC;`);
    const ops = [['<>', 'text', 'text', 'boolean'], ['=', 'text', 'text', 'boolean'], ['<', 'bigint', 'bigint', 'boolean'],
      ['>', 'bigint', 'bigint', 'boolean'], ['=', 'bigint', 'bigint', 'boolean'], ['<>', 'bigint', 'bigint', 'boolean'],
      ['>=', 'timestamptz', 'timestamptz', 'boolean'], ['<', 'timestamptz', 'timestamptz', 'boolean'],
      ['||', 'text', 'text', 'text'], ['+', 'bigint', 'bigint', 'bigint'], ['-', 'timestamptz', 'interval', 'timestamptz']];
    ops.forEach(([op, l, r, ret], i) => {
      psql(`CREATE FUNCTION capture.op${i}(a ${l}, b ${r}) RETURNS ${ret} LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_catalog.nextval('capture.hits'); RETURN a OPERATOR(pg_catalog.${op}) b; END $$;
        CREATE OPERATOR capture.${op} (LEFTARG = ${l}, RIGHTARG = ${r}, FUNCTION = capture.op${i});`);
    });
    for (const [name, args, ret, body] of [
      ['now', '', 'timestamptz', 'pg_catalog.now()'], ['clock_timestamp', '', 'timestamptz', 'pg_catalog.clock_timestamp()'],
      ['to_char', 'timestamptz, text', 'text', "''"], ['lower', 'text', 'text', "''"],
      ['nextval', 'regclass', 'bigint', '-1'], ['pg_sequence_last_value', 'regclass', 'bigint', '-1'],
      ['date_trunc', 'text, timestamptz', 'timestamptz', 'pg_catalog.now()']]) {
      psql(`CREATE FUNCTION capture.${name}(${args}) RETURNS ${ret} LANGUAGE plpgsql AS $$
        BEGIN PERFORM pg_catalog.nextval('capture.hits'); RETURN ${body}; END $$;`);
    }
    const hits = () => Number(psql("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM capture.hits"));
    assert.equal(hits(), 0);

    const u = freshUser();
    const searchPath = 'capture, pg_catalog, public';
    const p = (o) => `'${JSON.stringify(o)}'`;
    const asWriter = [
      `SELECT user_activity.record_event(${p(event(u))})`,
      `SELECT user_activity.record_event(${u}, 'viewed', '2025-10-10T18:30:00Z')`,
      `SELECT user_activity.record_events(${p([event(u), event(u, { action: 'bogus' })])})`,
      `SELECT * FROM user_activity.search_events(${p({ user_id: String(u), from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: '1' })})`,
      `SELECT user_activity.export_events(${p({ user_id: String(u), from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })}, 'csv')`,
      `SELECT * FROM user_activity.find_events(${u}, '2000-01-01', '2100-01-01', 2)`,
      `SELECT user_activity.user_counts_json(${p({ user_id: String(u), from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })})`,
      `SELECT user_activity.top_users_json(${p({ from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' })})`,
      'SELECT user_activity.counting_status_json()',
    ];
    for (const s of asWriter) assert.equal(sqlState('user_activity_writer', s, { searchPath }), 'OK', s);
    // the superuser's calls: the counting job (as pg_cron runs it), on its
    // success path and on its failure path, scheduling and erasure
    assert.equal(sqlState(null, 'CALL user_activity.run_counting()', { searchPath }), 'OK');
    assert.equal(sqlState(null, "SET default_transaction_isolation = 'serializable'; CALL user_activity.run_counting()", { searchPath }), '25000');
    assert.equal(sqlState(null, `SELECT * FROM user_activity.user_counts(${u}, '2000-01-01', '2100-01-01')`, { searchPath }), 'OK');
    assert.equal(sqlState(null, "SELECT * FROM user_activity.top_users('2000-01-01', '2100-01-01')", { searchPath }), 'OK');
    assert.equal(sqlState(null, "SELECT user_activity.schedule_counting('17 3 * * *')", { searchPath }), 'OK');
    assert.equal(sqlState(null, 'SELECT user_activity.unschedule_counting()', { searchPath }), 'OK');
    assert.equal(sqlState('user_activity_writer', `SELECT user_activity.delete_user_events(${u})`, { searchPath }), 'OK');

    assert.equal(hits(), 0, 'a look-alike in capture was called');
    assert.equal(psql(`SELECT (SELECT count(*) FROM capture.events) + (SELECT count(*) FROM capture.user_event_counts)
      + (SELECT count(*) FROM capture.counting_state) + (SELECT count(*) FROM capture.counting_runs)`), '0');
    // the real objects did the work
    assert.ok(Number(psql("SELECT count(*) FROM user_activity.counting_runs WHERE outcome = 'error' AND error_sqlstate = '25000'")) >= 1);
    // and the probe itself works: a caller without the guard is captured
    psql(`CREATE FUNCTION capture.unguarded(a text) RETURNS boolean LANGUAGE sql AS $$ SELECT a <> '' $$`);
    psql("SET search_path = capture, pg_catalog, public; SELECT capture.unguarded('x')");
    assert.ok(hits() > 0, 'the look-alike operator is reachable');
  });
});
