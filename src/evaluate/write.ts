// Atomic output for `foresight evaluate`: gzip CSV streamed into a temp file and renamed into place, JSON likewise.
import { createWriteStream, mkdirSync, openSync, renameSync, rmdirSync, rmSync, type WriteStream, writeFileSync } from 'node:fs';
import { dirname, join, basename } from 'node:path';
import { createGzip } from 'node:zlib';

/** A gzip CSV writer that appears under its final name only after `close()` succeeds. */
export class AtomicGzipCsv {
  readonly #path: string;
  readonly #tmp: string;
  readonly #gz = createGzip();
  readonly #out: WriteStream;
  readonly #done: Promise<void>;
  #buf: string[] = [];
  /** The outermost directory the constructor created for the file (undefined: it was there), removed by abort. */
  readonly #made: string | undefined;

  constructor(path: string, header: string) {
    this.#path = path;
    this.#made = mkdirSync(dirname(path), { recursive: true });
    this.#tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
    // opened here, not by the stream in the background: an abort right after would remove the file before the
    // stream created it, and leave an empty temp file behind
    const out = (this.#out = createWriteStream(this.#tmp, { fd: openSync(this.#tmp, 'w') }));
    this.#done = new Promise((resolve, reject) => {
      out.on('finish', () => resolve());
      out.on('error', reject);
      this.#gz.on('error', reject);
    });
    this.#gz.pipe(out);
    this.#buf.push(header);
  }

  /** Queues a line; flushed in blocks (backpressure is ignored: lines are small and the file is local). */
  line(text: string): void {
    this.#buf.push(text);
    if (this.#buf.length >= 4096) this.#flush();
  }

  #flush(): void {
    if (this.#buf.length) this.#gz.write(this.#buf.join('\n') + '\n');
    this.#buf = [];
  }

  async close(): Promise<void> {
    this.#flush();
    this.#gz.end();
    try {
      await this.#done;
      renameSync(this.#tmp, this.#path);
    } catch (err) {
      rmSync(this.#tmp, { force: true });
      throw err;
    }
  }

  /** Removes the temp file, and the directories made for it while they are empty (a failed run leaves no trace). */
  abort(): void {
    this.#gz.destroy();
    this.#out.destroy();
    rmSync(this.#tmp, { force: true });
    if (this.#made === undefined) return;
    for (let d = dirname(this.#path); d.length >= this.#made.length; d = dirname(d)) {
      try {
        rmdirSync(d);
      } catch {
        return; // not empty (something else was written there) or gone: leave it and what holds it
      }
      if (d === this.#made) return;
    }
  }
}

/** Writes JSON to `path` via a temp file and rename. */
export function writeJsonAtomic(path: string, value: unknown): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}
