/**
 * The order path beside the database's floor, in one run: the gateway in its own process (the built
 * `dist/`), load from this one, alternating with the floor, the least SQL an order needs against the
 * same schema (`pgbench -M extended` when installed, else the same SQL through `pg` prepared statements).
 * Figures: orders/s and median latency at 1 connection, 8 connections on one account and 50 accounts
 * (one connection each); the median latency on an account with 10,000 resting orders; the stream's
 * event → delivered median to 100 subscribers against a bare `ws` broadcast of frames of the same size;
 * the gateway's RSS; and round trips and commits per order, counted on the wire by a proxy (the gateway's
 * own, and apart from them its in-process paper venue's).
 * `npm run bench -- floor [secondsPerStep=8] [repeats=2]`; `BENCH_FLOOR=pg` takes the `pg` floor even with
 * pgbench installed; `BENCH_SQL_TRACE=1` lists the gateway's statements per order.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import { WebSocket } from 'ws';
import { AccountRepository } from '../apps/gateway/src/accounts/account.repository.js';
import { DevIssuer } from '../apps/gateway/src/auth/dev-issuer.js';
import { loadConfig } from '../apps/gateway/src/config/config.js';
import { GATEWAY_APPLICATION_NAME, openDatabase } from '../apps/gateway/src/database/data-source.js';
import { PAPER_VENUE_APPLICATION_NAME } from '../apps/gateway/src/market/paper-venue.factory.js';
import { type FloorResult, type FloorRun, median, pgbenchInstalled, runPgbench, runPgFloor } from './floor-sql.js';
import { type GatewayChild, rssMiB, startGatewayChild } from './gateway-child.js';
import { CountingPgProxy, type WireCounts } from './pg-proxy.js';

const SERVER = new URL(process.env.BENCH_DATABASE_SERVER ?? 'postgres://postgres@127.0.0.1:5432');
const PG = { host: SERVER.hostname, port: Number(SERVER.port || 5432) };
const RESTING = 10_000;
const SUBSCRIBERS = 100;
const MULTI = 50;

interface LoadResult extends FloorResult {
  readonly non2xx: number;
  readonly errors: number;
}

interface Row {
  readonly figure: string;
  readonly floor: number;
  readonly gateway: number;
  readonly unit: string;
}

export async function runFloorBench(seconds = 8, repeats = 2): Promise<void> {
  const name = `gw_floor_${randomBytes(4).toString('hex')}`;
  const databaseUrl = new URL(SERVER);
  databaseUrl.pathname = `/${name}`;
  const env: Record<string, string> = {
    DATABASE_URL: databaseUrl.toString(),
    REDIS_PREFIX: `gwbench:${name}:`,
    RISK_MAX_ORDER_QUANTITY: '1000000000',
    RISK_MAX_ORDER_NOTIONAL: '1000000000000',
    RATE_LIMIT_REQUESTS: 'off',
    RATE_LIMIT_ORDERS: 'off',
    WS_MAX_CONNECTIONS_PER_PRINCIPAL: '1000',
  };
  const floorName = pgbenchInstalled() ? 'pgbench -M extended' : 'pg prepared statements';
  const runFloor = (run: Omit<FloorRun, 'host' | 'port' | 'database'>, port = PG.port) =>
    (floorName.startsWith('pgbench') ? runPgbench : runPgFloor)({ ...run, host: PG.host, port, database: name });
  log(`database ${name}; floor: ${floorName}; ${seconds} s per step, ${repeats} round(s), best of each kept`);

  const dataSource = await openDatabase(databaseUrl.toString());
  let gateway: GatewayChild | null = null;
  try {
    const ids = await createAccounts(dataSource, repeats);
    await seedResting(dataSource, ['gw-rest-0', 'floor-rest-0']);
    const config = loadConfig({ ...process.env, ...env });
    const issuer = await DevIssuer.load(dataSource, config.auth.issuer, config.auth.audience);
    const token = await issuer.sign({ subject: 'bench', roles: ['trader'], accounts: ['*'], ttlSeconds: 3600 });

    // First, on the database as it is before any load: later, the venue's book and the recent orders of
    // every step would keep a restarted gateway's start-up reconciliation busy for a while.
    log('round trips and commits, counted on the wire (the gateway behind the counting proxy)');
    const wire = await countWire(env, databaseUrl, token, id(ids)('gw-count-0'), (port) =>
      runFloor({ accountPrefix: 'floor-count-', accounts: 1, clients: 1, seconds: 0, transactions: 100 }, port),
    );

    gateway = await startGatewayChild(env);
    const load = (accounts: string[], connections: number, s: number) =>
      placeOrders(gateway!.url, token, accounts.map(id(ids)), connections, s);

    log('warm-up');
    await load(['gw-warm-0'], 1, 2);
    await runFloor({ accountPrefix: 'floor-warm-', accounts: 1, clients: 1, seconds: 2 });

    const steps = [
      { key: 'one', label: '1 connection', connections: 1, accounts: 1 },
      { key: 'eight', label: '8 connections, one account', connections: 8, accounts: 1 },
      { key: 'multi', label: `${MULTI} accounts, one connection each`, connections: MULTI, accounts: MULTI },
    ];
    const best = new Map<string, { gateway: LoadResult; floor: FloorResult }>();
    for (let r = 1; r <= repeats; r++) {
      for (const step of steps) {
        const names = Array.from({ length: step.accounts }, (_, k) => `gw-r${r}-${step.key}-${k}`);
        const g = await load(names, step.connections, seconds);
        const f = await runFloor({
          accountPrefix: `floor-r${r}-${step.key}-`,
          accounts: step.accounts,
          clients: step.connections,
          seconds,
        });
        log(
          `round ${r}, ${step.label}: gateway ${fmt(g.ordersPerSecond)}/s p50 ${fmt(g.p50Ms)} ms` +
            `${g.non2xx + g.errors > 0 ? ` (${g.non2xx} non-2xx, ${g.errors} errors)` : ''}; ` +
            `floor ${fmt(f.ordersPerSecond)}/s p50 ${fmt(f.p50Ms)} ms`,
        );
        const was = best.get(step.key);
        best.set(step.key, {
          gateway: was && was.gateway.ordersPerSecond >= g.ordersPerSecond ? was.gateway : g,
          floor: was && was.floor.ordersPerSecond >= f.ordersPerSecond ? was.floor : f,
        });
      }
    }

    const short = Math.max(2, Math.round(seconds / 2));
    log(`${RESTING} resting orders: 1 connection, ${short} s each`);
    const gRest = await load(['gw-rest-0'], 1, short);
    const gFresh = await load(['gw-fresh-0'], 1, short);
    const fRest = await runFloor({ accountPrefix: 'floor-rest-', accounts: 1, clients: 1, seconds: short });
    const fFresh = await runFloor({ accountPrefix: 'floor-fresh-', accounts: 1, clients: 1, seconds: short });

    log(`stream fan-out: ${SUBSCRIBERS} subscribers`);
    const fan = await streamFanOut(gateway.url, token, id(ids)('gw-fan-0'), Math.min(seconds, 5));
    const gatewayRss = rssMiB(gateway.child.pid);
    await fan.close();
    const bare = await bareBroadcast(fan.frames, fan.frameBytes, fan.intervalMs);
    await gateway.stop();
    gateway = null;

    const rows: Row[] = [];
    for (const step of steps) {
      const b = best.get(step.key)!;
      rows.push({
        figure: `orders/s, ${step.label}`,
        floor: b.floor.ordersPerSecond,
        gateway: b.gateway.ordersPerSecond,
        unit: '/s',
      });
      rows.push({ figure: `  p50 latency, ${step.label}`, floor: b.floor.p50Ms, gateway: b.gateway.p50Ms, unit: 'ms' });
    }
    rows.push(
      { figure: `p50 latency, fresh account (1 conn)`, floor: fFresh.p50Ms, gateway: gFresh.p50Ms, unit: 'ms' },
      { figure: `p50 latency, ${RESTING} resting orders`, floor: fRest.p50Ms, gateway: gRest.p50Ms, unit: 'ms' },
      {
        figure: `  orders/s, ${RESTING} resting orders`,
        floor: fRest.ordersPerSecond,
        gateway: gRest.ordersPerSecond,
        unit: '/s',
      },
      { figure: `stream p50 event→delivered, ${SUBSCRIBERS} subs`, floor: bare.p50Ms, gateway: fan.p50Ms, unit: 'ms' },
      {
        figure: `RSS (floor: bare ws process, ${SUBSCRIBERS} clients)`,
        floor: bare.rssMiB,
        gateway: gatewayRss,
        unit: 'MiB',
      },
      { figure: 'round trips per order', floor: wire.floor.roundTrips, gateway: wire.gateway.roundTrips, unit: '' },
      { figure: 'durable commits per order', floor: wire.floor.commits, gateway: wire.gateway.commits, unit: '' },
      {
        figure: '  plus the in-process venue: round trips',
        floor: Number.NaN,
        gateway: wire.venue.roundTrips,
        unit: '',
      },
      { figure: '  plus the in-process venue: commits', floor: Number.NaN, gateway: wire.venue.commits, unit: '' },
    );
    printTable(rows, floorName);
    log(
      `wire counts: gateway ${wire.gateway.orders} orders, ${describe(wire.gateway.raw)}; ` +
        `its in-process venue (${PAPER_VENUE_APPLICATION_NAME}): ${describe(wire.venue.raw)}; ` +
        `other connections: ${describe(wire.other)}; ` +
        `the ${fmt(wire.windowMs / 1000)} s before them (idle): ${describe(wire.idle)}; the ${fmt(wire.windowMs / 1000)} s after them: ${describe(wire.after)}; floor ${wire.floor.orders} orders, ${describe(wire.floor.raw)}`,
    );
    log(
      `stream: ${fan.frames} order frames of ~${fan.frameBytes} bytes to each of ${SUBSCRIBERS} subscribers, ` +
        `one every ${fmt(fan.intervalMs)} ms; gateway p99 ${fmt(fan.p99Ms)} ms, bare ws p99 ${fmt(bare.p99Ms)} ms ` +
        `(event time is the event's own ts, ms resolution)`,
    );
    if (wire.statements.length > 0) {
      log('statements per order, by application_name (BENCH_SQL_TRACE):');
      for (const [text, n] of wire.statements.slice(0, 40)) {
        log(`  ${fmt(n / wire.gateway.orders)}  ${text.slice(0, 160)}`);
      }
    }
  } finally {
    await gateway?.stop();
    await dataSource.destroy();
    const admin = new pg.Client({ connectionString: new URL('/postgres', SERVER).toString() });
    await admin.connect();
    await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

/** Every account the run uses, made as the gateway makes paper accounts, before it starts; name → id. */
async function createAccounts(dataSource: DataSource, repeats: number): Promise<Map<string, string>> {
  const names = ['warm', 'rest', 'fresh', 'count', 'fan'].flatMap((k) => [`gw-${k}-0`, `floor-${k}-0`]);
  for (let r = 1; r <= repeats; r++) {
    for (const side of ['gw', 'floor']) {
      names.push(`${side}-r${r}-one-0`, `${side}-r${r}-eight-0`);
      for (let k = 0; k < MULTI; k++) {
        names.push(`${side}-r${r}-multi-${k}`);
      }
    }
  }
  const repository = new AccountRepository(dataSource);
  const ids = new Map<string, string>();
  for (const n of names) {
    ids.set(n, (await repository.ensurePaperAccount(n)).id);
  }
  return ids;
}

