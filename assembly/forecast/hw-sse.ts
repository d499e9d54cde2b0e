// The Holt-Winters filter's sum of squared one-step errors for states of one season or none, the objective of every
// fit evaluation (assembly/forecast/holt-winters.ts): one state at a time, or four states on the same series at once.
// State layout as in holt-winters.ts (HW_HEADER doubles, then the seasons). One loop per season count, though they
// repeat each other: one loop with the season's load, addition and store behind a branch on whether the state has it
// (the same at every point) fitted 15-25% slower in five alternating runs (600 series, cold and warm fits).

export const HW_HEADER: i32 = 16;

@inline export function f(p: usize, i: i32): f64 {
  return load<f64>(p + (<usize>i << 3));
}
@inline export function put(p: usize, i: i32, v: f64): void {
  store<f64>(p + (<usize>i << 3), v);
}

// hwRun without forecasts for a state of one season or none, the objective of every fit evaluation: the same
// operations in the same order, less the additions of an absent season's 0. The loop is bound by the latency of its
// chain from one point's error to the next (b, phi * b, + l, + each season, - y); each addition of 0 was a link of it
// (about a sixth of the chain with one season, a third with none). Its results are hwRun's to the bit (x + 0 is x
// for every x but -0, and an error of -0 or +0 squares and scales alike).

export function sseOneSeason(s: usize, y: usize, n: i32): f64 {
  const alpha = f(s, 0), beta = f(s, 1), g1 = f(s, 2), phi = f(s, 4);
  let l = f(s, 5), b = f(s, 6);
  const m1 = <i32>f(s, 7);
  const t0 = <i64>f(s, 9);
  const s1 = s + (<usize>HW_HEADER << 3);
  let ph1 = <i32>(t0 % <i64>m1);
  let sse = 0.0;
  for (let i = 0; i < n; i++) {
    const p1 = s1 + (<usize>ph1 << 3);
    const sv1 = load<f64>(p1);
    const yhat = l + phi * b + sv1;
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      const e = v - yhat;
      l = l + phi * b + alpha * e;
      b = phi * b + beta * e;
      store<f64>(p1, sv1 + g1 * e);
      sse += e * e;
    } else {
      l = l + phi * b;
      b = phi * b;
    }
    if (++ph1 == m1) ph1 = 0;
  }
  put(s, 5, l);
  put(s, 6, b);
  put(s, 9, <f64>(t0 + <i64>n));
  return sse;
}

export function sseNoSeason(s: usize, y: usize, n: i32): f64 {
  const alpha = f(s, 0), beta = f(s, 1), phi = f(s, 4);
  let l = f(s, 5), b = f(s, 6);
  const t0 = <i64>f(s, 9);
  let sse = 0.0;
  for (let i = 0; i < n; i++) {
    const yhat = l + phi * b;
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      const e = v - yhat;
      l = l + phi * b + alpha * e;
      b = phi * b + beta * e;
      sse += e * e;
    } else {
      l = l + phi * b;
      b = phi * b;
    }
  }
  put(s, 5, l);
  put(s, 6, b);
  put(s, 9, <f64>(t0 + <i64>n));
  return sse;
}

// Four states at once (the points a Nelder-Mead step may need next, evaluated together): each state's operations are
// those of the loops above, in the same order, so each sum and state is theirs to the bit. The four chains are
// independent, so the processor overlaps them: the loop is bound by one chain's latency, not by the work of four.
// States at s + k * bytes (k < 4), sums into out[k].

