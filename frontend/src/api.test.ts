import { describe, expect, it, vi } from 'vitest';
import { ApiError, apiBaseUrl, countingStale, errorFromResponse, getApiKey, nextLink, normalizeBase, plainDetail, setApiKey } from './api';

describe('api base URL', () => {
  it('drops trailing slashes and the original page\'s trailing /api', () => {
    expect(normalizeBase('http://localhost:8080/api')).toBe('http://localhost:8080');
    expect(normalizeBase('http://localhost:8080/api/')).toBe('http://localhost:8080');
    expect(normalizeBase('https://example.org/activity/')).toBe('https://example.org/activity');
  });

  it('defaults to the page\'s origin and follows config.js', () => {
    expect(apiBaseUrl()).toBe(window.location.origin);
    window.USER_ACTIVITY_CONFIG = { apiBaseUrl: 'http://api.test:8080/api' };
    try {
      expect(apiBaseUrl()).toBe('http://api.test:8080');
    } finally {
      window.USER_ACTIVITY_CONFIG = {};
    }
  });
});

describe('api base URL at build time', () => {
  it('takes VITE_API_BASE_URL, else the original REACT_APP_API_BASE_URL', () => {
    vi.stubEnv('REACT_APP_API_BASE_URL', 'http://localhost:8080/api');
    expect(apiBaseUrl()).toBe('http://localhost:8080');
    vi.stubEnv('VITE_API_BASE_URL', 'http://api.example:9000/');
    expect(apiBaseUrl()).toBe('http://api.example:9000');
    vi.unstubAllEnvs();
    expect(apiBaseUrl()).toBe(window.location.origin);
  });
});

describe('api keys', () => {
  it('sends a key entered here, else the one config.js gives, else none', () => {
    expect(getApiKey('read')).toBe('');
    window.USER_ACTIVITY_CONFIG = { apiKeys: { read: 'given-read', write: 'given-write' } };
    try {
      expect(getApiKey('read')).toBe('given-read');
      expect(getApiKey('write')).toBe('given-write');
      setApiKey('read', 'entered');
      expect(getApiKey('read')).toBe('entered');
      setApiKey('read', '');
      expect(getApiKey('read')).toBe('given-read');
    } finally {
      window.USER_ACTIVITY_CONFIG = {};
    }
    expect(getApiKey('write')).toBe('');
  });
});

describe('nextLink', () => {
  it('finds rel="next" among links, relative or absolute', () => {
    const base = window.location.origin;
    expect(nextLink('</api/events?user_id=6&cursor=abc>; rel="next"')).toBe(`${base}/api/events?user_id=6&cursor=abc`);
    expect(nextLink('<http://x/api/events?cursor=1>; rel="prev", <http://x/api/events?cursor=2>; rel=next')).toBe(
      'http://x/api/events?cursor=2',
    );
    expect(nextLink('<http://x/a>; rel="prev"')).toBeNull();
    expect(nextLink(null)).toBeNull();
  });
});

describe('errorFromResponse', () => {
  it('reads an RFC 9457 problem with its field', async () => {
    const res = new Response(
      JSON.stringify({ title: 'Bad Request', status: 400, detail: 'Field "action" must be one of ...', field: 'action', request_id: 'r1' }),
      { status: 400, headers: { 'Content-Type': 'application/problem+json' } },
    );
    const e = await errorFromResponse(res);
    expect(e).toBeInstanceOf(ApiError);
    expect(e).toMatchObject({ status: 400, field: 'action', requestId: 'r1' });
    expect(e.summary).toBe('Bad Request: Field "action" must be one of ...');
  });

  it('reads the original service\'s {"error", "details"} and Retry-After', async () => {
    const res = new Response(JSON.stringify({ error: 'Validation failed', details: 'UserID is required' }), {
      status: 503,
      headers: { 'Content-Type': 'application/json', 'Retry-After': '5' },
    });
    const e = await errorFromResponse(res);
    expect(e.summary).toBe('Validation failed: UserID is required Try again in 5 s.');
    expect(e.field).toBeNull();
  });

  it('copes with a body that is not JSON', async () => {
    const e = await errorFromResponse(new Response('oops', { status: 502, statusText: 'Bad Gateway' }));
    expect(e.summary).toBe('Bad Gateway');
  });
});

