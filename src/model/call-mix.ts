// The API call mix of each tenant's behavioural profile, kept across pulls: the calls of the tenant's busiest call
// types (method and route) summed per bucket of the history window, every other type summed as one OTHER_CALLS type.
// A tenant with thousands of routes (un-templated paths such as /items/123) costs at most maxTypes + 1 small rings,
// and its profile and /metrics carry at most maxTypes + 1 types. Pure state over pulled series; no I/O.
import type { BreakdownSeries } from '../sources/history-source.js';
import { groupBy } from './group-by.js';

/** The type that stands for every call type a tenant does not keep apart. */
export const OTHER_CALLS = '(other)';

export interface CallMixOptions {
  /** Grid spacing of the pulled series, seconds. */
  intervalS: number;
  /** Slots the mix reaches back (the profile window: a week at 5 minutes = 2,016). */
  windowPoints: number;
  /** Call types a tenant keeps apart; the others are summed into OTHER_CALLS. */
  maxTypes: number;
  /** Slots summed per bucket (default: the window in about 168 buckets, an hour for a week at 5 minutes). */
  bucketPoints?: number;
  /** Half-life of the call rates that rank a tenant's types, seconds (default a day, so that a route busy by day
   *  and idle at night keeps its place). */
  rateHalfLifeS?: number;
  /** Types not kept apart that a tenant remembers (their rate and newest slot), at most (default 10 x maxTypes, at
   *  least 100); the least busy are forgotten beyond it. */
  maxCandidates?: number;
}

/** A type not kept apart takes the place of the least busy kept one once its rate is this many times higher (so two
 *  types of similar volume do not take turns)... */
export const SWAP_MARGIN = 2;
/** ...and it has been seen for this long (a one-off burst of a new route does not displace a steady one). */
export const SWAP_MIN_AGE_S = 3600;

/** Calls per bucket: a ring of buckets ending at bucket `newest` (a bucket id is floor(time / bucketS)). */
class Buckets {
  readonly sums: Float32Array;
  newest = -Infinity;
  constructor(n: number) {
    this.sums = new Float32Array(n);
  }
  add(id: number, calls: number): void {
    const n = this.sums.length;
    if (id > this.newest) {
      for (let b = Math.max(this.newest + 1, id - n + 1); b <= id; b++) this.sums[ringIndex(b, n)] = 0;
      this.newest = id;
    } else if (id <= this.newest - n) return; // older than the ring holds
    this.sums[ringIndex(id, n)] += calls;
  }
  /** Calls in buckets fromId..toId (inclusive), as far as the ring holds them. */
  sum(fromId: number, toId: number): number {
    const n = this.sums.length;
    let s = 0;
    for (let b = Math.max(fromId, this.newest - n + 1); b <= Math.min(toId, this.newest); b++) s += this.sums[ringIndex(b, n)];
    return s;
  }
  /** Adds every bucket of `o` (oldest first, so this ring moves forward as `o` did). */
  addAll(o: Buckets): void {
    const n = o.sums.length;
    for (let b = o.newest - n + 1; b <= o.newest; b++) if (o.sums[ringIndex(b, n)] !== 0) this.add(b, o.sums[ringIndex(b, n)]);
  }
}

function ringIndex(id: number, n: number): number {
  return ((id % n) + n) % n;
}

interface CallType {
  /** Newest slot counted: a later pull counts only slots after it (pulls overlap for late scrapes). */
  lastSlotS: number;
  /** Time of the first slot counted (-Infinity before any). */
  firstS: number;
  /** Calls and seconds observed since firstS, both decayed with the rate half-life, as of lastSlotS: their ratio is
   *  the type's recent rate (sumS counts the time between its samples too, so a route called in one slot of many
   *  is not rated by that slot alone). */
  sumCalls: number;
  sumS: number;
  /** Kept apart: its calls are in `buckets` and the mix lists it by name. */
  kept: boolean;
  /** The type's own calls per bucket while it is kept apart, or while the tenant's choice waits for the last chunk of
   *  a pull (see CallMix.add); undefined: its calls go to the tenant's OTHER_CALLS. */
  buckets?: Buckets;
}

interface TenantCalls {
  types: Map<string, CallType>;
  other?: Buckets;
  /** Newest slot any pull brought (rates are compared as of it; a catch-up pull of older slots does not move it back). */
  nowS: number;
  /** Newest slot counted of any type forgotten beyond the candidate bound: a type the tenant does not remember counts
   *  only later slots, so that a forgotten type seen again does not count its re-pulled slots twice (it may miss the
   *  re-pulled slots of a type seen for the first time). */
  forgotUntilS: number;
}

export class CallMix {
  readonly intervalS: number;
  readonly bucketS: number;
  readonly maxTypes: number;
  readonly maxCandidates: number;
  readonly #nBuckets: number;
  readonly #halfLifeS: number;
  readonly #tenants = new Map<string, TenantCalls>();
  /** Tenants whose choice waits for choose(): a chunk of their pull came with more to follow. */
  readonly #pending = new Set<TenantCalls>();

