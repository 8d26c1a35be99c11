// Request heads and framing, over raw sockets: what the shim refuses itself
// (problem+json, "Connection: close"), what libmicrohttpd 0.9.75 refuses
// before the shim sees a request (its own short HTML page: README,
// Robustness, lists these), the inputs that once looked like stalled replies
// in fuzz_http, and requests that can never complete (closed at
// HTTP_IDLE_TIMEOUT_SECONDS).  Every group checks the shim answers on and
// nothing was stored.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import {
  env, req, event, psql, range, startShim, stopShim,
} from '../shim/helpers.mjs';

function eventCount() {
  return Number(psql('SELECT count(*) FROM user_activity.events'));
}

// Sends data on a new connection and reads until the server closes or ms
// pass.  Resolves to the bytes received, whether the server closed, and
// how long that took.
function exchange(port, data, ms = 5000) {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const sock = net.connect(port, '127.0.0.1');
    const chunks = [];
    let done = false;
    const finish = (closed) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, ms: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), ms);
    sock.on('connect', () => sock.write(data));
    sock.on('data', (d) => chunks.push(d));
    sock.on('end', () => finish(true));
    sock.on('close', () => finish(true));
    sock.on('error', (e) => {
      if (e.code === 'ECONNRESET' || e.code === 'EPIPE') finish(true);
      else if (!done) { done = true; clearTimeout(timer); reject(e); }
    });
  });
}

// The first reply in bytes: status, headers (lower-case names), body.
function parse(bytes) {
  const text = bytes.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  const lines = (end < 0 ? text : text.slice(0, end)).split('\r\n');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(lines[0] || '');
  const headers = new Map();
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':');
    if (i > 0) headers.set(l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim());
  }
  const len = Number(headers.get('content-length') ?? 0);
  const body = end < 0 ? '' : text.slice(end + 4, end + 4 + len);
  let json;
  try { json = JSON.parse(body); } catch { json = undefined; }
  return { status: m ? Number(m[1]) : 0, headers, body, json };
}

// A problem document of the shim that closes the connection after it.
function refusedByShim(r, status, field) {
  const p = parse(r.bytes);
  assert.equal(p.status, status, p.body);
  assert.match(p.headers.get('content-type') || '', /^application\/problem\+json/, p.body);
  assert.ok(p.json, `a JSON body: ${p.body}`);
  assert.equal(p.json.status, status);
  assert.ok(p.json.title && p.json.detail && p.json.error, p.body);
  assert.equal(p.json.request_id, p.headers.get('x-request-id'));
  assert.equal(p.json.field, field, p.body);
  assert.equal(p.headers.get('connection'), 'close');
  assert.ok(r.closed, 'the connection is closed after the reply');
  return p;
}

// libmicrohttpd's own refusal: the status, no Content-Type, its HTML page
// (which, for a Content-Length it cannot read, follows the head sent twice).
function refusedByLibrary(r, status) {
  const p = parse(r.bytes);
  const text = r.bytes.toString('latin1');
  assert.equal(p.status, status, text.slice(0, 300));
  assert.equal(p.headers.get('content-type'), undefined);
  assert.doesNotMatch(text, /problem\+json/);
  assert.match(text.slice(text.lastIndexOf('\r\n\r\n') + 4), /^<html><head><title>.*<\/html>$/);
  assert.ok(r.closed, 'the connection is closed after the reply');
}

