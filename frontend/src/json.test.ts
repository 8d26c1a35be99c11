import { describe, expect, it } from 'vitest';
import { checkJson, checkMetadata } from './json';

describe('checkJson', () => {
  it('accepts valid JSON and returns the value', () => {
    expect(checkJson('{"a": [1, 2.5e3, -0, true, null, "x\\u00e9"]}')).toEqual({
      ok: true,
      value: { a: [1, 2500, -0, true, null, 'xé'] },
    });
  });

  it.each([
    ['{"a": 1,}', 1, 9, 'a property name in double quotes'],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, '"," or "}"'],
    ["{'a': 1}", 1, 2, 'a property name'],
    ['{"a": tru}', 1, 10, '"true"'],
    ['{"a": 01}', 1, 8, '"," or "}"'],
    ['{"a": 1', 1, 8, 'end of text'],
    ['[1, 2] x', 1, 8, 'expected end of text'],
  ])('locates the error in %j', (text, line, column, message) => {
    const r = checkJson(text);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.line).toBe(line);
      expect(r.column).toBe(column);
      expect(r.message).toContain(message);
    }
  });

  it('rejects raw control characters and bad escapes in strings', () => {
    expect(checkJson('"a\tb"').ok).toBe(false);
    expect(checkJson('"a\\qb"').ok).toBe(false);
    expect(checkJson('"\\u12"').ok).toBe(false);
  });
});

describe('checkMetadata', () => {
  it('takes an empty text as {}', () => {
    expect(checkMetadata('  ')).toEqual({ ok: true, value: {} });
  });
  it.each(['[]', '"text"', '42', 'null'])('rejects %s: metadata must be an object', (text) => {
    const r = checkMetadata(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.message).toContain('must be a JSON object');
  });
});
