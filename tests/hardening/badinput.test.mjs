// Bad input over HTTP and SQL.  Every malformed request gets a 4xx; those
// the shim sees get the documented application/problem+json body naming the
// field; the shim stays up; nothing is stored (the events table is counted
// before and after each group).  Raw sockets carry what fetch would refuse
// to send or would clean up (NUL bytes, bad percent-encoding, broken
// framing, thousands of headers).
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  env, req, event, freshUser, uuid, range, psql, rawRequest,
} from '../shim/helpers.mjs';

let inputsTried = 0;

function eventCount() {
  return Number(psql('SELECT count(*) FROM user_activity.events'));
}

// The documented error body: RFC 9457 problem+json, status, title, detail,
// error, request_id (also in X-Request-Id) and the field at fault.
function problem(r, status, field) {
  inputsTried += 1;
  assert.equal(r.status, status, r.text);
  assert.match(r.headers.get('content-type'), /^application\/problem\+json/, r.text);
  assert.ok(r.json, `a JSON body: ${r.text}`);
  assert.equal(r.json.status, status);
  assert.equal(r.json.type, 'about:blank');
  assert.ok(r.json.title && r.json.detail && r.json.error, r.text);
  assert.equal(r.json.request_id, r.headers.get('x-request-id'));
  if (field !== undefined) assert.equal(r.json.field, field, r.text);
}

// Parses a raw HTTP/1.1 reply: status, headers (lower-case names), body.
function parseRaw(text) {
  const end = text.indexOf('\r\n\r\n');
  const head = end < 0 ? text : text.slice(0, end);
  const lines = head.split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] || '');
  const headers = new Map();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  let body = end < 0 ? '' : text.slice(end + 4);
  const len = headers.get('content-length');
  if (len !== undefined) body = body.slice(0, Number(len));
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status: m ? Number(m[1]) : 0, headers: { get: (k) => headers.get(k.toLowerCase()) ?? null }, text: body, json };
}

async function raw(port, data, ms) {
  return parseRaw((await rawRequest(port, data, ms)).toString());
}

// A request far larger than the shim reads before it answers: the shim
// replies and closes with the rest unread, and the reset that follows may
// reach the client's next write before the client has read the reply
// (EPIPE or ECONNRESET with nothing read).  That loses the reply on the
// client's side only, so the request is sent again, a few times at most.
async function oversized(port, data) {
  let last;
  for (let attempt = 0; attempt < 5; attempt += 1) {
    try {
      const r = await raw(port, data);
      if (r.status !== 0) return r;
      last = new Error('the connection closed with no reply');
    } catch (e) {
      if (e.code !== 'EPIPE' && e.code !== 'ECONNRESET') throw e;
      last = e;
    }
  }
  throw last;
}

function post(path, body, contentType = 'application/json') {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body);
  return Buffer.concat([
    Buffer.from(`POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Type: ${contentType}\r\n`
      + `Content-Length: ${b.length}\r\nConnection: close\r\n\r\n`),
    b]);
}

function get(path) {
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n`);
}

const valid = JSON.stringify(event(6));
const sqlMeta = [
  "'; DROP TABLE user_activity.events; --",
  "\" OR 1=1 --",
  "1); DELETE FROM user_activity.events WHERE (1=1",
  "$$; TRUNCATE user_activity.events; $$",
  "\\'; SELECT pg_sleep(10); --",
  "%_\\%\\_*?[]{}()|&;<>`$!#",
  "/* */ UNION SELECT * FROM pg_authid --",
  "E'\\x00'",
];

after(() => {
  console.log(`bad inputs tried over HTTP and SQL: ${inputsTried}`);
});

