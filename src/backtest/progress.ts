// A progress bar with an ETA on stderr (redrawn in place on a terminal, a line every 10% otherwise).

export interface Progress {
  update(done: number, total: number): void;
  done(message?: string): void;
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60);
  const sec = Math.floor(s % 60);
  return `${m}:${String(sec).padStart(2, '0')}`;
}

export function createProgress(label: string, stream: NodeJS.WriteStream = process.stderr, enabled = true): Progress {
  const start = Date.now();
  const tty = Boolean(stream.isTTY);
  let lastDraw = 0;
  let lastDecile = -1;
  return {
    update(done, total) {
      if (!enabled || total <= 0) return;
      const frac = Math.min(1, done / total);
      const elapsed = (Date.now() - start) / 1000;
      const eta = frac > 0 ? (elapsed * (1 - frac)) / frac : Infinity;
      if (tty) {
        const now = Date.now();
        if (now - lastDraw < 100 && done < total) return;
        lastDraw = now;
        const width = 30;
        const filled = Math.round(frac * width);
        stream.write(`\r${label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${fmtDuration(elapsed)} elapsed, ETA ${fmtDuration(eta)} `);
      } else {
        const decile = Math.floor(frac * 10);
        if (decile === lastDecile) return;
        lastDecile = decile;
        stream.write(`${label}: ${(frac * 100).toFixed(0)}% (${fmtDuration(elapsed)} elapsed, ETA ${fmtDuration(eta)})\n`);
      }
    },
    done(message) {
      if (!enabled) return;
      if (tty) stream.write('\n');
      if (message) stream.write(`${message}\n`);
    },
  };
}
