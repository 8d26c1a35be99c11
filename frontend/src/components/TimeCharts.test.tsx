import { render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { ACTIVE_USERS, USER_ACTIVITY } from '../test/fetch';
import { ActiveUsersChart, ActivityChart, bucketLabel, bucketTitle } from './TimeCharts';

describe('bucket labels', () => {
  it('reads the bucket from its start as given, in the zone asked for', () => {
    expect(bucketLabel('2026-10-26T00:00:00+01:00', 'day')).toBe('2026-10-26');
    expect(bucketLabel('2026-10-25T02:00:00+01:00', 'hour')).toBe('10-25 02:00');
    expect(bucketLabel('2026-10-26T00:00:00+01:00', 'week')).toBe('from 2026-10-26');
    expect(bucketLabel('2026-10-01T00:00:00+02:00', 'month')).toBe('2026-10');
    expect(bucketTitle('2026-10-25T23:00:00+01:00', 'hour', 'Europe/Berlin')).toBe('2026-10-25 23:00–00:00 (Europe/Berlin)');
    expect(bucketTitle('2026-10-26T00:00:00+01:00', 'week', 'UTC')).toBe('The week from 2026-10-26 (UTC)');
  });
});

describe('ActivityChart', () => {
  it('stacks the actions per bucket, totals on top, every bucket kept, the numbers in a table', async () => {
    const { container } = render(<ActivityChart data={USER_ACTIVITY} />);
    expect(screen.getByText('8 events by the time users acted, per day in Europe/Berlin: 3 created, 1 updated, 1 deleted, 3 viewed')).toBeInTheDocument();
    await waitFor(() => expect(container.querySelector('.recharts-wrapper svg')).not.toBeNull());
    expect(container.querySelectorAll('.recharts-legend-item').length).toBe(4);
    // The totals above the bars: one label per bucket, the empty day too.
    await waitFor(() => expect(container.querySelectorAll('.recharts-label-list').length).toBe(1));
    expect([...container.querySelectorAll('.recharts-label-list text')].map((t) => t.textContent)).toEqual(['4', '0', '4']);
    const table = screen.getByText('Activity as a table').closest('details')!.querySelector('table')!;
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(4);
    expect(rows[2]).toHaveTextContent('2026-10-25 (Europe/Berlin)00000');
    expect(rows[3]).toHaveTextContent('2026-10-26 (Europe/Berlin)42110');
  });

  it('says when the buckets are by recorded time', () => {
    render(<ActivityChart data={{ ...USER_ACTIVITY, by: 'recorded', bucket: 'week', buckets: USER_ACTIVITY.buckets.slice(0, 1) }} />);
    expect(screen.getByText(/^4 events by the time users were recorded, per week in Europe\/Berlin/)).toBeInTheDocument();
  });
});

describe('ActiveUsersChart', () => {
  it('shows distinct users per bucket, named DAU/WAU/MAU, with the action', async () => {
    const { container, rerender } = render(<ActiveUsersChart data={ACTIVE_USERS} />);
    expect(screen.getByText('Daily active users (DAU), users with a "viewed" event, in UTC: at most 123 in one day.')).toBeInTheDocument();
    await waitFor(() => expect(container.querySelectorAll('.recharts-label-list text').length).toBe(3));
    const table = screen.getByText('Active users as a table').closest('details')!.querySelector('table')!;
    expect(within(table).getAllByRole('row')[3]).toHaveTextContent('2026-11-03 (UTC)123');
    rerender(<ActiveUsersChart data={{ ...ACTIVE_USERS, bucket: 'month', action: null, buckets: [{ start: '2026-11-01T00:00:00+00:00', users: 9 }] }} />);
    expect(screen.getByText('Monthly active users (MAU), in UTC: at most 9 in one month.')).toBeInTheDocument();
  });
});
