import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { ACTIVE_USERS, mockFetch, problem, USER_ACTIVITY } from '../test/fetch';
import { ZoneProvider } from '../zone';
import { ActivityView } from './ActivityView';

// GET /api/counting/status before the first count (pg_cron without a job),
// and after one, with the job's schedule.
const neverRan = {
  last_run_at: null,
  last_success_at: null,
  last_outcome: null,
  last_error: null,
  seconds_since_last_success: null,
  schedule: null,
  events_counted: null,
  position: null,
  expected_interval_seconds: null,
  next_run_at: null,
  pg_cron: { timezone: 'GMT', job: null },
};

const ran = {
  ...neverRan,
  last_run_at: '2025-10-10T16:00:00.25Z',
  last_success_at: '2025-10-10T16:00:00.25Z',
  last_outcome: 'counted',
  seconds_since_last_success: 310,
  schedule: '0 */4 * * *',
  events_counted: 42,
  position: { last_id: 1234, last_period_end: '2025-10-10T16:00:00.2Z', updated_at: '2025-10-10T16:00:00.2Z' },
  expected_interval_seconds: 14400,
  next_run_at: '2025-10-10T20:00:00Z',
  pg_cron: {
    timezone: 'GMT',
    job: {
      name: 'user_activity_count',
      schedule: '0 */4 * * *',
      active: true,
      last_run: { status: 'succeeded', started_at: '2025-10-10T16:00:00Z', ended_at: '2025-10-10T16:00:00.3Z', message: 'CALL' },
    },
  },
};

const reply = (body: unknown) => () => ({ body });

const counts = {
  user_id: 6,
  from: '2025-10-09T00:00:00Z',
  to: '2025-10-11T00:00:00Z',
  periods: [
    { period_start: '2025-10-10T08:00:00Z', period_end: '2025-10-10T12:00:00Z', event_count: 5, created: 2, updated: 1, deleted: 0, viewed: 2 },
    { period_start: '2025-10-10T12:00:00Z', period_end: '2025-10-10T16:00:00Z', event_count: 7, created: 0, updated: 3, deleted: 1, viewed: 3 },
  ],
  total: { event_count: 12, created: 2, updated: 4, deleted: 1, viewed: 5 },
};

const top = [
  { user_id: 6, event_count: 12, created: 2, updated: 4, deleted: 1, viewed: 5 },
  { user_id: 9, event_count: 3, created: 3, updated: 0, deleted: 0, viewed: 0 },
];