  constructor(o: CallMixOptions) {
    if (!(o.maxTypes >= 1)) throw new RangeError(`maxTypes must be at least 1, got ${o.maxTypes}`);
    const bucketPoints = Math.max(1, Math.floor(o.bucketPoints ?? Math.ceil(o.windowPoints / 168)));
    this.intervalS = o.intervalS;
    this.bucketS = bucketPoints * o.intervalS;
    this.maxTypes = Math.floor(o.maxTypes);
    this.maxCandidates = Math.floor(o.maxCandidates ?? Math.max(100, 10 * this.maxTypes));
    // the window's buckets, plus one for a window that starts inside a bucket
    this.#nBuckets = Math.ceil(o.windowPoints / bucketPoints) + 1;
    this.#halfLifeS = o.rateHalfLifeS ?? 86_400;
  }

  /**
   * Counts a pull's breakdown series (any tenants, each type's slots after the newest it has counted), then chooses
   * each of their tenants' kept types. With `more`, the pull is one time chunk of several (the loop's first pull of a
   * week comes in chunks of 8 hours) and the choice waits for choose(): each type the tenant remembers counts its calls
   * apart meanwhile, so that the types are chosen on the rates of every chunk and the chosen ones keep their calls.
   */
  add(pulled: readonly BreakdownSeries[], o: { more?: boolean } = {}): void {
    for (const [tenant, series] of groupBy(pulled, (b) => b.tenant)) this.#addTenant(tenant, series, o.more === true);
  }

