import { Bar, BarChart, CartesianGrid, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ACTIONS, type CountPeriod } from '../api';
import { formatLocal } from '../time';

export const ACTION_COLOURS: Record<(typeof ACTIONS)[number], string> = {
  created: '#2e7d32',
  updated: '#1565c0',
  deleted: '#c62828',
  viewed: '#8e6c00',
};

/** Stacked bars: one bar per counting period, one colour per action.  The
 * chart can be explored with the arrow keys (Recharts' accessibility layer);
 * the same numbers are in a table for screen readers. */
export function CountsChart({ periods }: { periods: CountPeriod[] }) {
  // Periods end on the minute when pg_cron runs the count; show seconds
  // only when minutes would not tell them apart.
  const minutes = periods.map((p) => formatLocal(p.period_end).slice(0, 16));
  const precise = new Set(minutes).size < minutes.length;
  const data = periods.map((p, i) => ({ ...p, label: precise ? formatLocal(p.period_end).slice(0, 19) : minutes[i] }));
  return (
    <figure className="chart">
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={300} initialDimension={{ width: 640, height: 300 }}>
          <BarChart
            data={data}
            margin={{ top: 8, right: 8, bottom: 8, left: 0 }}
            title="Events per counting period, stacked by action"
            desc="Use the arrow keys to move between periods; the table below has the same numbers."
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" tick={{ fontSize: 12 }} minTickGap={16} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={48} />
            <Tooltip />
            <Legend itemSorter={null} />
            {ACTIONS.map((a) => (
              <Bar key={a} dataKey={a} name={a} stackId="actions" fill={ACTION_COLOURS[a]} maxBarSize={72} isAnimationActive={false} />
            ))}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <figcaption>
        <details>
          <summary>Counts as a table</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Period (your time)</th>
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
                      {formatLocal(p.period_start)} – {formatLocal(p.period_end)}
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
