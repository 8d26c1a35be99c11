// A scripted fetch for component tests: each route answers what the test
// says, and every request is kept for assertions; and the API's answers
// that several tests reply with.  (The end-to-end tests run the page
// against the real API instead.)
import { vi } from 'vitest';
import type { ActiveUsers, UserActivity } from '../api';

export interface Call {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body: string | null;
}

type Reply = { status?: number; body?: unknown; headers?: Record<string, string>; text?: string } | Error;
type Handler = (call: Call) => Reply | Promise<Reply>;

export function mockFetch(routes: Array<[string | RegExp, Handler]>) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(String(input));
    const call: Call = {
      url,
      method: init?.method ?? 'GET',
      headers: (init?.headers as Record<string, string>) ?? {},
      body: (init?.body as string) ?? null,
    };
    // The page reads the API's OpenAPI description once to learn what it
    // offers (api.ts apiCapabilities); that is no call a test asserts on.
    if (url.pathname !== '/api/openapi.json') calls.push(call);
    const route = routes.find(([p]) => (typeof p === 'string' ? url.pathname === p : p.test(url.pathname)));
    if (!route) return new Response('{"title":"Not Found","status":404}', { status: 404 });
    const reply = await route[1](call);
    if (reply instanceof Error) throw reply;
    const status = reply.status ?? 200;
    const isProblem = status >= 400;
    return new Response(reply.text ?? JSON.stringify(reply.body ?? null), {
      status,
      headers: {
        'Content-Type': isProblem ? 'application/problem+json' : 'application/json',
        ...reply.headers,
      },
    });
  });
  vi.stubGlobal('fetch', fn);
  return calls;
}

export function problem(status: number, title: string, detail: string, field?: string) {
  return { status, body: { type: 'about:blank', title, status, detail, ...(field ? { field } : {}) } };
}

export function event(id: number, extra: Record<string, unknown> = {}) {
  return {
    id,
    user_id: 6,
    event_action_timestamp: '2025-10-10T18:30:00Z',
    action: 'viewed',
    metadata: { ip: '192.168.1.10' },
    event_id: null,
    recorded_at: '2025-10-10T18:31:00.5Z',
    ...extra,
  };
}

// GET /api/users/6/activity?bucket=day&by=acted&tz=Europe/Berlin over three
// days around the end of summer time (the 25-hour day of 2026-10-25).
export const USER_ACTIVITY: UserActivity = {
  userId: 6,
  from: '2026-10-24T00:00:00+02:00',
  to: '2026-10-27T00:00:00+01:00',
  bucket: 'day',
  by: 'acted',
  tz: 'Europe/Berlin',
  buckets: [
    { start: '2026-10-24T00:00:00+02:00', created: 1, updated: 0, deleted: 0, viewed: 3, total: 4 },
    { start: '2026-10-25T00:00:00+02:00', created: 0, updated: 0, deleted: 0, viewed: 0, total: 0 },
    { start: '2026-10-26T00:00:00+01:00', created: 2, updated: 1, deleted: 1, viewed: 0, total: 4 },
  ],
};

// GET /api/active-users?bucket=day&action=viewed&tz=UTC over three days.
export const ACTIVE_USERS: ActiveUsers = {
  from: '2026-11-01T00:00:00Z',
  to: '2026-11-04T00:00:00Z',
  bucket: 'day',
  action: 'viewed',
  tz: 'UTC',
  buckets: [
    { start: '2026-11-01T00:00:00+00:00', users: 120 },
    { start: '2026-11-02T00:00:00+00:00', users: 0 },
    { start: '2026-11-03T00:00:00+00:00', users: 123 },
  ],
};
