/**
 * Stateless integer hashing: every generated field is a pure function of (seed, kind, ids), so any
 * row of a million-row course can be produced in O(1) without materialising its neighbours.
 */

/** A 32-bit finaliser (lowbias32 by Chris Wellons): good avalanche, two multiplies. */
export function mix32(value: number): number {
  let x = value | 0;
  x ^= x >>> 16;
  x = Math.imul(x, 0x7feb352d);
  x ^= x >>> 15;
  x = Math.imul(x, 0x846ca68b);
  x ^= x >>> 16;
  return x >>> 0;
}

/** Hash of a seed, a kind tag and up to three non-negative integer ids. */
export function hash4(seed: number, kind: number, a = 0, b = 0, c = 0): number {
  let h = mix32(seed ^ Math.imul(kind + 1, 0x9e3779b1));
  h = mix32(h ^ Math.imul(a + 0x632be5ab, 0x85ebca6b));
  h = mix32(h ^ Math.imul(b + 0x2545f491, 0xc2b2ae35));
  h = mix32(h ^ Math.imul(c + 0x1b873593, 0x27d4eb2f));
  return h;
}

/** The `n`th independent draw in [0, 1) derived from one entity hash. */
export function draw(entityHash: number, n: number): number {
  return mix32(entityHash + Math.imul(n + 1, 0x9e3779b9)) / 4294967296;
}

/** Picks an element of a non-empty list from a draw in [0, 1). */
export function pick<T>(list: readonly T[], unit: number): T {
  return list[Math.floor(unit * list.length)] as T;
}

/** mulberry32: a tiny seeded PRNG, used where a stream (not random access) is wanted (faults). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Entity kinds for `hash4`: stable numbers, so data never changes when code is reordered. */
export const Kind = {
  userName: 1,
  userNick: 2,
  studentAbility: 3,
  enrollmentState: 4,
  activity: 5,
  assignment: 6,
  submission: 7,
  course: 8,
  pageViews: 9,
  secret: 10,
  dayActivity: 11,
} as const;
