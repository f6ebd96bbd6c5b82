import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import pg from 'pg';
import type { TransactionScope } from './account-scope.js';

/**
 * node-postgres' own conversion of a parameter to the text it sends (`Date` with its offset, arrays as
 * array literals, objects as JSON, `null` for null and undefined, a `Buffer` as is): what the server
 * would receive for `$n` in the extended protocol, here to be written into the statement instead.
 */
const { prepareValue } = createRequire(import.meta.url)('pg/lib/utils.js') as {
  prepareValue: (value: unknown) => string | Buffer | null;
};

/**
 * `sql` with each `$n` replaced by `params[n - 1]` written as a literal, for the simple query protocol,
 * which takes several statements in one round trip but no parameters. Each value is converted as
 * node-postgres converts a parameter (`prepareValue`) and quoted with its `escapeLiteral` (which also
 * handles backslashes, with an `E'…'` literal): an untyped quoted literal is resolved by the server from
 * its context exactly as an untyped parameter is. `null` is `NULL`, a `Buffer` a `bytea` hex literal.
 * The statement text must not hold `$n` anywhere but as a placeholder (no dollar quoting), as ours don't.
 */
export function inlineParams(sql: string, params: readonly unknown[]): string {
  return sql.replace(/\$(\d+)/g, (_, n: string) => {
    const index = Number(n) - 1;
    if (index < 0 || index >= params.length) {
      throw new Error(`statement names $${n} but has ${params.length} parameters`);
    }
    return literal(params[index]);
  });
}

/** One value as a literal (see `inlineParams`). */
export function literal(value: unknown): string {
  const text = prepareValue(value);
  if (text === null) {
    return 'NULL';
  }
  if (Buffer.isBuffer(text)) {
    return `${pg.escapeLiteral(`\\x${text.toString('hex')}`)}::bytea`;
  }
  return pg.escapeLiteral(text);
}

/**
 * A read an account transaction may send together with its `BEGIN` and account lock, in the same round
 * trip (OrderLedger.inAccount's `reads`): `sql` with its own `$1…$n`. The repository that owns the read
 * builds it and, through `readIn`, takes its rows from there instead of asking again. Taken rows are as
 * of just after the lock was granted, so a read is answered from there only while its transaction has
 * written nothing (a later read must see the transaction's own writes), unless `survivesWrites` vouches
 * that no write of the transaction made before it is taken touches what it reads.
 */
export interface LockedRead {
  readonly sql: string;
  readonly params: readonly unknown[];
  readonly survivesWrites?: boolean;
}

const keyOf = (read: LockedRead): string => `${read.sql}\u0000${JSON.stringify(read.params)}`;

/** The rows of the reads sent with a transaction's lock, each answered once (`take`). */
export class LockedReadResults {
  private readonly rows = new Map<string, unknown[]>();

  constructor(reads: readonly LockedRead[], results: readonly unknown[][]) {
    reads.forEach((read, i) => this.rows.set(keyOf(read), results[i] ?? []));
  }

  /** The rows of `read` when it was sent with the lock and may still be answered from there (LockedRead). */
  take(read: LockedRead, written: boolean): unknown[] | undefined {
    const key = keyOf(read);
    const rows = this.rows.get(key);
    this.rows.delete(key);
    return rows !== undefined && (!written || read.survivesWrites) ? rows : undefined;
  }
}

/** A transaction whose lock came with reads (AccountTransaction). */
export interface LockedReadScope extends TransactionScope {
  readonly lockedReads: LockedReadResults;
  /** Whether the transaction has written anything yet (held or sent). */
  readonly hasWritten: boolean;
}

/** The rows of `read` in `scope`: from those sent with its lock when it was one of them, else asked now. */
export async function readIn<T>(scope: TransactionScope, read: LockedRead): Promise<T[]> {
  const locked = scope as Partial<LockedReadScope>;
  const rows = locked.lockedReads?.take(read, locked.hasWritten ?? true);
  return (rows as T[] | undefined) ?? scope.manager.query<T[]>(read.sql, [...read.params]);
}

/** A statement with its own `$1…$n` parameters. */
export interface Statement {
  readonly sql: string;
  readonly params: readonly unknown[];
}

/** The raw connection a simple query goes through (node-postgres' client). */
export interface SimpleQueryClient {
  query(text: string): Promise<unknown>;
}

/** At most this many statements are prepared on one connection; later ones are sent written out. */
const MAX_PREPARED_PER_CONNECTION = 200;

/** The statements prepared on each connection (SQL `PREPARE`), by their text, and the connections to reset. */
const preparedOn = new WeakMap<SimpleQueryClient, Map<string, string>>();
const toReset = new WeakSet<SimpleQueryClient>();

const nameOf = (sql: string): string => `gw_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;

/**
 * Sends `statements` to `client` as one simple query (one round trip) and answers each one's rows, in
 * order. A `Statement` goes through a statement prepared on the connection (`PREPARE name AS …` the first
 * time, in the same query, then `EXECUTE name(…)` with its values as literals, `literal`), so that the
 * server plans it once per connection as it would a prepared statement of the extended protocol, and
 * infers its parameters' types the same way; a string is sent as it is (`BEGIN`, `COMMIT`). Should the
 * query fail, what it prepared may or may not exist (the failure may come before or after a `PREPARE`): the
 * connection forgets them all and its next query starts with `DEALLOCATE ALL`.
 */
export async function runStatements(
  client: SimpleQueryClient,
  statements: readonly (Statement | string)[],
): Promise<unknown[][]> {
  let prepared = preparedOn.get(client);
  if (!prepared) {
    prepared = new Map();
    preparedOn.set(client, prepared);
  }
  const parts: string[] = toReset.has(client) ? ['DEALLOCATE ALL'] : [];
  const answers: number[] = [];
  const fresh = new Map<string, string>();
  for (const statement of statements) {
    if (typeof statement === 'string') {
      answers.push(parts.push(statement) - 1);
      continue;
    }
    let name = prepared.get(statement.sql) ?? fresh.get(statement.sql);
    if (name === undefined && prepared.size + fresh.size < MAX_PREPARED_PER_CONNECTION) {
      name = nameOf(statement.sql);
      fresh.set(statement.sql, name);
      parts.push(`PREPARE ${name} AS ${statement.sql}`);
    }
    const text =
      name === undefined
        ? inlineParams(statement.sql, statement.params)
        : statement.params.length === 0
          ? `EXECUTE ${name}`
          : `EXECUTE ${name}(${statement.params.map(literal).join(', ')})`;
    answers.push(parts.push(text) - 1);
  }
  let results: unknown;
  try {
    results = await client.query(parts.join(';\n'));
  } catch (error) {
    preparedOn.delete(client);
    toReset.add(client);
    throw error;
  }
  toReset.delete(client);
  for (const [sql, name] of fresh) {
    prepared.set(sql, name);
  }
  const all = (Array.isArray(results) ? results : [results]) as { rows?: unknown[] }[];
  return answers.map((i) => all[i]?.rows ?? []);
}
