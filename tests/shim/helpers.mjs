// Helpers of the shim's integration tests: the environment the suite script
// set up, HTTP requests, psql, and starting/stopping standalone shims and the
// cluster.  Everything runs against a real PostgreSQL and the real shim on
// loopback.
import { spawn, spawnSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import { randomUUID } from 'node:crypto';

export const env = {
  pgPort: Number(process.env.SHIM_PGPORT),
  pgData: process.env.SHIM_PGDATA,
  db: process.env.SHIM_DB || 'shim',
  top: process.env.SHIM_TOP,
  bin: `${process.env.SHIM_TOP}/http-shim/user-activity-shim`,
  staticDir: process.env.SHIM_STATIC_DIR,
  // base URLs of the two long-running shims: standalone and in-database worker
  // (an empty port leaves that mode out)
  modes: Object.fromEntries([
    ['standalone', process.env.SHIM_HTTP_STANDALONE],
    ['worker', process.env.SHIM_HTTP_WORKER],
  ].filter(([, port]) => port).map(([mode, port]) => [mode, `http://127.0.0.1:${port}`])),
  standalonePid: Number(process.env.SHIM_STANDALONE_PID),
  // further ports for shims a test starts itself
  spare: (process.env.SHIM_HTTP_SPARE || '').split(',').map(Number),
  exportRows: Number(process.env.SHIM_EXPORT_ROWS || 200000),
  // the modes whose shim groups concurrent POSTs into one transaction
  groupCommit: new Set((process.env.SHIM_GROUP_COMMIT || '').split(',').filter(Boolean)),
};

// The shim logs in as the extension's user_activity_http, never a superuser
// (the clusters trust every local connection).
export const dbUrl = `host=127.0.0.1 port=${env.pgPort} user=user_activity_http dbname=${env.db}`;

export function psql(sql) {
  const r = spawnSync('psql', ['-X', '-q', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
    '-p', String(env.pgPort), '-U', 'postgres', '-d', env.db, '-c', sql], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`psql failed: ${r.stderr}`);
  return r.stdout.trim();
}

export function functionExists(name) {
  return psql(`SELECT count(*) FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n
    ON n.oid = p.pronamespace WHERE n.nspname = 'user_activity' AND p.proname = '${name}'`) !== '0';
}

// Holds a lock in a transaction of its own until release() is called: for
// making statements wait at a chosen point.  Resolves once the lock is held.
export async function holdLock(lockSql) {
  const child = spawn('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
    '-p', String(env.pgPort), '-U', 'postgres', '-d', env.db],
  { stdio: ['pipe', 'ignore', 'inherit'] });
  const exited = new Promise((resolve) => child.on('exit', resolve));
  child.stdin.write(`SET application_name = 'test lock holder';\nBEGIN;\n${lockSql};\n`);
  for (let i = 0; ; i++) {
    const held = psql(`SELECT count(*) FROM pg_catalog.pg_stat_activity
      WHERE application_name = 'test lock holder' AND state = 'idle in transaction'
        AND query LIKE 'LOCK%'`);
    if (held === '1') break;
    if (i > 200) throw new Error('the lock was not taken');
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    async release() {
      child.stdin.end('COMMIT;\n');
      return exited;
    },
  };
}