function id(ids: Map<string, string>): (name: string) => string {
  return (name) => {
    const found = ids.get(name);
    if (!found) {
      throw new Error(`no account ${name}`);
    }
    return found;
  };
}

/**
 * `RESTING` resting buy limits (gtc, acknowledged) on each account, in bulk, with their events and
 * idempotency keys and the account's `seq` after them; dated three days back, outside the start-up
 * reconciliation's look-back, so the gateway finds them as any working orders of an earlier day.
 */
async function seedResting(dataSource: DataSource, accounts: string[]): Promise<void> {
  for (const account of accounts) {
    await dataSource.transaction(async (m) => {
      await m.query(
        `INSERT INTO orders (id, account_id, client_order_id, environment, venue, symbol, side, type, time_in_force,
           quantity, limit_price, status, broker_order_id, created_at, updated_at, last_seq)
         SELECT gen_random_uuid(), a.id, 'seed-' || g, 'paper', 'paper', 'SPY', 'buy', 'limit', 'gtc', 1, 150, 'new',
           'seed-' || g, now() - interval '3 days', now() - interval '3 days', g
           FROM accounts a, generate_series(1, $2::int) g WHERE a.name = $1`,
        [account, RESTING],
      );
      await m.query(
        `INSERT INTO order_events (account_id, seq, order_id, event, "order", ts)
         SELECT o.account_id, o.last_seq, o.id, 'new', jsonb_build_object('id', o.id, 'status', o.status), o.updated_at
           FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.name = $1`,
        [account],
      );
      await m.query(
        `INSERT INTO idempotency_keys (account_id, client_order_id, request_hash, order_id, state, created_at, completed_at)
         SELECT o.account_id, o.client_order_id, md5(o.client_order_id), o.id, 'completed', o.created_at, o.created_at
           FROM orders o JOIN accounts a ON a.id = o.account_id WHERE a.name = $1`,
        [account],
      );
      await m.query(`UPDATE accounts SET last_seq = $2 WHERE name = $1`, [account, RESTING]);
    });
  }
  await dataSource.query('ANALYZE');
}

