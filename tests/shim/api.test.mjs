// The REST API, endpoint by endpoint, against both long-running shims: the
// standalone program and the in-database background worker.  Same tests, same
// expectations: the two modes share one code path.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  env, req, event, freshUser, uuid, range, psql, functionExists, metric,
  promtoolCheck, rawRequest, holdLock, waitForLockWaiters, sleep, waitFor,
} from './helpers.mjs';

function problem(r, status, field, sqlstate) {
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
  assert.equal(r.json.status, status);
  assert.ok(r.json.title, 'title');
  assert.ok(r.json.detail, 'detail');
  assert.ok(r.json.request_id, 'request_id');
  assert.equal(r.json.request_id, r.headers.get('x-request-id'));
  if (field !== undefined) assert.equal(r.json.field, field, r.text);
  if (sqlstate !== undefined) assert.equal(r.json.sqlstate, sqlstate, r.text);
}

for (const [mode, base] of Object.entries(env.modes)) {
  const port = Number(new URL(base).port);

  describe(`${mode}: POST /api/event`, () => {
    test('201 with the stored event: id, recorded_at and the fields sent', async () => {
      const u = freshUser();
      const r = await req(base, 'POST', '/api/event', { body: event(u, { action: 'deleted' }) });
      assert.equal(r.status, 201, r.text);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      assert.equal(r.json.user_id, u);
      assert.equal(r.json.action, 'deleted');
      assert.equal(r.json.status, 'stored');
      assert.deepEqual(r.json.metadata, { ip: '192.168.1.10', device: 'iPhone 14' });
      assert.equal(r.json.event_action_timestamp, '2025-10-10T18:30:00Z');
      assert.ok(Number.isInteger(r.json.id));
      assert.match(r.json.recorded_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // the original answered {"createdAt": ...}: the recorded time, again
      assert.equal(r.json.createdAt, r.json.recorded_at);
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE id = ${r.json.id}`), '1');
    });

    test('a duplicate event_id answers 200 "duplicate" with the first event, stored once', async () => {
      const u = freshUser();
      const id = uuid();
      const first = await req(base, 'POST', '/api/event', { body: event(u, { event_id: id }) });
      assert.equal(first.status, 201);
      const again = await req(base, 'POST', '/api/event',
        { body: event(u, { event_id: id, action: 'created' }) });
      assert.equal(again.status, 200, again.text);
      assert.equal(again.json.status, 'duplicate');
      assert.equal(again.json.id, first.json.id);
      assert.equal(again.json.createdAt, first.json.createdAt);
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '1');
    });

    const rules = [
      ['user_id missing', { event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed' }, 'user_id', '23502'],
      ['user_id a string', { user_id: '6', event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed' }, 'user_id', '42804'],
      ['user_id a fraction', { user_id: 1.5, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed' }, 'user_id', '42804'],
      ['user_id 0', { user_id: 0, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed' }, 'user_id', '22003'],
      ['user_id -5', { user_id: -5, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed' }, 'user_id', '22003'],
      ['action unknown', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'jumped' }, 'action', '22023'],
      ['action missing', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z' }, 'action', '23502'],
      ['timestamp not RFC 3339', { user_id: 6, event_action_timestamp: 'yesterday', action: 'viewed' }, 'event_action_timestamp', '22007'],
      ['timestamp without offset', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00', action: 'viewed' }, 'event_action_timestamp', '22007'],
      ['timestamp before 1970', { user_id: 6, event_action_timestamp: '1960-01-01T00:00:00Z', action: 'viewed' }, 'event_action_timestamp', '22008'],
      ['timestamp far in the future', { user_id: 6, event_action_timestamp: '2999-01-01T00:00:00Z', action: 'viewed' }, 'event_action_timestamp', '22008'],
      ['metadata an array', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed', metadata: [] }, 'metadata', '42804'],
      ['metadata too large', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed', metadata: { big: 'x'.repeat(40000) } }, 'metadata', '54000'],
      ['event_id malformed', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed', event_id: 'nope' }, 'event_id', '22P02'],
      ['unknown field', { user_id: 6, event_action_timestamp: '2025-10-10T18:30:00Z', action: 'viewed', colour: 'red' }, 'colour', '42703'],
      ['body an array', [1], 'body', '42804'],
    ];
    for (const [name, body, field, sqlstate] of rules) {
      test(`400 naming the field: ${name}`, async () => {
        const r = await req(base, 'POST', '/api/event', { body });
        problem(r, 400, field, sqlstate);
        assert.match(`${r.json.error} ${r.json.detail}`, new RegExp(field === 'body' ? 'event' : field));
      });
    }

    test('concurrent requests (grouped into one transaction) each get their own outcome', async () => {
      const u = freshUser();
      const dup = uuid();
      const bodies = [];
      for (let i = 0; i < 40; i++) bodies.push({ kind: 'ok', body: event(u, { event_id: uuid(), metadata: { i } }) });
      for (let i = 0; i < 6; i++) bodies.push({ kind: 'bad', body: event(u, { action: 'jumped' }) });
      for (let i = 0; i < 6; i++) bodies.push({ kind: 'dup', body: event(u, { event_id: dup }) });
      bodies.push({ kind: 'json', body: '{"user_id":', raw: true });
      const rs = await Promise.all(bodies.map((b) => req(base, 'POST', '/api/event', { body: b.body, raw: b.raw })));
      const dups = [];
      rs.forEach((r, i) => {
        const { kind, body } = bodies[i];
        if (kind === 'ok') {
          assert.equal(r.status, 201, r.text);
          assert.equal(r.json.event_id, body.event_id);
          assert.deepEqual(r.json.metadata, body.metadata);
        } else if (kind === 'bad') {
          problem(r, 400, 'action', '22023');
        } else if (kind === 'json') {
          problem(r, 400, 'body', '22P02');
        } else {
          assert.ok([200, 201].includes(r.status), r.text);
          dups.push(r);
        }
      });
      assert.equal(dups.filter((r) => r.status === 201).length, 1, 'one duplicate stored');
      assert.equal(new Set(dups.map((r) => r.json.id)).size, 1, 'all answered with the first event');
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '41');
    });

    if (env.groupCommit.has(mode)) {
      // A request takes the one writing connection and waits on a lock; what
      // comes meanwhile queues in the shim and goes out as the next group.
      // the group commit's counters, and how many times each statement ran
      const groupCounters = async () => {
        const page = (await req(base, 'GET', '/metrics')).text;
        const m = (name) => metric(page, `user_activity_tracking_db_group_commit_${name}_total`);
        const runs = (q) => metric(page, `user_activity_tracking_db_query_duration_seconds_count{query="${q}"}`);
        return {
          tx: m('transactions'), events: m('events'), retries: m('retries'),
          single: runs('record_event'), each: runs('record_event_each'),
        };
      };
      const queueBehindLock = async (u, bodies) => {
        const lock = await holdLock('LOCK TABLE ONLY user_activity.events IN SHARE MODE');
        let first;
        let rest;
        try {
          first = [req(base, 'POST', '/api/event', { body: event(u, { metadata: { first: 0 } }) })];
          await waitForLockWaiters(1, '%record_event%');
          rest = bodies.map((b) => req(base, 'POST', '/api/event', { body: b.body, raw: b.raw }));
          // all of them in flight (and the /metrics request asking)
          for (let i = 0; ; i++) {
            const page = (await req(base, 'GET', '/metrics')).text;
            if (metric(page, 'user_activity_tracking_api_requests_in_flight') >= 1 + bodies.length + 1) break;
            assert.ok(i < 400, 'requests queued');
            await sleep(25);
          }
          await sleep(50);
        } finally {
          await lock.release();
        }
        for (const r of await Promise.all(first)) assert.equal(r.status, 201, r.text);
        return Promise.all(rest);
      };

      test('group commit: requests queued behind busy groups are committed together', async () => {
        const u = freshUser();
        const dup = uuid();
        const bodies = [];
        for (let i = 0; i < 12; i++) bodies.push(event(u, { event_id: uuid(), metadata: { i } }));
        bodies.push(event(u, { event_id: dup, metadata: { dup: 1 } }), event(u, { event_id: dup, metadata: { dup: 2 } }));
        const before = await groupCounters();
        const rs = await queueBehindLock(u, bodies.map((body) => ({ body })));
        const after = await groupCounters();
        rs.slice(0, 12).forEach((r, i) => {
          assert.equal(r.status, 201, r.text);
          assert.deepEqual(r.json.metadata, { i });
        });
        const dups = rs.slice(12);
        assert.deepEqual(dups.map((r) => r.status).sort(), [200, 201], 'one of the two stored');
        assert.equal(dups[0].json.id, dups[1].json.id);
        assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '14');
        // one transaction wrote several: they share its start, their recorded_at
        const queued = psql(`SELECT count(*) || ' ' || count(DISTINCT recorded_at) FROM user_activity.events
          WHERE user_id = ${u} AND NOT metadata ? 'first'`).split(' ').map(Number);
        assert.equal(queued[0], 13);
        assert.ok(queued[1] < queued[0], `${queued[1]} transactions for ${queued[0]} events`);
        assert.ok(after.events - before.events - (after.tx - before.tx) >= 1, 'a group of more than one');
        assert.equal(after.retries, before.retries, 'no group written again');
        // one statement per transaction: the first request's record_event,
        // then one record_event_each per group of the queued ones
        assert.equal(after.single - before.single, 1, 'record_event for the first request only');
        assert.equal(after.each - before.each, after.tx - before.tx - 1, 'one record_event_each per group');
      });

      test('group commit: good, duplicate and bad events in one group, one statement; each gets the reply it gets alone', async () => {
        const u = freshUser();
        const dup = uuid();
        const storedBefore = uuid();
        const first = await req(base, 'POST', '/api/event', { body: event(u, { event_id: storedBefore, metadata: { before: true } }) });
        assert.equal(first.status, 201, first.text);
        const bodies = [];
        for (let i = 0; i < 10; i++) bodies.push({ kind: 'ok', body: event(u, { event_id: uuid(), metadata: { i } }) });
        for (let i = 0; i < 3; i++) bodies.push({ kind: 'bad', body: event(u, { action: 'jumped' }) });
        bodies.push({ kind: 'ts', body: event(u, { event_action_timestamp: 'yesterday' }) });
        bodies.push({ kind: 'json', body: '{"user_id": 6,', raw: true });
        bodies.push({ kind: 'field', body: event(u, { colour: 'red' }) });
        bodies.push({ kind: 'dup', body: event(u, { event_id: dup, metadata: { dup: 1 } }) },
          { kind: 'dup', body: event(u, { event_id: dup, metadata: { dup: 2 } }) });
        bodies.push({ kind: 'before', body: event(u, { event_id: storedBefore, action: 'created' }) });
        bodies.push({ kind: 'ok', body: event(u, { metadata: { last: true } }) });
        const before = await groupCounters();
        const rs = await queueBehindLock(u, bodies);
        const after = await groupCounters();
        // the reply a request gets alone, without its request id
        const alone = async (b) => {
          const r = await req(base, 'POST', '/api/event', { body: b.body, raw: b.raw });
          return { status: r.status, type: r.headers.get('content-type'), json: { ...r.json, request_id: undefined } };
        };
        const dups = [];
        for (const [i, r] of rs.entries()) {
          const { kind, body } = bodies[i];
          if (kind === 'ok') {
            assert.equal(r.status, 201, r.text);
            assert.deepEqual(r.json.metadata, body.metadata);
          } else if (kind === 'dup') {
            dups.push(r);
          } else {
            if (kind === 'bad') problem(r, 400, 'action', '22023');
            if (kind === 'ts') problem(r, 400, 'event_action_timestamp', '22007');
            if (kind === 'json') problem(r, 400, 'body', '22P02');
            if (kind === 'field') problem(r, 400, 'colour', '42703');
            if (kind === 'before') {
              assert.equal(r.status, 200, r.text);
              assert.deepEqual(r.json, { ...first.json, status: 'duplicate' }, 'the event stored before it');
            }
            // the same reply as the same request alone (which a duplicate is now too)
            assert.deepEqual({ status: r.status, type: r.headers.get('content-type'), json: { ...r.json, request_id: undefined } },
              await alone(bodies[i]), kind);
          }
        }
        assert.deepEqual(dups.map((r) => r.status).sort(), [200, 201]);
        assert.equal(dups[0].json.id, dups[1].json.id);
        assert.deepEqual(dups[0].json, { ...dups[1].json, status: dups[0].json.status }, 'both answered with the one stored');
        assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), String(1 + 1 + 11 + 1));
        // the bad events failed nothing: no group written again, and each
        // transaction was one statement (the queued requests' one record_event_each)
        assert.equal(after.retries, before.retries, 'no group written again');
        assert.ok(after.events - before.events - (after.tx - before.tx) >= 1, 'a group of more than one');
        assert.equal(after.single - before.single, 1, 'record_event for the first request only');
        assert.equal(after.each - before.each, after.tx - before.tx - 1, 'one record_event_each per group');
      });
    }

    test('400 for a body that is not JSON, field "body"; nothing of SQL leaks', async () => {
      const r = await req(base, 'POST', '/api/event', { body: '{"user_id": 6,', raw: true });
      problem(r, 400, 'body', '22P02');
      assert.doesNotMatch(r.text, /SELECT|user_activity\./);
    });

    test('413 for a body over the limit, before it is read in full', async () => {
      const head = 'POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n'
        + 'Content-Length: 5000000\r\n\r\n{"user_id":';
      const out = await rawRequest(port, head, 3000);
      assert.match(out, /^HTTP\/1\.1 413 /);
      assert.match(out, /application\/problem\+json/);
      assert.match(out, /"field":"body"/);
    });

    test('413 for a chunked body over the limit', async () => {
      // A stream has no length, so it goes chunked: the shim reads it to the
      // end, then refuses it.  (A string would go with Content-Length, and
      // the early 413 closes the connection while the client still writes.)
      const body = JSON.stringify(event(6, { metadata: { x: 'y'.repeat(1100000) } }));
      const res = await fetch(base + '/api/event', {
        method: 'POST', body: new Blob([body]).stream(), duplex: 'half',
        headers: { 'Content-Type': 'application/json' },
      });
      const text = await res.text();
      problem({ status: res.status, headers: res.headers, text, json: JSON.parse(text) }, 413, 'body');
    });
  });

  describe(`${mode}: POST /api/events (batch)`, () => {
    test('201 when every item is stored', async () => {
      const u = freshUser();
      const r = await req(base, 'POST', '/api/events',
        { body: [event(u), event(u, { action: 'created' })] });
      assert.equal(r.status, 201, r.text);
      assert.equal(r.json.stored, 2);
      assert.equal(r.json.results.length, 2);
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '2');
    });

    test('207 with one result per item when some are rejected or duplicate', async () => {
      const u = freshUser();
      const id = uuid();
      const r = await req(base, 'POST', '/api/events', {
        body: [event(u, { event_id: id }), event(u, { action: 'jumped' }), event(u, { event_id: id })],
      });
      assert.equal(r.status, 207, r.text);
      assert.equal(r.json.stored, 1);
      assert.equal(r.json.rejected, 1);
      assert.equal(r.json.duplicates, 1);
      assert.deepEqual(r.json.results.map((x) => x.status), ['stored', 'rejected', 'duplicate']);
      assert.equal(r.json.results[1].error.field, 'action');
      assert.equal(r.json.results[1].error.sqlstate, '22023');
    });

    test('400 when the batch is not an array', async () => {
      problem(await req(base, 'POST', '/api/events', { body: { user_id: 6 } }), 400, 'body', '42804');
    });

    test('413 when the batch has more items than max_batch_size', async () => {
      const max = Number(psql('SHOW user_activity.max_batch_size'));
      const items = Array.from({ length: max + 1 }, () => ({ user_id: 6, action: 'viewed', event_action_timestamp: '2025-10-10T18:30:00Z' }));
      const r = await req(base, 'POST', '/api/events', { body: items });
      problem(r, 413, undefined, '54000');
    });
  });

  describe(`${mode}: GET /api/events`, () => {
    test('a plain JSON array in the original shape, plus id and recorded_at', async () => {
      const u = freshUser();
      await req(base, 'POST', '/api/event', { body: event(u, { action: 'created' }) });
      const r = await req(base, 'GET', `/api/events?user_id=${u}&${range}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(Array.isArray(r.json));
      assert.equal(r.json.length, 1);
      for (const k of ['user_id', 'event_action_timestamp', 'action', 'metadata', 'id', 'recorded_at']) {
        assert.ok(k in r.json[0], k);
      }
      assert.equal(r.headers.get('link'), null, 'no next page');
    });

    test('[] when nothing matches', async () => {
      const r = await req(base, 'GET', `/api/events?user_id=${freshUser()}&${range}`);
      assert.equal(r.status, 200);
      assert.equal(r.text.replace(/\s/g, ''), '[]');
    });

    test('the original example query works', async () => {
      const r = await req(base, 'GET',
        '/api/events?user_id=6&from=2025-10-10T15:43:10.380Z&to=2025-10-13T15:43:10.380Z');
      assert.equal(r.status, 200, r.text);
    });

    test('paging a few thousand events by the Link header: no gap, no repeat', async () => {
      const u = freshUser();
      const total = 3000;
      for (let i = 0; i < total; i += 1000) {
        const items = Array.from({ length: 1000 }, (_, k) => event(u, { metadata: { n: i + k } }));
        const r = await req(base, 'POST', '/api/events', { body: items });
        assert.equal(r.status, 201);
      }
      const seen = [];
      let next = `/api/events?user_id=${u}&${range}&limit=700`;
      let pages = 0;
      while (next) {
        const r = await req(base, 'GET', next);
        assert.equal(r.status, 200, r.text);
        pages += 1;
        seen.push(...r.json.map((e) => e.id));
        const link = r.headers.get('link');
        if (!link) break;
        const m = link.match(/^<([^>]+)>; rel="next"$/);
        assert.ok(m, link);
        next = m[1];
        assert.match(next, /limit=700/);
      }
      assert.equal(pages, 5);
      assert.equal(seen.length, total);
      assert.equal(new Set(seen).size, total, 'no repeat');
      const ids = psql(`SELECT string_agg(id::text, ',' ORDER BY recorded_at, id) FROM user_activity.events WHERE user_id = ${u}`);
      assert.equal(seen.join(','), ids, 'every event, in order');
    });

    test('legacy offset is accepted', async () => {
      const u = freshUser();
      await req(base, 'POST', '/api/events', { body: Array.from({ length: 5 }, () => event(u)) });
      const all = (await req(base, 'GET', `/api/events?user_id=${u}&${range}`)).json;
      const r = await req(base, 'GET', `/api/events?user_id=${u}&${range}&offset=2&limit=2`);
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json.map((e) => e.id), all.slice(2, 4).map((e) => e.id));
    });

    test('action filter', async () => {
      const u = freshUser();
      await req(base, 'POST', '/api/events', { body: [event(u, { action: 'created' }), event(u, { action: 'deleted' })] });
      const r = await req(base, 'GET', `/api/events?user_id=${u}&${range}&action=deleted`);
      assert.deepEqual(r.json.map((e) => e.action), ['deleted']);
    });

    const bad = [
      ['from missing', 'user_id=6&to=2030-01-01T00:00:00Z', 'from', '23502'],
      ['user_id not a number', `user_id=x&${range}`, 'user_id', undefined],
      ['limit 0', `user_id=6&${range}&limit=0`, 'limit', '22003'],
      ['limit 1001', `user_id=6&${range}&limit=1001`, 'limit', '22003'],
      ['bad cursor', `user_id=6&${range}&cursor=zz`, 'cursor', '22P02'],
      ['bad from', 'user_id=6&from=yesterday&to=2030-01-01T00:00:00Z', 'from', '22007'],
      ['unknown parameter', `user_id=6&${range}&colour=red`, 'colour', '42703'],
      ['unknown action', `user_id=6&${range}&action=jumped`, 'action', '22023'],
    ];
    for (const [name, q, field, sqlstate] of bad) {
      test(`400 naming the parameter: ${name}`, async () => {
        problem(await req(base, 'GET', `/api/events?${q}`), 400, field, sqlstate);
      });
    }
  });

  describe(`${mode}: streaming export`, () => {
    test('NDJSON: every match, chunked, one event per line', async () => {
      const u = freshUser();
      await req(base, 'POST', '/api/events', { body: Array.from({ length: 250 }, (_, n) => event(u, { metadata: { n } })) });
      const r = await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=5`,
        { headers: { Accept: 'application/x-ndjson' } });
      assert.equal(r.status, 200, r.text);
      assert.equal(r.headers.get('content-type'), 'application/x-ndjson');
      assert.equal(r.headers.get('transfer-encoding'), 'chunked');
      const lines = r.text.split('\n').filter(Boolean).map((l) => JSON.parse(l));
      assert.equal(lines.length, 250, 'limit does not apply to an export');
      assert.deepEqual(lines.map((e) => e.metadata.n), Array.from({ length: 250 }, (_, n) => n));
    });

    test('CSV: a header line, then one line per event', async () => {
      const u = freshUser();
      const rows = async () => metric((await req(base, 'GET', '/metrics')).text,
        'user_activity_tracking_api_export_rows_total{format="csv"}');
      await req(base, 'POST', '/api/events', { body: [event(u), event(u)] });
      const before = await rows();
      const r = await req(base, 'GET', `/api/events?user_id=${u}&${range}`, { headers: { Accept: 'text/csv' } });
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/csv/);
      const lines = r.text.trim().split('\n');
      assert.equal(lines.length, 3);
      assert.match(lines[0], /^id,user_id,/);
      assert.equal(await rows() - before, 2, 'export_rows_total{format="csv"} counts the events, not the header');
    });

    test('single events written on the connections exports used are stored and answered 201', async () => {
      // An export reads in single-row mode, which libpq keeps on a
      // connection until its next statement outside a pipeline; the event
      // written next on it must still get its row, not a 503.
      const u = freshUser();
      await req(base, 'POST', '/api/events', { body: [event(u), event(u)] });
      for (let round = 0; round < 6; round++) {
        const ex = await req(base, 'GET', `/api/events?user_id=${u}&${range}`,
          { headers: { Accept: 'application/x-ndjson' } });
        assert.equal(ex.status, 200, ex.text);
        for (let i = 0; i < 3; i++) {
          const r = await req(base, 'POST', '/api/event', { body: event(u, { metadata: { round, i } }) });
          assert.equal(r.status, 201, r.text);
        }
      }
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), String(2 + 6 * 3));
    });

    test('an invalid export query is a problem reply, not a broken stream', async () => {
      const r = await req(base, 'GET', '/api/events?user_id=6&to=2030-01-01T00:00:00Z',
        { headers: { Accept: 'application/x-ndjson' } });
      problem(r, 400, 'from', '23502');
    });
  });

  describe(`${mode}: counts and erasure`, () => {
    test('GET /api/users/{id}/counts', async (t) => {
      if (!functionExists('user_counts_json')) return t.skip('user_counts_json not installed yet');
      const u = freshUser();
      const r = await req(base, 'GET', `/api/users/${u}/counts?${range}`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.user_id, u);
      assert.ok(Array.isArray(r.json.periods));
      problem(await req(base, 'GET', `/api/users/${u}/counts?to=2030-01-01T00:00:00Z`), 400, 'from');
    });

    test('GET /api/counts/top', async (t) => {
      if (!functionExists('top_users_json')) return t.skip('top_users_json not installed yet');
      const r = await req(base, 'GET', `/api/counts/top?${range}&limit=3`);
      assert.equal(r.status, 200, r.text);
      assert.ok(Array.isArray(r.json));
    });

    test('GET /api/counting/status: the last run, the position, the pg_cron job', async () => {
      psql('CALL user_activity.run_counting()');
      let r = await req(base, 'GET', '/api/counting/status');
      assert.equal(r.status, 200, r.text);
      assert.match(r.headers.get('content-type'), /^application\/json/);
      const s = r.json;
      assert.ok(['counted', 'empty'].includes(s.last_outcome), s.last_outcome);
      assert.equal(s.last_error, null);
      assert.ok(Math.abs(Date.parse(s.last_success_at) - Date.now()) < 60000, s.last_success_at);
      assert.ok(s.seconds_since_last_success >= 0 && s.seconds_since_last_success < 60);
      assert.equal(s.last_run_at, s.last_success_at);
      assert.equal(String(s.position.last_id), psql('SELECT last_id FROM user_activity.counting_state'));
      assert.match(s.position.last_period_end, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/);
      // pg_cron is installed here; with the job the schedule gives the
      // interval and the next run (yearly, so it never runs during the test)
      assert.deepEqual(s.pg_cron, { timezone: 'GMT', job: null });
      assert.equal(s.expected_interval_seconds, null);
      assert.equal(s.next_run_at, null);
      psql("SELECT user_activity.schedule_counting('0 0 1 1 *')");
      try {
        r = await req(base, 'GET', '/api/counting/status');
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.schedule, '0 0 1 1 *');
        assert.equal(r.json.pg_cron.job.name, 'user_activity_count');
        assert.equal(r.json.pg_cron.job.active, true);
        assert.equal(r.json.expected_interval_seconds, 366 * 86400);
        const next = new Date(r.json.next_run_at);
        assert.equal(next.toISOString(), `${new Date().getUTCFullYear() + 1}-01-01T00:00:00.000Z`);
      } finally {
        psql('SELECT user_activity.unschedule_counting()');
      }
      problem(await req(base, 'GET', '/api/counting/status?since=1'), 400, 'since', '42703');
    });

    test('DELETE /api/users/{id}/events erases the events', async (t) => {
      if (!functionExists('delete_user_events')) return t.skip('delete_user_events not installed yet');
      const u = freshUser();
      await req(base, 'POST', '/api/events', { body: [event(u), event(u)] });
      const r = await req(base, 'DELETE', `/api/users/${u}/events`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.events_deleted, 2);
      assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '0');
    });

    test('a path id that is not an integer: 400 naming user_id', async () => {
      problem(await req(base, 'GET', `/api/users/abc/counts?${range}`), 400, 'user_id');
      problem(await req(base, 'DELETE', '/api/users/abc/events'), 400, 'user_id');
    });
  });

  describe(`${mode}: analytics`, () => {
    const day = 'from=2025-10-09T00:00:00Z&to=2025-10-12T00:00:00Z';

    test('GET /api/users/{id}/activity: per bucket and action, empty buckets as zeros', async () => {
      const u = freshUser();
      const r0 = await req(base, 'POST', '/api/events', {
        body: [event(u), event(u, { action: 'created' }),
          event(u, { event_action_timestamp: '2025-10-11T23:30:00Z' })],
      });
      assert.equal(r0.status, 201, r0.text);
      let r = await req(base, 'GET', `/api/users/${u}/activity?${day}&bucket=day`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.userId, u);
      assert.equal(r.json.bucket, 'day');
      assert.equal(r.json.by, 'acted');
      assert.deepEqual(r.json.buckets.map((b) => b.total), [0, 2, 1]);
      assert.deepEqual(r.json.buckets[1],
        { start: '2025-10-10T00:00:00Z', created: 1, updated: 0, deleted: 0, viewed: 1, total: 2 });
      // a day is a local day: 23:30 UTC on the 11th is the 12th in Berlin
      r = await req(base, 'GET', `/api/users/${u}/activity?${day}&tz=Europe/Berlin`);
      assert.equal(r.status, 200, r.text);
      assert.equal(r.json.tz, 'Europe/Berlin');
      assert.equal(r.json.buckets.reduce((n, b) => n + b.total, 0), 3);
      const b12 = r.json.buckets.find((b) => b.start === '2025-10-12T00:00:00+02:00');
      assert.ok(b12, JSON.stringify(r.json.buckets));
      assert.equal(b12.total, 1);
      problem(await req(base, 'GET', `/api/users/${u}/activity?${day}&bucket=minute`), 400, 'bucket');
      problem(await req(base, 'GET', `/api/users/${u}/activity?${day}&by=arrived`), 400, 'by');
      problem(await req(base, 'GET', `/api/users/${u}/activity?${day}&tz=Mars/Olympus`), 400, 'tz');
      problem(await req(base, 'GET', `/api/users/${u}/activity?to=2025-10-12T00:00:00Z`), 400, 'from');
      problem(await req(base, 'GET', `/api/users/${u}/activity?${day}&limit=3`), 400, 'limit', '42703');
      problem(await req(base, 'GET', `/api/users/abc/activity?${day}`), 400, 'user_id');
    });

    test('GET /api/active-users: distinct users per day from the counted rollup', async () => {
      const users = async (q = '') => {
        const r = await req(base, 'GET', `/api/active-users?${day}&bucket=day${q}`);
        assert.equal(r.status, 200, r.text);
        assert.equal(r.json.buckets.length, 3);
        return r.json.buckets[1].users;
      };
      psql('CALL user_activity.run_counting()');
      const before = await users();
      const deletedBefore = await users('&action=deleted');
      const u = freshUser();
      await req(base, 'POST', '/api/events', {
        body: [event(u), event(u), event(u, { action: 'deleted' })],
      });
      assert.equal(await users(), before, 'served from the rollup: nothing until counted');
      psql('CALL user_activity.run_counting()');
      assert.equal(await users(), before + 1);
      assert.equal(await users('&action=deleted'), deletedBefore + 1);
      problem(await req(base, 'GET', `/api/active-users?${day}&action=jumped`), 400, 'action');
      problem(await req(base, 'GET', `/api/active-users?${day}&bucket=year`), 400, 'bucket');
      problem(await req(base, 'GET', '/api/active-users?from=2025-10-09T00:00:00Z'), 400, 'to');
    });

    test('GET /api/events?metadata=: containment, paged and exported', async () => {
      const u = freshUser();
      const body = [];
      for (let i = 0; i < 5; i++) {
        body.push(event(u, { metadata: { device: 'iPhone 14', n: i } }));
        body.push(event(u, { metadata: { device: 'Pixel 8', n: i } }));
      }
      assert.equal((await req(base, 'POST', '/api/events', { body })).status, 201);
      const filter = encodeURIComponent(JSON.stringify({ device: 'iPhone 14' }));
      let r = await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=2&metadata=${filter}`);
      assert.equal(r.status, 200, r.text);
      const seen = [...r.json];
      while (r.headers.get('link')) {
        const next = r.headers.get('link').match(/<([^>]+)>/)[1];
        r = await req(base, 'GET', next.replace(/^https?:\/\/[^/]+/, ''));
        assert.equal(r.status, 200, r.text);
        seen.push(...r.json);
      }
      assert.equal(seen.length, 5);
      assert.ok(seen.every((e) => e.metadata.device === 'iPhone 14'));
      const x = await req(base, 'GET', `/api/events?user_id=${u}&${range}&metadata=${filter}`,
        { headers: { accept: 'application/x-ndjson' } });
      assert.equal(x.status, 200, x.text);
      assert.equal(x.text.trim().split('\n').length, 5);
      problem(await req(base, 'GET', `/api/events?user_id=${u}&${range}&metadata=%5B1%5D`), 400, 'metadata');
      problem(await req(base, 'GET', `/api/events?user_id=${u}&${range}&metadata=%7B`), 400, 'metadata');
    });
  });

  describe(`${mode}: routing, CORS, operations`, () => {
    test('404 for an unknown path, as a problem', async () => {
      problem(await req(base, 'GET', '/api/nope'), 404);
    });

    test('405 with Allow for a known path and a wrong method', async () => {
      const r = await req(base, 'PUT', '/api/event', { body: {} });
      problem(r, 405);
      assert.equal(r.headers.get('allow'), 'POST, OPTIONS');
    });

    test('CORS by default: no cross-origin access (preflight 403, no CORS headers)', async () => {
      const r = await req(base, 'OPTIONS', '/api/event', {
        headers: { Origin: 'http://page.example', 'Access-Control-Request-Method': 'POST',
          'Access-Control-Request-Headers': 'Content-Type' },
      });
      assert.equal(r.status, 403);
      assert.equal(r.json.field, 'Origin');
      assert.equal(r.headers.get('access-control-allow-origin'), null);
      assert.equal(r.headers.get('access-control-allow-methods'), null);
      const simple = await req(base, 'GET', '/healthz', { headers: { Origin: 'http://page.example' } });
      assert.equal(simple.status, 200);
      assert.equal(simple.headers.get('access-control-allow-origin'), null);
      assert.equal(simple.headers.get('access-control-expose-headers'), null);
      // without Origin, OPTIONS is a plain question about the methods
      const plain = await req(base, 'OPTIONS', '/api/event');
      assert.equal(plain.status, 204);
      assert.match(plain.headers.get('allow'), /POST/);
    });

    test('a caller-supplied X-Request-Id is echoed and logged', async () => {
      const r = await req(base, 'GET', '/api/nope', { headers: { 'X-Request-Id': 'trace-123' } });
      assert.equal(r.headers.get('x-request-id'), 'trace-123');
      assert.equal(r.json.request_id, 'trace-123');
    });

    test('healthz and readyz', async () => {
      assert.deepEqual((await req(base, 'GET', '/healthz')).json, { status: 'ok' });
      const r = await req(base, 'GET', '/readyz');
      assert.equal(r.status, 200);
      assert.deepEqual(r.json, { status: 'ready' });
    });

    test('metrics move with requests and pass promtool', async () => {
      const before = (await req(base, 'GET', '/metrics')).text;
      const u = freshUser();
      await req(base, 'POST', '/api/event', { body: event(u, { action: 'updated' }) });
      await req(base, 'POST', '/api/event', { body: event(u, { action: 'nope' }) });
      const s201 = 'user_activity_tracking_api_requests_total{path="/api/event",status="201"}';
      const e400 = 'user_activity_tracking_api_requests_errors_total{path="/api/event",status="400"}';
      const ing = 'user_activity_tracking_events_ingested_total{action="updated"}';
      const rej = 'user_activity_tracking_events_rejected_total{field="action"}';
      const moved = (page, name) => metric(page, name) >= metric(before, name) + 1;
      // a request is counted when its connection is done with it, which
      // can be just after the client has read the reply
      const page = await waitFor(async () => {
        const p = (await req(base, 'GET', '/metrics')).text;
        return moved(p, s201) && moved(p, e400) ? p : null;
      }, 5000, 'the request counters');
      assert.ok(moved(page, ing), 'ingested moved');
      assert.ok(moved(page, rej), 'rejected moved');
      assert.match(page, /user_activity_tracking_db_query_duration_seconds_count\{query="record_event"\} \d+/);
      assert.match(page, /user_activity_tracking_db_up 1/);
      assert.match(page, new RegExp(`user_activity_tracking_build_info\\{version="[^"]+",mode="${mode}"\\} 1`));
      assert.doesNotMatch(page, /path="\/api\/users\/\d/, 'no raw paths as labels');
      const check = promtoolCheck(page);
      assert.ok(check.ok, check.out);
    });

    test('counting freshness gauges come from counting_status_json()', async () => {
      psql('CALL user_activity.run_counting()');
      const page = (await req(base, 'GET', '/metrics')).text;
      assert.equal(metric(page, 'user_activity_tracking_counting_last_run_success'), 1);
      const since = metric(page, 'user_activity_tracking_counting_seconds_since_last_success');
      assert.ok(since >= 0 && since < 60, `seconds since last success: ${since}`);
      const ts = metric(page, 'user_activity_tracking_counting_last_success_timestamp_seconds');
      assert.ok(Math.abs(ts - Date.now() / 1000) < 60, `last success at ${ts}`);
      // the expected interval: from the job's schedule, no sample without one
      const interval = 'user_activity_tracking_counting_expected_interval_seconds';
      assert.match(page, new RegExp(`^# TYPE ${interval} gauge$`, 'm'));
      assert.doesNotMatch(page, new RegExp(`^${interval} `, 'm'));
      psql("SELECT user_activity.schedule_counting('0 9 * * 1-5')");
      try {
        const scheduled = (await req(base, 'GET', '/metrics')).text;
        assert.equal(metric(scheduled, interval), 3 * 86400, 'Friday 09:00 to Monday 09:00');
        const check = promtoolCheck(scheduled);
        assert.ok(check.ok, check.out);
      } finally {
        psql('SELECT user_activity.unschedule_counting()');
      }
    });

    test('OpenAPI 3.1 matches the real routes', async () => {
      const doc = (await req(base, 'GET', '/api/openapi.json')).json;
      assert.equal(doc.openapi, '3.1.0');
      const all = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
      for (const [path, item] of Object.entries(doc.paths)) {
        const url = path.replace('{id}', '1');
        const methods = Object.keys(item).map((m) => m.toUpperCase());
        for (const m of methods) {
          const r = await req(base, m, url, m === 'POST' ? { body: {} } : {});
          assert.ok(![404, 405].includes(r.status), `${m} ${path} is routed (got ${r.status})`);
        }
        for (const m of all.filter((x) => !methods.includes(x))) {
          const r = await req(base, m, url, m === 'GET' || m === 'DELETE' ? {} : { body: {} });
          assert.equal(r.status, 405, `${m} ${path} is not routed`);
          const allow = r.headers.get('allow').split(', ').filter((x) => !['HEAD', 'OPTIONS'].includes(x));
          assert.deepEqual(allow.sort(), methods.sort(), `Allow of ${path}`);
        }
      }
    });
  });

  describe(`${mode}: the page`, () => {
    test('index.html at /, assets with their types, client routes fall back', async () => {
      let r = await req(base, 'GET', '/');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/html/);
      assert.match(r.text, /shim test page/);
      r = await req(base, 'GET', '/assets/app.js');
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type'), /^text\/javascript/);
      r = await req(base, 'GET', '/users/6/history');
      assert.equal(r.status, 200);
      assert.match(r.text, /shim test page/);
      r = await req(base, 'GET', '/assets/missing.js');
      assert.equal(r.status, 404);
    });

    test('no path traversal', async () => {
      for (const p of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/../../secret.txt', '/.hidden']) {
        const out = await rawRequest(port, `GET ${p} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
        assert.doesNotMatch(out, /top secret/, p);
      }
    });
  });
}
