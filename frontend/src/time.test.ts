import { describe, expect, it } from 'vitest';
import {
  endOfThisMinute,
  everyInWords,
  formatAgo,
  formatDuration,
  formatTime,
  offsetString,
  parseInputValue,
  reinterpret,
  toInputValue,
  toRfc3339,
  zoneAbbreviation,
} from './time';

// The tests run with TZ=Europe/Berlin (src/test/setup.ts): +01:00 in
// winter, +02:00 in summer.
describe('time', () => {
  it('runs in the zone the tests expect', () => {
    expect(offsetString(new Date('2025-01-15T12:00:00Z'))).toBe('+01:00');
    expect(offsetString(new Date('2025-07-15T12:00:00Z'))).toBe('+02:00');
    expect(zoneAbbreviation(new Date('2025-01-15T12:00:00Z'))).toBe('CET');
    expect(zoneAbbreviation(new Date('2025-07-15T12:00:00Z'))).toBe('CEST');
  });

  it('sends a local time as RFC 3339 with the offset of that date', () => {
    expect(toRfc3339(parseInputValue('2025-10-10 20:30:00')!)).toBe('2025-10-10T20:30:00+02:00');
    expect(toRfc3339(parseInputValue('2025-12-24T18:00')!)).toBe('2025-12-24T18:00:00+01:00');
    expect(toRfc3339(parseInputValue('2025-12-24 18:00:00.25')!)).toBe('2025-12-24T18:00:00.250+01:00');
  });

  it('reads and sends times in UTC when UTC is chosen', () => {
    const d = parseInputValue('2025-10-10 20:30', 'utc')!;
    expect(d.toISOString()).toBe('2025-10-10T20:30:00.000Z');
    expect(toRfc3339(d, 'utc')).toBe('2025-10-10T20:30:00Z');
    expect(toInputValue(d, 'utc')).toBe('2025-10-10 20:30:00');
    expect(toInputValue(d)).toBe('2025-10-10 22:30:00');
  });

  it('keeps a field on the same moment when the zone changes', () => {
    expect(reinterpret('2025-10-10 22:30:00', 'local', 'utc')).toBe('2025-10-10 20:30:00');
    expect(reinterpret('2025-10-10 20:30', 'utc', 'local')).toBe('2025-10-10 22:30:00');
    expect(reinterpret('not yet', 'utc', 'local')).toBe('not yet');
    expect(reinterpret('', 'utc', 'local')).toBe('');
  });

  it('refuses what is not a date and time, and hours the clocks skipped', () => {
    expect(parseInputValue('')).toBeNull();
    expect(parseInputValue('2025-02-30 10:00')).toBeNull();
    expect(parseInputValue('2025-02-10 24:00')).toBeNull();
    expect(parseInputValue('yesterday')).toBeNull();
    expect(parseInputValue('02/12/2026, 01:04')).toBeNull();
  });

  it('round-trips the input format', () => {
    const d = new Date(2025, 2, 30, 3, 4, 5);
    expect(toInputValue(d)).toBe('2025-03-30 03:04:05');
    expect(parseInputValue(toInputValue(d))!.getTime()).toBe(d.getTime());
  });

  it('shows server times to the second with their zone, local or UTC', () => {
    expect(formatTime('2025-10-10T18:30:00Z')).toBe('2025-10-10 20:30:00 CEST');
    expect(formatTime('2026-01-01T00:00:00.123456Z')).toBe('2026-01-01 01:00:00 CET');
    expect(formatTime('2026-01-01T00:00:00.123456Z', 'utc')).toBe('2026-01-01 00:00:00 UTC');
    expect(formatTime(null)).toBe('');
  });

  it('ends a default range at the next whole minute', () => {
    expect(toInputValue(endOfThisMinute(new Date(2025, 0, 1, 10, 59, 30)))).toBe('2025-01-01 11:00:00');
  });

  it('says how long ago, and how often', () => {
    expect(formatAgo(5)).toBe('5 s ago');
    expect(formatAgo(150)).toBe('2 min ago');
    expect(formatAgo(3 * 3600 + 60)).toBe('3 h 1 min ago');
    expect(formatDuration(4 * 3600)).toBe('4 h');
    expect(formatDuration(3 * 86400)).toBe('3 d');
    expect(formatDuration(86400 + 1800)).toBe('1 d 30 min');
    expect(formatDuration(5)).toBe('5 s');
    expect(formatDuration(0)).toBe('0 s');
    expect(everyInWords(4 * 3600)).toBe('4 hours');
    expect(everyInWords(86400)).toBe('day');
    expect(everyInWords(90)).toBe('90 seconds');
  });
});