let clientOrderIds = 0;

function orderBody(): string {
  return JSON.stringify({
    clientOrderId: `bench-${process.pid}-${clientOrderIds++}`,
    symbol: 'SPY',
    side: 'buy',
    quantity: '1',
    type: 'limit',
    // A passive limit: it rests, so every request is a full new order.
    limitPrice: '160.00',
  });
}

/**
 * Passive limits for `seconds`: `connections` autocannon connections on one account, or one
 * connection per account when several are given. Latency is each response's, over all connections.
 */
async function placeOrders(
  url: string,
  token: string,
  accountIds: string[],
  connections: number,
  seconds: number,
): Promise<LoadResult> {
  const latencies: number[] = [];
  const one = (accountId: string, conns: number) =>
    new Promise<autocannon.Result>((resolve, reject) => {
      const instance = autocannon(
        {
          url: `${url}/v1/accounts/${accountId}/orders`,
          connections: conns,
          duration: seconds,
          requests: [
            {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
              setupRequest: (req) => ({ ...req, body: orderBody() }),
            },
          ],
        },
        (error: unknown, result: autocannon.Result) => (error ? reject(toError(error)) : resolve(result)),
      );
      instance.on('response', (_client, status, _bytes, ms) => {
        if (status >= 200 && status < 300) {
          latencies.push(ms);
        }
      });
    });
  const results =
    accountIds.length === 1
      ? [await one(accountIds[0]!, connections)]
      : await Promise.all(accountIds.map((a) => one(a, 1)));
  const sum = (f: (r: autocannon.Result) => number) => results.reduce((n, r) => n + f(r), 0);
  return {
    ordersPerSecond: sum((r) => r['2xx']) / seconds,
    p50Ms: median(latencies),
    orders: sum((r) => r['2xx']),
    non2xx: sum((r) => r.non2xx),
    errors: sum((r) => r.errors),
  };
}

