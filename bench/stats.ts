/** Median, p99 and max of a sample, in its own unit. */
export function summarise(samples: number[]): { median: number; p99: number; max: number } {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  return { median: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN };
}
