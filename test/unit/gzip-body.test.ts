import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32, crc32Table, deflatePart, gzipBody, plainBody } from '../../src/metrics/gzip-body.js';
import { uniform } from '../helpers/random.js';

describe('gzip body', () => {
  it('computes the CRC-32 of gzip, continued across pieces, the same through zlib and the table', () => {
    const check = Buffer.from('123456789');
    expect(crc32(check)).toBe(0xcbf43926); // the CRC-32 check value (RFC 1952's polynomial)
    expect(crc32Table(check)).toBe(0xcbf43926);
    const rnd = uniform(5);
    const buf = Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(rnd() * 256)));
    const whole = crc32Table(buf);
    expect(crc32(buf)).toBe(whole);
    for (const cut of [1, 4_096, 77_777]) {
      expect(crc32(buf, crc32(buf, 0, 0, cut), cut)).toBe(whole);
      expect(crc32Table(buf, crc32Table(buf, 0, 0, cut), cut)).toBe(whole);
    }
  });

  it('makes one gzip member of a part deflated once and a tail deflated per scrape', async () => {
    const part = Buffer.from('foresight_usage{tenant="a",resource="cpu"} 1\n'.repeat(10_000));
    const tail = Buffer.from('foresight_cycles_total{outcome="success"} 3\n');
    const body = gzipBody(await deflatePart([part]), tail);
    // gunzip checks the trailer's CRC-32 and length
    expect(gunzipSync(body).toString()).toBe(part.toString() + tail.toString());
    expect(body.length).toBeLessThan(part.length / 20);
    // the part in pieces (as a snapshot's text is written): one deflate stream over them in order
    const pieces = [part.subarray(0, 1_000), part.subarray(1_000, 300_001), part.subarray(300_001)];
    expect(gunzipSync(gzipBody(await deflatePart(pieces), tail)).toString()).toBe(part.toString() + tail.toString());
  });

  it('inflates a deflated part back into the plain body, followed by the tail', async () => {
    const rnd = uniform(9);
    // several inflate chunks (64 KB) of text that does not compress to nothing
    const part = Buffer.from(Array.from({ length: 20_000 }, (_, i) => `foresight_forecast{tenant="t${i}"} ${rnd()}\n`).join(''));
    const tail = Buffer.from('foresight_cycles_total{outcome="success"} 3\n');
    const pieces = [part.subarray(0, 70_000), part.subarray(70_000, 70_001), part.subarray(70_001)];
    const deflated = await deflatePart(pieces);
    expect(part.length).toBeGreaterThan(4 * 64 * 1024);
    expect((await plainBody(deflated, tail)).equals(Buffer.concat([part, tail]))).toBe(true);
    expect((await plainBody(await deflatePart([]), tail)).equals(tail)).toBe(true);
  });

  it('rejects a deflated part that does not inflate to its recorded length', async () => {
    const deflated = await deflatePart([Buffer.from('x'.repeat(5_000))]);
    await expect(plainBody({ ...deflated, length: 4_999 }, Buffer.alloc(0))).rejects.toThrow(/of 5000 bytes, 4999 deflated/);
    await expect(plainBody({ ...deflated, length: 5_001 }, Buffer.alloc(0))).rejects.toThrow(/of 5000 bytes, 5001 deflated/);
  });
});
