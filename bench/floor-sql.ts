import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

/** One floor run: orders per second and the median latency of one order (both transactions), in ms. */
export interface FloorResult {
  readonly ordersPerSecond: number;
  readonly p50Ms: number;
  readonly orders: number;
}

/** Where and how the floor runs: the database, the account names its clients use, load and length. */
export interface FloorRun {
  readonly host: string;
  readonly port: number;
  readonly database: string;
  /** Client k uses the account named `${accountPrefix}${k % accounts}`. */
  readonly accountPrefix: string;
  readonly accounts: number;
  readonly clients: number;
  /** Run for this long, or `transactions` orders per client when given. */
  readonly seconds: number;
  readonly transactions?: number;
}

/**
 * The least SQL an order needs against the real schema, one statement per round trip (11), two commits:
 * lock the account and take its next `seq`, insert the order, its `pending_new` event and its
 * idempotency key, commit; then the broker's answer: the next `seq`, the order `new`, its event, commit.
 * `v(name)` spells a variable (pgbench `:name`, or a `$n` parameter); `account` is the account name's
 * expression; a statement ending in `\gset` stores its returned columns as variables.
 */
function statements(v: (name: string) => string, account: string): string[] {
  const dto = (status: string) =>
    `jsonb_build_object('id', CAST(${v('order_id')} AS text), 'clientOrderId', CAST(${v('coid')} AS text),
      'accountId', CAST(${v('account_id')} AS text), 'environment', 'paper', 'symbol', 'SPY', 'side', 'buy',
      'type', 'limit', 'timeInForce', 'day', 'positionEffect', NULL, 'quantity', '1', 'limitPrice', '160',
      'stopPrice', NULL, 'status', '${status}', 'filledQuantity', '0', 'leavesQuantity', '1',
      'averageFillPrice', NULL, 'brokerOrderId', NULL, 'rejectReason', NULL, 'replacesOrderId', NULL,
      'replacedByOrderId', NULL, 'ttlMs', NULL, 'cancelRequestedAt', NULL, 'createdAt', now(),
      'updatedAt', now(), 'lastSeq', CAST(${v('seq')} AS bigint))`;
  return [
    'BEGIN',
    `UPDATE accounts SET last_seq = last_seq + 1, updated_at = now() WHERE name = ${account}
      RETURNING id AS account_id, last_seq AS seq \\gset`,
    `INSERT INTO orders (id, account_id, client_order_id, environment, venue, symbol, side, type, time_in_force,
      quantity, limit_price, status, created_at, updated_at, last_seq)
      VALUES (gen_random_uuid(), ${v('account_id')}, 'floor-' || gen_random_uuid(), 'paper', 'paper', 'SPY', 'buy',
      'limit', 'day', 1, 160, 'pending_new', now(), now(), ${v('seq')})
      RETURNING id AS order_id, client_order_id AS coid \\gset`,
    `INSERT INTO order_events (account_id, seq, order_id, event, "order", ts)
      VALUES (${v('account_id')}, ${v('seq')}, ${v('order_id')}, 'pending_new', ${dto('pending_new')}, now())`,
    `INSERT INTO idempotency_keys (account_id, client_order_id, request_hash, order_id, state, created_at)
      VALUES (${v('account_id')}, ${v('coid')}, md5(CAST(${v('coid')} AS text)), ${v('order_id')}, 'in_progress', now())`,
    'COMMIT',
    'BEGIN',
    `UPDATE accounts SET last_seq = last_seq + 1, updated_at = now() WHERE id = ${v('account_id')}
      RETURNING last_seq AS seq \\gset`,
    `UPDATE orders SET status = 'new', broker_order_id = 'floor-' || CAST(${v('order_id')} AS text),
      updated_at = now(), last_seq = ${v('seq')} WHERE id = ${v('order_id')} AND account_id = ${v('account_id')}`,
    `INSERT INTO order_events (account_id, seq, order_id, event, "order", ts)
      VALUES (${v('account_id')}, ${v('seq')}, ${v('order_id')}, 'new', ${dto('new')}, now())`,
    'COMMIT',
  ];
}

/** The pgbench script: one pgbench transaction is one order. */
export function pgbenchScript(): string {
  const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();
  return [
    '\\set a :client_id % :accounts',
    ...statements((n) => `:${n}`, `:prefix || CAST(:a AS text)`).map(
      (s) => `${oneLine(s.replace(/ \\gset$/, ''))}${s.endsWith('\\gset') ? ' \\gset' : ';'}`,
    ),
  ].join('\n');
}

