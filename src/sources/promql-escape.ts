// The one place where values reach PromQL text: label values are escaped as PromQL string literals, label names
// validated. Every tenant name, namespace filter and label value inserted into a query goes through here.
import { ArgumentInvalidError } from '../errors.js';

const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/**
 * Escapes `value` for use inside a double-quoted PromQL string literal. PromQL strings follow Go's escaping rules
 * (https://prometheus.io/docs/prometheus/latest/querying/basics/#string-literals): backslash and double quote are
 * escaped, and control characters are written as escapes so that a newline cannot end the query line: ASCII ones as
 * `\xNN` (one byte), the C1 controls and line separators as `\u00NN` / `\uNNNN` (Go reads `\xNN` as a raw byte, and
 * a lone byte above 0x7f is not UTF-8, which Prometheus refuses). Other characters pass through (PromQL accepts UTF-8).
 *
 * Example: `a"} or vector(1) #` becomes `a\"} or vector(1) #`, which inside quotes stays one label value.
 */
export function escapePromQLString(value: string): string {
  let out = '';
  for (const ch of value) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    // \xNN is one raw byte in Go, which above 0x7f would not be UTF-8: other characters are written by code point
    else if ((c >= 0x80 && c < 0xa0) || c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out;
}

/** Whether `name` is a Prometheus label name. */
export function isLabelName(name: string): boolean {
  return LABEL_NAME.test(name);
}

/** Throws unless `name` is a valid Prometheus label name (names cannot be escaped, only checked). */
export function checkLabelName(name: string): string {
  if (!isLabelName(name)) throw new ArgumentInvalidError(`invalid Prometheus label name "${escapePromQLString(name)}" (expected [a-zA-Z_][a-zA-Z0-9_]*)`);
  return name;
}

/** `name="value"` with the value escaped. */
export function labelMatcher(name: string, value: string, op: '=' | '!=' = '='): string {
  return `${checkLabelName(name)}${op}"${escapePromQLString(value)}"`;
}

/** Escapes regular-expression metacharacters (RE2 syntax) so that a value matches only itself inside `=~`. */
export function escapeRegex(value: string): string {
  return value.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** `name=~"a|b"` (or `!~`) matching exactly the given values; an empty list gives undefined. */
export function labelSetMatcher(name: string, values: readonly string[], op: '=~' | '!~' = '=~'): string | undefined {
  if (values.length === 0) return undefined;
  const alt = values.map(escapeRegex).join('|');
  return `${checkLabelName(name)}${op}"${escapePromQLString(alt)}"`;
}
