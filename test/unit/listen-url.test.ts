import { describe, expect, it } from 'vitest';
import { listenUrl } from '../../src/main.js';

describe('listenUrl', () => {
  it('brackets IPv6 literals, so that the logged /metrics address is a valid URL', () => {
    expect(listenUrl('::1', 8080)).toBe('http://[::1]:8080');
    expect(listenUrl('fe80::1%eth0', 8080)).toBe('http://[fe80::1%25eth0]:8080');
    expect(new URL(`${listenUrl('::1', 8080)}/metrics`).port).toBe('8080');
  });

  it('shows wildcard addresses as localhost and leaves IPv4 addresses and host names alone', () => {
    expect(listenUrl('0.0.0.0', 8080)).toBe('http://localhost:8080');
    expect(listenUrl('::', 9090)).toBe('http://localhost:9090');
    expect(listenUrl('127.0.0.1', 8080)).toBe('http://127.0.0.1:8080');
    expect(listenUrl('foresight.local', 8080)).toBe('http://foresight.local:8080');
  });
});