/** pgbench is on the PATH, and not set aside by `BENCH_FLOOR=pg`. */
export function pgbenchInstalled(): boolean {
  return process.env.BENCH_FLOOR !== 'pg' && spawnSync('pgbench', ['--version'], { stdio: 'ignore' }).status === 0;
}

/** Runs the floor with `pgbench -M extended` (the script written to a temporary file). */
export async function runPgbench(run: FloorRun): Promise<FloorResult> {
  const dir = mkdtempSync(join(tmpdir(), 'floor-'));
  try {
    const script = join(dir, 'order.sql');
    writeFileSync(script, `${pgbenchScript()}\n`);
    const args = [
      '-n',
      '-M',
      'extended',
      '-h',
      run.host,
      '-p',
      String(run.port),
      '-U',
      'postgres',
      '-c',
      String(run.clients),
      '-j',
      String(Math.min(run.clients, 4)),
      '-f',
      script,
      '-D',
      `accounts=${run.accounts}`,
      '-D',
      `prefix=${run.accountPrefix}`,
      '-l',
      `--log-prefix=${join(dir, 'tx')}`,
      ...(run.transactions === undefined ? ['-T', String(run.seconds)] : ['-t', String(run.transactions)]),
      run.database,
    ];
    const { code, out } = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawn('pgbench', args, {
        env: { ...process.env, PGSSLMODE: 'disable', PGGSSENCMODE: 'disable' },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let text = '';
      child.stdout.on('data', (d: Buffer) => (text += d.toString()));
      child.stderr.on('data', (d: Buffer) => (text += d.toString()));
      child.once('exit', (c) => resolve({ code: c, out: text }));
    });
    const tps = /tps = ([\d.]+)/.exec(out)?.[1];
    const processed = /actually processed: (\d+)/.exec(out)?.[1];
    if (code !== 0 || tps === undefined || /failed transactions: [1-9]/.test(out)) {
      throw new Error(`pgbench failed (${code}):\n${out}`);
    }
    // Per-transaction log lines: client, transaction number, latency in microseconds, ...
    const latencies: number[] = [];
    for (const file of readdirSync(dir).filter((f) => f.startsWith('tx'))) {
      for (const line of readFileSync(join(dir, file), 'utf8').split('\n')) {
        const us = Number(line.split(' ')[2]);
        if (line && Number.isFinite(us)) {
          latencies.push(us / 1000);
        }
      }
    }
    return { ordersPerSecond: Number(tps), p50Ms: median(latencies), orders: Number(processed ?? 0) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The same statements through `pg` with named prepared statements, when pgbench is not installed. */
export async function runPgFloor(run: FloorRun): Promise<FloorResult> {
  const prepared = statements((n) => `{${n}}`, '{account_name}').map((text, i) => {
    const names: string[] = [];
    // One parameter per occurrence, as pgbench sends them: each gets the type of its own place.
    const sql = text.replace(/ \\gset$/, '').replace(/\{(\w+)\}/g, (_, n: string) => `$${names.push(n)}`);
    return { name: `floor_${i}`, sql, names, gset: text.endsWith('\\gset') };
  });
  const latencies: number[] = [];
  const deadline = Date.now() + run.seconds * 1000;
  const started = Date.now();
  const client = async (k: number) => {
    const c = new pg.Client({ host: run.host, port: run.port, user: 'postgres', database: run.database });
    await c.connect();
    try {
      for (let t = 0; run.transactions === undefined ? Date.now() < deadline : t < run.transactions; t++) {
        const vars: Record<string, string> = { account_name: `${run.accountPrefix}${k % run.accounts}` };
        const t0 = performance.now();
        for (const s of prepared) {
          const result = await c.query<Record<string, unknown>>({
            name: s.name,
            text: s.sql,
            values: s.names.map((n) => vars[n]),
          });
          if (s.gset) {
            for (const [key, value] of Object.entries(result.rows[0] ?? {})) {
              vars[key] = String(value);
            }
          }
        }
        latencies.push(performance.now() - t0);
      }
    } finally {
      await c.end();
    }
  };
  await Promise.all(Array.from({ length: run.clients }, (_, k) => client(k)));
  const elapsed = (Date.now() - started) / 1000;
  return { ordersPerSecond: latencies.length / elapsed, p50Ms: median(latencies), orders: latencies.length };
}

export function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}
