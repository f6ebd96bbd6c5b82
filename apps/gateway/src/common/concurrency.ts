/**
 * Runs `work` on every item with at most `limit` running at once, in order of the items; resolves when
 * all are done. A rejection is the caller's to catch inside `work` (one failure must not stop the rest).
 */
export async function forEachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
