// time.ts: the page's one convention for times.  Every time is shown as
// "2026-12-02 14:04:05 CET": ISO date, 24-hour clock, whole seconds, and the
// zone it is in.  The zone is the browser's ("local") or UTC, as the user
// chooses in the header; times typed into the forms are read in that same
// zone and sent as RFC 3339 with the offset in force at that moment.

export type ZoneMode = 'local' | 'utc';

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

interface Parts {
  y: number;
  mo: number;
  d: number;
  h: number;
  mi: number;
  s: number;
  ms: number;
}

function partsOf(date: Date, mode: ZoneMode): Parts {
  return mode === 'utc'
    ? {
        y: date.getUTCFullYear(),
        mo: date.getUTCMonth() + 1,
        d: date.getUTCDate(),
        h: date.getUTCHours(),
        mi: date.getUTCMinutes(),
        s: date.getUTCSeconds(),
        ms: date.getUTCMilliseconds(),
      }
    : {
        y: date.getFullYear(),
        mo: date.getMonth() + 1,
        d: date.getDate(),
        h: date.getHours(),
        mi: date.getMinutes(),
        s: date.getSeconds(),
        ms: date.getMilliseconds(),
      };
}

const dateText = (p: Parts) => `${p.y}-${pad(p.mo)}-${pad(p.d)}`;
const clockText = (p: Parts) => `${pad(p.h)}:${pad(p.mi)}:${pad(p.s)}`;

/** Offset of the zone at date, as "+01:00" ("+00:00" in UTC). */
export function offsetString(date: Date, mode: ZoneMode = 'local'): string {
  const minutes = mode === 'utc' ? 0 : -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.trunc(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

/** The browser's IANA zone name, '' when it does not say. */
export function browserZoneName(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
  } catch {
    return '';
  }
}

/** The zone's short name at date: "CET", "CEST", "UTC"; where the browser
 * has no abbreviation, the offset ("UTC+05:30"). */
export function zoneAbbreviation(date: Date, mode: ZoneMode = 'local'): string {
  if (mode === 'utc') return 'UTC';
  try {
    const part = new Intl.DateTimeFormat('en-GB', { timeZoneName: 'short' })
      .formatToParts(date)
      .find((p) => p.type === 'timeZoneName')?.value;
    if (part && !/^(GMT|UTC)[+-]/.test(part)) return part;
  } catch {
    /* fall through to the offset */
  }
  return `UTC${offsetString(date)}`;
}

/** The zone named in hints: "Europe/Berlin (UTC+01:00)", or "UTC". */
export function timeZoneLabel(date: Date = new Date(), mode: ZoneMode = 'local'): string {
  if (mode === 'utc') return 'UTC';
  const name = browserZoneName();
  const off = `UTC${offsetString(date)}`;
  return name ? `${name} (${off})` : off;
}

/** What a time field shows for date: "2026-12-02 14:04:05". */
export function toInputValue(date: Date, mode: ZoneMode = 'local'): string {
  const p = partsOf(date, mode);
  return `${dateText(p)} ${clockText(p)}`;
}

const INPUT_RE = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/** Reads "YYYY-MM-DD HH:MM[:SS]" (or with a "T") as a time in the zone;
 * null when it is not one, or names an hour the clocks skipped. */
export function parseInputValue(value: string, mode: ZoneMode = 'local'): Date | null {
  const m = INPUT_RE.exec(value.trim());
  if (!m) return null;
  const [y, mo, d, h, mi] = m.slice(1, 6).map(Number);
  const s = m[6] ? +m[6] : 0;
  const ms = m[7] ? +m[7].padEnd(3, '0') : 0;
  if (h > 23 || mi > 59 || s > 59) return null;
  const date = mode === 'utc' ? new Date(Date.UTC(y, mo - 1, d, h, mi, s, ms)) : new Date(y, mo - 1, d, h, mi, s, ms);
  if (Number.isNaN(date.getTime())) return null;
  const p = partsOf(date, mode);
  if (p.mo !== mo || p.d !== d) return null;
  return date;
}

/** RFC 3339 in the zone, e.g. 2025-10-10T20:30:00+02:00 or ...Z in UTC. */
export function toRfc3339(date: Date, mode: ZoneMode = 'local'): string {
  const p = partsOf(date, mode);
  return (
    `${dateText(p)}T${clockText(p)}` + (p.ms ? `.${pad(p.ms, 3)}` : '') + (mode === 'utc' ? 'Z' : offsetString(date))
  );
}

/** A server timestamp as the page shows it: "2026-12-02 14:04:05 CET",
 * to the second (milliseconds are in the title, from the raw value). */
export function formatTime(iso: string | null | undefined, mode: ZoneMode = 'local'): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${toInputValue(date, mode)} ${zoneAbbreviation(date, mode)}`;
}

/** Only the clock: "14:04:05 CET" (for times of today, next to a date). */
export function formatClock(iso: string, mode: ZoneMode = 'local'): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return `${clockText(partsOf(date, mode))} ${zoneAbbreviation(date, mode)}`;
}

/** A time field's value read in one zone, written in the other: the same
 * moment after the user switches zones.  Values that are not times stay. */
export function reinterpret(value: string, from: ZoneMode, to: ZoneMode): string {
  if (from === to || value.trim() === '') return value;
  const d = parseInputValue(value, from);
  return d ? toInputValue(d, to) : value;
}

/** "3 min ago", "2 h ago" for a number of seconds. */
export function formatAgo(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min ago`;
  return `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h ago`;
}

/** "4 h", "1 d 12 h", "5 min" for a number of seconds. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '';
  const s = Math.max(0, Math.round(seconds));
  const parts: string[] = [];
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  if (d) parts.push(`${d} d`);
  if (h) parts.push(`${h} h`);
  if (m) parts.push(`${m} min`);
  if (s % 60 || parts.length === 0) parts.push(`${s % 60} s`);
  return parts.join(' ');
}

/** "4 hours", "day", "30 minutes": an interval in words, for "every ...". */
export function everyInWords(seconds: number): string {
  const units: Array<[number, string]> = [
    [7 * 86400, 'week'],
    [86400, 'day'],
    [3600, 'hour'],
    [60, 'minute'],
    [1, 'second'],
  ];
  for (const [size, name] of units) {
    if (seconds >= size && seconds % size === 0) {
      const n = seconds / size;
      return n === 1 ? name : `${n} ${name}s`;
    }
  }
  return formatDuration(seconds);
}

/** now, rounded up to the next whole minute: the default end of a range,
 * so that whatever was recorded up to now falls inside it. */
export function endOfThisMinute(now: Date = new Date()): Date {
  const d = new Date(now.getTime());
  d.setSeconds(0, 0);
  d.setMinutes(d.getMinutes() + 1);
  return d;
}

export function hoursBefore(date: Date, hours: number): Date {
  return new Date(date.getTime() - hours * 3600 * 1000);
}
