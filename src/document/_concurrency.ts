/**
 * Bounded concurrency for provider-bound work (opening and sealing many values).
 *
 * @module
 */

/** Default number of values opened or sealed at once: 16. */
export const DEFAULT_CONCURRENCY = 16;

/**
 * Run `task` over `items` with at most `limit` running at once, results in input order. After the
 * first failure no new task starts; the error of the lowest failing index is thrown once the
 * running tasks have settled, so the reported error does not depend on timing.
 */
export async function mapConcurrent<T, R>(
  items: readonly T[],
  limit: number,
  task: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError("concurrency must be a positive integer");
  }
  const results = new Array<R>(items.length);
  const errors = new Map<number, unknown>();
  let next = 0;
  const worker = async () => {
    while (errors.size === 0 && next < items.length) {
      const i = next++;
      try {
        results[i] = await task(items[i]!, i);
      } catch (err) {
        errors.set(i, err);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (errors.size > 0) throw errors.get(Math.min(...errors.keys()));
  return results;
}
