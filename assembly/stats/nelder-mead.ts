// Bounded Nelder-Mead minimiser on the unit box [0,1]^d (d <= 8): points are clamped into the box before each
// evaluation. Nelder & Mead (1965), with the standard coefficients of Lagarias et al. (1998): reflection 1,
// expansion 2, contraction 0.5, shrink 0.5. No allocation: the caller passes a scratch area of
// nelderMeadScratchLen(d) doubles.
//
// The objective evaluates up to four points at a time, and the minimiser hands it every point a step may need at once:
// the starting simplex's vertices, a step's reflection with its expansion and both contractions, a shrink's vertices.
// An objective that runs them together (the Holt-Winters fit's four filters in one loop) pays for one evaluation's
// latency where the step took two. The step then goes on as if it had evaluated one point after the other, and counts
// only the evaluations it uses: the path, the result and the evaluations counted are those of the classic algorithm.

/**
 * Objective: evaluates k (1..4) points, rows of d doubles in [0,1] at xs (row i at xs + i * d doubles), into
 * out[0..k); ctx is the caller's context pointer. A point's value must not depend on the others evaluated with it.
 */
export type Objective = (xs: usize, k: i32, d: i32, ctx: usize, out: usize) => void;

/** Doubles of scratch nelderMead needs for d parameters. */
export function nelderMeadScratchLen(d: i32): i32 {
  return (d + 1) * d + (d + 1) + 5 * d + 4;
}

@inline function at(base: usize, i: i32): usize {
  return base + (<usize>i << 3);
}

function clampBox(x: usize, d: i32): void {
  for (let i = 0; i < d; i++) {
    const v = load<f64>(at(x, i));
    store<f64>(at(x, i), v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : isNaN(v) ? 0.5 : v);
  }
}

/** Clamps the k rows at xs into the box and evaluates them into vals[0..k) (a non-finite value as 1e300). */
function evalRows(f: Objective, xs: usize, k: i32, d: i32, ctx: usize, vals: usize): void {
  for (let i = 0; i < k; i++) clampBox(xs + <usize>(i * d) * 8, d);
  f(xs, k, d, ctx, vals);
  for (let i = 0; i < k; i++) {
    const v = load<f64>(at(vals, i));
    store<f64>(at(vals, i), isFinite(v) ? v : 1e300);
  }
}

/** Evaluates rows [from, to) of the simplex into fv, four at a time. */
function evalSimplex(f: Objective, simplex: usize, fv: usize, from: i32, to: i32, d: i32, ctx: usize): void {
  for (let i = from; i < to; i += 4) evalRows(f, simplex + <usize>(i * d) * 8, to - i < 4 ? to - i : 4, d, ctx, at(fv, i));
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
  // a step's candidates, contiguous for one call of the objective: reflection, expansion, outside and inside contraction
  const xr = cen + rowBytes;
  const xe = xr + rowBytes;
  const xco = xe + rowBytes;
  const xci = xco + rowBytes;
  const vals = xci + rowBytes; // their 4 values
  for (let i = 0; i <= d; i++) {
    const row = simplex + <usize>i * rowBytes;
    memory.copy(row, start, rowBytes);
    if (i > 0) {
      const p = at(row, i - 1);
      const v = load<f64>(p);
      store<f64>(p, v + step <= 1.0 ? v + step : v - step);
    }
  }
  evalSimplex(f, simplex, fv, 0, d + 1, d, ctx);
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
    // the others are made from the reflection as clamped into the box, as when it was evaluated first
    clampBox(xr, d);
    for (let j = 0; j < d; j++) {
      const c = load<f64>(at(cen, j));
      const r = load<f64>(at(xr, j));
      store<f64>(at(xe, j), c + 2.0 * (r - c));
      store<f64>(at(xco, j), c + 0.5 * (r - c));
      store<f64>(at(xci, j), c + 0.5 * (load<f64>(at(wrow, j)) - c));
    }
    evalRows(f, xr, 4, d, ctx, vals);
    const fr = load<f64>(at(vals, 0));
    evals++;
    if (fr < fb) {
      const fe = load<f64>(at(vals, 1));
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
    const fc = load<f64>(at(vals, outside ? 2 : 3));
    evals++;
    const bound = outside ? fr : fw;
    if (fc < bound) {
      memory.copy(wrow, outside ? xco : xci, rowBytes);
      store<f64>(at(fv, worst), fc);
      continue;
    }
    // shrink towards the best: every other vertex moves, then is evaluated (those before the best, those after it)
    const brow = simplex + <usize>best * rowBytes;
    for (let i = 0; i <= d; i++) {
      if (i == best) continue;
      const row = simplex + <usize>i * rowBytes;
      for (let j = 0; j < d; j++) {
        const b = load<f64>(at(brow, j));
        store<f64>(at(row, j), b + 0.5 * (load<f64>(at(row, j)) - b));
      }
    }
    evalSimplex(f, simplex, fv, 0, best, d, ctx);
    evalSimplex(f, simplex, fv, best + 1, d + 1, d, ctx);
    evals += d;
  }
  let best = 0;
  for (let i = 1; i <= d; i++) if (load<f64>(at(fv, i)) < load<f64>(at(fv, best))) best = i;
  memory.copy(start, simplex + <usize>best * rowBytes, rowBytes);
  return load<f64>(at(fv, best));
}