describe('ActivityView', () => {
  it('says when the counting job has not run yet, and lists no top users', async () => {
    const calls = mockFetch([
      ['/api/counting/status', reply(neverRan)],
      ['/api/counts/top', () => ({ body: [] })],
    ]);
    render(<ActivityView active />);
    expect(await screen.findByText('The counting job has not run yet.')).toBeInTheDocument();
    // The first visit lists the top users of the last week by itself.
    expect(await screen.findByText('No counted activity in this range.')).toBeInTheDocument();
    const top = calls.find((c) => c.url.pathname === '/api/counts/top')!;
    const from = new Date(top.url.searchParams.get('from')!);
    const to = new Date(top.url.searchParams.get('to')!);
    expect(to.getTime() - from.getTime()).toBe(7 * 24 * 3600 * 1000);
  });

  it('loads nothing while hidden', async () => {
    const calls = mockFetch([]);
    render(<ActivityView active={false} />);
    await new Promise((r) => setTimeout(r, 50));
    expect(calls).toHaveLength(0);
  });

  it('shows when the last count ran', async () => {
    mockFetch([['/api/counting/status', reply(ran)]]);
    render(<ActivityView active />);
    const status = await screen.findByRole('region', { name: 'Counting' });
    expect(await within(status).findByText('counted')).toBeInTheDocument();
    // In words first, with the zone of every time, no milliseconds.
    expect(status).toHaveTextContent('Last counted at 2025-10-10 18:00:00 CEST (5 min ago');
    expect(status).toHaveTextContent('Counted every 4 hours; next at 2025-10-10 22:00:00 CEST.');
    expect(status).not.toHaveTextContent('.250');
    // The job's details behind a disclosure.
    const technical = within(status).getByText('Technical details').closest('details')!;
    expect(technical.open).toBe(false);
    expect(technical).toHaveTextContent('Counted up toevent 1234, period ending 2025-10-10 18:00:00 CEST');
    expect(technical).toHaveTextContent("Schedule0 */4 * * * (pg_cron's zone: GMT), at most 4 hours between runs");
    expect(technical).toHaveTextContent('Last pg_cron runsucceeded, 2025-10-10 18:00:00 CEST');
    expect(within(status).queryByText('stale')).toBeNull();
  });

  it('marks the counts stale after twice the longest interval, or 8 h without a schedule', async () => {
    mockFetch([['/api/counting/status', reply({ ...ran, last_outcome: 'error', last_error: 'canceling statement due to statement timeout', seconds_since_last_success: 2 * 14400 + 1 })]]);
    const { unmount } = render(<ActivityView active />);
    let region = await screen.findByRole('region', { name: 'Counting' });
    expect(await within(region).findByText('stale')).toBeInTheDocument();
    expect(within(region).getByText('error')).toHaveClass('badge-bad');
    expect(region).toHaveTextContent('The last run failed: canceling statement due to statement timeout');
    unmount();
    mockFetch([['/api/counting/status', reply({ ...ran, schedule: null, expected_interval_seconds: null, next_run_at: null, pg_cron: null, seconds_since_last_success: 7 * 3600 })]]);
    const second = render(<ActivityView active />);
    region = await screen.findByRole('region', { name: 'Counting' });
    await within(region).findByText('counted');
    expect(within(region).queryByText('stale')).toBeNull();
    expect(region).toHaveTextContent('pg_cron is not installed: counting runs only when called');
    second.unmount();
    mockFetch([['/api/counting/status', reply({ ...ran, schedule: null, expected_interval_seconds: null, next_run_at: null, pg_cron: null, seconds_since_last_success: 8 * 3600 + 1 })]]);
    render(<ActivityView active />);
    region = await screen.findByRole('region', { name: 'Counting' });
    expect(await within(region).findByText('stale')).toBeInTheDocument();
  });

  it('shows a paused job', async () => {
    const paused = { ...ran, expected_interval_seconds: null, next_run_at: null, pg_cron: { timezone: 'GMT', job: { ...ran.pg_cron.job, active: false } } };
    mockFetch([['/api/counting/status', reply(paused)]]);
    render(<ActivityView active />);
    const region = await screen.findByRole('region', { name: 'Counting' });
    expect(await within(region).findByText('paused')).toBeInTheDocument();
    expect(region).not.toHaveTextContent('next at');
  });

  it('shows the counting status error without breaking the view', async () => {
    mockFetch([
      ['/api/counting/status', () => problem(503, 'Service Unavailable', 'database unavailable')],
      ['/api/counts/top', () => ({ body: [] })],
    ]);
    render(<ActivityView active />);
    expect(await screen.findByRole('alert')).toHaveTextContent(
      'Counting status unavailable: Service Unavailable: database unavailable',
    );
    expect(screen.getByRole('button', { name: 'Show activity' })).toBeEnabled();
  });

  it("charts a user's counts per period and lists the top users", async () => {
    const calls = mockFetch([
      ['/api/counting/status', reply(ran)],
      ['/api/users/6/counts', () => ({ body: counts })],
      ['/api/counts/top', () => ({ body: top })],
    ]);
    const user = userEvent.setup();
    const { container } = render(<ActivityView active />);
    await user.type(screen.getByLabelText('User id'), '6');
    await user.click(screen.getByRole('button', { name: 'Show activity' }));
    expect(await screen.findByRole('heading', { name: 'User 6: events per counting period' })).toBeInTheDocument();
    expect(screen.getByText('12 events: 2 created, 4 updated, 1 deleted, 5 viewed')).toBeInTheDocument();
    // The chart: one stacked bar per period for each action, drawn as SVG.
    await waitFor(() => expect(container.querySelector('.recharts-wrapper svg')).not.toBeNull());
    expect(container.querySelectorAll('.recharts-bar').length).toBe(4);
    // The same numbers as a table.
    const table = screen.getByText('Counts as a table').closest('details')!.querySelector('table')!;
    expect(within(table).getAllByRole('row')).toHaveLength(3);
    expect(within(table).getAllByRole('row')[2]).toHaveTextContent(
      '2025-10-10 14:00:00 CEST – 2025-10-10 18:00:00 CEST70313',
    );
    const topTable = screen.getByRole('region', { name: 'Top users' });
    expect(within(topTable).getAllByRole('row')).toHaveLength(3);
    const countsCall = calls.find((c) => c.url.pathname === '/api/users/6/counts')!;
    expect(countsCall.url.searchParams.get('from')).toMatch(/[+-]\d\d:\d\d$/);
    const topCall = calls.find((c) => c.url.pathname === '/api/counts/top')!;
    expect(topCall.url.searchParams.get('limit')).toBe('10');
  });

  it('loads a top user on click, and says when there is nothing counted', async () => {
    const calls = mockFetch([
      ['/api/counting/status', reply(ran)],
      ['/api/users/9/counts', () => ({ body: { ...counts, user_id: 9, periods: [], total: { event_count: 0, created: 0, updated: 0, deleted: 0, viewed: 0 } } })],
      ['/api/counts/top', () => ({ body: top })],
    ]);
    const user = userEvent.setup();
    render(<ActivityView active />);
    await user.click(screen.getByRole('button', { name: 'Show activity' }));
    expect(calls.some((c) => c.url.pathname.startsWith('/api/users/'))).toBe(false);
    await user.click(await screen.findByRole('button', { name: 'User 9' }));
    expect(await screen.findByText(/No counted activity for user 9 in this range/)).toBeInTheDocument();
    expect(screen.getByLabelText('User id')).toHaveValue('9');
  });

  it('puts a field error from the server next to the field', async () => {
    mockFetch([
      ['/api/counting/status', reply(ran)],
      ['/api/counts/top', () => problem(400, 'Bad Request', 'Field "to" must be after "from".', 'to')],
    ]);
    const user = userEvent.setup();
    render(<ActivityView active />);
    await user.click(screen.getByRole('button', { name: 'Show activity' }));
    expect(await screen.findByText('Field "to" must be after "from".')).toBeInTheDocument();
    expect(screen.getByLabelText('Periods to')).toHaveAccessibleDescription(
      expect.stringContaining('Field "to" must be after "from".'),
    );
  });

  describe('over time (GET /api/users/{id}/activity, GET /api/active-users)', () => {
    const openapi = {
      paths: {
        '/api/users/{id}/activity': { get: {} },
        '/api/active-users': { get: {} },
        '/api/events': { get: { parameters: [{ name: 'metadata' }] } },
      },
    };
    // What the API answers, by recorded time and in the zone asked for.
    const overTime = { ...USER_ACTIVITY, by: 'recorded' };
    const dau = { ...ACTIVE_USERS, tz: 'Europe/Berlin' };

    it("charts a user's activity per bucket and the active users, in the zone times are shown in", async () => {
      const calls = mockFetch([
        ['/api/openapi.json', reply(openapi)],
        ['/api/counting/status', reply(ran)],
        ['/api/users/6/counts', () => ({ body: counts })],
        ['/api/users/6/activity', () => ({ body: overTime })],
        ['/api/active-users', () => ({ body: dau })],
        ['/api/counts/top', () => ({ body: top })],
      ]);
      const user = userEvent.setup();
      render(<ActivityView active />);
      await user.type(screen.getByLabelText('User id'), '6');
      await user.selectOptions(await screen.findByLabelText('Buckets'), 'day');
      await user.click(screen.getByRole('radio', { name: 'they were recorded' }));
      await user.selectOptions(screen.getByLabelText('Active users: with the action'), 'viewed');
      await user.click(screen.getByRole('button', { name: 'Show activity' }));
      expect(await screen.findByRole('heading', { name: 'User 6: activity per day' })).toBeInTheDocument();
      expect(await screen.findByRole('heading', { name: 'Active users per day' })).toBeInTheDocument();
      expect(await screen.findByText(/^8 events by the time users were recorded, per day in Europe\/Berlin/)).toBeInTheDocument();
      expect(
        await screen.findByText('Daily active users (DAU), users with a "viewed" event, in Europe/Berlin: at most 123 in one day.'),
      ).toBeInTheDocument();
      const a = calls.find((c) => c.url.pathname === '/api/users/6/activity')!.url.searchParams;
      expect(a.get('bucket')).toBe('day');
      expect(a.get('by')).toBe('recorded');
      expect(a.get('tz')).toBe('Europe/Berlin');
      expect(a.get('from')).toMatch(/[+-]\d\d:\d\d$/);
      const d = calls.find((c) => c.url.pathname === '/api/active-users')!.url.searchParams;
      expect(d.get('action')).toBe('viewed');
      expect(d.get('tz')).toBe('Europe/Berlin');
      expect(window.location.hash).toMatch(/^#activity\?user=6&from=.*&by=recorded&active_action=viewed$/);
    });

    it('asks in UTC when times are shown in UTC, and shows a field error for a bucket', async () => {
      const calls = mockFetch([
        ['/api/openapi.json', reply(openapi)],
        ['/api/counting/status', reply(ran)],
        ['/api/counts/top', () => ({ body: top })],
        ['/api/active-users', () => problem(400, 'Bad Request', 'Parameter "bucket" must be one of hour, day, week, month.', 'bucket')],
      ]);
      const user = userEvent.setup();
      render(
        <ZoneProvider mode="utc">
          <ActivityView active params={new URLSearchParams('from=2025-10-09T00:00:00Z&to=2025-10-11T00:00:00Z&bucket=week')} />
        </ZoneProvider>,
      );
      const bucket = await screen.findByLabelText('Buckets');
      await waitFor(() => expect(bucket).toHaveAccessibleDescription('Parameter "bucket" must be one of hour, day, week, month.'));
      expect(bucket).toHaveValue('week');
      const d = calls.find((c) => c.url.pathname === '/api/active-users')!.url.searchParams;
      expect(d.get('tz')).toBe('UTC');
      expect(d.get('bucket')).toBe('week');
      expect(d.get('from')).toBe('2025-10-09T00:00:00Z');
      expect(screen.queryByRole('heading', { name: /^Active users per/ })).toBeNull();
      void user;
    });

    it('asks for no chart the API does not offer', async () => {
      const calls = mockFetch([
        ['/api/counting/status', reply(ran)],
        ['/api/users/6/counts', () => ({ body: counts })],
        ['/api/counts/top', () => ({ body: top })],
      ]);
      const user = userEvent.setup();
      render(<ActivityView active />);
      await user.type(screen.getByLabelText('User id'), '6');
      await user.click(screen.getByRole('button', { name: 'Show activity' }));
      await screen.findByRole('heading', { name: 'User 6: events per counting period' });
      expect(screen.queryByLabelText('Buckets')).toBeNull();
      expect(calls.some((c) => /activity|active-users/.test(c.url.pathname))).toBe(false);
    });
  });
});