export function sse4OneSeason(s: usize, bytes: usize, y: usize, n: i32, out: usize): void {
  const sA = s, sB = s + bytes, sC = s + 2 * bytes, sD = s + 3 * bytes;
  const aA = f(sA, 0), aB = f(sB, 0), aC = f(sC, 0), aD = f(sD, 0);
  const bA = f(sA, 1), bB = f(sB, 1), bC = f(sC, 1), bD = f(sD, 1);
  const gA = f(sA, 2), gB = f(sB, 2), gC = f(sC, 2), gD = f(sD, 2);
  const pA = f(sA, 4), pB = f(sB, 4), pC = f(sC, 4), pD = f(sD, 4);
  let lA = f(sA, 5), lB = f(sB, 5), lC = f(sC, 5), lD = f(sD, 5);
  let tA = f(sA, 6), tB = f(sB, 6), tC = f(sC, 6), tD = f(sD, 6);
  let eA = 0.0, eB = 0.0, eC = 0.0, eD = 0.0;
  const m1 = <i32>f(sA, 7);
  const t0 = <i64>f(sA, 9);
  const season = <usize>HW_HEADER << 3;
  let ph = <usize>(t0 % <i64>m1) << 3;
  const end = <usize>m1 << 3;
  for (let i = 0; i < n; i++) {
    const qA = sA + season + ph, qB = sB + season + ph, qC = sC + season + ph, qD = sD + season + ph;
    const vA = load<f64>(qA), vB = load<f64>(qB), vC = load<f64>(qC), vD = load<f64>(qD);
    const hA = lA + pA * tA + vA, hB = lB + pB * tB + vB, hC = lC + pC * tC + vC, hD = lD + pD * tD + vD;
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      const dA = v - hA, dB = v - hB, dC = v - hC, dD = v - hD;
      lA = lA + pA * tA + aA * dA;
      lB = lB + pB * tB + aB * dB;
      lC = lC + pC * tC + aC * dC;
      lD = lD + pD * tD + aD * dD;
      tA = pA * tA + bA * dA;
      tB = pB * tB + bB * dB;
      tC = pC * tC + bC * dC;
      tD = pD * tD + bD * dD;
      store<f64>(qA, vA + gA * dA);
      store<f64>(qB, vB + gB * dB);
      store<f64>(qC, vC + gC * dC);
      store<f64>(qD, vD + gD * dD);
      eA += dA * dA;
      eB += dB * dB;
      eC += dC * dC;
      eD += dD * dD;
    } else {
      lA = lA + pA * tA;
      lB = lB + pB * tB;
      lC = lC + pC * tC;
      lD = lD + pD * tD;
      tA = pA * tA;
      tB = pB * tB;
      tC = pC * tC;
      tD = pD * tD;
    }
    ph += 8;
    if (ph == end) ph = 0;
  }
  finish4(s, bytes, t0 + <i64>n, lA, lB, lC, lD, tA, tB, tC, tD);
  store<f64>(out, eA);
  store<f64>(out + 8, eB);
  store<f64>(out + 16, eC);
  store<f64>(out + 24, eD);
}

export function sse4NoSeason(s: usize, bytes: usize, y: usize, n: i32, out: usize): void {
  const sA = s, sB = s + bytes, sC = s + 2 * bytes, sD = s + 3 * bytes;
  const aA = f(sA, 0), aB = f(sB, 0), aC = f(sC, 0), aD = f(sD, 0);
  const bA = f(sA, 1), bB = f(sB, 1), bC = f(sC, 1), bD = f(sD, 1);
  const pA = f(sA, 4), pB = f(sB, 4), pC = f(sC, 4), pD = f(sD, 4);
  let lA = f(sA, 5), lB = f(sB, 5), lC = f(sC, 5), lD = f(sD, 5);
  let tA = f(sA, 6), tB = f(sB, 6), tC = f(sC, 6), tD = f(sD, 6);
  let eA = 0.0, eB = 0.0, eC = 0.0, eD = 0.0;
  const t0 = <i64>f(sA, 9);
  for (let i = 0; i < n; i++) {
    const hA = lA + pA * tA, hB = lB + pB * tB, hC = lC + pC * tC, hD = lD + pD * tD;
    const v = load<f64>(y + (<usize>i << 3));
    if (isFinite(v)) {
      const dA = v - hA, dB = v - hB, dC = v - hC, dD = v - hD;
      lA = lA + pA * tA + aA * dA;
      lB = lB + pB * tB + aB * dB;
      lC = lC + pC * tC + aC * dC;
      lD = lD + pD * tD + aD * dD;
      tA = pA * tA + bA * dA;
      tB = pB * tB + bB * dB;
      tC = pC * tC + bC * dC;
      tD = pD * tD + bD * dD;
      eA += dA * dA;
      eB += dB * dB;
      eC += dC * dC;
      eD += dD * dD;
    } else {
      lA = lA + pA * tA;
      lB = lB + pB * tB;
      lC = lC + pC * tC;
      lD = lD + pD * tD;
      tA = pA * tA;
      tB = pB * tB;
      tC = pC * tC;
      tD = pD * tD;
    }
  }
  finish4(s, bytes, t0 + <i64>n, lA, lB, lC, lD, tA, tB, tC, tD);
  store<f64>(out, eA);
  store<f64>(out + 8, eB);
  store<f64>(out + 16, eC);
  store<f64>(out + 24, eD);
}

function finish4(s: usize, bytes: usize, t: i64, lA: f64, lB: f64, lC: f64, lD: f64, tA: f64, tB: f64, tC: f64, tD: f64): void {
  put(s, 5, lA);
  put(s + bytes, 5, lB);
  put(s + 2 * bytes, 5, lC);
  put(s + 3 * bytes, 5, lD);
  put(s, 6, tA);
  put(s + bytes, 6, tB);
  put(s + 2 * bytes, 6, tC);
  put(s + 3 * bytes, 6, tD);
  for (let k: usize = 0; k < 4; k++) put(s + k * bytes, 9, <f64>t);
}
