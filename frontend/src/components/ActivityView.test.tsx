import { render, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { mockFetch, problem } from '../test/fetch';
import { ActivityView } from './ActivityView';

// The shim's /metrics before the first count, and after one.
const neverRan = [
  '# TYPE user_activity_tracking_db_up gauge',
  'user_activity_tracking_db_up 1',
  '# TYPE user_activity_tracking_counting_last_success_timestamp_seconds gauge',
  '# TYPE user_activity_tracking_counting_seconds_since_last_success gauge',
  '# TYPE user_activity_tracking_counting_last_run_success gauge',
  '',
].join('\n');

const ran = [
  '# TYPE user_activity_tracking_counting_last_success_timestamp_seconds gauge',
  'user_activity_tracking_counting_last_success_timestamp_seconds 1760112000.250',
  '# TYPE user_activity_tracking_counting_seconds_since_last_success gauge',
  'user_activity_tracking_counting_seconds_since_last_success 310.000',
  '# TYPE user_activity_tracking_counting_last_run_success gauge',
  'user_activity_tracking_counting_last_run_success 1',
  'user_activity_tracking_build_info{version="1.0",mode="worker"} 1',
  '',
].join('\n');

const metrics = (text: string) => () => ({ text, headers: { 'Content-Type': 'text/plain; version=0.0.4' } });

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
      ['/metrics', metrics(neverRan)],
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
    mockFetch([['/metrics', metrics(ran)]]);
    render(<ActivityView active />);
    const status = await screen.findByRole('region', { name: 'Counting' });
    expect(await within(status).findByText('succeeded')).toBeInTheDocument();
    expect(status).toHaveTextContent('Last successful count2025-10-10 18:00:00.250 (5 min ago');
  });

  it('shows the counting status error without breaking the view', async () => {
    mockFetch([
      ['/metrics', () => problem(503, 'Service Unavailable', 'database unavailable')],
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
      ['/metrics', metrics(ran)],
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
    expect(within(table).getAllByRole('row')[2]).toHaveTextContent('2025-10-10 14:00:00 – 2025-10-10 18:00:0070313');
    const topTable = screen.getByRole('region', { name: 'Top users' });
    expect(within(topTable).getAllByRole('row')).toHaveLength(3);
    const countsCall = calls.find((c) => c.url.pathname === '/api/users/6/counts')!;
    expect(countsCall.url.searchParams.get('from')).toMatch(/[+-]\d\d:\d\d$/);
    const topCall = calls.find((c) => c.url.pathname === '/api/counts/top')!;
    expect(topCall.url.searchParams.get('limit')).toBe('10');
  });

  it('loads a top user on click, and says when there is nothing counted', async () => {
    const calls = mockFetch([
      ['/metrics', metrics(ran)],
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
      ['/metrics', metrics(ran)],
      ['/api/counts/top', () => problem(400, 'Bad Request', 'Field "to" must be after "from".', 'to')],
    ]);
    const user = userEvent.setup();
    render(<ActivityView active />);
    await user.click(screen.getByRole('button', { name: 'Show activity' }));
    expect(await screen.findByText('Field "to" must be after "from".')).toBeInTheDocument();
    expect(screen.getByLabelText('Periods to')).toHaveAccessibleDescription('Field "to" must be after "from".');
  });
});
