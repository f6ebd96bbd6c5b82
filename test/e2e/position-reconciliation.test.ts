import { connect, DeliverPolicy } from 'nats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { type NatsProcess, startNatsProcess } from '../support/nats-process.js';

/**
 * Position reconciliation end to end: the built gateway against the fake Alpaca process (its own wire
 * protocol). Breaks are made at the fake: a fill the gateway never hears of (the fake holds its
 * `trade_updates` message back) and a position changed by hand. The account pass (`POST …/reconcile`, the
 * same pass the schedule, a restart and a reconnect run) brings in the missing fill from Alpaca's fill
 * activities, applied once; a position that still differs is a break, reported with both quantities,
 * counted, alerted, and denying entries in its symbol while an exit passes, until risk staff acknowledge
 * it or a clean pass resolves it. The held stream message, delivered at last, changes nothing. A gateway
 * restarted after the broker's position changed finds the break in its start-up pass. With the event
 * export on, every status each break reached, and the kill switch's trading-state changes, reach
 * JetStream once each, and the outbox is emptied once they are confirmed.
 */
const START_TIME = '09:30:10';
const KEY_ID = 'PKE2EPOSRECON';
const SECRET = 'e2e-posrecon-secret-5b8e1f3a9c2d4e6f';

let fake: FakeAlpacaProcess | undefined;
let nats: NatsProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let env: Record<string, string> = {};
let admin: Api;
let trader: Api;
let risk: Api;
let accountId = '';
let boughtId = '';
let n = 0;

beforeAll(async () => {
  fake = await startFakeAlpacaProcess({ keyId: KEY_ID, secretKey: SECRET }, { PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  nats = await startNatsProcess();
  env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,alpaca',
    BROKER_ALPACA_ADAPTER: 'alpaca',
    BROKER_ALPACA_URL: fake.url,
    BROKER_SUBMIT_TIMEOUT_MS: '1000',
    // Only the passes the test asks for (and the start-up one) run: each case knows what the last one saw.
    RECONCILE_INTERVAL_MS: '3600000',
    EVENT_EXPORT: 'nats',
    NATS_URL: nats.url,
    EVENT_EXPORT_POLL_MS: '50',
  };
  gw = await startGatewayProcess(env);
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-trader', '--role', 'trader', '--account', '*']));
  risk = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-risk', '--role', 'risk', '--account', '*']));
  const created = await admin.post('/v1/accounts', { name: 'posrecon-e2e', broker: 'alpaca', environment: 'paper' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  accountId = created.body.id;
  const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
    kind: 'api_key',
    keyId: KEY_ID,
    secret: SECRET,
  });
  expect(stored.status).toBe(204);
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
  await nats?.close();
  await db?.drop();
});

const path = (rest: string) => `/v1/accounts/${accountId}${rest}`;

async function spy(): Promise<{ bid: number; ask: number }> {
  const quote = await trader.get('/v1/quotes/SPY');
  expect(quote.status, JSON.stringify(quote.body)).toBe(200);
  return { bid: Number(quote.body.bid), ask: Number(quote.body.ask) };
}

/** A limit order that rests (a buy below the bid, a sell above the ask). */
async function resting(side: 'buy' | 'sell', quantity: string) {
  const { bid, ask } = await spy();
  const limitPrice = (side === 'buy' ? bid - 1 : ask + 1).toFixed(2);
  return trader.post(path('/orders'), {
    clientOrderId: `posrecon-${++n}`,
    symbol: 'SPY',
    side,
    quantity,
    type: 'limit',
    limitPrice,
  });
}

async function cancelled(orderId: string): Promise<void> {
  expect((await trader.delete(path(`/orders/${orderId}`))).status).toBe(202);
  await eventually(
    async () => (await trader.get(path(`/orders/${orderId}`))).body.status === 'canceled',
    10_000,
    'the cancel confirmed',
  );
}

/** Runs the account pass now and answers the newest pass of the job log. */
async function pass(): Promise<any> {
  const ran = await risk.post(path('/reconcile'));
  expect(ran.status, JSON.stringify(ran.body)).toBe(200);
  const passes = await trader.get(path('/reconciliation?limit=1'));
  expect(passes.status).toBe(200);
  return { ...passes.body.passes[0], orders: ran.body.orders };
}

async function ourPosition(): Promise<string> {
  const res = await trader.get(path('/positions'));
  return res.body.positions.find((p: { symbol: string }) => p.symbol === 'SPY')?.quantity ?? '0';
}

async function openBreaksGauge(): Promise<number> {
  const text = await fetch(`${gw!.url}/metrics`).then((r) => r.text());
  const line = /^gateway_position_breaks\{[^}]*venue="alpaca"[^}]*\} (\d+)$/m.exec(text);
  return line ? Number(line[1]) : 0;
}

