import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingQueries } from '../../../../test/support/counting-manager.js';
import { createTestDatabase, type TestDatabase } from '../../../../test/support/database.js';
import {
  inlineParams,
  type LockedRead,
  LockedReadResults,
  readIn,
  runStatements,
  type SimpleQueryClient,
} from './locked-reads.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

/** Runs `sql` as a simple query (no parameters) on a connection of its own. */
async function simple(sql: string): Promise<unknown[]> {
  const runner = db.dataSource.createQueryRunner();
  const client = (await runner.connect()) as { query(text: string): Promise<{ rows: unknown[] }> };
  try {
    return (await client.query(sql)).rows;
  } finally {
    await runner.release();
  }
}

describe('inlineParams', () => {
  // Each value both ways: as a parameter (extended protocol) and written in (simple protocol).
  const cases: [string, unknown][] = [
    ['$1::text', "it's a 'quoted' string"],
    ['$1::text', "back\\slash \\x41 and a \\' quote"],
    ['$1::text', 'unicode: √ 東京 😀'],
    ['$1::text', 'dollar $1 and $$ signs'],
    ['$1::text', null],
    ['$1::text', undefined],
    ['$1::numeric', '12345678901234567890.123456789'],
    ['$1::int', 42],
    ['$1::boolean', true],
    ['$1::boolean', false],
    ['$1::timestamptz', new Date('2026-12-07T14:30:00.123Z')],
    ['$1::text[]', ['new', 'partially_filled', 'with "quotes"', "and 'apostrophes'", 'a,b', null]],
    ['$1::int[]', [3, 1, 2]],
    ['$1::jsonb', { a: "it's", b: [1, 2, { c: 'back\\slash' }], d: null }],
    ['$1::bytea', Buffer.from([0, 1, 2, 0xff, 0x27, 0x5c])],
    ['$1::uuid', '0192f3a4-0000-7000-8000-000000000001'],
  ];

  for (const [cast, value] of cases) {
    it(`writes ${cast} ${JSON.stringify(value) ?? String(value)} as the parameter would be`, async () => {
      const sql = `SELECT ${cast} AS v`;
      const [asParameter] = await db.dataSource.query<{ v: unknown }[]>(sql, [value]);
      const [inlined] = (await simple(inlineParams(sql, [value]))) as { v: unknown }[];
      expect(inlined?.v).toEqual(asParameter?.v);
    });
  }

  it('resolves an untyped literal from its context as an untyped parameter is', async () => {
    await db.dataSource.query(`CREATE TABLE lr_rows (id uuid PRIMARY KEY, q numeric NOT NULL, at timestamptz)`);
    const id = '0192f3a4-0000-7000-8000-0000000000aa';
    await simple(
      inlineParams(`INSERT INTO lr_rows (id, q, at) VALUES ($1, $2, $3)`, [
        id,
        '1.50',
        new Date('2026-01-02T03:04:05Z'),
      ]),
    );
    const rows = await simple(
      inlineParams(`SELECT q::text AS q, at FROM lr_rows WHERE id = ANY($1) AND ($2 OR q = $3)`, [[id], false, '1.5']),
    );
    expect(rows).toEqual([{ q: '1.50', at: new Date('2026-01-02T03:04:05Z') }]);
  });

  it('replaces each placeholder once: a value holding "$2" is not read as a placeholder', () => {
    expect(inlineParams('SELECT $1, $2', ['$2', 'x'])).toBe(`SELECT '$2', 'x'`);
    expect(() => inlineParams('SELECT $2', ['only one'])).toThrow(/names \$2 but has 1 parameters/);
  });
});

describe('readIn', () => {
  const read: LockedRead = { sql: `SELECT $1::text AS v`, params: ['asked'] };
  const counting = () => countingQueries(db.dataSource.manager);

  it('answers a read sent with the lock from its rows, once, while nothing was written', async () => {
    const { manager, calls } = counting();
    const lockedReads = new LockedReadResults([read], [[{ v: 'sent with the lock' }]]);
    const scope = { manager, lockedReads, hasWritten: false };
    expect(await readIn(scope, read)).toEqual([{ v: 'sent with the lock' }]);
    expect(calls()).toBe(0);
    // Taken: a second read asks again.
    expect(await readIn(scope, read)).toEqual([{ v: 'asked' }]);
    expect(calls()).toBe(1);
  });

  it('asks again once the transaction has written, unless the read survives writes', async () => {
    const { manager, calls } = counting();
    const surviving: LockedRead = { ...read, survivesWrites: true };
    const written = { manager, hasWritten: true, lockedReads: new LockedReadResults([read], [[{ v: 'stale' }]]) };
    expect(await readIn(written, read)).toEqual([{ v: 'asked' }]);
    expect(calls()).toBe(1);
    const kept = { manager, hasWritten: true, lockedReads: new LockedReadResults([surviving], [[{ v: 'kept' }]]) };
    expect(await readIn(kept, surviving)).toEqual([{ v: 'kept' }]);
    expect(calls()).toBe(1);
  });

  it('asks for a read with other parameters than the one sent', async () => {
    const { manager, calls } = counting();
    const scope = { manager, hasWritten: false, lockedReads: new LockedReadResults([read], [[{ v: 'other' }]]) };
    expect(await readIn(scope, { ...read, params: ['asked'] })).toEqual([{ v: 'other' }]);
    expect(await readIn(scope, { ...read, params: ['different'] })).toEqual([{ v: 'different' }]);
    expect(calls()).toBe(1);
  });
});

describe('runStatements', () => {
  /** One connection of the pool, held for `work`. */
  async function onOneConnection(work: (client: SimpleQueryClient) => Promise<void>): Promise<void> {
    const runner = db.dataSource.createQueryRunner();
    const client = (await runner.connect()) as SimpleQueryClient;
    try {
      await work(client);
    } finally {
      await runner.release();
    }
  }
  const prepared = async (client: SimpleQueryClient) =>
    (
      (await client.query(`SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'gw_%'`)) as {
        rows: { n: number }[];
      }
    ).rows[0]?.n;
  const sum = { sql: `SELECT $1::int + $2::int AS v`, params: [1, 2] };

  it('answers each statement in order, preparing a statement once per connection', async () => {
    await onOneConnection(async (client) => {
      const first = await runStatements(client, ['BEGIN', sum, { sql: sum.sql, params: [40, 2] }, 'COMMIT']);
      expect(first).toEqual([[], [{ v: 3 }], [{ v: 42 }], []]);
      expect(await prepared(client)).toBe(1);
      expect(await runStatements(client, [{ sql: sum.sql, params: [5, 5] }])).toEqual([[{ v: 10 }]]);
      expect(await prepared(client)).toBe(1);
    });
  });

  it('forgets what a failed query may have prepared, and the connection goes on', async () => {
    await onOneConnection(async (client) => {
      const fresh = { sql: `SELECT $1::int * 2 AS v`, params: [21] };
      // The PREPARE runs, then the query fails: the statement exists, unknown to the caller.
      await expect(runStatements(client, ['BEGIN', fresh, `SELECT 1 / 0`])).rejects.toThrow(/division by zero/);
      await client.query('ROLLBACK');
      // Preparing it again would fail ("already exists") had the connection not been reset first.
      expect(await runStatements(client, ['BEGIN', fresh, 'COMMIT'])).toEqual([[], [{ v: 42 }], []]);
      expect(await prepared(client)).toBe(1);
    });
  });
});
