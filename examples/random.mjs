// A small seeded generator so the examples print the same run every time (Python's tutorial
// seeds `random` with 444; its Mersenne Twister sequence is not reproduced here).
export function seededRandInt(seed) {
  let x = seed >>> 0 || 1;
  return (lo, hi) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return lo + (x % (hi - lo + 1));
  };
}
