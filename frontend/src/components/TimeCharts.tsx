// TimeCharts.tsx: the charts over time of the Activity view, in the
// conventions of the page (chartKit.tsx): a user's activity per bucket,
// stacked by action with each bucket's total on top, and the active users
// per bucket (DAU, WAU, MAU).  Each has its numbers in a table too.
import { ACTIONS, type ActiveUsers, type Bucket, type UserActivity } from '../api';
import { ACTION_SERIES, actionColumns, BarsFigure, type Column } from './chartKit';

/** A bucket's start as its label, read from the start as the API gives it
 * (in the zone asked for, with its offset): "2026-11-01" for a day,
 * "11-01 14:00" for an hour, "2026-11" for a month, "from 2026-10-26" for a
 * week. */
export function bucketLabel(start: string, bucket: Bucket): string {
  switch (bucket) {
    case 'hour':
      return `${start.slice(5, 10)} ${start.slice(11, 16)}`;
    case 'day':
      return start.slice(0, 10);
    case 'week':
      return `from ${start.slice(0, 10)}`;
    case 'month':
      return start.slice(0, 7);
  }
}

/** The same, in words, for the readout and the tables. */
export function bucketTitle(start: string, bucket: Bucket, tz: string): string {
  switch (bucket) {
    case 'hour':
      return `${start.slice(0, 10)} ${start.slice(11, 16)}–${String((Number(start.slice(11, 13)) + 1) % 24).padStart(2, '0')}:00 (${tz})`;
    case 'day':
      return `${start.slice(0, 10)} (${tz})`;
    case 'week':
      return `The week from ${start.slice(0, 10)} (${tz})`;
    case 'month':
      return `${start.slice(0, 7)} (${tz})`;
  }
}

const PLURAL: Record<Bucket, string> = { hour: 'hour', day: 'day', week: 'week', month: 'month' };

const capitalised = (s: string) => s[0].toUpperCase() + s.slice(1);

/** The buckets of an answer as the chart's rows: each labelled and titled. */
function bucketRows<B extends { start: string }>(data: { bucket: Bucket; tz: string; buckets: B[] }) {
  return data.buckets.map((b) => ({
    ...b,
    label: bucketLabel(b.start, data.bucket),
    title: bucketTitle(b.start, data.bucket, data.tz),
  }));
}

/** The table's first column: the bucket, in words. */
function bucketColumn<R extends { start: string; title: string }>(bucket: Bucket): Column<R> {
  return { head: capitalised(bucket), cell: (r) => <time dateTime={r.start}>{r.title}</time> };
}

/** What the charts over time share: a bar per bucket, known by its start. */
const OVER_TIME = { rowsAre: 'buckets', maxBarSize: 56, rowKey: (r: { start: string }) => r.start };

export function ActivityChart({ data }: { data: UserActivity }) {
  const rows = bucketRows(data);
  type Row = (typeof rows)[number];
  const total = data.buckets.reduce((n, b) => n + b.total, 0);
  return (
    <BarsFigure
      {...OVER_TIME}
      rows={rows}
      lead={
        <>
          {total} events by the time users {data.by === 'acted' ? 'acted' : 'were recorded'}, per {PLURAL[data.bucket]}{' '}
          in {data.tz}:{' '}
          {ACTIONS.map((a) => `${data.buckets.reduce((n, b) => n + b[a], 0)} ${a}`).join(', ')}
        </>
      }
      title={`Events per ${data.bucket}, stacked by action`}
      height={320}
      series={ACTION_SERIES}
      stackId="actions"
      totals="total"
      tableName="Activity"
      columns={[bucketColumn<Row>(data.bucket), { head: 'Total', cell: (r) => r.total, num: true }, ...actionColumns<Row>()]}
    />
  );
}

const ACTIVE_NAME: Record<Bucket, string> = {
  hour: 'hourly active users',
  day: 'daily active users (DAU)',
  week: 'weekly active users (WAU)',
  month: 'monthly active users (MAU)',
};

export function ActiveUsersChart({ data }: { data: ActiveUsers }) {
  const rows = bucketRows(data);
  type Row = (typeof rows)[number];
  const peak = rows.reduce((m, r) => Math.max(m, r.users), 0);
  return (
    <BarsFigure
      {...OVER_TIME}
      rows={rows}
      lead={
        <>
          {capitalised(ACTIVE_NAME[data.bucket])}
          {data.action ? `, users with a "${data.action}" event` : ''}, in {data.tz}: at most {peak} in one {data.bucket}.
        </>
      }
      title={`Active users per ${data.bucket}`}
      height={280}
      series={[{ key: 'users', name: 'active users', fill: '#3d4f7c' }]}
      stackId="users"
      totals="users"
      tableName="Active users"
      columns={[bucketColumn<Row>(data.bucket), { head: 'Active users', cell: (r) => r.users, num: true }]}
    />
  );
}
