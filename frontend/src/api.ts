// api.ts: the page's only way to the system: the REST API of the HTTP shim
// (docs/interfaces.md).  Errors come back as RFC 9457 problem documents;
// ApiError carries their status, detail and the field they name.

export const ACTIONS = ['created', 'updated', 'deleted', 'viewed'] as const;
export type Action = (typeof ACTIONS)[number];

export interface StoredEvent {
  id: number;
  user_id: number;
  event_action_timestamp: string;
  action: Action;
  metadata: unknown;
  event_id: string | null;
  recorded_at: string;
  status?: 'stored' | 'duplicate';
}

export interface CountPeriod {
  period_start: string;
  period_end: string;
  event_count: number;
  created: number;
  updated: number;
  deleted: number;
  viewed: number;
}

export interface UserCounts {
  user_id: number;
  from: string;
  to: string;
  periods: CountPeriod[];
  total: { event_count: number; created: number; updated: number; deleted: number; viewed: number };
}

export interface TopUser {
  user_id: number;
  event_count: number;
  created: number;
  updated: number;
  deleted: number;
  viewed: number;
}

/** GET /api/counting/status (docs/interfaces.md): counting freshness as the
 * extension's counting_status_json() reports it; null where unknown. */
export interface CountingStatus {
  last_run_at: string | null;
  last_success_at: string | null;
  last_outcome: 'counted' | 'empty' | 'busy' | 'error' | null;
  last_error: string | null;
  seconds_since_last_success: number | null;
  schedule: string | null;
  events_counted: number | null;
  position: { last_id: number; last_period_end: string; updated_at: string } | null;
  expected_interval_seconds: number | null;
  next_run_at: string | null;
  pg_cron: {
    timezone: string;
    job: {
      name: string;
      schedule: string;
      active: boolean;
      last_run: { status: string; started_at: string | null; ended_at: string | null; message: string | null } | null;
    } | null;
  } | null;
}

declare global {
  interface Window {
    USER_ACTIVITY_CONFIG?: { apiBaseUrl?: string; apiKeys?: { read?: string; write?: string } };
  }
}

/** Drops trailing slashes and a trailing "/api" (the original page's
 * REACT_APP_API_BASE_URL was "http://localhost:8080/api"). */
export function normalizeBase(url: string): string {
  let u = url.trim().replace(/\/+$/, '');
  if (u.endsWith('/api')) u = u.slice(0, -4);
  return u;
}

/** Where the API lives: an address entered under "Connection", else the
 * runtime config.js, else the build-time setting, else the page's origin. */
export function apiBaseUrl(): string {
  return enteredApiBase() || defaultApiBase();
}

/** The address the page would use with nothing entered under "Connection". */
export function defaultApiBase(): string {
  const runtime = typeof window !== 'undefined' ? window.USER_ACTIVITY_CONFIG?.apiBaseUrl : undefined;
  const built = import.meta.env.VITE_API_BASE_URL || import.meta.env.REACT_APP_API_BASE_URL;
  const chosen = runtime || built || window.location.origin;
  return normalizeBase(new URL(chosen, window.location.href).toString());
}