function head(lines, body = '') {
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n${body}`, 'latin1');
}

const valid = JSON.stringify(event(6));
const manyFields = (n) => Array.from({ length: n }, (_, i) => `X-Filler-${i}: ${i}`);

// A fuzz_http input made into its request, as fuzz/targets/fuzz_http.c does:
// method \0 target \0 header lines \0 body; CR, LF and NUL dropped from the
// first three (and blanks from method and target); Content-Length, Host and
// Connection: close added.
function fuzzRequest(input) {
  const parts = [];
  let p = 0;
  for (let i = 0; i < 3; i++) {
    const z = input.indexOf(0, p);
    parts.push(input.subarray(p, z < 0 ? input.length : z));
    p = z < 0 ? input.length : z + 1;
  }
  parts.push(input.subarray(p));
  const clean = (b, nospace) => Buffer.from([...b].filter((c) => c !== 13 && c !== 10 && c !== 0
    && !(nospace && (c === 32 || c === 9))));
  const method = parts[0].length ? clean(parts[0], true) : Buffer.from('GET');
  const target = Buffer.concat([parts[1].length && parts[1][0] === 47 ? Buffer.alloc(0) : Buffer.from('/'),
    clean(parts[1], true)]);
  const fields = [];
  for (const line of parts[2].toString('latin1').split('\n')) {
    if (line.includes(':') && !/^(content-length|transfer-encoding|connection|expect)/i.test(line)) {
      fields.push(clean(Buffer.from(line, 'latin1'), false).toString('latin1'));
    }
  }
  return Buffer.concat([method, Buffer.from(' '), target,
    Buffer.from(` HTTP/1.1\r\nHost: fuzz\r\n${fields.map((f) => `${f}\r\n`).join('')}`
      + `Content-Length: ${parts[3].length}\r\nConnection: close\r\n\r\n`, 'latin1'),
    parts[3]]);
}

for (const [mode, base] of Object.entries(env.modes)) {
  const port = Number(new URL(base).port);

  describe(`${mode}: request heads and framing`, () => {
    let stored;
    const answersOn = async () => {
      assert.equal((await req(base, 'GET', '/healthz')).status, 200);
      assert.equal(eventCount(), stored, 'nothing stored');
    };

    test('ambiguous or unsupported framing: 400 naming the header, connection closed', async () => {
      stored = eventCount();
      const post = ['POST /api/event HTTP/1.1', 'Host: t', 'Content-Type: application/json'];
      const n = valid.length;
      refusedByShim(await exchange(port, head([...post, `Content-Length: ${n}`, `Content-Length: ${n + 5}`], valid)),
        400, 'Content-Length');
      refusedByShim(await exchange(port, head([...post, `Content-Length: ${n}`, `Content-Length: ${n}`], valid)),
        400, 'Content-Length');
      const chunked = `${n.toString(16)}\r\n${valid}\r\n0\r\n\r\n`;
      refusedByShim(await exchange(port, head([...post, `Content-Length: ${n}`, 'Transfer-Encoding: chunked'], chunked)),
        400, 'Transfer-Encoding');
      for (const coding of ['gzip', 'gzip, chunked', 'chunked, gzip', 'identity', 'x']) {
        refusedByShim(await exchange(port, head([...post, `Transfer-Encoding: ${coding}`], chunked)),
          400, 'Transfer-Encoding');
      }
      refusedByShim(await exchange(port, head([...post, 'Transfer-Encoding: chunked', 'Transfer-Encoding: chunked'], chunked)),
        400, 'Transfer-Encoding');
      // one chunked coding, any case, is the framing every client uses
      const ok = parse((await exchange(port, head([...post, 'Transfer-Encoding: Chunked', 'Connection: close'],
        `${n.toString(16)}\r\n${valid}\r\n0\r\n\r\n`))).bytes);
      assert.equal(ok.status, 201, ok.body);
      stored += 1;
      await answersOn();
    });

    test('request target over 24 KiB: 414; over 100 header fields or 16 KiB of them: 431', async () => {
      stored = eventCount();
      for (const target of [`/api/events?user_id=6&cursor=${'A'.repeat(25000)}`, `/api/${'x/'.repeat(12800)}`,
        `/healthz?x=${'%41'.repeat(2000)}${'B'.repeat(23000)}`, `/api/events?user_id=6&cursor=${'A'.repeat(32000)}`]) {
        refusedByShim(await exchange(port, head([`GET ${target} HTTP/1.1`, 'Host: t'])), 414, undefined);
      }
      // the limit is on the decoded target: 27 000 bytes as sent, 9 000 decoded
      assert.equal(parse((await exchange(port, head([`GET /healthz?x=${'%41'.repeat(9000)} HTTP/1.1`, 'Host: t',
        'Connection: close']))).bytes).status, 200);
      // within the limit, the handler judges the value
      const p = parse((await exchange(port, head([`GET /api/events?user_id=6&${range}&cursor=${'A'.repeat(20000)} HTTP/1.1`,
        'Host: t', 'Connection: close']))).bytes);
      assert.equal(p.status, 400);
      assert.equal(p.json.field, 'cursor');
      for (const fields of [manyFields(101), manyFields(350), [`X-Long: ${'a'.repeat(17000)}`],
        [`X-Long: ${'a'.repeat(32000)}`]]) {
        refusedByShim(await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', ...fields])), 431, undefined);
      }
      refusedByShim(await exchange(port, head(['POST /api/event HTTP/1.1', 'Host: t', ...manyFields(200),
        `Content-Length: ${valid.length}`], valid)), 431, undefined);
      assert.equal(parse((await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', 'Connection: close',
        ...manyFields(90)]))).bytes).status, 200);
      await answersOn();
    });

    test('refused by libmicrohttpd before the shim sees them: its status and HTML page', async () => {
      stored = eventCount();
      // a head over the 32 KiB connection memory
      refusedByLibrary(await exchange(port, head([`GET /api/events?cursor=${'A'.repeat(1000000)} HTTP/1.1`, 'Host: t'])), 414);
      refusedByLibrary(await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', `X-Long: ${'a'.repeat(200000)}`])), 431);
      refusedByLibrary(await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', ...manyFields(5000)])), 431);
      // an HTTP version other than 1.0 and 1.1
      refusedByLibrary(await exchange(port, head(['GET /healthz HTTP/2.0', 'Host: t'])), 505);
      refusedByLibrary(await exchange(port, head(['GET /healthz HTTP/3.0', 'Host: t'])), 505);
      // a request line or field line it cannot parse
      refusedByLibrary(await exchange(port, head(['GET /healthz', 'Host: t'])), 400);
      refusedByLibrary(await exchange(port, head(['GET /healthz http/1.1', 'Host: t'])), 400);
      refusedByLibrary(await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', 'X-No-Colon'])), 400);
      // a field line with no name: the shim's reply, then the library's 400
      const twice = (await exchange(port, head(['GET /healthz HTTP/1.1', 'Host: t', ': v', 'Connection: close'])))
        .bytes.toString('latin1');
      assert.match(twice, /^HTTP\/1\.1 200 [^]*\r\n\r\n\{"status":"ok"\}HTTP\/1\.1 400 [^]*<html>/);
      // a Content-Length that is not a number, or too large a number
      const post = ['POST /api/event HTTP/1.1', 'Host: t', 'Content-Type: application/json'];
      for (const v of ['abc', '-5', '+2', '2, 2', '0x10']) {
        refusedByLibrary(await exchange(port, head([...post, `Content-Length: ${v}`], '{}')), 400);
      }
      refusedByLibrary(await exchange(port, head([...post, 'Content-Length: 99999999999999999999999'], '{}')), 413);
      // broken chunked framing, found while the body is read
      refusedByLibrary(await exchange(port, head([...post, 'Transfer-Encoding: chunked'], 'zz\r\n{}\r\n0\r\n\r\n')), 400);
      refusedByLibrary(await exchange(port, head([...post, 'Transfer-Encoding: chunked'],
        'fffffffffffffffffff\r\n{}\r\n0\r\n\r\n')), 413);
      await answersOn();
    });

    test('a query of more than 64 parameters is closed at once, not held', async () => {
      stored = eventCount();
      // libmicrohttpd neither replies nor closes when the records of the
      // parameters overflow the connection memory; the shim ends any
      // connection whose target has more than 64 parameters as it arrives
      const floods = [head([`GET /api/events?${'&'.repeat(2000)} HTTP/1.1`, 'Host: t']),
        head([`GET /api/events?${'a=1&'.repeat(1000)} HTTP/1.1`, 'Host: t']),
        head([`GET /api/events?user_id=6&${range}${'&x=1'.repeat(70)} HTTP/1.1`, 'Host: t']),
        fuzzRequest(readFileSync(`${env.top}/fuzz/regressions/http/query-parameter-flood`))];
      for (const data of floods) {
        const r = await exchange(port, data, 10000);
        assert.ok(r.closed, 'closed by the server');
        assert.ok(r.ms < 2000, `closed after ${r.ms} ms`);
        assert.equal(r.bytes.length, 0, r.bytes.toString('latin1', 0, 200));
      }
      // up to 64, the handler judges them
      const p = parse((await exchange(port, head([`GET /api/events?user_id=6&${range}${'&x=1'.repeat(60)} HTTP/1.1`,
        'Host: t', 'Connection: close']))).bytes);
      assert.equal(p.status, 400, p.body);
      assert.equal(p.json.field, 'x');
      await answersOn();
    });

    test('the inputs once reported as stalled by fuzz_http are answered at once', async () => {
      stored = eventCount();
      for (const name of ['stall-get-with-body', 'stall-unknown-method-with-body']) {
        const input = readFileSync(`${env.top}/fuzz/regressions/http/${name}`);
        const r = await exchange(port, fuzzRequest(input), 10000);
        const p = parse(r.bytes);
        assert.ok(p.status >= 400 && p.status < 500, `${name}: status ${p.status}`);
        assert.match(p.headers.get('content-type') || '', /^application\/problem\+json/);
        assert.ok(p.json, `${name}: ${p.body}`);
        assert.ok(r.closed, `${name}: closed`);
        assert.ok(r.ms < 3000, `${name}: answered in ${r.ms} ms`);
      }
      await answersOn();
    });
  });
}

describe('requests that can never complete', () => {
  let shim;
  let stored;
  const timeout = 2;

  before(async () => {
    shim = await startShim(env.spare[0], { HTTP_IDLE_TIMEOUT_SECONDS: String(timeout) });
  });

  after(async () => {
    if (shim) assert.equal((await stopShim(shim)).code, 0);
  });

  test(`are closed after HTTP_IDLE_TIMEOUT_SECONDS (${timeout} s), not held`, async () => {
    stored = eventCount();
    const port = env.spare[0];
    const post = ['POST /api/event HTTP/1.1', 'Host: t', 'Content-Type: application/json'];
    const cases = {
      'a body shorter than its Content-Length': head([...post, `Content-Length: ${valid.length + 10}`], valid),
      'Expect: 100-continue and no body': head([...post, `Content-Length: ${valid.length}`, 'Expect: 100-continue']),
      'a chunked body never ended': head([...post, 'Transfer-Encoding: chunked'],
        `${valid.length.toString(16)}\r\n${valid}\r\n`),
      'a head never ended': Buffer.from('GET /healthz HTTP/1.1\r\nHost: t\r\n'),
      'a request line never ended': Buffer.from('GET /healthz'),
    };
    const results = await Promise.all(Object.values(cases).map((data) => exchange(port, data, (timeout + 8) * 1000)));
    Object.keys(cases).forEach((what, i) => {
      const r = results[i];
      assert.ok(r.closed, `${what}: closed by the server`);
      assert.ok(r.ms >= (timeout - 0.5) * 1000 && r.ms < (timeout + 5) * 1000, `${what}: closed after ${r.ms} ms`);
      const text = r.bytes.toString('latin1');
      // nothing but the interim reply the client asked for
      assert.ok(text === '' || text === 'HTTP/1.1 100 Continue\r\n\r\n', `${what}: ${JSON.stringify(text)}`);
    });
    // a new connection: a kept-alive one of fetch may be past the short timeout
    assert.equal(parse((await exchange(env.spare[0], head(['GET /healthz HTTP/1.1', 'Host: t',
      'Connection: close']))).bytes).status, 200);
    assert.equal(eventCount(), stored, 'nothing stored');
  });

  test('a head at the edge of the connection memory is answered or closed, never held', async () => {
    // heads that fit the memory but leave no room for a reply: the library
    // closes them at once or at the idle timeout (README, Robustness)
    const port = env.spare[0];
    const heads = [];
    for (let n = 32300; n <= 32800; n += 32) {
      heads.push(head([`GET /healthz?x=${'a'.repeat(n)} HTTP/1.1`, 'Host: t']));
      heads.push(head(['GET /healthz HTTP/1.1', 'Host: t', `X-Long: ${'a'.repeat(n)}`]));
    }
    const results = await Promise.all(heads.map((data) => exchange(port, data, (timeout + 8) * 1000)));
    let silent = 0;
    results.forEach((r, i) => {
      assert.ok(r.closed, `head ${i}: closed by the server`);
      assert.ok(r.ms < (timeout + 5) * 1000, `head ${i}: closed after ${r.ms} ms`);
      const p = parse(r.bytes);
      if (r.bytes.length === 0) silent += 1;
      else assert.ok([414, 431].includes(p.status), `head ${i}: ${p.status}`);
    });
    console.log(`heads at the memory's edge: ${results.length}, closed without a reply: ${silent}`);
    // a new connection: a kept-alive one of fetch may be past the short timeout
    assert.equal(parse((await exchange(env.spare[0], head(['GET /healthz HTTP/1.1', 'Host: t',
      'Connection: close']))).bytes).status, 200);
  });
});
