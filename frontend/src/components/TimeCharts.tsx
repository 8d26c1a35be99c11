// TimeCharts.tsx: the charts over time of the Activity view, in the
// conventions of the page (chartKit.tsx): a user's activity per bucket,
// stacked by action with each bucket's total on top, and the active users
// per bucket (DAU, WAU, MAU).  Each has its numbers in a table too.
import { Bar, BarChart, CartesianGrid, LabelList, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ACTIONS, type ActiveUsers, type Bucket, type UserActivity } from '../api';
import { ACTION_COLOURS, axisProps, byAction, ChartReadout, useReadout } from './chartKit';

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

/** Totals on the bars while there is room for them. */
const TOTALS_UP_TO = 31;

/** A bar's total written above it: an invisible sliver stacked on top,
 * labelled with the total, so that a bucket whose top action is 0, or
 * which is empty, gets its number too (Recharts labels no empty bar). */
function totalsCap(stackId: string, key: string) {
  return (
    <Bar
      dataKey={() => CAP}
      stackId={stackId}
      fill="transparent"
      legendType="none"
      tooltipType="none"
      maxBarSize={56}
      isAnimationActive={false}
    >
      <LabelList dataKey={key} position="top" fontSize={11} fill="#1c2430" />
    </Bar>
  );
}
const CAP = 1e-6;

export function ActivityChart({ data }: { data: UserActivity }) {
  const readout = useReadout();
  const rows = data.buckets.map((b) => ({
    ...b,
    label: bucketLabel(b.start, data.bucket),
    title: bucketTitle(b.start, data.bucket, data.tz),
  }));
  const total = data.buckets.reduce((n, b) => n + b.total, 0);
  return (
    <figure className="chart">
      <p className="totals">
        {total} events by the time users {data.by === 'acted' ? 'acted' : 'were recorded'}, per {PLURAL[data.bucket]}{' '}
        in {data.tz}:{' '}
        {ACTIONS.map((a) => `${data.buckets.reduce((n, b) => n + b[a], 0)} ${a}`).join(', ')}
      </p>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={320} initialDimension={{ width: 640, height: 320 }}>
          <BarChart
            data={rows}
            margin={{ top: 20, right: 12, bottom: 8, left: 0 }}
            title={`Events per ${data.bucket}, stacked by action`}
            desc="Use the arrow keys to move between buckets; the table below has the same numbers."
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" {...axisProps(rows.length)} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={40} />
            <Tooltip portal={readout.node} itemSorter={byAction} labelFormatter={(_, p) => p?.[0]?.payload?.title ?? ''} />
            <Legend itemSorter={null} />
            {ACTIONS.map((a) => (
              <Bar key={a} dataKey={a} name={a} stackId="actions" fill={ACTION_COLOURS[a]} maxBarSize={56} isAnimationActive={false} />
            ))}
            {rows.length <= TOTALS_UP_TO ? totalsCap('actions', 'total') : null}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ChartReadout readout={readout} />
      <figcaption>
        <details>
          <summary>Activity as a table</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{data.bucket[0].toUpperCase() + data.bucket.slice(1)}</th>
                  <th scope="col" className="num">
                    Total
                  </th>
                  {ACTIONS.map((a) => (
                    <th key={a} scope="col" className="num">
                      {a}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.start}>
                    <td>
                      <time dateTime={r.start}>{r.title}</time>
                    </td>
                    <td className="num">{r.total}</td>
                    {ACTIONS.map((a) => (
                      <td key={a} className="num">
                        {r[a]}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}

const ACTIVE_NAME: Record<Bucket, string> = {
  hour: 'hourly active users',
  day: 'daily active users (DAU)',
  week: 'weekly active users (WAU)',
  month: 'monthly active users (MAU)',
};

export function ActiveUsersChart({ data }: { data: ActiveUsers }) {
  const readout = useReadout();
  const rows = data.buckets.map((b) => ({
    ...b,
    label: bucketLabel(b.start, data.bucket),
    title: bucketTitle(b.start, data.bucket, data.tz),
  }));
  const peak = rows.reduce((m, r) => Math.max(m, r.users), 0);
  return (
    <figure className="chart">
      <p className="totals">
        {ACTIVE_NAME[data.bucket][0].toUpperCase() + ACTIVE_NAME[data.bucket].slice(1)}
        {data.action ? `, users with a "${data.action}" event` : ''}, in {data.tz}: at most {peak} in one {data.bucket}.
      </p>
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={280} initialDimension={{ width: 640, height: 280 }}>
          <BarChart
            data={rows}
            margin={{ top: 20, right: 12, bottom: 8, left: 0 }}
            title={`Active users per ${data.bucket}`}
            desc="Use the arrow keys to move between buckets; the table below has the same numbers."
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" {...axisProps(rows.length)} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={40} />
            <Tooltip portal={readout.node} labelFormatter={(_, p) => p?.[0]?.payload?.title ?? ''} />
            <Bar dataKey="users" name="active users" stackId="users" fill="#3d4f7c" maxBarSize={56} isAnimationActive={false} />
            {rows.length <= TOTALS_UP_TO ? totalsCap('users', 'users') : null}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ChartReadout readout={readout} />
      <figcaption>
        <details>
          <summary>Active users as a table</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">{data.bucket[0].toUpperCase() + data.bucket.slice(1)}</th>
                  <th scope="col" className="num">
                    Active users
                  </th>
                </tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.start}>
                    <td>
                      <time dateTime={r.start}>{r.title}</time>
                    </td>
                    <td className="num">{r.users}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </details>
      </figcaption>
    </figure>
  );
}
