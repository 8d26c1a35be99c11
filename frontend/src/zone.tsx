// zone.tsx: which zone the page shows and reads times in (the browser's or
// UTC), chosen once in the header for every view and kept in this browser
// as a display preference.  <Time> shows a server timestamp in it.
import { createContext, useContext, useEffect, useRef, type ReactNode } from 'react';
import { formatTime, reinterpret, type ZoneMode } from './time';

const STORAGE = 'user-activity.time-zone';

export function storedZoneMode(): ZoneMode {
  try {
    return window.localStorage.getItem(STORAGE) === 'utc' ? 'utc' : 'local';
  } catch {
    return 'local';
  }
}

export function storeZoneMode(mode: ZoneMode): void {
  try {
    if (mode === 'utc') window.localStorage.setItem(STORAGE, 'utc');
    else window.localStorage.removeItem(STORAGE);
  } catch {
    /* storage unavailable: the choice lasts for this page */
  }
}

const ZoneContext = createContext<ZoneMode>('local');

export function ZoneProvider({ mode, children }: { mode: ZoneMode; children: ReactNode }) {
  return <ZoneContext.Provider value={mode}>{children}</ZoneContext.Provider>;
}

export function useZone(): ZoneMode {
  return useContext(ZoneContext);
}

/** A server timestamp in the chosen zone; the other zone and the exact
 * value on hover. */
export function Time({ iso }: { iso: string | null | undefined }) {
  const mode = useZone();
  if (!iso) return null;
  const other = formatTime(iso, mode === 'utc' ? 'local' : 'utc');
  return (
    <time dateTime={iso} title={`${other} · ${iso}`}>
      {formatTime(iso, mode)}
    </time>
  );
}

/** Keeps a form's time fields on the same moments when the zone changes:
 * each [value, set] pair is read in the old zone and written in the new. */
export function useZoneSwitch(mode: ZoneMode, fields: Array<[string, (v: string) => void]>): void {
  const previous = useRef(mode);
  const latest = useRef(fields);
  latest.current = fields;
  useEffect(() => {
    const from = previous.current;
    previous.current = mode;
    if (from === mode) return;
    for (const [value, set] of latest.current) set(reinterpret(value, from, mode));
  }, [mode]);
}
