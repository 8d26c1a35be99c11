import type { CountPeriod } from '../api';
import { formatTime } from '../time';
import { Time, useZone } from '../zone';
import { ACTION_SERIES, actionColumns, BarsFigure, type Column } from './chartKit';

type PeriodRow = CountPeriod & { label: string; title: string };

const COLUMNS: Column<PeriodRow>[] = [
  {
    head: 'Period',
    cell: (p) => (
      <>
        <Time iso={p.period_start} /> – <Time iso={p.period_end} />
      </>
    ),
  },
  { head: 'Events', cell: (p) => p.event_count, num: true },
  ...actionColumns<PeriodRow>(),
];

/** Stacked bars: one bar per counting period, one colour per action. */
export function CountsChart({ periods }: { periods: CountPeriod[] }) {
  const zone = useZone();
  // Periods end on the minute when pg_cron runs the count; show seconds
  // only when minutes would not tell them apart.
  const full = periods.map((p) => formatTime(p.period_end, zone));
  const minutes = full.map((t) => t.slice(0, 16));
  const precise = new Set(minutes).size < minutes.length;
  const rows = periods.map((p, i) => ({
    ...p,
    label: precise ? full[i].slice(5, 19) : minutes[i].slice(5),
    title: `Period ending ${full[i]}`,
  }));
  return (
    <BarsFigure
      rows={rows}
      rowsAre="periods"
      title="Events per counting period, stacked by action"
      height={320}
      series={ACTION_SERIES}
      stackId="actions"
      maxBarSize={72}
      tableName="Counts"
      columns={COLUMNS}
      rowKey={(p) => p.period_start}
    />
  );
}
