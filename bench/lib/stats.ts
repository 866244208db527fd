/** @module bench/lib/stats: medians with their spread, and ratios of interleaved runs. */

/** A median with the smallest and largest sample. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  samples: number[];
}

/** Median (mean of the middle two for an even count), min and max; NaN for no samples. */
export function spread(samples: readonly number[]): Spread {
  const sorted = samples.filter((n) => Number.isFinite(n)).sort((a, b) => a - b);
  if (sorted.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, samples: [...samples] };
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  return { median, min: sorted[0] as number, max: sorted[sorted.length - 1] as number, samples: [...samples] };
}

/**
 * The ratio of two interleaved series, pair by pair (run i of A over run i of B), so slow phases of a
 * busy machine hit both sides of a pair and cancel out.
 */
export function pairedRatio(a: readonly number[], b: readonly number[]): Spread {
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) ratios.push((a[i] as number) / (b[i] as number));
  return spread(ratios);
}

/** The p-th percentile (0–100) of samples, nearest rank. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** `1.23× (1.10–1.40)` */
export function formatRatio(s: Spread): string {
  return Number.isFinite(s.median) ? `${s.median.toFixed(2)}× (${s.min.toFixed(2)}–${s.max.toFixed(2)})` : "n/a";
}
