// Faults during ingest, bounded in time.  Clients send events with their own
// event_id and retry (with the same event_id) on 503 or a broken connection;
// afterwards every acknowledged event (201, or 200 "duplicate" for a retry
// whose first attempt committed) must be in the table exactly once, with
// the id the acknowledgement carried.
//
//  - PostgreSQL backends of the shims terminated again and again (both modes)
//  - PostgreSQL stopped and started under load: 503 with Retry-After while
//    it is away, recovery without a restart of the standalone shim
//  - the standalone shim killed with SIGKILL under load and started again
//  - the counting job's backend terminated while it waits for a writer:
//    the next run still counts every committed event exactly once
//  - the worker sent SIGTERM while its events wait on a lock past the
//    drain: each is answered 503 and the worker exits by itself, without
//    the postmaster resetting the server
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import {
  env, req, event, freshUser, uuid, psql, cluster, startShim, stopShim, sleep, waitFor,
  holdLock, waitForLockWaiters, metric, workerPid,
} from '../shim/helpers.mjs';

const summary = [];
after(() => { for (const line of summary) console.log(line); });

// A load of single-event POSTs from `concurrency` clients until stop() is
// called; then every event not yet acknowledged is retried until it is.
function ingestLoad(baseOf, { concurrency = 8, users = 4 } = {}) {
  const userIds = Array.from({ length: users }, () => freshUser());
  const acked = new Map();			// event_id -> id
  const retry = [];
  const statuses = new Map();
  const unexpected = [];
  let stopping = false;
  let sent = 0;
  const count = (k) => statuses.set(k, (statuses.get(k) || 0) + 1);

  async function one(ev) {
    sent += 1;
    let r;
    try {
      r = await fetch(`${baseOf()}/api/event`, {
        method: 'POST', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify(ev), signal: AbortSignal.timeout(10000),
      });
    } catch (e) {
      count('network');
      retry.push(ev);
      await sleep(20);
      return;
    }
    const text = await r.text().catch(() => '');
    count(r.status);
    if (r.status === 201 || r.status === 200) {
      const j = JSON.parse(text);
      assert.equal(j.event_id, ev.event_id);
      if (r.status === 200) assert.equal(j.status, 'duplicate');
      const prev = acked.get(ev.event_id);
      if (prev !== undefined && prev !== j.id) unexpected.push(`event ${ev.event_id} acknowledged as ${prev} and ${j.id}`);
      acked.set(ev.event_id, j.id);
    } else if (r.status === 503) {
      assert.ok(r.headers.get('retry-after'), '503 carries Retry-After');
      retry.push(ev);
      await sleep(20);
    } else {
      unexpected.push(`${r.status} ${text.slice(0, 200)}`);
    }
  }

  async function client(i) {
    for (let n = 0; ; n++) {
      if (retry.length) await one(retry.shift());
      else if (!stopping) {
        await one(event(userIds[(i + n) % users], { event_id: uuid(), action: ['created', 'updated', 'deleted', 'viewed'][n % 4] }));
      } else return;
    }
  }
  const done = Promise.all(Array.from({ length: concurrency }, (_, i) => client(i)));
  return {
    userIds, acked, statuses, unexpected,
    get sent() { return sent; },
    async stop(ms = 60000) {
      stopping = true;
      const t = setTimeout(() => { retry.length = 0; unexpected.push('retries did not finish in time'); }, ms);
      await done;
      clearTimeout(t);
    },
  };
}

// Every acknowledged event is stored exactly once, with the acknowledged id,
// and nothing else was stored for these users.
function checkExactlyOnce(load) {
  assert.deepEqual(load.unexpected, []);
  const rows = psql(`SELECT event_id, id FROM user_activity.events
    WHERE user_id IN (${load.userIds.join(',')}) ORDER BY id`).split('\n').filter(Boolean)
    .map((l) => l.split('|'));
  const stored = new Map();
  for (const [eid, id] of rows) {
    assert.ok(!stored.has(eid), `event_id ${eid} stored twice`);
    stored.set(eid, Number(id));
  }
  for (const [eid, id] of load.acked) {
    assert.equal(stored.get(eid), id, `acknowledged event ${eid} (id ${id}) stored as ${stored.get(eid)}`);
  }
  assert.equal(stored.size, load.acked.size, 'no event stored that was not acknowledged');
  return stored.size;
}

function fmt(statuses) {
  return [...statuses].sort().map(([k, v]) => `${k}:${v}`).join(' ');
}

