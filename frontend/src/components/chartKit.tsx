// chartKit.tsx: the page's bar charts, drawn by one component so that they
// read alike: the actions' colours, an x axis whose labels all show
// (slanted) at a phone's width, each bar's total above it while there is
// room, the readout (the numbers of the bar pointed at, shown below the
// chart by Recharts' tooltip rendered into it, never over the bars), and
// the same numbers in a table for screen readers.  The charts can be
// explored with the arrow keys (Recharts' accessibility layer).
import { useCallback, useState, type ReactNode } from 'react';
import { Bar, BarChart, CartesianGrid, LabelList, Legend, ResponsiveContainer, Tooltip, XAxis, YAxis } from 'recharts';
import { ACTIONS, type Action } from '../api';

const ACTION_COLOURS: Record<Action, string> = {
  created: '#2e7d32',
  updated: '#1565c0',
  deleted: '#c62828',
  viewed: '#8e6c00',
};

/** One series of bars: the rows' key it reads, its name in the legend and
 * the readout, and its colour. */
export interface Series {
  key: string;
  name: string;
  fill: string;
}

/** The actions as series, stacked in the API's order. */
export const ACTION_SERIES: Series[] = ACTIONS.map((a) => ({ key: a, name: a, fill: ACTION_COLOURS[a] }));

/** A column of a chart's table: its heading and a row's cell; a column of
 * numbers is aligned right. */
export interface Column<R> {
  head: ReactNode;
  cell: (row: R) => ReactNode;
  num?: boolean;
}

/** The table's columns of the actions' numbers, in the API's order. */
export function actionColumns<R extends Record<Action, number>>(): Column<R>[] {
  return ACTIONS.map((a) => ({ head: a, cell: (r: R) => r[a], num: true }));
}

/** XAxis settings for n categories: every label while they fit slanted,
 * else the first, the last and what fits between. */
function axisProps(n: number) {
  return {
    tick: { fontSize: 11 },
    interval: n <= 14 ? (0 as const) : ('preserveStartEnd' as const),
    minTickGap: 2,
    angle: -35,
    textAnchor: 'end' as const,
    height: 64,
  };
}

/** Totals on the bars while there is room for them. */
const TOTALS_UP_TO = 31;
const CAP = 1e-6;

/** A bar's total written above it: an invisible sliver stacked on top,
 * labelled with the total, so that a bar whose top series is 0, or which
 * is empty, gets its number too (Recharts labels no empty bar). */
function totalsCap(stackId: string, key: string, maxBarSize: number) {
  return (
    <Bar
      dataKey={() => CAP}
      stackId={stackId}
      fill="transparent"
      legendType="none"
      tooltipType="none"
      maxBarSize={maxBarSize}
      isAnimationActive={false}
    >
      <LabelList dataKey={key} position="top" fontSize={11} fill="#1c2430" />
    </Bar>
  );
}

/** Where the tooltip is rendered: the box under the chart, once drawn. */
function useReadout() {
  const [node, setNode] = useState<HTMLElement | null>(null);
  const ref = useCallback((el: HTMLDivElement | null) => setNode(el), []);
  return { node, ref };
}

/** A chart's row: the bar's label under it, and its title in the readout. */
export interface ChartRow {
  label: string;
  title: string;
}

interface BarsFigureProps<R extends ChartRow> {
  rows: R[];
  /** What a bar stands for, in the chart's description ("periods"). */
  rowsAre: string;
  /** The chart's title for assistive technology. */
  title: string;
  height: number;
  /** Stacked in this order; a legend names them when there are several. */
  series: Series[];
  stackId: string;
  maxBarSize: number;
  /** The rows' key written above each bar (while TOTALS_UP_TO fit); the
   * room for it is kept above the bars in any case. */
  totals?: string;
  /** A sentence above the chart that sums it up. */
  lead?: ReactNode;
  /** What the table holds: its disclosure reads "<tableName> as a table". */
  tableName: string;
  columns: Column<R>[];
  rowKey: (row: R) => string;
}

/** Stacked bars, one per row, with the readout below them and the same
 * numbers as a table. */
export function BarsFigure<R extends ChartRow>(p: BarsFigureProps<R>) {
  const readout = useReadout();
  // The readout lists the series in the legend's order (Recharts' tooltip
  // sorts by name unless told).
  const bySeries = (item: { dataKey?: unknown }) => p.series.findIndex((s) => s.key === item.dataKey);
  return (
    <figure className="chart">
      {p.lead ? <p className="totals">{p.lead}</p> : null}
      <div className="chart-box">
        <ResponsiveContainer width="100%" height={p.height} initialDimension={{ width: 640, height: p.height }}>
          <BarChart
            data={p.rows}
            margin={{ top: p.totals ? 20 : 8, right: 12, bottom: 8, left: 0 }}
            title={p.title}
            desc={`Use the arrow keys to move between ${p.rowsAre}; the table below has the same numbers.`}
          >
            <CartesianGrid strokeDasharray="3 3" vertical={false} />
            <XAxis dataKey="label" {...axisProps(p.rows.length)} />
            <YAxis allowDecimals={false} tick={{ fontSize: 12 }} width={40} />
            <Tooltip portal={readout.node} itemSorter={bySeries} labelFormatter={(_, items) => items?.[0]?.payload?.title ?? ''} />
            {p.series.length > 1 ? <Legend itemSorter={null} /> : null}
            {p.series.map((s) => (
              <Bar
                key={s.key}
                dataKey={s.key}
                name={s.name}
                stackId={p.stackId}
                fill={s.fill}
                maxBarSize={p.maxBarSize}
                isAnimationActive={false}
              />
            ))}
            {p.totals && p.rows.length <= TOTALS_UP_TO ? totalsCap(p.stackId, p.totals, p.maxBarSize) : null}
          </BarChart>
        </ResponsiveContainer>
      </div>
      <div className="chart-readout">
        <p className="hint chart-readout-hint">Point at a bar, or focus the chart and use the arrow keys, to read its numbers here.</p>
        <div ref={readout.ref} className="chart-readout-box" />
      </div>
      <figcaption>
        <details>
          <summary>{`${p.tableName} as a table`}</summary>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  {p.columns.map((c, i) => (
                    <th key={i} scope="col" className={c.num ? 'num' : undefined}>
                      {c.head}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {p.rows.map((r) => (
                  <tr key={p.rowKey(r)}>
                    {p.columns.map((c, i) => (
                      <td key={i} className={c.num ? 'num' : undefined}>
                        {c.cell(r)}
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
