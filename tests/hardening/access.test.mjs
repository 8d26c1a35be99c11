// Access: API keys (wrong, short, long, other level: 401; right: passes; the
// compare is shim_const_eq, constant time in the configured key's length),
// CORS never reflecting an arbitrary origin with credentials, the analyst
// role unable to write, the shim's role unable to run DDL (and enough for
// every route), and no function captured by hostile objects placed in a
// schema ahead of pg_catalog in the caller's search_path.
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import {
  env, req, event, freshUser, range, psql, startShim, stopShim,
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

describe('API keys', () => {
  let shim;
  after(() => shim && stopShim(shim));

  test('wrong, short, long, empty, other-level and malformed keys: 401; the right key passes', async () => {
    const keys = { write: 'write-key-0123456789abcdef', read: 'read-key-0123456789abcdef', admin: 'admin-key-0123456789abcdef' };
    shim = await startShim(env.spare[2], {
      HTTP_API_KEY_WRITE: keys.write, HTTP_API_KEY_READ: keys.read, HTTP_API_KEY_ADMIN: keys.admin,
    });
    const b = shim.base;
    const u = freshUser();
    const routes = {
      write: () => ['POST', '/api/event', { body: event(u) }],
      read: () => ['GET', `/api/events?user_id=${u}&${range}`, {}],
      admin: () => ['DELETE', `/api/users/${u}/events`, {}],
    };
    let tried = 0;
    for (const [level, route] of Object.entries(routes)) {
      const key = keys[level];
      const others = Object.entries(keys).filter(([l]) => l !== level && l !== 'admin').map(([, k]) => k);
      const wrong = [
        undefined, '', 'Bearer', 'Bearer ', `Bearer ${key.slice(0, -1)}`, `Bearer ${key}x`,
        `Bearer ${key.slice(1)}`, `Bearer ${key.toUpperCase()}`, `Bearer ${key}${'x'.repeat(5000)}`,
        `Bearer ${key.slice(0, 1)}`, `Basic ${key}`, key, `Bearer\t${key}`, `Bearer ${key},${key}`,
        `Bearer ${key.replace(/.$/, (c) => String.fromCharCode(c.charCodeAt(0) ^ 1))}`,
        ...others.map((k) => `Bearer ${k}`)];
      for (const auth of wrong) {
        const [method, path, opts] = route();
        const headers = auth === undefined ? {} : { Authorization: auth };
        const r = await req(b, method, path, { ...opts, headers });
        assert.equal(r.status, 401, `${level} with ${JSON.stringify(auth)?.slice(0, 60)}: ${r.text}`);
        problem401(r);
        tried += 1;
      }
      for (const good of [key, keys.admin]) {
        const [method, path, opts] = route();
        const r = await req(b, method, path, { ...opts, headers: { Authorization: `Bearer ${good}` } });
        assert.ok(r.status >= 200 && r.status < 300, `${level} with the right key: ${r.status} ${r.text}`);
        // the scheme is case-insensitive, as RFC 9110 says
        const r2 = await req(b, method, path, { ...opts, headers: { Authorization: `bearer ${good}` } });
        assert.ok(r2.status >= 200 && r2.status < 300, `${level}, lower-case scheme: ${r2.status}`);
      }
    }
    assert.ok(tried >= 45);
    // a refused write stored nothing
    assert.equal(psql(`SELECT count(*) FROM user_activity.events WHERE user_id = ${u}`), '0');
  });
});

describe('CORS', () => {
  let shim;
  after(() => shim && stopShim(shim));

  test('the default (any origin) never allows credentials', async () => {
    for (const base of Object.values(env.modes)) {
      for (const origin of ['http://evil.example', 'null', 'https://attacker.test:8443']) {
        const r = await req(base, 'GET', '/healthz', { headers: { Origin: origin } });
        assert.equal(r.headers.get('access-control-allow-origin'), '*');
        assert.equal(r.headers.get('access-control-allow-credentials'), null);
        const pre = await req(base, 'OPTIONS', '/api/event', {
          headers: { Origin: origin, 'Access-Control-Request-Method': 'POST' } });
        assert.notEqual(pre.headers.get('access-control-allow-origin'), origin);
        assert.equal(pre.headers.get('access-control-allow-credentials'), null);
      }
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