// Waits until n backends wait for a lock while running statement text like pattern.
export async function waitForLockWaiters(n, pattern) {
  for (let i = 0; ; i++) {
    const waiting = Number(psql(`SELECT count(*) FROM pg_catalog.pg_stat_activity
      WHERE wait_event_type = 'Lock' AND query LIKE '${pattern}'`));
    if (waiting >= n) return waiting;
    if (i > 400) throw new Error(`${waiting} of ${n} backends waiting for a lock`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

// A user id no other test uses.
let nextUser = Math.floor(Date.now() / 1000) % 100000 * 1000 + process.pid % 1000;
export function freshUser() {
  nextUser += 1;
  return nextUser;
}

export const uuid = randomUUID;

export function event(userId, extra = {}) {
  return {
    user_id: userId,
    event_action_timestamp: '2025-10-10T18:30:00Z',
    action: 'viewed',
    metadata: { ip: '192.168.1.10', device: 'iPhone 14' },
    ...extra,
  };
}

export async function req(base, method, path, { body, headers = {}, raw } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = raw ? body : JSON.stringify(body);
    if (!init.headers['Content-Type']) init.headers['Content-Type'] = 'application/json';
  }
  const res = await fetch(base + path, init);
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, headers: res.headers, text, json };
}

export const range = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';

export function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

// Polls fn until it returns a truthy value or the time is up.
export async function waitFor(fn, ms = 30000, what = 'condition') {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}: ${last}`);
}

// Starts a standalone shim with extra environment; resolves once /healthz answers.
// A null value leaves the variable out: HTTP_ALLOW_UNAUTHENTICATED: null
// gives a shim that needs API keys (on loopback the tests' shims need none).
export async function startShim(port, extraEnv = {}) {
  const childEnv = {
    PATH: process.env.PATH,
    DB_URL: dbUrl,
    HTTP_PORT: String(port),
    HTTP_LISTEN_ADDRESS: '127.0.0.1',
    HTTP_THREADS: '4',
    HTTP_ALLOW_UNAUTHENTICATED: 'on',
    ...extraEnv,
  };
  for (const k of Object.keys(childEnv)) if (childEnv[k] === null) delete childEnv[k];
  const child = spawn(env.bin, [], {
    env: childEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.out = '';
  child.err = '';
  child.stdout.on('data', (d) => { child.out += d; });
  child.stderr.on('data', (d) => { child.err += d; });
  child.exited = new Promise((resolve) => child.on('exit', (code, sig) => resolve({ code, sig })));
  const base = `http://127.0.0.1:${port}`;
  await waitFor(async () => (await fetch(base + '/healthz')).status === 200, 10000,
    `shim on ${port}: ${child.err}`);
  child.base = base;
  return child;
}

export async function stopShim(child) {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return child.exited;
}

export function cluster(cmd) {
  const args = [cmd, env.pgData];
  if (cmd === 'start') args.push(String(env.pgPort));
  const r = spawnSync(`${env.top}/tests/lib/cluster.sh`, args, { encoding: 'utf8', env: process.env });
  if (r.status !== 0) throw new Error(`cluster.sh ${cmd}: ${r.stderr}`);
}

// Resident set size of a process, in bytes.
export function rss(pid) {
  const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(/VmRSS:\s+(\d+) kB/);
  return Number(m[1]) * 1024;
}

// The pid of the in-database worker: a child of the postmaster with its title.
export function workerPid() {
  const postmaster = Number(readFileSync(`${env.pgData}/postmaster.pid`, 'utf8').split('\n')[0]);
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid !== postmaster) continue;
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      if (cmd.includes('user_activity http shim')) return Number(d);
    } catch { /* gone */ }
  }
  return null;
}

// Sends raw bytes and collects the reply until the server closes or ms pass.
export function rawRequest(port, data, ms = 3000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => { sock.destroy(); resolve(out); }, ms);
    sock.on('connect', () => sock.write(data));
    sock.on('data', (d) => { out += d; });
    sock.on('end', () => { clearTimeout(timer); resolve(out); });
    sock.on('close', () => { clearTimeout(timer); resolve(out); });
    sock.on('error', (e) => { clearTimeout(timer); if (out) resolve(out); else reject(e); });
  });
}

// Sample value of one metric line ("name{labels}") in a Prometheus text page.
export function metric(page, series) {
  for (const line of page.split('\n')) {
    if (line.startsWith(series + ' ')) return Number(line.slice(series.length + 1));
  }
  return 0;
}

export function promtoolCheck(page) {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: page, encoding: 'utf8' });
  return { ok: r.status === 0, out: r.stdout + r.stderr };
}
