// validate.ts: the checks the page makes before it asks the server.  The
// server checks everything again; these only save a round trip and say
// what is wrong next to the field.

import { parseInputValue, type ZoneMode } from './time';

const MAX_BIGINT = 9223372036854775807n;

/** null when value is a user id the server accepts (1 .. 2^63-1). */
export function userIdError(value: string): string | null {
  const v = value.trim();
  if (v === '') return 'Enter a user id.';
  if (!/^\d+$/.test(v)) return 'User id must be a whole number, like 6.';
  const n = BigInt(v);
  if (n < 1n) return 'User id must be 1 or more.';
  if (n > MAX_BIGINT) return 'User id must be at most 9223372036854775807.';
  return null;
}

export function dateTimeError(value: string, what: string, zone: ZoneMode = 'local'): string | null {
  if (value.trim() === '') return `Enter ${what}.`;
  if (!parseInputValue(value, zone)) return `Enter ${what} as a date and a 24-hour time, like 2026-12-02 14:30.`;
  return null;
}

/** Checks from/to together: both valid and from before to. */
export function rangeErrors(from: string, to: string, zone: ZoneMode = 'local'): { from: string | null; to: string | null } {
  const e = { from: dateTimeError(from, 'the start', zone), to: dateTimeError(to, 'the end', zone) };
  if (!e.from && !e.to && parseInputValue(from, zone)!.getTime() >= parseInputValue(to, zone)!.getTime()) {
    e.to = 'The end must be after the start.';
  }
  return e;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export function eventIdError(value: string): string | null {
  const v = value.trim();
  if (v === '' || UUID_RE.test(v)) return null;
  return 'Event id must be a UUID, like 0b9e6a3c-1d2f-4e5a-8b7c-9d0e1f2a3b4c, or empty.';
}

/** A random UUID (version 4), also where crypto.randomUUID is missing
 * (pages served over plain HTTP from another host). */
export function newUuid(): string {
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A range whose bounds may be empty (open); given ones must be dates and
 * times, and from before to. */
export function optionalRangeErrors(
  from: string,
  to: string,
  zone: ZoneMode = 'local',
): { from: string | null; to: string | null } {
  const e = {
    from: from.trim() === '' ? null : dateTimeError(from, 'the start', zone),
    to: to.trim() === '' ? null : dateTimeError(to, 'the end', zone),
  };
  if (
    from.trim() &&
    to.trim() &&
    !e.from &&
    !e.to &&
    parseInputValue(from, zone)!.getTime() >= parseInputValue(to, zone)!.getTime()
  ) {
    e.to = 'The end must be after the start.';
  }
  return e;
}