async function postOrder(url: string, token: string, accountId: string): Promise<boolean> {
  const response = await fetch(`${url}/v1/accounts/${accountId}/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: orderBody(),
  });
  await response.arrayBuffer();
  return response.ok;
}

interface Subscriber {
  readonly socket: WebSocket;
  readonly latencies: number[];
  readonly sizes: number[];
}

/** Opens a socket, then runs `onOpen` (a handshake, listeners) on it. */
async function connect(url: string, onOpen: (s: Subscriber) => void | Promise<void>): Promise<Subscriber> {
  const socket = new WebSocket(url);
  socket.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  const s = { socket, latencies: [], sizes: [] };
  await onOpen(s);
  return s;
}

function nextMessage(socket: WebSocket, predicate: (m: { type?: string }) => boolean): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('stream handshake timed out')), 15_000);
    const listener = (data: Buffer) => {
      if (predicate(JSON.parse(data.toString()) as { type?: string })) {
        clearTimeout(timer);
        socket.off('message', listener);
        resolve();
      }
    };
    socket.on('message', listener);
  });
}

/**
 * `SUBSCRIBERS` stream clients on one account's orders; orders placed one after another for `seconds`;
 * each order frame's delivery time against its event's own `ts`.
 */
async function streamFanOut(url: string, token: string, accountId: string, seconds: number) {
  const wsUrl = `${url.replace(/^http/, 'ws')}/v1/stream`;
  const subscribers: Subscriber[] = [];
  for (let k = 0; k < SUBSCRIBERS; k++) {
    subscribers.push(
      await connect(wsUrl, async (s) => {
        const authenticated = nextMessage(s.socket, (m) => m.type === 'authenticated');
        s.socket.send(JSON.stringify({ op: 'auth', token }));
        await authenticated;
        const subscribed = nextMessage(s.socket, (m) => m.type === 'subscribed');
        s.socket.send(JSON.stringify({ op: 'subscribe', channel: 'orders', accountId }));
        await subscribed;
        s.socket.on('message', (data: Buffer) => {
          const at = Date.now();
          const m = JSON.parse(data.toString()) as { type?: string; ts?: string };
          if (m.type === 'order' && m.ts) {
            s.latencies.push(at - Date.parse(m.ts));
            s.sizes.push(data.length);
          }
        });
      }),
    );
  }
  const started = Date.now();
  let accepted = 0;
  while (Date.now() - started < seconds * 1000) {
    accepted += (await postOrder(url, token, accountId)) ? 1 : 0;
  }
  const elapsed = Date.now() - started;
  await new Promise((r) => setTimeout(r, 1000));
  const all = subscribers.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const frames = subscribers[0]?.latencies.length ?? 0;
  return {
    accepted,
    frames,
    frameBytes: median(subscribers[0]?.sizes ?? []),
    intervalMs: frames > 0 ? elapsed / frames : 20,
    p50Ms: median(all),
    p99Ms: all[Math.floor(all.length * 0.99)] ?? Number.NaN,
    close: async () => {
      for (const s of subscribers) {
        s.socket.close();
      }
      await new Promise((r) => setTimeout(r, 200));
    },
  };
}

/** The stream's floor: the same number of frames of the same size from a bare `ws` server in its own process. */
async function bareBroadcast(frames: number, bytes: number, intervalMs: number) {
  const script = fileURLToPath(new URL('./ws-broadcast-server.js', import.meta.url));
  const child = spawn(
    process.execPath,
    [script, String(SUBSCRIBERS), String(frames), String(bytes), String(intervalMs)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  try {
    let out = '';
    const waitFor = (re: RegExp) =>
      new Promise<RegExpExecArray>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`bare ws server: no ${re} in ${out}`)), 60_000);
        const check = () => {
          const m = re.exec(out);
          if (m) {
            clearTimeout(timer);
            child.stdout.off('data', check);
            resolve(m);
          }
        };
        child.stdout.on('data', check);
        check();
      });
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const port = (await waitFor(/port (\d+)/))[1];
    const done = waitFor(/done/);
    const clients: Subscriber[] = [];
    for (let k = 0; k < SUBSCRIBERS; k++) {
      clients.push(
        await connect(`ws://127.0.0.1:${port}`, (s) => {
          s.socket.on('message', (data: Buffer) => {
            const at = Date.now();
            s.latencies.push(at - (JSON.parse(data.toString()) as { t: number }).t);
          });
        }),
      );
    }
    await done;
    await new Promise((r) => setTimeout(r, 500));
    const rss = rssMiB(child.pid);
    for (const c of clients) {
      c.socket.close();
    }
    const all = clients.flatMap((s) => s.latencies).sort((a, b) => a - b);
    return { p50Ms: median(all), p99Ms: all[Math.floor(all.length * 0.99)] ?? Number.NaN, rssMiB: rss };
  } finally {
    child.kill('SIGTERM');
  }
}