  /** Chooses the kept types of every tenant whose choice waits for the end of a pull (add with `more`). */
  choose(): void {
    for (const t of this.#pending) this.#choose(t, t.nowS);
    this.#pending.clear();
  }

  #addTenant(tenant: string, series: readonly BreakdownSeries[], more: boolean): void {
    let t = this.#tenants.get(tenant);
    if (!t) this.#tenants.set(tenant, (t = { types: new Map(), nowS: -Infinity, forgotUntilS: -Infinity }));
    // 1. rate every pulled type on its new slots before deciding where they go, so that a tenant's first pull (a
    //    week, in one add or in chunks with `more`) rates its types on that week
    for (const b of series) t.nowS = Math.max(t.nowS, b.startS + (b.values.length - 1) * b.intervalS);
    const fresh: Array<{ b: BreakdownSeries; from: number; type: CallType }> = [];
    for (const b of series) {
      let ct = t.types.get(b.type);
      if (!ct) t.types.set(b.type, (ct = { lastSlotS: t.forgotUntilS, firstS: -Infinity, sumCalls: 0, sumS: 0, kept: false }));
      const from = Math.max(0, Math.floor((ct.lastSlotS - b.startS) / b.intervalS + 1e-9) + 1);
      for (let i = from; i < b.values.length; i++) {
        const v = b.values[i];
        if (!(v >= 0 && v < Infinity)) continue; // NaN: no sample (yet); counted when a later pull has it
        const slotS = b.startS + i * b.intervalS;
        const dt = ct.firstS === -Infinity ? b.intervalS : slotS - ct.lastSlotS;
        if (ct.firstS === -Infinity) ct.firstS = slotS;
        const f = 2 ** (-dt / this.#halfLifeS);
        ct.sumCalls = ct.sumCalls * f + v * b.intervalS;
        ct.sumS = ct.sumS * f + dt;
        ct.lastSlotS = slotS;
      }
      fresh.push({ b, from, type: ct });
    }
    // 2. which types are kept apart; while more chunks follow, none changes, and every type the tenant still remembers
    //    counts its calls apart until choose()
    if (more) {
      this.#pending.add(t);
      // (up to maxTypes of them may be kept apart once it is chosen, and the candidate bound comes on top, as in one add)
      if (t.types.size > this.maxTypes + this.maxCandidates) this.#forget(t, this.#candidates(t, t.nowS), this.maxTypes);
    } else this.#choose(t, t.nowS);
    // 3. count the new calls in the type's buckets or in OTHER_CALLS
    for (const { b, from, type } of fresh) {
      if (more && !type.buckets && t.types.get(b.type) === type) type.buckets = new Buckets(this.#nBuckets);
      const to = type.buckets ?? (t.other ??= new Buckets(this.#nBuckets));
      for (let i = from; i < b.values.length; i++) {
        const v = b.values[i];
        if (v > 0 && v !== Infinity) to.add(Math.floor((b.startS + i * b.intervalS) / this.bucketS), v * b.intervalS);
      }
    }
  }

  /** The type's recent rate as of atS: the time since its newest sample counts as time without calls. */
  #rateAt(ct: CallType, atS: number): number {
    if (ct.sumS === 0) return 0;
    const gap = Math.max(0, atS - ct.lastSlotS);
    const f = 2 ** (-gap / this.#halfLifeS);
    return (ct.sumCalls * f) / (ct.sumS * f + gap);
  }

  /** The types not kept apart with their rates as of nowS, busiest first. */
  #candidates(t: TenantCalls, nowS: number): Array<[string, CallType, number]> {
    const cands: Array<[string, CallType, number]> = [];
    for (const [name, ct] of t.types) if (!ct.kept) cands.push([name, ct, this.#rateAt(ct, nowS)]);
    return cands.sort((a, b) => b[2] - a[2]);
  }

  /** Keeps apart the busiest types while there is room, then swaps in a type SWAP_MARGIN times busier than the least
   *  busy kept one (whose counted calls move to OTHER_CALLS). The calls a type counted apart while the choice waited
   *  stay with it if it is kept, and move to OTHER_CALLS if not. Forgets the least busy candidates beyond the bound. */
  #choose(t: TenantCalls, nowS: number): void {
    const kept: Array<[string, CallType, number]> = [];
    for (const [name, ct] of t.types) if (ct.kept) kept.push([name, ct, this.#rateAt(ct, nowS)]);
    const cands = this.#candidates(t, nowS);
    const keep = (ct: CallType) => {
      ct.kept = true;
      ct.buckets ??= new Buckets(this.#nBuckets);
    };
    let c = 0;
    for (; c < cands.length && kept.length < this.maxTypes && cands[c][2] > 0; c++) {
      keep(cands[c][1]);
      kept.push(cands[c]);
    }
    if (c < cands.length && kept.length > 0) {
      kept.sort((a, b) => a[2] - b[2]);
      let k = 0;
      for (; c < cands.length && k < kept.length && cands[c][2] > SWAP_MARGIN * kept[k][2]; c++) {
        if (nowS - cands[c][1].firstS < SWAP_MIN_AGE_S) continue; // too new to tell
        const out = kept[k++][1];
        out.kept = false;
        this.#toOther(t, out);
        keep(cands[c][1]);
      }
    }
    for (const [, ct] of cands) if (!ct.kept) this.#toOther(t, ct);
    this.#forget(t, cands, kept.length);
    this.#pending.delete(t);
  }

  /** Forgets the least busy of `cands` (busiest first) beyond `apart` + maxCandidates types; their calls counted apart
   *  go to OTHER_CALLS. */
  #forget(t: TenantCalls, cands: ReadonlyArray<[string, CallType, number]>, apart: number): void {
    let excess = t.types.size - apart - this.maxCandidates;
    for (let i = cands.length - 1; i >= 0 && excess > 0; i--) {
      const ct = cands[i][1];
      if (ct.kept) continue;
      this.#toOther(t, ct);
      t.types.delete(cands[i][0]);
      t.forgotUntilS = Math.max(t.forgotUntilS, ct.lastSlotS);
      excess--;
    }
  }

  /** Moves the calls a type counted apart to OTHER_CALLS. */
  #toOther(t: TenantCalls, ct: CallType): void {
    if (!ct.buckets) return;
    (t.other ??= new Buckets(this.#nBuckets)).addAll(ct.buckets);
    ct.buckets = undefined;
  }

  /**
   * Shares of each type's calls over [fromS, toS] (whole buckets from the first that starts at or after fromS to the
   * one holding toS): largest first, OTHER_CALLS among them; a type without calls in it is left out.
   */
  mix(tenant: string, fromS: number, toS: number): Record<string, number> {
    const t = this.#tenants.get(tenant);
    if (!t) return {};
    const fromId = Math.ceil(fromS / this.bucketS - 1e-9);
    const toId = Math.floor(toS / this.bucketS + 1e-9);
    const sums: Array<[string, number]> = [];
    let total = 0;
    const put = (name: string, s: number) => {
      if (s > 0) {
        sums.push([name, s]);
        total += s;
      }
    };
    let other = t.other?.sum(fromId, toId) ?? 0;
    for (const [name, ct] of t.types) {
      const s = ct.buckets?.sum(fromId, toId) ?? 0;
      if (ct.kept) put(name, s);
      else other += s; // calls counted apart while the choice waits for a pull's last chunk
    }
    put(OTHER_CALLS, other);
    const out: Record<string, number> = {};
    for (const [name, s] of sums.sort((a, b) => b[1] - a[1])) out[name] = s / total;
    return out;
  }

  /** Drops tenants not in `tenants`, and the types (kept apart or not) without a counted slot since windowStartS. */
  retain(tenants: ReadonlySet<string>, windowStartS: number): void {
    const oldest = Math.ceil(windowStartS / this.bucketS - 1e-9);
    for (const [tenant, t] of this.#tenants) {
      if (!tenants.has(tenant)) {
        this.#tenants.delete(tenant);
        this.#pending.delete(t);
        continue;
      }
      for (const [name, ct] of t.types) if (ct.lastSlotS < windowStartS) t.types.delete(name);
      if (t.other && t.other.newest < oldest) t.other = undefined;
    }
  }

  /** Types a tenant keeps apart and types it only remembers (for tests and the memory bench). */
  counts(tenant: string): { kept: number; candidates: number } {
    const t = this.#tenants.get(tenant);
    let kept = 0;
    for (const ct of t?.types.values() ?? []) if (ct.kept) kept++;
    return { kept, candidates: (t?.types.size ?? 0) - kept };
  }
}
