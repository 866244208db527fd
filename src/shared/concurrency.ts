/**
 * @module Bounded concurrency for multi-item work (bulk reads, bulk saves, listings). Base layer:
 * every layer may use it.
 */

/**
 * Runs `fn` over items with at most `limit` in flight (a pool, not lockstep batches: a slow item holds
 * one slot, not a whole batch), keeping result order. A limit below 1 counts as 1.
 */
export async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const width = Math.min(Math.max(1, Math.floor(limit)), items.length);
  if (width >= items.length) return Promise.all(items.map((item) => fn(item)));
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: width }, worker));
  return results;
}