interface PerOrder {
  readonly orders: number;
  readonly roundTrips: number;
  /** Durable commits: COMMIT, and writes outside a transaction (a read alone commits nothing to disk). */
  readonly commits: number;
  readonly raw: WireCounts;
}

/**
 * Round trips and commits per order, counted by the proxy: the gateway started behind it places 100
 * orders one after another; the floor runs 100 orders through it too. The gateway's own connections
 * and its in-process paper venue's (a simulated broker saving its book) are told apart by their
 * `application_name`. What the gateway sends in a window before the orders (idle: sweeps, probes) and in
 * one after them (follow-up work) is counted apart.
 */
async function countWire(
  env: Record<string, string>,
  databaseUrl: URL,
  token: string,
  accountId: string,
  floor: (port: number) => Promise<FloorResult>,
) {
  const proxy = new CountingPgProxy({ host: PG.host, port: PG.port }, process.env.BENCH_SQL_TRACE === '1');
  const port = await proxy.listen();
  const viaProxy = new URL(databaseUrl);
  viaProxy.hostname = '127.0.0.1';
  viaProxy.port = String(port);
  const gateway = await startGatewayChild({ ...env, DATABASE_URL: viaProxy.toString() });
  try {
    await postOrder(gateway.url, token, accountId);
    await new Promise((r) => setTimeout(r, 3000));
    const window = async () => {
      const from = proxy.snapshot();
      await new Promise((r) => setTimeout(r, windowMs));
      return delta(proxy.snapshot(), from);
    };
    const windowMs = 3000;
    const idle = await window();
    proxy.statements.clear();
    const before = proxy.snapshot();
    const gatewayBefore = proxy.snapshotOf(GATEWAY_APPLICATION_NAME);
    const venueBefore = proxy.snapshotOf(PAPER_VENUE_APPLICATION_NAME);
    let orders = 0;
    for (let k = 0; k < 100; k++) {
      orders += (await postOrder(gateway.url, token, accountId)) ? 1 : 0;
    }
    // The broker's answer is recorded after the response; let the last one land.
    await new Promise((r) => setTimeout(r, 200));
    const allRaw = delta(proxy.snapshot(), before);
    const gatewayRaw = delta(proxy.snapshotOf(GATEWAY_APPLICATION_NAME), gatewayBefore);
    const venueRaw = delta(proxy.snapshotOf(PAPER_VENUE_APPLICATION_NAME), venueBefore);
    const statements = [...proxy.statements.entries()].sort((a, b) => b[1] - a[1]);
    const after = await window();
    await gateway.stop();
    const floorBefore = proxy.snapshot();
    const f = await floor(port);
    const floorRaw = delta(proxy.snapshot(), floorBefore);
    return {
      gateway: perOrder(orders, gatewayRaw),
      venue: perOrder(orders, venueRaw),
      other: delta(delta(allRaw, gatewayRaw), venueRaw),
      floor: perOrder(f.orders, floorRaw),
      windowMs,
      idle,
      after,
      statements,
    };
  } finally {
    await gateway.stop();
    await proxy.close();
  }
}