for (const [mode, base] of Object.entries(env.modes)) {
  const port = Number(new URL(base).port);

  describe(`${mode}: bad input`, () => {
    let before;
    const expectNothingStored = () => assert.equal(eventCount(), before, 'nothing stored');

    test('malformed JSON: 400 naming the body', async () => {
      before = eventCount();
      const bodies = ['{"user_id": 6,', '{user_id: 6}', "{'user_id': 6}", '', ' ', 'nul', 'tru',
        '[1,]', '{"a":1}}', '{"a" 1}', '{"a":01}', '{"a":1,}', '"\\x41"', '{"a":"\\u12"}',
        '\ufeff{}', '{"user_id":6}{"user_id":7}', '/* c */ {}', '{"a":"unterminated}'];
      for (const path of ['/api/event', '/api/events']) {
        for (const body of bodies) {
          const r = await req(base, 'POST', path, { body, raw: true });
          problem(r, 400, 'body');
        }
      }
      expectNothingStored();
    });

    test('JSON cut at every length: 400, nothing stored', async () => {
      before = eventCount();
      for (let n = 0; n < valid.length; n++) {
        const r = await req(base, 'POST', '/api/event', { body: valid.slice(0, n), raw: true });
        problem(r, 400);
      }
      const batch = JSON.stringify([event(6), event(7)]);
      for (let n = 0; n < batch.length; n += 7) {
        const r = await req(base, 'POST', '/api/events', { body: batch.slice(0, n), raw: true });
        problem(r, 400);
      }
      expectNothingStored();
    });

    test('a body cut short by the client: nothing stored, the shim answers on', async () => {
      before = eventCount();
      const b = Buffer.from(valid);
      const data = Buffer.concat([
        Buffer.from(`POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${b.length + 50}\r\n\r\n`), b]);
      await rawRequest(port, data, 300);
      inputsTried += 1;
      assert.equal((await req(base, 'GET', '/healthz')).status, 200);
      expectNothingStored();
    });

    test('wrong content type: 415 naming Content-Type, saying what to send', async () => {
      before = eventCount();
      for (const type of ['multipart/form-data; boundary=x', 'text/html', 'text/plainx', 'text/csv',
        'application/xml', 'application/jsonx', 'json', 'application/', '*/*']) {
        for (const path of ['/api/event', '/api/events']) {
          const body = path === '/api/event' ? valid : `[${valid}]`;
          const r = await req(base, 'POST', path, { body, raw: true, headers: { 'Content-Type': type } });
          problem(r, 415, 'Content-Type');
          assert.match(r.json.detail, /Content-Type: application\/json/, r.text);
        }
      }
      expectNothingStored();
      // JSON with parameters or a +json suffix is JSON
      const ok = await req(base, 'POST', '/api/event',
        { body: JSON.stringify(event(freshUser())), raw: true, headers: { 'Content-Type': 'application/json; charset=utf-8' } });
      assert.equal(ok.status, 201, ok.text);
    });

    test('the original\'s clients: curl -d, text/plain (sendBeacon) and no Content-Type are read as JSON', async () => {
      const url = `${base}/api/event`;
      // curl -d declares application/x-www-form-urlencoded, as the
      // original's README examples sent it
      const u = freshUser();
      const c = spawnSync('curl', ['-s', '-w', '\n%{http_code}', '-d', JSON.stringify(event(u)), url], { encoding: 'utf8' });
      const lines = c.stdout.trimEnd().split('\n');
      assert.equal(lines.pop(), '201', c.stdout);
      const stored = JSON.parse(lines.join('\n'));
      assert.equal(stored.user_id, u);
      assert.equal(stored.status, 'stored');
      assert.equal(stored.createdAt, stored.recorded_at);
      for (const type of ['text/plain', 'text/plain;charset=UTF-8', 'application/x-www-form-urlencoded', null]) {
        for (const path of ['/api/event', '/api/events']) {
          const one = event(freshUser());
          const body = path === '/api/event' ? JSON.stringify(one) : JSON.stringify([one]);
          let r;
          if (type === null) {
            const b = Buffer.from(body);
            r = await raw(port, Buffer.concat([Buffer.from(`POST ${path} HTTP/1.1\r\nHost: t\r\n`
              + `Content-Length: ${b.length}\r\nConnection: close\r\n\r\n`), b]), 5000);
          } else {
            r = await req(base, 'POST', path, { body, raw: true, headers: { 'Content-Type': type } });
          }
          assert.equal(r.status, 201, `${type} ${path}: ${r.text}`);
          assert.equal(Number(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${one.user_id}`)), 1);
        }
      }
    });

    test('bodies over the limit: 413, announced, chunked or one byte over', async () => {
      before = eventCount();
      const limit = 1024 * 1024;
      // announced: refused before the body is read
      let r = await raw(port, Buffer.from(`POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${limit + 1}\r\n\r\n{`), 2000);
      problem(r, 413, 'body');
      r = await raw(port, Buffer.from(`POST /api/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 99999999999999999\r\n\r\n[`), 2000);
      assert.ok(r.status === 413 || r.status === 400, `status ${r.status}`);
      inputsTried += 1;
      // one byte over, announced (a client that sends it all anyway may see
      // its write fail: the shim replies and closes without reading it)
      r = await raw(port, Buffer.from(`POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: ${limit + 1}\r\n\r\n`), 2000);
      problem(r, 413, 'body');
      // chunked, no length announced
      const chunk = 'x'.repeat(65536);
      let chunked = `POST /api/events HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`;
      for (let i = 0; i < 20; i++) chunked += `${chunk.length.toString(16)}\r\n${chunk}\r\n`;
      chunked += '0\r\n\r\n';
      r = await raw(port, Buffer.from(chunked), 5000);
      problem(r, 413, 'body');
      expectNothingStored();
    });

    test('deep nesting: 10 000 and 150 000 levels, 4xx', async () => {
      before = eventCount();
      const deep = (n) => '['.repeat(n) + ']'.repeat(n);
      const deepObj = (n) => '{"a":'.repeat(n) + '1' + '}'.repeat(n);
      for (const n of [10000, 150000]) {
        problem(await req(base, 'POST', '/api/event', { body: deep(n), raw: true }), 400);
        // in a batch a nested item is rejected on its own (207), unless the
        // nesting is too deep to parse at all (400)
        const b = await req(base, 'POST', '/api/events', { body: `[${deep(n)}]`, raw: true });
        if (b.status === 207) {
          inputsTried += 1;
          assert.equal(b.json.stored, 0);
          assert.equal(b.json.results[0].status, 'rejected');
        } else problem(b, 400, 'body');
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":${deepObj(n)}}`, raw: true }), 400);
      }
      expectNothingStored();
    });

    test('huge numbers, NaN and Infinity: 400', async () => {
      before = eventCount();
      const numbers = ['1e400', '-1e400', '99999999999999999999999999999', '9223372036854775808',
        '18446744073709551617', '1e-400', '1e1000000', '-0', '0.0', '1E+2.5'];
      for (const n of numbers) {
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":${n},"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z"}`, raw: true }), 400);
      }
      for (const n of ['1e1000000', '-1e1000000', '1e-1000000']) {
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"n":${n}}}`, raw: true }), 400);
      }
      for (const n of ['NaN', 'Infinity', '-Infinity', 'nan', 'inf', '+1', '0x10', '.5', '1.']) {
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":${n},"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z"}`, raw: true }), 400, 'body');
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"n":${n}}}`, raw: true }), 400, 'body');
      }
      expectNothingStored();
    });

    test('invalid UTF-8 and NUL bytes in the body: 400 naming the body', async () => {
      before = eventCount();
      const bad = [Buffer.from([0xff]), Buffer.from([0xc0, 0xaf]), Buffer.from([0xed, 0xa0, 0x80]),
        Buffer.from([0xf4, 0x90, 0x80, 0x80]), Buffer.from([0x80]), Buffer.from([0xe2, 0x82]), Buffer.from([0])];
      for (const b of bad) {
        for (const [pre, tail] of [['{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"k":"', '"}}'],
          ['{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"', '":1}}'],
          ['{"user_id":6,"action":"vie', 'wed","event_action_timestamp":"2025-10-10T18:30:00Z"}']]) {
          const r = await raw(port, post('/api/event', Buffer.concat([Buffer.from(pre), b, Buffer.from(tail)])));
          problem(r, 400, 'body');
        }
      }
      // a valid event followed by a NUL and anything: libpq would cut it at the NUL
      let r = await raw(port, post('/api/event', Buffer.concat([Buffer.from(valid), Buffer.from([0]), Buffer.from('junk')])));
      problem(r, 400, 'body');
      r = await raw(port, post('/api/events', Buffer.concat([Buffer.from(`[${valid}]`), Buffer.from([0])])));
      problem(r, 400, 'body');
      // escaped NUL and lone surrogates are JSON the database refuses
      for (const s of ['\\u0000', '\\ud800', '\\udc00x', '\\ud800\\u0041']) {
        problem(await req(base, 'POST', '/api/event',
          { body: `{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"k":"${s}"}}`, raw: true }), 400);
      }
      expectNothingStored();
    });

    test('SQL metacharacters in every field: refused where invalid, stored verbatim where valid', async () => {
      before = eventCount();
      for (const s of sqlMeta) {
        const fields = [
          ['user_id', { user_id: s }], ['action', { action: s }],
          ['event_action_timestamp', { event_action_timestamp: s }], ['event_id', { event_id: s }],
          ['metadata', { metadata: s }]];
        for (const [field, extra] of fields) {
          problem(await req(base, 'POST', '/api/event', { body: event(6, extra) }), 400, field);
        }
        problem(await req(base, 'POST', '/api/event', { body: { ...event(6), [s]: 1 } }), 400);
        for (const key of ['user_id', 'from', 'to', 'limit', 'cursor', 'action', 'action_from', 'action_to', 'offset']) {
          const q = new URLSearchParams({ user_id: '6', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' });
          q.set(key, s);
          problem(await req(base, 'GET', `/api/events?${q}`), 400, key);
        }
        problem(await req(base, 'GET', `/api/events?user_id=6&${range}&${encodeURIComponent(s)}=1`), 400);
        // a path segment holding "/" is another path: 404
        const pathStatus = s.includes('/') ? 404 : 400;
        const pathField = s.includes('/') ? undefined : 'user_id';
        problem(await req(base, 'GET', `/api/users/${encodeURIComponent(s)}/counts?${range}`), pathStatus, pathField);
        problem(await req(base, 'GET', `/api/counts/top?${range}&limit=${encodeURIComponent(s)}`), 400, 'limit');
        problem(await req(base, 'DELETE', `/api/users/${encodeURIComponent(s)}/events`), pathStatus, pathField);
      }
      expectNothingStored();
      // as metadata keys and values they are data: stored and returned exactly
      const u = freshUser();
      const metadata = Object.fromEntries(sqlMeta.map((s, i) => [s, `${s}#${i}`]));
      const r = await req(base, 'POST', '/api/event', { body: event(u, { metadata }) });
      assert.equal(r.status, 201, r.text);
      assert.deepEqual(r.json.metadata, metadata);
      const back = await req(base, 'GET', `/api/events?user_id=${u}&${range}`);
      assert.deepEqual(back.json[0].metadata, metadata);
      assert.equal(eventCount(), before + 1);
      assert.equal(psql("SELECT to_regclass('user_activity.events') IS NOT NULL"), 't');
    });

    test('thousands of headers and very long URLs: 4xx, the shim answers on', async () => {
      before = eventCount();
      const many = Array.from({ length: 5000 }, (_, i) => `X-Filler-${i}: ${i}`).join('\r\n');
      let r = await oversized(port, Buffer.from(`POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n${many}\r\nContent-Length: ${valid.length}\r\n\r\n${valid}`));
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      inputsTried += 1;
      const longHeader = `X-Long: ${'a'.repeat(200000)}`;
      r = await oversized(port, Buffer.from(`GET /healthz HTTP/1.1\r\nHost: t\r\n${longHeader}\r\n\r\n`));
      assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
      inputsTried += 1;
      for (const n of [100000, 1000000]) {
        r = await oversized(port, get(`/api/events?user_id=6&${range}&cursor=${'A'.repeat(n)}`));
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
        inputsTried += 1;
        r = await oversized(port, get(`/api/${'x/'.repeat(n / 2)}`));
        assert.ok(r.status >= 400 && r.status < 500, `status ${r.status}`);
        inputsTried += 1;
      }
      // long but within what the server takes: the extension names the value
      problem(await req(base, 'GET', `/api/events?user_id=6&${range}&cursor=${'A'.repeat(20000)}`), 400, 'cursor');
      problem(await req(base, 'GET', `/api/events?user_id=${'9'.repeat(20000)}&${range}`), 400, 'user_id');
      // broken framing
      for (const junk of ['\x00\x01\x02\r\n\r\n', 'GET\r\n\r\n', 'GET / HTTP/9.9\r\nHost: t\r\n\r\n',
        'POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Length: -5\r\n\r\n{}',
        'POST /api/event HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n',
        'POST /api/event HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}']) {
        const reply = await raw(port, Buffer.from(junk), 1000);
        assert.ok(reply.status === 0 || (reply.status >= 400 && reply.status < 600), `status ${reply.status}`);
        inputsTried += 1;
      }
      assert.equal((await req(base, 'GET', '/healthz')).status, 200);
      expectNothingStored();
    });

    test('bad percent-encoding: 400 naming the parameter', async () => {
      before = eventCount();
      for (const v of ['%zz', '%', '%4', '%%', '%g0']) {
        problem(parseRaw((await rawRequest(port, get(`/api/events?user_id=${v}&${range}`))).toString()), 400, 'user_id');
      }
      for (const v of ['6%00', '6%00x', '%ff', '%c0%af', '%ed%a0%80', '6%0']) {
        const r = await raw(port, get(`/api/events?user_id=${v}&${range}`));
        problem(r, 400, 'user_id');
      }
      // a parameter name that is not UTF-8 is refused, not dropped
      problem(await raw(port, get(`/api/events?user_id=6&${range}&%ff=1`)), 400);
      problem(await raw(port, get(`/api/events?user_id=6&${range}&a%00b=1`)), 400);
      for (const p of ['/api/users/%zz/counts', '/api/users/%/counts', '/api/users/6%00/counts',
        '/api/users/%ff/counts']) {
        const r = await raw(port, get(`${p}?${range}`));
        assert.ok(r.status >= 400 && r.status < 500, `${p}: ${r.status}`);
        assert.match(r.headers.get('content-type'), /^application\/problem\+json/);
        assert.ok(r.json, `valid JSON for ${p}: ${r.text}`);
        inputsTried += 1;
      }
      // whatever bytes a path holds, the problem body stays valid JSON
      const r = await raw(port, get('/api/%ff%fe%c0'));
      problem(r, 404);
      expectNothingStored();
    });

    test('zero, negative and absurd limits and offsets: 400 naming them', async () => {
      for (const v of ['0', '-1', '-9223372036854775808', '1001', '99999999999999999999', '1e3', '1.5', '', ' 5', '0x10']) {
        problem(await req(base, 'GET', `/api/events?user_id=6&${range}&limit=${encodeURIComponent(v)}`), 400, 'limit');
        problem(await req(base, 'GET', `/api/counts/top?${range}&limit=${encodeURIComponent(v)}`), 400, 'limit');
      }
      for (const v of ['-1', '1.5', 'x', '99999999999999999999']) {
        problem(await req(base, 'GET', `/api/events?user_id=6&${range}&offset=${v}`), 400, 'offset');
      }
      for (const v of ['0', '-1', '9223372036854775808']) {
        problem(await req(base, 'GET', `/api/events?user_id=${v}&${range}`), 400, 'user_id');
        problem(await req(base, 'GET', `/api/users/${v}/counts?${range}`), 400, 'user_id');
      }
    });

    test('forged cursors: 400 naming the cursor', async () => {
      const u = freshUser();
      for (let i = 0; i < 3; i++) {
        assert.equal((await req(base, 'POST', '/api/event', { body: event(u) })).status, 201);
      }
      const page = await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=1`);
      const link = page.headers.get('link');
      const cursor = new URLSearchParams(link.slice(link.indexOf('?') + 1, link.indexOf('>'))).get('cursor');
      assert.ok(cursor);
      const forged = [
        'AAAA', 'not a cursor', '', cursor.slice(0, -1), cursor.slice(1), `${cursor}A`,
        cursor.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')),
        cursor.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')),
        Buffer.from('{"user_id":1,"recorded_at":"2025-01-01","id":1}').toString('base64'),
        "' OR 1=1 --", '%00', 'A'.repeat(4096)];
      for (const c of forged) {
        problem(await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=1&cursor=${encodeURIComponent(c)}`), 400, 'cursor');
      }
      // a real cursor of another user's search
      const other = freshUser();
      problem(await req(base, 'GET', `/api/events?user_id=${other}&${range}&cursor=${encodeURIComponent(cursor)}`), 400, 'cursor');
      // the genuine cursor still works
      const next = await req(base, 'GET', `/api/events?user_id=${u}&${range}&limit=1&cursor=${encodeURIComponent(cursor)}`);
      assert.equal(next.status, 200, next.text);
      assert.equal(next.json.length, 1);
    });
  });
}