describe('faults during ingest', () => {
  for (const [mode, base] of Object.entries(env.modes)) {
    test(`${mode}: shim backends terminated every 150 ms under load`, async () => {
      const load = ingestLoad(() => base);
      let kills = 0;
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        await sleep(150);
        kills += Number(psql(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'user_activity_shim' AND datname = '${env.db}') t`));
      }
      await load.stop();
      const stored = checkExactlyOnce(load);
      assert.ok(kills > 5, `backends terminated: ${kills}`);
      assert.ok(stored > 20, `events stored: ${stored}`);
      assert.equal((await req(base, 'GET', '/readyz')).status, 200);
      summary.push(`${mode}: ${kills} backends terminated during ${load.sent} requests (${fmt(load.statuses)}): ${stored} acknowledged events, each stored once`);
    });
  }

  test('group commit: shim backends terminated under load, each acknowledged event stored once', async () => {
    const shim = await startShim(env.spare[1], { HTTP_GROUP_COMMIT: 'on' });
    try {
      const load = ingestLoad(() => shim.base, { concurrency: 16 });
      let kills = 0;
      const end = Date.now() + 4000;
      while (Date.now() < end) {
        await sleep(150);
        kills += Number(psql(`SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity
          WHERE application_name = 'user_activity_shim' AND datname = '${env.db}'
          AND client_port IS NOT NULL) t`));
      }
      await load.stop();
      const stored = checkExactlyOnce(load);
      assert.ok(kills > 5, `backends terminated: ${kills}`);
      assert.ok(stored > 20, `events stored: ${stored}`);
      summary.push(`group commit: ${kills} backends terminated during ${load.sent} requests (${fmt(load.statuses)}): ${stored} acknowledged events, each stored once`);
    } finally {
      await stopShim(shim);
    }
  });

  test('standalone: PostgreSQL stopped and started under load, 503 meanwhile, recovers by itself', async () => {
    const base = env.modes.standalone;
    const load = ingestLoad(() => base);
    await sleep(1000);
    cluster('stop');
    // while it is away: 503 with Retry-After, readyz 503, the process alive
    const r = await req(base, 'POST', '/api/event', { body: event(freshUser(), { event_id: uuid() }) });
    assert.equal(r.status, 503, r.text);
    assert.equal(r.headers.get('retry-after'), '1');
    assert.equal(r.json.status, 503);
    assert.equal((await req(base, 'GET', '/readyz')).status, 503);
    assert.equal((await req(base, 'GET', '/healthz')).status, 200);
    await sleep(1000);
    cluster('start');
    await waitFor(async () => (await req(base, 'GET', '/readyz')).status === 200, 30000, 'readyz after restart');
    await waitFor(async () => (await req(env.modes.worker, 'GET', '/readyz')).status === 200, 30000, 'worker after restart');
    await sleep(1000);
    await load.stop();
    const stored = checkExactlyOnce(load);
    assert.ok((load.statuses.get(503) || 0) + (load.statuses.get('network') || 0) > 0, fmt(load.statuses));
    summary.push(`standalone: PostgreSQL stopped for ~1 s and started during ${load.sent} requests (${fmt(load.statuses)}): ${stored} acknowledged events, each stored once`);
  });

  test('standalone shim killed with SIGKILL under load and started again: retries create no duplicate', async () => {
    const port = env.spare[0];
    let shim = await startShim(port);
    const base = shim.base;
    const load = ingestLoad(() => base);
    let kills = 0;
    for (let i = 0; i < 3; i++) {
      await sleep(700);
      shim.kill('SIGKILL');
      await shim.exited;
      kills += 1;
      shim = await startShim(port);
    }
    await sleep(500);
    await load.stop();
    const stored = checkExactlyOnce(load);
    // a client that never heard back retries: the same event_id is a duplicate
    const [eid, id] = load.acked.entries().next().value;
    const u = Number(psql(`SELECT user_id FROM user_activity.events WHERE event_id = '${eid}'`));
    const again = await req(base, 'POST', '/api/event', { body: event(u, { event_id: eid }) });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.json.id, id);
    await stopShim(shim);
    summary.push(`standalone shim killed with SIGKILL ${kills} times during ${load.sent} requests (${fmt(load.statuses)}): ${stored} acknowledged events, each stored once`);
  });
});

describe('SIGTERM past the drain', () => {
  test('worker: events still waiting on a lock are answered 503, the worker exits, the server is not reset', async () => {
    // The hardening cluster's worker groups POSTs and drains for 5 s.  One
    // event is written and waits on the lock, three queue behind it for the
    // next group; the lock outlives the drain.  libmicrohttpd aborts the
    // process when stopped with a suspended connection, and the postmaster
    // treats a worker killed by a signal as a crashed backend.
    const base = env.modes.worker;
    const pid = workerPid();
    const u = freshUser();
    const log = () => readFileSync(`${env.pgData}/server.log`, 'utf8');
    const logBefore = log().length;
    const lock = await holdLock('LOCK TABLE ONLY user_activity.events IN SHARE MODE');
    let answers;
    let ms;
    try {
      const post = (i) => req(base, 'POST', '/api/event', { body: event(u, { metadata: { i } }) })
        .catch((e) => ({ status: `no answer (${e.cause?.code || e.message})` }));
      const rs = [post(0)];
      await waitForLockWaiters(1, '%record_event%');
      for (let i = 1; i <= 3; i++) rs.push(post(i));
      // the three queued, and this /metrics request
      await waitFor(async () => metric((await req(base, 'GET', '/metrics')).text,
        'user_activity_tracking_api_requests_in_flight') >= 5, 10000, 'three queued');
      const t0 = Date.now();
      process.kill(pid, 'SIGTERM');
      answers = await Promise.all(rs);
      ms = Date.now() - t0;
      // the session holding the lock lived through it: no server reset
      assert.equal(psql(`SELECT count(*) FROM pg_catalog.pg_stat_activity
        WHERE application_name = 'test lock holder'`), '1', 'the lock holder survived');
    } finally {
      await lock.release();
    }
    for (const r of answers) {
      assert.equal(r.status, 503, r.text);
      assert.equal(r.headers.get('retry-after'), '1');
    }
    assert.ok(ms < 9000, `answered ${ms} ms after SIGTERM (drain 5 s)`);
    await waitFor(() => !log().slice(logBefore).includes('got SIGTERM') ? false
      : !workerPid() || workerPid() !== pid, 10000, 'the worker exited');
    assert.doesNotMatch(log().slice(logBefore), /terminated by signal|reinitializing/);
    assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '0',
      'nothing answered 503 was stored');
    await waitFor(async () => (await req(base, 'POST', '/api/event', { body: event(u) }).catch(() => ({}))).status === 201,
      30000, 'a new worker serving');
    summary.push(`worker SIGTERM with 4 events waiting on a lock: 503 for each ${ms} ms later, clean exit`);
  });
});

describe('counting job killed mid-run', () => {
  function psqlAsync(sql) {
    const child = spawn('psql', ['-X', '-q', '-tA', '-h', '127.0.0.1', '-p', String(env.pgPort),
      '-U', 'postgres', '-d', env.db, '-c', sql], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.out = '';
    child.err = '';
    child.stdout.on('data', (d) => { child.out += d; });
    child.stderr.on('data', (d) => { child.err += d; });
    child.done = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
    return child;
  }
  // users whose counted totals differ from their committed events
  const mismatches = () => psql(`SELECT count(*) FROM
      (SELECT user_id, count(*) AS n FROM user_activity.events GROUP BY user_id) e
      FULL JOIN (SELECT user_id, sum(event_count) AS n FROM user_activity.user_event_counts GROUP BY user_id) c
      USING (user_id) WHERE e.n IS DISTINCT FROM c.n`);

  test('terminated while it waits for a writer: the next run is still exactly once', async () => {
    psql('CALL user_activity.run_counting()');
    assert.equal(mismatches(), '0');
    const u = freshUser();
    for (let i = 0; i < 5; i++) psql(`SELECT user_activity.record_event('${JSON.stringify(event(u))}')`);
    // a writer that holds its transaction open while the job starts
    const writer = psqlAsync(`BEGIN; SELECT user_activity.record_event('${JSON.stringify(event(u))}'); SELECT pg_sleep(4); COMMIT;`);
    await waitFor(() => psql(`SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(4)%' AND pid <> pg_backend_pid()`) === '1', 10000, 'writer');
    const job = psqlAsync('CALL user_activity.run_counting()');
    const pid = await waitFor(() => {
      const p = psql(`SELECT pid FROM pg_stat_activity WHERE query = 'CALL user_activity.run_counting()'
        AND state = 'active' AND wait_event IS NOT NULL AND pid <> pg_backend_pid()`);
      return p || null;
    }, 10000, 'the counting job waiting for the writer');
    assert.equal(psql(`SELECT pg_terminate_backend(${pid})`), 't');
    assert.notEqual(await job.done, 0, 'the job was killed');
    assert.match(job.err, /terminat/);
    assert.equal(await writer.done, 0, writer.err);
    // the killed run left nothing half-done; the next one counts everything once
    psql('CALL user_activity.run_counting()');
    assert.equal(mismatches(), '0');
    assert.equal(psql(`SELECT coalesce(sum(event_count), 0) FROM user_activity.user_event_counts WHERE user_id = ${u}`), '6');
    psql('CALL user_activity.run_counting()');
    assert.equal(mismatches(), '0');
    summary.push('counting job terminated while waiting for a writer: next run counted every committed event once');
  });
});