function delta(after: WireCounts, before: WireCounts): WireCounts {
  return {
    syncs: after.syncs - before.syncs,
    queries: after.queries - before.queries,
    commits: after.commits - before.commits,
    implicitCommits: after.implicitCommits - before.implicitCommits,
    implicitWrites: after.implicitWrites - before.implicitWrites,
    rollbacks: after.rollbacks - before.rollbacks,
  };
}

function perOrder(orders: number, raw: WireCounts): PerOrder {
  return {
    orders,
    roundTrips: (raw.syncs + raw.queries) / orders,
    commits: (raw.commits + raw.implicitWrites) / orders,
    raw,
  };
}

function describe(c: WireCounts): string {
  return `${c.syncs} syncs + ${c.queries} queries, ${c.commits} COMMIT, ${c.implicitCommits} outside a transaction (${c.implicitWrites} writes), ${c.rollbacks} rollbacks`;
}

function printTable(rows: Row[], floorName: string): void {
  const width = Math.max(...rows.map((r) => r.figure.length));
  const cell = (n: number, unit: string) => `${fmt(n)} ${unit}`.trim().padStart(12);
  const lines = [
    `${'figure'.padEnd(width)} | ${'floor'.padStart(12)} | ${'gateway'.padStart(12)} | gateway÷floor`,
    `${'-'.repeat(width)}-+-${'-'.repeat(12)}-+-${'-'.repeat(12)}-+--------------`,
    ...rows.map(
      (r) =>
        `${r.figure.padEnd(width)} | ${cell(r.floor, r.unit)} | ${cell(r.gateway, r.unit)} | ${fmt(r.gateway / r.floor)}×`,
    ),
  ];
  console.log(
    `\nfloor = ${floorName} on the same schema; best of the rounds for the first six rows\n${lines.join('\n')}\n`,
  );
}

function fmt(n: number): string {
  if (!Number.isFinite(n)) {
    return 'n/a';
  }
  return n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2);
}

function log(message: string): void {
  console.log(`[floor] ${message}`);
}

function toError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
