// Temporary directories of a test file, removed after its tests (the suites had left theirs in the system's temp dir,
// dozens a run). Each test file has its own instance of this module (vitest isolates them), so its own list and hook.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new directory in the system's temp dir named `prefix` and a random suffix, removed after the file's tests. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  made.push(dir);
  return dir;
}
