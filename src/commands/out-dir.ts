// The commands' --out check: before any work, --out must be a directory that exists and is writable, or one that can
// be made (its nearest existing ancestor a writable directory).
import { access, constants, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ArgumentInvalidError } from '../errors.js';

/** Fails (a usage error) when --out cannot be a writable directory: an existing file, or a parent that is one. */
export async function checkOutDir(out: string): Promise<void> {
  let p = resolve(out);
  for (;;) {
    const st = await stat(p).catch(() => undefined);
    if (st) {
      if (!st.isDirectory()) throw new ArgumentInvalidError(`--out ${out}: ${p} is a file, not a directory`);
      const ok = await access(p, constants.W_OK).then(() => true, () => false);
      if (!ok) throw new ArgumentInvalidError(`--out ${out}: ${p} is not writable`);
      return;
    }
    const up = dirname(p);
    if (up === p) return;
    p = up;
  }
}
