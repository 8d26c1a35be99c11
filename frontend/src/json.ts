// json.ts: a strict JSON checker that says where the text goes wrong.
// JSON.parse's messages differ between browsers and often carry no
// position, so the editor uses this scanner to point at the error (offset,
// line, column) and JSON.parse only for the value once the text is valid.

export type JsonCheck =
  | { ok: true; value: unknown }
  | { ok: false; message: string; position: number; line: number; column: number };

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    public readonly position: number,
  ) {
    super(message);
  }
}

function describe(ch: string | undefined): string {
  if (ch === undefined) return 'end of text';
  if (ch === '\n') return 'line break';
  if (ch.trim() === '') return 'white space';
  return `"${ch}"`;
}

function scan(text: string): void {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i])) i++;
  };
  const fail = (expected: string): never => {
    throw new JsonSyntaxError(`expected ${expected} but found ${describe(text[i])}`, i);
  };
  const literal = (word: string) => {
    for (let k = 0; k < word.length; k++) {
      if (text[i + k] !== word[k]) {
        i += k;
        fail(`"${word}"`);
      }
    }
    i += word.length;
  };
  const string = () => {
    i++; // opening quote
    for (;;) {
      const ch = text[i];
      if (ch === undefined) throw new JsonSyntaxError('unterminated string', i);
      if (ch === '"') {
        i++;
        return;
      }
      if (ch < ' ') throw new JsonSyntaxError('control character in string (use \\n, \\t)', i);
      if (ch === '\\') {
        const esc = text[i + 1];
        if (esc === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6)))
            throw new JsonSyntaxError('\\u must be followed by four hex digits', i);
          i += 6;
        } else if (esc !== undefined && '"\\/bfnrt'.includes(esc)) {
          i += 2;
        } else {
          throw new JsonSyntaxError(`invalid escape ${describe(esc === undefined ? undefined : '\\' + esc)}`, i);
        }
      } else {
        i++;
      }
    }
  };
  const number = () => {
    const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i));
    if (!m || m[0] === '-' || m[0] === '') fail('a value');
    i += m![0].length;
  };
  const value = (depth: number): void => {
    if (depth > 256) throw new JsonSyntaxError('nested too deeply', i);
    ws();
    const ch = text[i];
    if (ch === '{') {
      i++;
      ws();
      if (text[i] === '}') {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail('a property name in double quotes');
        string();
        ws();
        if (text[i] !== ':') fail('":"');
        i++;
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === '}') {
          i++;
          return;
        }
        fail('"," or "}"');
      }
    } else if (ch === '[') {
      i++;
      ws();
      if (text[i] === ']') {
        i++;
        return;
      }
      for (;;) {
        value(depth + 1);
        ws();
        if (text[i] === ',') {
          i++;
          continue;
        }
        if (text[i] === ']') {
          i++;
          return;
        }
        fail('"," or "]"');
      }
    } else if (ch === '"') {
      string();
    } else if (ch === 't') {
      literal('true');
    } else if (ch === 'f') {
      literal('false');
    } else if (ch === 'n') {
      literal('null');
    } else if (ch === '-' || (ch !== undefined && ch >= '0' && ch <= '9')) {
      number();
    } else {
      fail('a value');
    }
  };
  value(0);
  ws();
  if (i < text.length) fail('end of text');
}

export function lineColumn(text: string, position: number): { line: number; column: number } {
  const before = text.slice(0, position);
  const line = before.split('\n').length;
  const column = position - (before.lastIndexOf('\n') + 1) + 1;
  return { line, column };
}

/** Checks that text is JSON; reports the first error with its place. */
export function checkJson(text: string): JsonCheck {
  try {
    scan(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) {
      return { ok: false, message: e.message, position: e.position, ...lineColumn(text, e.position) };
    }
    throw e;
  }
  return { ok: true, value: JSON.parse(text) };
}

/** Metadata must be a JSON object; an empty text means {}. */
export function checkMetadata(text: string): JsonCheck {
  if (text.trim() === '') return { ok: true, value: {} };
  const r = checkJson(text);
  if (r.ok && (r.value === null || typeof r.value !== 'object' || Array.isArray(r.value))) {
    return { ok: false, message: 'metadata must be a JSON object, like {"ip": "192.168.1.10"}', position: 0, line: 1, column: 1 };
  }
  return r;
}

/** Whether two JSON values are equal as JSONB compares them: objects by
 * their keys and values whatever the order, numbers by value. */
export function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => sameJson(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = Object.keys(ao);
  return keys.length === Object.keys(bo).length && keys.every((k) => k in bo && sameJson(ao[k], bo[k]));
}