/** null when url can be the API's address (http or https, absolute). */
export function apiBaseError(url: string): string | null {
  const u = url.trim();
  if (u === '') return null;
  let parsed: URL;
  try {
    parsed = new URL(u);
  } catch {
    return 'Enter an address like http://localhost:8080.';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'The address must start with http:// or https://.';
  if (parsed.search || parsed.hash) return 'The address takes no "?" or "#" part.';
  return null;
}

/*
 * What the user enters under "Connection" (the API's address and keys) is
 * kept in the tab's sessionStorage, gone when the tab closes, unless the
 * user ticks "Remember on this device": then in localStorage, in plain text,
 * until removed.  Where a browser refuses storage, it lasts for this page.
 */
export type KeyKind = 'read' | 'write';
const STORED = {
  read: 'user-activity.api-key.read',
  write: 'user-activity.api-key.write',
  base: 'user-activity.api-base',
} as const;
type StoredName = keyof typeof STORED;
const REMEMBER = 'user-activity.remember';

function storage(kind: 'local' | 'session'): Storage | null {
  try {
    return kind === 'local' ? window.localStorage : window.sessionStorage;
  } catch {
    return null;
  }
}

/** Whether entered settings are kept on this device (localStorage); also
 * true where an earlier version of the page left keys there. */
export function remembered(): boolean {
  const local = storage('local');
  if (!local) return false;
  return local.getItem(REMEMBER) === '1' || Object.values(STORED).some((k) => local.getItem(k) != null);
}

function readStored(name: StoredName): string {
  const where = remembered() ? storage('local') : storage('session');
  try {
    return where?.getItem(STORED[name]) ?? '';
  } catch {
    return '';
  }
}

function writeStored(name: StoredName, value: string): void {
  const where = remembered() ? storage('local') : storage('session');
  try {
    if (value) where?.setItem(STORED[name], value);
    else where?.removeItem(STORED[name]);
  } catch {
    /* storage unavailable (private mode): the value lasts for this page only */
  }
}

/** Moves what was entered between the tab's storage and the device's. */
export function setRemembered(on: boolean): void {
  const values = Object.fromEntries((Object.keys(STORED) as StoredName[]).map((n) => [n, readStored(n)]));
  const local = storage('local');
  const session = storage('session');
  try {
    for (const key of Object.values(STORED)) {
      local?.removeItem(key);
      session?.removeItem(key);
    }
    if (on) local?.setItem(REMEMBER, '1');
    else local?.removeItem(REMEMBER);
  } catch {
    /* storage unavailable */
  }
  for (const n of Object.keys(STORED) as StoredName[]) writeStored(n, values[n]);
}

/** The API address entered under "Connection", '' when none. */
export function enteredApiBase(): string {
  const v = readStored('base');
  return v ? normalizeBase(v) : '';
}

export function setApiBase(url: string): void {
  writeStored('base', url.trim() ? normalizeBase(url) : '');
}

/** The key the page's runtime config.js gives it, '' when none. */
export function configuredApiKey(kind: KeyKind): string {
  const key = typeof window !== 'undefined' ? window.USER_ACTIVITY_CONFIG?.apiKeys?.[kind] : undefined;
  return typeof key === 'string' ? key : '';
}

/** The key entered in this browser, '' when none. */
export function enteredApiKey(kind: KeyKind): string {
  return readStored(kind);
}

/** The key sent: the one entered here, else the configured one. */
export function getApiKey(kind: KeyKind): string {
  return enteredApiKey(kind) || configuredApiKey(kind);
}

export function setApiKey(kind: KeyKind, key: string): void {
  writeStored(kind, key);
}

export class ApiError extends Error {
  constructor(
    public readonly status: number,
    public readonly title: string,
    public readonly detail: string,
    public readonly field: string | null = null,
    public readonly requestId: string | null = null,
    public readonly retryAfter: number | null = null,
  ) {
    super(detail || title);
    this.name = 'ApiError';
  }

  /** One line for a banner: "Bad request: Field "from" must ...". */
  get summary(): string {
    const head = this.title || (this.status ? `HTTP ${this.status}` : 'Error');
    let text = this.detail && this.detail !== head ? `${head}: ${this.detail}` : head;
    if (this.retryAfter != null) text += ` Try again in ${this.retryAfter} s.`;
    return text;
  }
}

export function apiUrl(path: string, params?: Record<string, string | undefined>): string {
  const url = new URL(apiBaseUrl() + path);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== '') url.searchParams.set(k, v);
    }
  }
  return url.toString();
}

function headers(accept: string, extra?: Record<string, string>, kind: KeyKind = 'read'): Record<string, string> {
  const h: Record<string, string> = { Accept: accept, ...extra };
  const key = getApiKey(kind);
  if (key) h.Authorization = `Bearer ${key}`;
  return h;
}

/*
 * Server rules that name a setting (future_margin, max_metadata_bytes, ...)
 * say exactly what the limit is but not, in plain words, what went wrong:
 * such a detail gets a sentence in front.  The setting's own words stay,
 * for whoever runs the server.
 */
const SETTING_SENTENCES: Array<[RegExp, string]> = [
  [/user_activity\.future_margin/, 'That time is too far in the future for the server.'],
  [/user_activity\.max_metadata_bytes/, 'The metadata is too large for the server.'],
  [/user_activity\.max_batch_size/, 'Too many events in one request for the server.'],
  [/\buser_activity\.[a-z_]+|\bHTTP_[A-Z_]+\b/, "The request goes beyond a limit set in the server's settings."],
];

export function plainDetail(detail: string): string {
  const hit = SETTING_SENTENCES.find(([re]) => re.test(detail));
  return hit ? `${hit[1]} ${detail}` : detail;
}

/** Turns a failed response into an ApiError, reading a problem document
 * (or the original service's {"error", "details"}) when there is one. */
