// time.ts: the page shows and takes times in the browser's time zone and
// sends them as RFC 3339 with the offset in force at that moment.

const pad = (n: number, w = 2) => String(Math.abs(n)).padStart(w, '0');

/** Offset of the local zone at date, as "+01:00". */
export function offsetString(date: Date): string {
  const minutes = -date.getTimezoneOffset();
  const sign = minutes < 0 ? '-' : '+';
  return `${sign}${pad(Math.trunc(Math.abs(minutes) / 60))}:${pad(Math.abs(minutes) % 60)}`;
}

/** The value a <input type="datetime-local" step="1"> shows for date. */
export function toInputValue(date: Date): string {
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`
  );
}

const INPUT_RE = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?$/;

/** Reads a datetime-local value as a local time; null when it is not one. */
export function parseInputValue(value: string): Date | null {
  const m = INPUT_RE.exec(value.trim());
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms] = m;
  const date = new Date(+y, +mo - 1, +d, +h, +mi, s ? +s : 0, ms ? +ms.padEnd(3, '0') : 0);
  if (Number.isNaN(date.getTime()) || date.getMonth() !== +mo - 1 || date.getDate() !== +d) return null;
  return date;
}

/** RFC 3339 with the local offset, e.g. 2025-10-10T20:30:00+02:00. */
export function toRfc3339(date: Date): string {
  const ms = date.getMilliseconds();
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    (ms ? `.${pad(ms, 3)}` : '') +
    offsetString(date)
  );
}

/** The browser's time zone, e.g. "Europe/Berlin (UTC+01:00)". */
export function timeZoneLabel(date: Date = new Date()): string {
  let name = '';
  try {
    name = Intl.DateTimeFormat().resolvedOptions().timeZone ?? '';
  } catch {
    name = '';
  }
  const off = `UTC${offsetString(date)}`;
  return name ? `${name} (${off})` : off;
}

/** A server timestamp (UTC, RFC 3339) shown in local time, to the second
 * (with milliseconds when it has them). */
export function formatLocal(iso: string | null | undefined): string {
  if (!iso) return '';
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  const ms = date.getMilliseconds();
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ` +
    `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    (ms ? `.${pad(ms, 3)}` : '')
  );
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
