// traffic.mjs BASE N: N requests of every kind the shim serves, good and bad,
// from 8 clients, against a shim at BASE; prints the count per status and
// exits 1 on any 5xx.  Used to drive the shim under valgrind.
const [base, total = '400'] = process.argv.slice(2);
const n = Number(total);
const range = 'from=2000-01-01T00:00:00Z&to=2100-01-01T00:00:00Z';
const ev = (i) => JSON.stringify({
  user_id: 900000 + (i % 7), event_action_timestamp: '2025-10-10T18:30:00Z',
  action: ['created', 'updated', 'deleted', 'viewed'][i % 4],
  metadata: { i, ip: '10.0.0.1' }, event_id: crypto.randomUUID(),
});
const kinds = [
  (i) => ['POST', '/api/event', ev(i)],
  (i) => ['POST', '/api/events', `[${ev(i)},${ev(i + 1)},{"user_id":0}]`],
  (i) => ['GET', `/api/events?user_id=${900000 + (i % 7)}&${range}&limit=5`],
  (i) => ['GET', `/api/events?user_id=${900000 + (i % 7)}&${range}&cursor=AAAA`],
  () => ['POST', '/api/event', '{"user_id": 6,'],
  () => ['POST', '/api/event', '['.repeat(20000) + ']'.repeat(20000)],
  () => ['GET', `/api/users/900001/counts?${range}`],
  () => ['GET', `/api/counts/top?${range}&limit=0`],
  () => ['GET', '/api/nope'],
  () => ['DELETE', '/api/event'],
  () => ['GET', '/metrics'],
  () => ['GET', '/readyz'],
  () => ['GET', '/api/openapi.json'],
  () => ['GET', `/api/events?user_id=1&${range}`, null, { Accept: 'application/x-ndjson' }],
];
const statuses = {};
let next = 0;
async function client() {
  while (next < n) {
    const i = next++;
    const [method, path, body, headers = {}] = kinds[i % kinds.length](i);
    const r = await fetch(base + path, {
      method, body: body ?? undefined,
      headers: { ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    });
    await r.arrayBuffer();
    statuses[r.status] = (statuses[r.status] || 0) + 1;
  }
}
await Promise.all(Array.from({ length: 8 }, client));
console.log(`${n} requests: ${JSON.stringify(statuses)}`);
process.exit(Object.keys(statuses).some((s) => s >= 500) ? 1 : 0);
