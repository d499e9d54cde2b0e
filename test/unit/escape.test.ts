import { describe, expect, it } from 'vitest';
import { checkLabelName, escapePromQLString, escapeRegex, labelMatcher, labelSetMatcher } from '../../src/sources/promql-escape.js';

/**
 * Parses a PromQL double-quoted string literal body back with Go's rules (what Prometheus does): `\xNN` is one raw
 * byte, `\uNNNN` a code point, and the bytes must decode as UTF-8 (Prometheus refuses a query that does not).
 */
function unquote(body: string): string {
  const bytes: number[] = [];
  const utf8 = (s: string) => bytes.push(...new TextEncoder().encode(s));
  const simple: Record<string, string> = { n: '\n', r: '\r', t: '\t', '\\': '\\', '"': '"', a: '\u0007', b: '\b', f: '\f', v: '\v' };
  for (let i = 0; i < body.length; i++) {
    const ch = body[i];
    if (ch !== '\\') {
      const cp = body.codePointAt(i)!;
      utf8(String.fromCodePoint(cp));
      if (cp > 0xffff) i++;
      continue;
    }
    const e = body[++i];
    if (e === 'x') {
      bytes.push(parseInt(body.slice(i + 1, i + 3), 16));
      i += 2;
    } else if (e === 'u') {
      utf8(String.fromCodePoint(parseInt(body.slice(i + 1, i + 5), 16)));
      i += 4;
    } else if (e in simple) utf8(simple[e]);
    else throw new Error(`unknown escape \\${e}`);
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(new Uint8Array(bytes));
}

const hostile = [
  'plain',
  'quo"te',
  'back\\slash',
  'new\nline',
  '"} or vector(1) #',
  '\\"} or vector(1) #',
  'tab\tand\rcr',
  'bell\u0007del\u007f',
  'ünï-çødé 名前',
  'line\u2028sep',
  'c1\u0085control\u009f',
  'self$`',
  "sel$'f",
  '$&amp',
  '',
];

describe('escapePromQLString', () => {
  it.each(hostile)('round-trips %j through a PromQL string literal', (v) => {
    const e = escapePromQLString(v);
    expect(unquote(e)).toBe(v);
  });

  it('never leaves an unescaped quote or a raw newline that could end the literal', () => {
    for (const v of hostile) {
      const e = escapePromQLString(v);
      expect(e).not.toMatch(/(^|[^\\])(\\\\)*"/);
      expect(e).not.toMatch(/[\n\r\u2028\u2029]/);
    }
  });

  it('keeps an injection attempt inside one label value', () => {
    const m = labelMatcher('namespace', '"} or vector(1) #');
    expect(m).toBe('namespace="\\"} or vector(1) #"');
  });
});

describe('label names and regex sets', () => {
  it('rejects a label name that is not a Prometheus identifier', () => {
    expect(() => checkLabelName('name space')).toThrow(/invalid Prometheus label name/);
    expect(() => checkLabelName('a"}')).toThrow(/invalid Prometheus label name/);
    expect(checkLabelName('k8s_namespace')).toBe('k8s_namespace');
  });

  it('escapes regex metacharacters so that a value matches only itself', () => {
    const re = new RegExp(`^(?:${escapeRegex('a.b|c*')})$`);
    expect(re.test('a.b|c*')).toBe(true);
    expect(re.test('axb')).toBe(false);
  });

  it('builds an exact-match alternation and nothing for an empty list', () => {
    expect(labelSetMatcher('namespace', ['kube-system', 'a"b'], '!~')).toBe('namespace!~"kube-system|a\\"b"');
    expect(labelSetMatcher('namespace', [])).toBeUndefined();
  });
});