describe('position reconciliation against the fake Alpaca', () => {
  it('brings in a fill the gateway never heard of, once, from the broker, and the pass is clean', async () => {
    const placed = await resting('buy', '10');
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    boughtId = placed.body.id;
    expect((await fake!.call('POST', '/test/fill', { client_order_id: boughtId, qty: '4' })).status).toBe(200);
    await eventually(
      async () => (await trader.get(path(`/orders/${boughtId}`))).body.filledQuantity === '4',
      10_000,
      'the streamed fill applied',
    );
    const silent = await fake!.call('POST', '/test/fill', { client_order_id: boughtId, qty: '6', silent: true });
    expect(silent.body).toEqual({ filled: true, silent: true });
    expect((await fake!.call('GET', '/v2/positions')).body).toMatchObject([{ symbol: 'SPY', qty: '10' }]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await trader.get(path(`/orders/${boughtId}`))).body).toMatchObject({ filledQuantity: '4' });

    const first = await pass();
    expect(first.orders).toEqual([{ orderId: boughtId, actions: ['fill'] }]);
    expect(first).toMatchObject({ outcome: 'clean', breaks: [] });
    expect((await trader.get(path(`/orders/${boughtId}`))).body).toMatchObject({
      status: 'filled',
      filledQuantity: '10',
    });
    expect(await ourPosition()).toBe('10');
    const executions: { quantity: string; broker_payload: any }[] = await db!.dataSource.query(
      `SELECT quantity, broker_payload FROM executions WHERE order_id = $1 ORDER BY received_at`,
      [boughtId],
    );
    expect(executions.map((e) => e.quantity)).toEqual(['4', '6']);
    // Applied from reconciliation, with Alpaca's own record of the fill (its FILL activity).
    expect(executions[1]!.broker_payload).toMatchObject({
      source: 'reconciliation',
      fill: { activity_type: 'FILL', qty: '6', symbol: 'SPY' },
    });
  });

  it('reports a position changed at the broker as a break with both quantities, alerted and counted', async () => {
    expect((await fake!.call('POST', '/test/positions', { symbol: 'SPY', qty: '13' })).status).toBe(200);
    const found = await pass();
    expect(found.outcome).toBe('breaks');
    expect(found.breaks).toEqual([
      expect.objectContaining({
        id: expect.any(String),
        kind: 'position',
        symbol: 'SPY',
        ours: '10',
        broker: '13',
        status: 'open',
        acknowledgement: null,
        executions: [],
      }),
    ]);
    expect(await openBreaksGauge()).toBe(1);
    await eventually(
      () => Promise.resolve(/"alert":"position_break"[^\n]*"symbol":"SPY"/.test(gw!.output())),
      5_000,
      'the alert logged',
    );
    // Another pass finding the same difference keeps the same break, still open.
    const again = await pass();
    expect(again.breaks.map((b: { id: string; status: string }) => [b.id, b.status])).toEqual([
      [found.breaks[0].id, 'open'],
    ]);
  });

  it('denies entries in the symbol with risk.position_break while an exit passes', async () => {
    const entry = await resting('buy', '1');
    const problem = expectProblem(entry, 422, 'risk.position_break');
    expect(problem.detail).toContain('we hold 10, the broker reports 13');
    expect(problem.orderId).toEqual(expect.any(String));
    const exit = await resting('sell', '2');
    expect(exit.status, JSON.stringify(exit.body)).toBe(201);
    expect(exit.body.status).toBe('new');
    await cancelled(exit.body.id);
  });

  it('lets risk staff acknowledge the break with a reason, which unblocks entries; bad requests change nothing', async () => {
    const [open] = (await pass()).breaks;
    const ack = path(`/reconciliation/breaks/${open.id}/acknowledge`);
    expectProblem(await trader.post(ack, { reason: 'looks fine' }), 403, 'auth.forbidden');
    expectProblem(await risk.post(ack, {}), 422, 'validation.failed');
    expectProblem(await risk.post(ack, { reason: '  ' }), 422, 'validation.failed');
    expectProblem(
      await risk.post(path('/reconciliation/breaks/00000000-0000-4000-8000-000000000000/acknowledge'), {
        reason: 'x',
      }),
      404,
      'reconciliation.break_not_found',
    );
    expectProblem(await resting('buy', '1'), 422, 'risk.position_break');

    const done = await risk.post(ack, { reason: 'broker desk moved 3 shares in; booked by operations' });
    expect(done.status, JSON.stringify(done.body)).toBe(200);
    expect(done.body).toMatchObject({
      id: open.id,
      status: 'acknowledged',
      ours: '10',
      broker: '13',
      acknowledgement: { by: 'e2e-risk', reason: 'broker desk moved 3 shares in; booked by operations' },
    });
    expectProblem(await risk.post(ack, { reason: 'again' }), 409, 'reconciliation.break_not_open');
    expect(await openBreaksGauge()).toBe(0);

    const entry = await resting('buy', '1');
    expect(entry.status, JSON.stringify(entry.body)).toBe(201);
    await cancelled(entry.body.id);
    // The same difference found again stays acknowledged.
    expect((await pass()).breaks).toEqual([expect.objectContaining({ id: open.id, status: 'acknowledged' })]);
    // Audited like every change: who, which break, the outcome.
    await eventually(
      async () => {
        const rows: { subject: string; status: number; target: Record<string, string> }[] = await db!.dataSource.query(
          `SELECT subject, status, target FROM audit_log WHERE action = 'reconciliation.acknowledge' AND status = 200`,
        );
        return rows.some((r) => r.subject === 'e2e-risk' && r.target['breakId'] === open.id);
      },
      10_000,
      'the acknowledgement audited',
    );
  });

  it('opens a new break for a new difference, and a clean pass resolves it and unblocks entries', async () => {
    expect((await fake!.call('POST', '/test/positions', { symbol: 'SPY', qty: '14' })).status).toBe(200);
    const moved = await pass();
    expect(moved.breaks).toEqual([
      expect.objectContaining({ symbol: 'SPY', ours: '10', broker: '14', status: 'open' }),
    ]);
    expectProblem(await resting('buy', '1'), 422, 'risk.position_break');

    expect((await fake!.call('POST', '/test/positions', { symbol: 'SPY', qty: '10' })).status).toBe(200);
    const clean = await pass();
    expect(clean).toMatchObject({ outcome: 'clean', breaks: [] });
    expect(await openBreaksGauge()).toBe(0);
    const entry = await resting('buy', '1');
    expect(entry.status, JSON.stringify(entry.body)).toBe(201);
    await cancelled(entry.body.id);
    const all = (await trader.get(path('/reconciliation?limit=50'))).body.passes;
    const statuses = new Map<string, string>();
    for (const p of all) {
      for (const b of p.breaks) {
        statuses.set(`${b.ours}/${b.broker}`, b.status);
      }
    }
    expect(Object.fromEntries(statuses)).toEqual({ '10/13': 'resolved', '10/14': 'resolved' });
  });

  it('applies the fill exactly once when the stream delivers it late', async () => {
    expect((await fake!.call('POST', '/test/held/release')).body).toEqual({ released: 1 });
    await eventually(
      async () => {
        const text = await fetch(`${gw!.url}/metrics`).then((r) => r.text());
        return /^gateway_duplicate_executions_total\{venue="alpaca"[^}]*\} 1$/m.test(text);
      },
      10_000,
      'the late stream fill seen and dropped as a duplicate',
    );
    expect((await trader.get(path(`/orders/${boughtId}`))).body).toMatchObject({ filledQuantity: '10' });
    const count: { n: string }[] = await db!.dataSource.query(
      `SELECT count(*) AS n FROM executions WHERE order_id = $1`,
      [boughtId],
    );
    expect(count[0]!.n).toBe('2');
    expect(await ourPosition()).toBe('10');
    expect((await fake!.call('GET', '/v2/positions')).body).toMatchObject([{ symbol: 'SPY', qty: '10' }]);
    expect(await pass()).toMatchObject({ outcome: 'clean', breaks: [] });
  });

  it('runs the position pass at a restart: a difference made while the gateway was down is a break at once', async () => {
    await gw!.stop();
    expect((await fake!.call('POST', '/test/positions', { symbol: 'SPY', qty: '11' })).status).toBe(200);
    gw = await startGatewayProcess(env);
    trader = new Api(gw.url, trader.token);
    risk = new Api(gw.url, risk.token);
    const startup = await eventually(
      async () => {
        const passes = (await trader.get(path('/reconciliation?limit=5'))).body.passes as any[];
        return passes.find((p) => p.trigger === 'startup' && p.finishedAt !== null) ?? null;
      },
      20_000,
      'the start-up pass',
    );
    expect(startup).toMatchObject({ outcome: 'breaks' });
    expect(startup.breaks).toEqual([
      expect.objectContaining({ symbol: 'SPY', ours: '10', broker: '11', status: 'open' }),
    ]);
    expectProblem(await resting('buy', '1'), 422, 'risk.position_break');
  });

  it('exports every status of every break and the kill switch to JetStream, once each, and empties the outbox', async () => {
    const halt = { scope: 'global', reason: 'export e2e: desk halt' };
    expect((await risk.post('/v1/kill-switch', halt)).status).toBe(202);
    expect((await risk.request('DELETE', '/v1/kill-switch', { ...halt, reason: 'export e2e: re-armed' })).status).toBe(
      200,
    );
    await eventually(
      async () => Number((await db!.dataSource.query(`SELECT count(*) AS n FROM export_outbox`))[0].n) === 0,
      15_000,
      'the outbox emptied by the relay',
    );
    const nc = await connect({ servers: nats!.url });
    try {
      // Every message of the control stream: the order events have their own.
      const consumer = await nc.jetstream().consumers.get('GATEWAY_CONTROL', {
        deliver_policy: DeliverPolicy.StartSequence,
        opt_start_seq: 1,
      });
      const messages: { subject: string; msgId: string | undefined; body: any }[] = [];
      for (;;) {
        const m = await consumer.next({ expires: 1_000 });
        if (m === null) {
          break;
        }
        if (!m.subject.endsWith('.orders')) {
          messages.push({ subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), body: m.json() });
        }
      }
      const ids = messages.map((m) => m.msgId);
      expect(new Set(ids).size).toBe(ids.length);
      const breaks = messages.filter((m) => m.subject === `gateway.paper.${accountId}.reconciliation`);
      const byBreak = new Map<string, string[]>();
      for (const m of breaks) {
        expect(m.body).toMatchObject({
          type: 'reconciliation_break',
          accountId,
          environment: 'paper',
          venue: 'alpaca',
        });
        expect(m.msgId).toBe(`reconciliation_break:${m.body.break.id}:${m.body.break.status}`);
        byBreak.set(`${m.body.break.ours}/${m.body.break.broker}`, [
          ...(byBreak.get(`${m.body.break.ours}/${m.body.break.broker}`) ?? []),
          m.body.break.status,
        ]);
      }
      // Each break's life, in order: the acknowledged one, the one a clean pass resolved, the one found at restart.
      expect(Object.fromEntries(byBreak)).toEqual({
        '10/13': ['open', 'acknowledged', 'resolved'],
        '10/14': ['open', 'resolved'],
        '10/11': ['open'],
      });
      const states = messages.filter((m) => m.subject === 'gateway.all.global.trading_state').map((m) => m.body);
      expect(states).toEqual([
        expect.objectContaining({
          type: 'trading_state',
          scope: 'global',
          previousState: 'active',
          state: 'halted',
          source: 'kill_switch',
          reason: 'export e2e: desk halt',
          changedBy: 'e2e-risk',
        }),
        expect.objectContaining({
          type: 'trading_state',
          scope: 'global',
          previousState: 'halted',
          state: 'active',
          source: 'rearm',
          changedBy: 'e2e-risk',
        }),
      ]);
      expect(messages.find((m) => m.body.type === 'trading_state')?.msgId).toBe(`trading_state:${states[0].id}`);
    } finally {
      await nc.close();
    }
  });
});
