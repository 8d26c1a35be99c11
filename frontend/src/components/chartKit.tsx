// chartKit.tsx: what the page's charts share, so that they read alike:
// the actions' colours, an x axis whose labels all show (slanted) at a
// phone's width, and the readout: the numbers of the bar pointed at, shown
// below the chart (Recharts' tooltip rendered into it) and never over the
// bars.
import { useCallback, useState } from 'react';
import { ACTIONS } from '../api';

export const ACTION_COLOURS: Record<(typeof ACTIONS)[number], string> = {
  created: '#2e7d32',
  updated: '#1565c0',
  deleted: '#c62828',
  viewed: '#8e6c00',
};

/** XAxis settings for n categories: every label while they fit slanted,
 * else the first, the last and what fits between. */
export function axisProps(n: number) {
  return {
    tick: { fontSize: 11 },
    interval: n <= 14 ? (0 as const) : ('preserveStartEnd' as const),
    minTickGap: 2,
    angle: -35,
    textAnchor: 'end' as const,
    height: 64,
  };
}

/** The readout lists the actions in the legend's order (Recharts' tooltip
 * sorts by name unless told). */
export function byAction(item: { dataKey?: unknown }) {
  return ACTIONS.indexOf(item.dataKey as (typeof ACTIONS)[number]);
}

export interface Readout {
  node: HTMLElement | null;
  ref: (el: HTMLDivElement | null) => void;
}

export function useReadout(): Readout {
  const [node, setNode] = useState<HTMLElement | null>(null);
  const ref = useCallback((el: HTMLDivElement | null) => setNode(el), []);
  return { node, ref };
}

/** Where a chart's tooltip goes: a box under the chart. */
export function ChartReadout({ readout }: { readout: Readout }) {
  return (
    <div className="chart-readout">
      <p className="hint chart-readout-hint">Point at a bar, or focus the chart and use the arrow keys, to read its numbers here.</p>
      <div ref={readout.ref} className="chart-readout-box" />
    </div>
  );
}
