import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ACTIONS, type CountPeriod } from '../api';
import { formatTime } from '../time';
import { Time, useZone } from '../zone';
import { ACTION_COLOURS, axisProps, byAction, ChartReadout, useReadout } from './chartKit';

/** Stacked bars: one bar per counting period, one colour per action.  The
 * chart can be explored with the arrow keys (Recharts' accessibility layer);
 * the same numbers are in a table for screen readers. */
export function CountsChart({ periods }: { periods: CountPeriod[] }) {
  const zone = useZone();
  const readout = useReadout();
  // Periods end on the minute when pg_cron runs the count; show seconds
  // only when minutes would not tell them apart.
  const full = periods.map((p) => formatTime(p.period_end, zone));
  const minutes = full.map((t) => t.slice(0, 16));
  const precise = new Set(minutes).size < minutes.length;
  const data = periods.map((p, i) => ({
    ...p,
    label: (precise ? full[i].slice(5, 19) : minutes[i].slice(5)),
    title: `Period ending ${full[i]}`,
  }));
  return (
    <figure className="chart">
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={320} initialDimension={{ width: 640, height: 320 }}>
          <BarChart
            data={data}
            margin={{ top: 8, right: 12, bottom: 8, left: 0 }}
            title="Events per counting period, stacked by action"
            desc="Use the arrow keys to move between periods; the table below has the same numbers."
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" {...axisProps(data.length)} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={40} />
            <Tooltip portal={readout.node} itemSorter={byAction} labelFormatter={(_, p) => p?.[0]?.payload?.title ?? ''} />
            <Legend itemSorter={null} />
            {ACTIONS.map((a) => (
              <Bar key={a} dataKey={a} name={a} stackId="actions" fill={ACTION_COLOURS[a]} maxBarSize={72} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <ChartReadout readout={readout} />
      <figcaption>
        <details>
          <summary>Counts as a table</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Period</th>
                  <th scope="col" className="num">
                    Events
                  </th>
                  {ACTIONS.map((a) => (
                    <th key={a} scope="col" className="num">
                      {a}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {periods.map((p) => (
                  <tr key={p.period_start}>
                    <td>
                      <Time iso={p.period_start} /> – <Time iso={p.period_end} />
                    </td>
                    <td className="num">{p.event_count}</td>
                    {ACTIONS.map((a) => (
                      <td key={a} className="num">
                        {p[a]}
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