// The same abuse through SQL, as the shim's role: the extension's functions
// refuse it with a documented SQLSTATE (never XX000), and store nothing.
describe('SQL: bad input to the extension', () => {
  function call(sqlFn, value) {
    const r = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'VERBOSITY=sqlstate', '-v', `v=${value}`,
      '-h', '127.0.0.1', '-p', String(env.pgPort), '-U', 'postgres', '-d', env.db],
    { input: `SET ROLE user_activity_writer;\n${sqlFn}\n`, encoding: 'utf8' });
    const m = /ERROR:\s+([0-9A-Z]{5})/.exec(r.stderr);
    inputsTried += 1;
    return m ? m[1] : 'OK';
  }
  const allowed = /^(22|23|42|54)/;

  test('record_event, record_events, search_events: documented SQLSTATEs only', () => {
    const before = eventCount();
    const bodies = ['{"user_id": 6,', '', 'NaN', '{"user_id": Infinity}', '[1,]', '"str"', '42', 'null',
      '['.repeat(50000) + ']'.repeat(50000), '{"user_id":1e400,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z"}',
      '{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"k":"\\u0000"}}',
      '{"user_id":6,"action":"viewed","event_action_timestamp":"2025-10-10T18:30:00Z","metadata":{"k":"\\ud800"}}',
      ...sqlMeta.map((s) => JSON.stringify(event(6, { action: s }))),
      ...sqlMeta.map((s) => JSON.stringify(event(6, { user_id: s }))),
      ...sqlMeta.map((s) => JSON.stringify(event(6, { event_id: s }))),
      ...sqlMeta.map((s) => JSON.stringify({ ...event(6), [s]: 1 }))];
    for (const b of bodies) {
      const s1 = call("SELECT user_activity.record_event(:'v'::jsonb);", b);
      assert.match(s1, allowed, `record_event(${b.slice(0, 60)}): ${s1}`);
    }
    for (const b of ['{}', '"x"', '[' + bodies.slice(0, 5).join(',') + ']', '['.repeat(50000) + ']'.repeat(50000)]) {
      const s2 = call("SELECT user_activity.record_events(:'v'::jsonb);", b);
      assert.match(s2, allowed, `record_events(${b.slice(0, 60)}): ${s2}`);
    }
    for (const p of ['[]', '"x"', '{"user_id":"6"}', JSON.stringify({ user_id: '6', from: 'x', to: 'y' }),
      JSON.stringify({ user_id: '6', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', limit: '0' }),
      JSON.stringify({ user_id: '6', from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z', cursor: "' OR 1=1" }),
      JSON.stringify({ user_id: 6, from: 1, to: 2 }),
      ...sqlMeta.map((s) => JSON.stringify({ user_id: s, from: '2000-01-01T00:00:00Z', to: '2100-01-01T00:00:00Z' }))]) {
      const s3 = call("SELECT * FROM user_activity.search_events(:'v'::jsonb);", p);
      assert.match(s3, allowed, `search_events(${p.slice(0, 60)}): ${s3}`);
    }
    assert.equal(eventCount(), before, 'nothing stored');
  });
});