describe('counting status', () => {
  const base = {
    last_run_at: null, last_success_at: null, last_outcome: null, last_error: null, schedule: null,
    events_counted: null, position: null, next_run_at: null, pg_cron: null,
  } as const;

  it('is stale after twice the expected interval, else after 8 h', () => {
    expect(countingStale({ ...base, seconds_since_last_success: 600, expected_interval_seconds: 300 })).toBe(false);
    expect(countingStale({ ...base, seconds_since_last_success: 601, expected_interval_seconds: 300 })).toBe(true);
    expect(countingStale({ ...base, seconds_since_last_success: 8 * 3600, expected_interval_seconds: null })).toBe(false);
    expect(countingStale({ ...base, seconds_since_last_success: 8 * 3600 + 1, expected_interval_seconds: null })).toBe(true);
    expect(countingStale({ ...base, seconds_since_last_success: null, expected_interval_seconds: 60 })).toBe(false);
  });

  it('comes from GET /api/counting/status with the read key', async () => {
    const { countingStatus, setApiKey } = await import('./api');
    const seen: Array<[string, string | undefined]> = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      seen.push([new URL(url).pathname, (init.headers as Record<string, string>).Authorization]);
      return new Response('{"last_outcome":"counted"}', { status: 200, headers: { 'Content-Type': 'application/json' } });
    });
    setApiKey('read', 'r-key');
    try {
      expect((await countingStatus()).last_outcome).toBe('counted');
    } finally {
      setApiKey('read', '');
    }
    expect(seen).toEqual([['/api/counting/status', 'Bearer r-key']]);
  });
});

describe('API keys', () => {
  it('sends the read key on queries and the write key on records', async () => {
    const { recordEvent, fetchEventPage, setApiKey } = await import('./api');
    const seen: Array<[string, string | undefined]> = [];
    vi.stubGlobal('fetch', async (url: string, init: RequestInit) => {
      seen.push([new URL(url).pathname, (init.headers as Record<string, string>).Authorization]);
      return new Response(url.includes('/api/event?') || init.method === 'POST' ? '{"id":1}' : '[]', {
        status: init.method === 'POST' ? 201 : 200,
        headers: { 'Content-Type': 'application/json' },
      });
    });
    await fetchEventPage('http://localhost:3000/api/events?user_id=1');
    setApiKey('read', 'r-key');
    setApiKey('write', 'w-key');
    await fetchEventPage('http://localhost:3000/api/events?user_id=1');
    await recordEvent('{}');
    expect(seen).toEqual([
      ['/api/events', undefined],
      ['/api/events', 'Bearer r-key'],
      ['/api/event', 'Bearer w-key'],
    ]);
  });

  it('says where to enter a key when the API wants one', async () => {
    const res = new Response(JSON.stringify({ title: 'Unauthorized', status: 401, detail: 'missing or wrong API key' }), {
      status: 401,
      headers: { 'Content-Type': 'application/problem+json' },
    });
    expect((await errorFromResponse(res)).summary).toBe(
      'Unauthorized: missing or wrong API key Enter the API key under "Connection" at the top of the page.',
    );
  });
});

describe('plainDetail', () => {
  it('puts a plain sentence in front of a rule that names a setting', () => {
    expect(
      plainDetail('Field "event_action_timestamp" must not be more than 00:05:00 in the future (user_activity.future_margin).'),
    ).toBe(
      'That time is too far in the future for the server. Field "event_action_timestamp" must not be more than 00:05:00 in the future (user_activity.future_margin).',
    );
    expect(plainDetail('The batch has 2 events; the limit is 1 (user_activity.max_batch_size).')).toMatch(
      /^Too many events in one request for the server\. /,
    );
    expect(plainDetail('over HTTP_MAX_BODY_BYTES')).toMatch(/^The request goes beyond a limit set in the server's settings\. /);
    expect(plainDetail('Field "action" must be one of created, updated, deleted, viewed.')).toBe(
      'Field "action" must be one of created, updated, deleted, viewed.',
    );
  });
});