export async function errorFromResponse(res: Response): Promise<ApiError> {
  let body: Record<string, unknown> = {};
  const type = res.headers.get('Content-Type') ?? '';
  if (type.includes('json')) {
    try {
      body = (await res.json()) as Record<string, unknown>;
    } catch {
      body = {};
    }
  }
  const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v));
  const retry = res.headers.get('Retry-After');
  let detail = plainDetail(str(body.detail) || str(body.details));
  if (res.status === 401) detail += ' Enter the API key under "Connection" at the top of the page.';
  return new ApiError(
    res.status,
    str(body.title) || str(body.error) || res.statusText || `HTTP ${res.status}`,
    detail.trim(),
    str(body.field) || null,
    str(body.request_id) || res.headers.get('X-Request-Id') || null,
    retry && /^\d+$/.test(retry) ? Number(retry) : null,
  );
}

async function send(url: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (e) {
    if (e instanceof DOMException && e.name === 'AbortError') throw e;
    throw new ApiError(0, 'Cannot reach the API', `No answer from ${apiBaseUrl()} (${(e as Error).message}).`);
  }
  if (!res.ok) throw await errorFromResponse(res);
  return res;
}

async function getJson<T>(url: string, signal?: AbortSignal): Promise<T> {
  const res = await send(url, { headers: headers('application/json'), signal });
  return (await res.json()) as T;
}

/** POST /api/event with a body already serialised (user ids are sent as
 * written, so ids beyond 2^53 keep every digit). */
export async function recordEvent(body: string): Promise<StoredEvent> {
  const res = await send(apiUrl('/api/event'), {
    method: 'POST',
    headers: headers('application/json', { 'Content-Type': 'application/json' }, 'write'),
    body,
  });
  return (await res.json()) as StoredEvent;
}

export interface SearchParams {
  user_id: string;
  from: string;
  to: string;
  action?: string;
  action_from?: string;
  action_to?: string;
  /** A JSON object: events whose metadata contains it. */
  metadata?: string;
  limit?: string;
  cursor?: string;
}

export function searchUrl(p: SearchParams): string {
  return apiUrl('/api/events', { ...p });
}

/** The URL of rel="next" in a Link header, resolved against the API. */
export function nextLink(link: string | null): string | null {
  if (!link) return null;
  for (const part of link.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>(.*)$/.exec(part);
    if (m && /;\s*rel="?([^";]*\s)?next(\s[^";]*)?"?\s*(;|$)/i.test(m[2])) {
      return new URL(m[1], apiBaseUrl() + '/api/events').toString();
    }
  }
  return null;
}

export interface EventPage {
  events: StoredEvent[];
  next: string | null;
}

/** One page of GET /api/events; url is a searchUrl or a next link. */
export async function fetchEventPage(url: string, signal?: AbortSignal): Promise<EventPage> {
  const res = await send(url, { headers: headers('application/json'), signal });
  const events = (await res.json()) as StoredEvent[];
  return { events, next: nextLink(res.headers.get('Link')) };
}

export type ExportFormat = 'csv' | 'ndjson';

/** Every matching event through the streaming export (Accept: text/csv or
 * application/x-ndjson), read chunk by chunk; onProgress gets bytes so far. */
export async function exportEvents(
  p: SearchParams,
  format: ExportFormat,
  onProgress: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<Blob> {
  const { limit: _limit, cursor: _cursor, ...rest } = p;
  void _limit;
  void _cursor;
  const accept = format === 'csv' ? 'text/csv' : 'application/x-ndjson';
  const res = await send(apiUrl('/api/events', { ...rest }), { headers: headers(accept), signal });
  const chunks: BlobPart[] = [];
  let bytes = 0;
  if (res.body) {
    const reader = res.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value as Uint8Array<ArrayBuffer>);
      bytes += value.byteLength;
      onProgress(bytes);
    }
  } else {
    const buf = await res.arrayBuffer();
    chunks.push(buf);
    onProgress(buf.byteLength);
  }
  return new Blob(chunks, { type: accept });
}

export function userCounts(userId: string, from: string, to: string, signal?: AbortSignal): Promise<UserCounts> {
  return getJson(apiUrl(`/api/users/${encodeURIComponent(userId)}/counts`, { from, to }), signal);
}

export function topUsers(from: string, to: string, limit: string, signal?: AbortSignal): Promise<TopUser[]> {
  return getJson(apiUrl('/api/counts/top', { from, to, limit }), signal);
}

/** When counting is stale: as the CountingStale alert says (prometheus/
 * rules), no success for twice the schedule's longest interval, or for
 * STALE_FALLBACK_SECONDS when there is no schedule to go by. */
export const STALE_FALLBACK_SECONDS = 8 * 3600;

export function countingStale(s: CountingStatus): boolean {
  if (s.seconds_since_last_success == null) return false;
  const limit = s.expected_interval_seconds != null ? 2 * s.expected_interval_seconds : STALE_FALLBACK_SECONDS;
  return s.seconds_since_last_success > limit;
}

