// No HTTP thread waits on the database: an export whose query stops on a
// lock stalls its own client only.  A shim with a single HTTP thread serves
// every connection from that thread, so while the export waits, requests on
// other keep-alive connections (one answered without the database, one
// with it) must still be answered, before the lock is let go.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import {
  env, freshUser, psql, startShim, stopShim, holdLock, waitForLockWaiters, sleep,
} from './helpers.mjs';

const port = env.spare[4];
const days = 20;			// more partitions than one span reads (16)
const perDay = 200;

// A GET on an agent of its own (one keep-alive connection); resolves with
// the status and body, or 'hung' when nothing came within ms.
function get(agent, path, ms) {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve('hung'), ms);
    http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      let body = '';
      res.on('data', (d) => { body += d; });
      res.on('end', () => { clearTimeout(timer); resolve({ status: res.statusCode, body }); });
    }).on('error', (e) => { clearTimeout(timer); resolve(`error ${e.message}`); });
  });
}

describe('an export stalled on a lock', () => {
  let shim;
  let lock;
  const agents = [];
  after(async () => {
    if (lock) await lock.release();
    for (const a of agents) a.destroy();
    if (shim) await stopShim(shim);
  });

  test('other keep-alive requests on the same HTTP thread are answered', async () => {
    const u = freshUser();
    // one partition a day for the last `days` days, rows in each
    psql(`SELECT user_activity.ensure_partition(pg_catalog.now() - d * interval '1 day')
          FROM generate_series(0, ${days}) AS d`);
    psql(`INSERT INTO user_activity.events (user_id, action, event_action_timestamp, metadata, recorded_at)
          SELECT ${u}, 'viewed', '2025-10-10T18:30:00Z', jsonb_build_object('n', g),
                 pg_catalog.now() - d * interval '1 day'
          FROM generate_series(0, ${days - 1}) AS d, generate_series(1, ${perDay}) AS g`);
    // the newest rows' partition: the export reads it in its second span
    const part = psql(`SELECT tableoid::regclass FROM user_activity.events
                       WHERE user_id = ${u} ORDER BY recorded_at DESC LIMIT 1`);
    const from = psql(`SELECT to_char((pg_catalog.now() - ${days + 1} * interval '1 day') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);
    const to = psql(`SELECT to_char((pg_catalog.now() + interval '1 hour') AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')`);

    shim = await startShim(port, { HTTP_THREADS: '1', DB_POOL_SIZE: '4' });
    for (let i = 0; i < 3; i++) agents.push(new http.Agent({ keepAlive: true, maxSockets: 1 }));
    const [exportAgent, fastAgent, dbAgent] = agents;
    // each connection open, and known to the HTTP thread, before the stall
    assert.equal((await get(fastAgent, '/healthz', 10000)).status, 200);
    assert.equal((await get(dbAgent, '/api/counting/status', 10000)).status, 200);

    lock = await holdLock(`LOCK TABLE ${part} IN ACCESS EXCLUSIVE MODE`);
    let lines = 0;
    const exported = new Promise((resolve) => {
      http.get({
        host: '127.0.0.1', port, agent: exportAgent,
        path: `/api/events?user_id=${u}&from=${from}&to=${to}`,
        headers: { Accept: 'application/x-ndjson' },
      }, (res) => {
        let rest = '';
        res.setEncoding('utf8');
        res.on('data', (d) => {
          rest += d;
          const parts = rest.split('\n');
          rest = parts.pop();
          lines += parts.length;
        });
        res.on('end', () => resolve(res.statusCode));
      }).on('error', (e) => resolve(`error ${e.message}`));
    });
    await waitForLockWaiters(1, '%export_events%');
    // the first span's rows are on their way; the HTTP thread is free
    await sleep(200);
    for (let i = 0; i < 5; i++) {
      const h = await get(fastAgent, '/healthz', 5000);
      assert.notEqual(h, 'hung', '/healthz answered while the export waits on the lock');
      assert.equal(h.status, 200);
      const s = await get(dbAgent, '/api/counting/status', 5000);
      assert.notEqual(s, 'hung', 'GET /api/counting/status answered while the export waits');
      assert.equal(s.status, 200);
    }
    assert.ok(lines < days * perDay, 'the export is still waiting');

    await lock.release();
    lock = null;
    assert.equal(await exported, 200);
    assert.equal(lines, days * perDay, 'every row exported once the lock is gone');
  });
});
