import { describe, expect, it } from 'vitest';
import { endOfThisMinute, formatAgo, formatDuration, formatLocal, offsetString, parseInputValue, toInputValue, toRfc3339 } from './time';

// package.json runs the tests with TZ=Europe/Berlin: +01:00 in winter,
// +02:00 in summer.
describe('time', () => {
  it('runs in the zone the tests expect', () => {
    expect(offsetString(new Date('2025-01-15T12:00:00Z'))).toBe('+01:00');
    expect(offsetString(new Date('2025-07-15T12:00:00Z'))).toBe('+02:00');
  });

  it('sends a local time as RFC 3339 with the offset of that date', () => {
    expect(toRfc3339(parseInputValue('2025-10-10T20:30:00')!)).toBe('2025-10-10T20:30:00+02:00');
    expect(toRfc3339(parseInputValue('2025-12-24T18:00')!)).toBe('2025-12-24T18:00:00+01:00');
    expect(toRfc3339(parseInputValue('2025-12-24T18:00:00.25')!)).toBe('2025-12-24T18:00:00.250+01:00');
  });

  it('refuses what is not a date and time', () => {
    expect(parseInputValue('')).toBeNull();
    expect(parseInputValue('2025-02-30T10:00')).toBeNull();
    expect(parseInputValue('yesterday')).toBeNull();
  });

  it('round-trips the input format', () => {
    const d = new Date(2025, 2, 30, 3, 4, 5);
    expect(toInputValue(d)).toBe('2025-03-30T03:04:05');
  });

  it('shows server times in local time', () => {
    expect(formatLocal('2025-10-10T18:30:00Z')).toBe('2025-10-10 20:30:00');
    expect(formatLocal('2026-01-01T00:00:00.123456Z')).toBe('2026-01-01 01:00:00.123');
    expect(formatLocal(null)).toBe('');
  });

  it('ends a default range at the next whole minute', () => {
    expect(toInputValue(endOfThisMinute(new Date(2025, 0, 1, 10, 59, 30)))).toBe('2025-01-01T11:00:00');
  });

  it('says how long ago', () => {
    expect(formatAgo(5)).toBe('5 s ago');
    expect(formatAgo(150)).toBe('2 min ago');
    expect(formatAgo(3 * 3600 + 60)).toBe('3 h 1 min ago');
    expect(formatDuration(4 * 3600)).toBe('4 h');
    expect(formatDuration(3 * 86400)).toBe('3 d');
    expect(formatDuration(86400 + 1800)).toBe('1 d 30 min');
    expect(formatDuration(5)).toBe('5 s');
    expect(formatDuration(0)).toBe('0 s');
  });
});
