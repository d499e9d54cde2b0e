import { describe, expect, it } from 'vitest';
import { checkLabelName, escapePromQLString, escapeRegex, labelMatcher, labelSetMatcher } from '../../src/sources/promql-escape.js';

/** Parses a PromQL double-quoted string literal body back (Go escapes), to check round trips. */
function unquote(body: string): string {
  return JSON.parse(`"${body.replace(/\\x([0-9a-f]{2})/g, '\\u00$1')}"`) as string;
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
