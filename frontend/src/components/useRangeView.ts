// useRangeView.ts: what the Search and Activity views share as views with
// a time range and their settings in the address (route.ts).  Until the
// user sets the range it follows the clock: the last hours, to the end of
// this minute, each time the view is shown.  Coming back to the view, the
// address gets the view's settings again, as the view last wrote them.
import { useEffect, useRef, useState } from 'react';
import { writeRoute, type ViewId } from '../route';
import { endOfThisMinute, hoursBefore, toInputValue, type ZoneMode } from '../time';
import { useZoneSwitch } from '../zone';

/** The last `hours` hours to the end of this minute, as a range's fields. */
export function lastHours(hours: number, zone: ZoneMode) {
  const to = endOfThisMinute();
  return { from: toInputValue(hoursBefore(to, hours), zone), to: toInputValue(to, zone) };
}

/** The view's range fields, whether the user set them, and the address the
 * view last wrote.  onShow, if given, also runs each time the view is
 * shown (and when the range is first set). */
export function useRangeView(view: ViewId, active: boolean, zone: ZoneMode, hours: number, onShow?: () => void) {
  const [initial] = useState(() => lastHours(hours, zone));
  const [from, setFrom] = useState(initial.from);
  const [to, setTo] = useState(initial.to);
  const [touched, setTouched] = useState(false);
  const lastHash = useRef<string | null>(null);

  useZoneSwitch(zone, [
    [from, setFrom],
    [to, setTo],
  ]);

  useEffect(() => {
    if (!active) return;
    if (!touched) {
      const r = lastHours(hours, zone);
      setFrom(r.from);
      setTo(r.to);
    }
    if (lastHash.current && window.location.hash === `#${view}`) writeRoute(lastHash.current, 'replace');
    onShow?.();
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [active, touched, onShow]);

  /** Whether the address's settings are those the view last wrote: it
   * shows them already. */
  const showsAlready = (params: URLSearchParams) => {
    const hash = lastHash.current;
    return hash !== null && new URLSearchParams(hash.slice(hash.indexOf('?') + 1)).toString() === params.toString();
  };

  return { from, setFrom, to, setTo, setTouched, lastHash, showsAlready };
}
