import type { EntityManager } from 'typeorm';
import type { AccountScope, TransactionScope } from './account-scope.js';

/**
 * One write whose result nobody reads (no RETURNING the caller needs, no row count): SQL with its own
 * `$1…$n` parameters. `key` names the row it writes (`orders:<id>`); `supersedes`: the statement writes
 * every column an earlier statement of the same key wrote (an order's state saved again), so it can take
 * that statement's place.
 */
export interface DeferredWrite {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly key?: string;
  readonly supersedes?: boolean;
}

/** A scope whose writes may be held and sent together (AccountTransaction); see `WriteBatch`. */
export interface BatchingScope extends AccountScope {
  readonly writes: WriteBatch;
}

/**
 * The writes of one transaction held back and sent as one statement (data-modifying CTEs) at the next
 * read, or before the commit: one round trip for the intent's order, idempotency key, message, event and
 * `last_seq`, instead of one each. What makes it sound:
 * - every read of the transaction goes through the scope's `manager`, which sends the held writes
 *   before it (`flushingManager`), so no read ever misses a write of its own transaction;
 * - the statements of one CTE see one snapshot and none sees another's rows, so two writes of one row
 *   are never sent together: a save of an order supersedes the held save of the same order, and any
 *   other second write of a held row first sends what is held;
 * - foreign keys and the row triggers on `orders` (working exposure) run at the end of the statement, after
 *   every part of it, as they would after separate statements;
 * - an error (a unique key taken) aborts the transaction as it would have one statement earlier.
 */
export class WriteBatch {
  private held: DeferredWrite[] = [];
  private added = false;

  constructor(private readonly manager: EntityManager) {}

  get pending(): number {
    return this.held.length;
  }

  /** Whether any write was ever added (held or since sent). */
  get hasWritten(): boolean {
    return this.added;
  }

  /** Holds `write`, or sends what is held first when it writes a held row again (see the class). */
  async add(write: DeferredWrite): Promise<void> {
    this.added = true;
    if (write.key !== undefined) {
      const at = this.held.findIndex((w) => w.key === write.key);
      if (at >= 0) {
        if (write.supersedes && this.held[at]?.supersedes) {
          this.held[at] = write;
          return;
        }
        await this.flush();
      }
    }
    this.held.push(write);
  }

  /** Sends every held write, as one statement. */
  async flush(): Promise<void> {
    if (this.held.length === 0) {
      return;
    }
    const batch = this.held;
    this.held = [];
    const { sql, params } = combine(batch);
    await this.manager.query(sql, [...params]);
  }

  /**
   * Takes every held write out of the batch as one statement (`combine`), for the caller to send with its
   * `COMMIT` in one round trip (`runStatements`); null when nothing is held.
   */
  drain(): { sql: string; params: readonly unknown[] } | null {
    if (this.held.length === 0) {
      return null;
    }
    const combined = combine(this.held);
    this.held = [];
    return combined;
  }
}

/** One statement for `batch`: itself when alone, else each write a CTE with its parameters renumbered. */
export function combine(batch: readonly DeferredWrite[]): { sql: string; params: readonly unknown[] } {
  if (batch.length === 1 && batch[0]) {
    return batch[0];
  }
  const params: unknown[] = [];
  const parts = batch.map((w, i) => {
    const offset = params.length;
    params.push(...w.params);
    return `w${i} AS (${w.sql.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)})`;
  });
  return { sql: `WITH ${parts.join(', ')} SELECT 1`, params };
}

/**
 * `manager` as seen through the scope: any call sends the held writes first (when there are some), so a
 * read after a held write sees it. A call that cannot wait (a synchronous one, `createQueryBuilder`)
 * while writes are held is refused rather than run ahead of them. `onCall`: told of every call.
 */
export function flushingManager(manager: EntityManager, batch: WriteBatch, onCall?: () => void): EntityManager {
  return new Proxy(manager, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function') {
        return value;
      }
      const fn = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]) => {
        onCall?.();
        if (batch.pending === 0) {
          return fn.apply(target, args);
        }
        return batch.flush().then(() => {
          const result = fn.apply(target, args);
          if (!(result instanceof Promise)) {
            throw new Error(`EntityManager.${String(prop)} cannot follow held writes`);
          }
          return result;
        });
      };
    },
  });
}

/** Writes `write` in `scope`: held in its batch when it has one (AccountTransaction), else at once. */
export async function writeIn(scope: TransactionScope, write: DeferredWrite): Promise<void> {
  const batching = (scope as Partial<BatchingScope>).writes;
  if (batching instanceof WriteBatch) {
    await batching.add(write);
    return;
  }
  await scope.manager.query(write.sql, [...write.params]);
}
