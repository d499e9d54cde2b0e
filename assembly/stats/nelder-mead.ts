// Bounded Nelder-Mead minimiser on the unit box [0,1]^d (d <= 8): points are clamped into the box before each
// evaluation. Nelder & Mead (1965), with the standard coefficients of Lagarias et al. (1998): reflection 1,
// expansion 2, contraction 0.5, shrink 0.5. No allocation: the caller passes a scratch area of (d+4)*(d+1) doubles.

/** Objective: x points at d doubles in [0,1]; ctx is the caller's context pointer. */
export type Objective = (x: usize, d: i32, ctx: usize) => f64;

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

function clampBox(x: usize, d: i32): void {
  for (let i = 0; i < d; i++) {
    const v = load<f64>(at(x, i));
    store<f64>(at(x, i), v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : isNaN(v) ? 0.5 : v);
  }
}

function evalAt(f: Objective, x: usize, d: i32, ctx: usize): f64 {
  clampBox(x, d);
  const v = f(x, d, ctx);
  return isFinite(v) ? v : 1e300;
}

/**
 * Minimises f from `start` (d doubles, overwritten with the best point found) with initial step `step`,
 * stopping after `maxEvals` evaluations or when the simplex's value spread falls below `tol` (relative).
 * Returns the best value.
 */
export function nelderMead(f: Objective, d: i32, start: usize, step: f64, maxEvals: i32, tol: f64, ctx: usize, scratch: usize): f64 {
  const rowBytes = <usize>d << 3;
  const simplex = scratch; // (d+1) rows of d
  const fv = scratch + <usize>(d + 1) * rowBytes; // d+1 values
  const cen = fv + (<usize>(d + 1) << 3);
  const xr = cen + rowBytes;
  const xe = xr + rowBytes;
  const xc = xe + rowBytes;
  for (let i = 0; i <= d; i++) {
    const row = simplex + <usize>i * rowBytes;
    memory.copy(row, start, rowBytes);
    if (i > 0) {
      const p = at(row, i - 1);
      const v = load<f64>(p);
      store<f64>(p, v + step <= 1.0 ? v + step : v - step);
    }
    store<f64>(at(fv, i), evalAt(f, row, d, ctx));
  }
  let evals = d + 1;
  while (evals < maxEvals) {
    // order: find best, worst, second worst
    let best = 0, worst = 0, second = 0;
    for (let i = 1; i <= d; i++) {
      if (load<f64>(at(fv, i)) < load<f64>(at(fv, best))) best = i;
      if (load<f64>(at(fv, i)) > load<f64>(at(fv, worst))) worst = i;
    }
    second = best;
    for (let i = 0; i <= d; i++) {
      if (i != worst && load<f64>(at(fv, i)) > load<f64>(at(fv, second))) second = i;
    }
    const fb = load<f64>(at(fv, best));
    const fw = load<f64>(at(fv, worst));
    if (Math.abs(fw - fb) <= tol * (Math.abs(fb) + 1e-300)) break;
    // centroid of all but worst
    for (let j = 0; j < d; j++) {
      let s = 0.0;
      for (let i = 0; i <= d; i++) if (i != worst) s += load<f64>(at(simplex + <usize>i * rowBytes, j));
      store<f64>(at(cen, j), s / <f64>d);
    }
    const wrow = simplex + <usize>worst * rowBytes;
    for (let j = 0; j < d; j++) {
      const c = load<f64>(at(cen, j));
      store<f64>(at(xr, j), c + (c - load<f64>(at(wrow, j))));
    }
    const fr = evalAt(f, xr, d, ctx);
    evals++;
    if (fr < fb) {
      for (let j = 0; j < d; j++) {
        const c = load<f64>(at(cen, j));
        store<f64>(at(xe, j), c + 2.0 * (load<f64>(at(xr, j)) - c));
      }
      const fe = evalAt(f, xe, d, ctx);
      evals++;
      if (fe < fr) {
        memory.copy(wrow, xe, rowBytes);
        store<f64>(at(fv, worst), fe);
      } else {
        memory.copy(wrow, xr, rowBytes);
        store<f64>(at(fv, worst), fr);
      }
      continue;
    }
    if (fr < load<f64>(at(fv, second))) {
      memory.copy(wrow, xr, rowBytes);
      store<f64>(at(fv, worst), fr);
      continue;
    }
    // contraction (outside if the reflection improved on the worst, else inside)
    const outside = fr < fw;
    for (let j = 0; j < d; j++) {
      const c = load<f64>(at(cen, j));
      const target = outside ? load<f64>(at(xr, j)) : load<f64>(at(wrow, j));
      store<f64>(at(xc, j), c + 0.5 * (target - c));
    }
    const fc = evalAt(f, xc, d, ctx);
    evals++;
    const bound = outside ? fr : fw;
    if (fc < bound) {
      memory.copy(wrow, xc, rowBytes);
      store<f64>(at(fv, worst), fc);
      continue;
    }
    // shrink towards the best
    const brow = simplex + <usize>best * rowBytes;
    for (let i = 0; i <= d; i++) {
      if (i == best) continue;
      const row = simplex + <usize>i * rowBytes;
      for (let j = 0; j < d; j++) {
        const b = load<f64>(at(brow, j));
        store<f64>(at(row, j), b + 0.5 * (load<f64>(at(row, j)) - b));
      }
      store<f64>(at(fv, i), evalAt(f, row, d, ctx));
      evals++;
    }
  }
  let best = 0;
  for (let i = 1; i <= d; i++) if (load<f64>(at(fv, i)) < load<f64>(at(fv, best))) best = i;
  memory.copy(start, simplex + <usize>best * rowBytes, rowBytes);
  return load<f64>(at(fv, best));
}