/** How fresh the counts are: GET /api/counting/status (read key). */
export function countingStatus(signal?: AbortSignal): Promise<CountingStatus> {
  return getJson(apiUrl('/api/counting/status'), signal);
}

/** What "Test connection" found: whether the API answers and is ready
 * (GET /readyz, no key), and whether it lets this page read
 * (GET /api/counting/status with the read key). */
export interface ConnectionReport {
  ok: boolean;
  lines: string[];
}

export async function testConnection(base: string = apiBaseUrl()): Promise<ConnectionReport> {
  const lines: string[] = [];
  let res: Response;
  try {
    res = await fetch(`${base}/readyz`, { headers: { Accept: 'application/json' } });
  } catch (e) {
    return { ok: false, lines: [`No answer from ${base} (${(e as Error).message}).`] };
  }
  if (res.status === 503) {
    const err = await errorFromResponse(res);
    return { ok: false, lines: [`The API answers, but is not ready: ${err.detail || err.title}`] };
  }
  if (!res.ok) {
    return { ok: false, lines: [`Something answers at ${base}, but not as this API does (HTTP ${res.status} for /readyz).`] };
  }
  lines.push('The API and its database answer.');
  const key = getApiKey('read');
  try {
    const r = await fetch(`${base}/api/counting/status`, { headers: headers('application/json') });
    if (r.ok) lines.push(key ? 'The read key is accepted.' : 'Reading needs no key here.');
    else if (r.status === 401 || r.status === 403)
      return { ok: false, lines: [...lines, key ? 'The read key is refused.' : 'The API asks for a read key.'] };
    else lines.push(`Reading answered HTTP ${r.status}.`);
  } catch (e) {
    return { ok: false, lines: [...lines, `Reading failed: ${(e as Error).message}.`] };
  }
  lines.push('The write key is checked when you record.');
  return { ok: true, lines };
}

/*
 * Activity over time and active users (GET /api/users/{id}/activity,
 * GET /api/active-users): counts per hour, day, week or month in a time
 * zone, every bucket present (zeros included), starts given with that
 * zone's offset.
 */
export const BUCKETS = ['hour', 'day', 'week', 'month'] as const;
export type Bucket = (typeof BUCKETS)[number];
export type TimeBasis = 'acted' | 'recorded';

export interface ActivityBucket {
  start: string;
  created: number;
  updated: number;
  deleted: number;
  viewed: number;
  total: number;
}

export interface UserActivity {
  userId: number;
  from: string;
  to: string;
  bucket: Bucket;
  by: TimeBasis;
  tz: string;
  buckets: ActivityBucket[];
}

export interface ActiveUsers {
  from: string;
  to: string;
  bucket: Bucket;
  action: Action | null;
  tz: string;
  buckets: Array<{ start: string; users: number }>;
}

export function userActivity(
  userId: string,
  p: { from: string; to: string; bucket: Bucket; by: TimeBasis; tz: string },
  signal?: AbortSignal,
): Promise<UserActivity> {
  return getJson(apiUrl(`/api/users/${encodeURIComponent(userId)}/activity`, { ...p }), signal);
}

export function activeUsers(
  p: { from: string; to: string; bucket: Bucket; action?: string; tz: string },
  signal?: AbortSignal,
): Promise<ActiveUsers> {
  return getJson(apiUrl('/api/active-users', { ...p }), signal);
}

/** What the API in use offers beyond the original's endpoints, read from
 * its OpenAPI description (GET /api/openapi.json, no key): a page may be
 * newer than the API it is pointed at, and then leaves out what it cannot
 * ask for rather than show errors. */
export interface Capabilities {
  activity: boolean;
  activeUsers: boolean;
}

const NONE: Capabilities = { activity: false, activeUsers: false };
const capabilityCache = new Map<string, Promise<Capabilities>>();

export function apiCapabilities(): Promise<Capabilities> {
  const base = apiBaseUrl();
  let p = capabilityCache.get(base);
  if (!p) {
    p = (async () => {
      try {
        const res = await fetch(`${base}/api/openapi.json`, { headers: { Accept: 'application/json' } });
        if (!res.ok) return NONE;
        const doc = (await res.json()) as { paths?: Record<string, Record<string, unknown>> };
        const paths = doc.paths ?? {};
        return {
          activity: Boolean(paths['/api/users/{id}/activity']?.get),
          activeUsers: Boolean(paths['/api/active-users']?.get),
        };
      } catch {
        return NONE;
      }
    })();
    capabilityCache.set(base, p);
  }
  return p;
}

/** Forgets what was learnt of the APIs (tests, a changed address). */
export function forgetCapabilities(): void {
  capabilityCache.clear();
}
