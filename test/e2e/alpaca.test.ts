import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectProblem, sleep } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { StreamClient } from '../support/stream-client.js';

/**
 * The `alpaca` adapter end to end: the built gateway (BROKER_ALPACA_ADAPTER=alpaca) against the fake Alpaca
 * process (its own wire protocol: REST with APCA headers, `trade_updates` in binary frames). An admin
 * creates an Alpaca account over REST; without keys, and with wrong keys, its orders get a clear problem
 * (and the account shows why entries are blocked), no secret anywhere in the gateway's output; with the
 * right keys an order is placed, filled (the fill reaches the order and the stream), replaced and canceled.
 * Keys stored again reach the running client without a restart (its client is retired and rebuilt). A stream
 * that stalls silently (socket open, no frames, no Pongs to the client's Pings) is detected within
 * BROKER_ALPACA_STREAM_STALL_MS and healed like a drop.
 */
const START_TIME = '09:30:10';
const KEY_ID = 'PKE2EALPACAKEY';
const SECRET = 'e2e-alpaca-secret-7c1d9a0b5e3f4a2c';
const WRONG_SECRET = 'e2e-wrong-secret-11aa22bb33cc44dd';
const STALL_MS = 1_500;

let fake: FakeAlpacaProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;
let accountId: string;
let stream: StreamClient | undefined;

beforeAll(async () => {
  fake = await startFakeAlpacaProcess({ keyId: KEY_ID, secretKey: SECRET }, { PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,alpaca',
    BROKER_ALPACA_ADAPTER: 'alpaca',
    BROKER_ALPACA_URL: fake.url,
    BROKER_ALPACA_STREAM_STALL_MS: String(STALL_MS),
    BROKER_SUBMIT_TIMEOUT_MS: '1000',
  });
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-trader', '--role', 'trader', '--account', '*']));
}, 120_000);

afterAll(async () => {
  stream?.close();
  await gw?.stop();
  await fake?.stop();
  await db?.drop();
});

const ordersPath = () => `/v1/accounts/${accountId}/orders`;
let n = 0;
const limitBuy = (limitPrice: string) => ({
  clientOrderId: `alpaca-e2e-${++n}`,
  symbol: 'SPY',
  side: 'buy',
  quantity: '10',
  type: 'limit',
  limitPrice,
});

async function bid(): Promise<number> {
  const quote = await trader.get('/v1/quotes/SPY');
  expect(quote.status, JSON.stringify(quote.body)).toBe(200);
  return Number(quote.body.bid);
}

describe('an Alpaca account through the built gateway', () => {
  it('is created by an admin over REST', async () => {
    const res = await admin.post('/v1/accounts', { name: 'alpaca-e2e', broker: 'alpaca', environment: 'paper' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    expect(res.body).toMatchObject({ broker: 'alpaca', environment: 'paper', entriesBlocked: false });
    accountId = res.body.id;
  });

  it('without credentials: a clear problem, nothing sent, entries blocked with the reason', async () => {
    const res = await trader.post(ordersPath(), limitBuy('100.00'));
    const problem = expectProblem(res, 503, 'service.unavailable');
    expect(problem.detail).toContain('no Alpaca credentials');
    expect(problem.detail).toContain('broker-credentials');
    const account = (await trader.get(`/v1/accounts/${accountId}`)).body;
    expect(account).toMatchObject({ entriesBlocked: true });
    expect(account.entriesBlockedReason).toContain('no Alpaca credentials');
    expect((await fake!.call('GET', '/test/received')).body).toEqual([]);
  });

  it('with wrong keys: a clear problem, and the secret appears nowhere in the gateway output', async () => {
    const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: WRONG_SECRET,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(204);
    const res = await trader.post(ordersPath(), limitBuy('100.00'));
    const problem = expectProblem(res, 503, 'service.unavailable');
    expect(problem.detail).toContain('alpaca refused');
    expect(JSON.stringify(res.body)).not.toContain(WRONG_SECRET);
    expect((await fake!.call('GET', '/test/received')).body).toEqual([]);
    expect(gw!.output()).not.toContain(WRONG_SECRET);
  });

  it('with the right keys: places, fills (order and stream), replaces and cancels', async () => {
    const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: SECRET,
    });
    expect(stored.status).toBe(204);
    stream = await StreamClient.connect(gw!.url);
    await stream.authenticate(trader.token!);
    await stream.subscribeOrders(accountId);

    const resting = (await bid()) - 1;
    const placed = await trader.post(ordersPath(), limitBuy(resting.toFixed(2)));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body).toMatchObject({ status: 'new', brokerOrderId: expect.any(String) });
    const id = placed.body.id as string;
    const atAlpaca = await fake!.call('GET', `/v2/orders:by_client_order_id?client_order_id=${id}`);
    expect(atAlpaca.body).toMatchObject({ id: placed.body.brokerOrderId, client_order_id: id, status: 'new' });
    expect((await account()).entriesBlocked).toBe(false);

    // A fill at Alpaca reaches the order and the stream.
    expect((await fake!.call('POST', '/test/fill', { client_order_id: id, qty: '4' })).status).toBe(200);
    const partial = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${id}`)).body;
        return order.status === 'partially_filled' ? order : null;
      },
      10_000,
      'the fill applied',
    );
    expect(partial).toMatchObject({ filledQuantity: '4', leavesQuantity: '6' });
    const event = await stream.waitFor(
      (m) => m.type === 'order' && m.order.id === id && m.event === 'partially_filled',
    );
    expect(event.execution).toMatchObject({ quantity: '4', price: resting.toFixed(2) });

    // Replace: new total 12 (4 filled, so 8 booked), then Alpaca confirms on the stream.
    const replaced = await trader.patch(`${ordersPath()}/${id}`, {
      clientOrderId: `alpaca-e2e-${++n}`,
      quantity: '12',
      limitPrice: (resting - 0.5).toFixed(2),
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
    const replacementId = replaced.body.id as string;
    await eventually(
      async () => (await trader.get(`${ordersPath()}/${id}`)).body.status === 'replaced',
      10_000,
      'the old order replaced',
    );
    const replacement = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${replacementId}`)).body;
        return order.status === 'new' ? order : null;
      },
      10_000,
      'the replacement working',
    );
    expect(replacement).toMatchObject({ quantity: '8', replacesOrderId: id });

    // Cancel the replacement.
    const canceled = await trader.delete(`${ordersPath()}/${replacementId}`);
    expect(canceled.status, JSON.stringify(canceled.body)).toBe(202);
    await eventually(
      async () => (await trader.get(`${ordersPath()}/${replacementId}`)).body.status === 'canceled',
      10_000,
      'the replacement canceled',
    );
    const atAlpacaAfter = await fake!.call('GET', `/v2/orders/${replacement.brokerOrderId}`);
    expect(atAlpacaAfter.body).toMatchObject({ status: 'canceled' });

    // Exactly one order request per intent reached Alpaca: one POST, one PATCH, one DELETE.
    const received = (await fake!.call('GET', '/test/received')).body as { method: string }[];
    expect(received.map((r) => r.method)).toEqual(['POST', 'PATCH', 'DELETE']);
    expect(gw!.output()).not.toContain(SECRET);
  });
});

describe('Alpaca faults through the gateway', () => {
  it('a lost acknowledgement leaves the order unknown, then settles it by its client order id, sent once', async () => {
    await fake!.call('POST', '/test/faults', { kind: 'ack_lost', remaining: 1 });
    const body = limitBuy(((await bid()) - 1).toFixed(2));
    const res = await trader.post(ordersPath(), body);
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    // `unknown` as answered, unless the stream's `new` (sent before the answer was dropped) got there first.
    expect(['unknown', 'new']).toContain(res.body.status);
    const settled = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${res.body.id}`)).body;
        return order.status === 'new' ? order : null;
      },
      15_000,
      'the unknown order settled',
    );
    const atAlpaca = await fake!.call('GET', `/v2/orders:by_client_order_id?client_order_id=${res.body.id}`);
    expect(settled.brokerOrderId).toBe(atAlpaca.body.id);
    const posts = ((await fake!.call('GET', '/test/received')).body as { method: string; body: any }[]).filter(
      (r) => r.method === 'POST' && r.body?.client_order_id === res.body.id,
    );
    expect(posts).toHaveLength(1);
  });

  it('a replace Alpaca refuses on the stream after the PATCH succeeded leaves the old order as Alpaca has it', async () => {
    const placed = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const id = placed.body.id as string;
    await fake!.call('POST', '/test/faults', { kind: 'replace_refused', remaining: 1 });
    const replaced = await trader.patch(`${ordersPath()}/${id}`, {
      clientOrderId: `alpaca-e2e-${++n}`,
      quantity: '12',
    });
    expect(replaced.status, JSON.stringify(replaced.body)).toBe(202);
    const replacementId = replaced.body.id as string;
    const old = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${id}`)).body;
        return order.status === 'filled' ? order : null;
      },
      10_000,
      'the old order filled (it filled before the replace)',
    );
    expect(old).toMatchObject({ filledQuantity: '10' });
    const replacement = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${replacementId}`)).body;
        return order.status === 'rejected' ? order : null;
      },
      10_000,
      'the replacement rejected',
    );
    expect(replacement.filledQuantity).toBe('0');
    const atAlpaca = await fake!.call('GET', `/v2/orders:by_client_order_id?client_order_id=${id}`);
    expect(atAlpaca.body).toMatchObject({ status: 'filled', replaced_by: null });
    const names = (await allEvents(trader, accountId)).filter((e) => e.order?.id === id).map((e) => e.event);
    expect(names).toContain('filled');
    expect(names).not.toContain('replaced');
  });

  it('a dropped stream blocks entries; a fill meanwhile is applied once after the reconnect, then entries return', async () => {
    const placed = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const id = placed.body.id as string;
    await fake!.call('POST', '/test/stream', { down: true });
    const blocked = await eventually(
      async () => ((await account()).entriesBlocked ? await account() : null),
      10_000,
      'entries blocked',
    );
    expect(blocked.entriesBlockedReason).toContain('broker alpaca is disconnected');
    const refused = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expectProblem(refused, 422, 'risk.entries_blocked');
    expect((await fake!.call('POST', '/test/fill', { client_order_id: id, qty: '10' })).status).toBe(200);
    await fake!.call('POST', '/test/stream', { down: false });
    const filled = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${id}`)).body;
        return order.status === 'filled' ? order : null;
      },
      15_000,
      'the fill made during the outage applied',
    );
    expect(filled).toMatchObject({ filledQuantity: '10' });
    await eventually(async () => !(await account()).entriesBlocked, 15_000, 'entries allowed again');
    const executions = (await trader.get(`/v1/accounts/${accountId}/executions`)).body;
    const mine = executions.executions.filter((e: any) => e.orderId === id);
    expect(mine).toHaveLength(1);
    expect(mine[0]).toMatchObject({ quantity: '10' });
  });

  it('a stream that stalls silently is detected within BROKER_ALPACA_STREAM_STALL_MS; entries wait for the heal, a fill meanwhile applied once', async () => {
    const placed = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    const id = placed.body.id as string;
    expect((await account()).entriesBlocked).toBe(false);
    // The socket stays open: no frame, no Pong. trade_updates has no heartbeat, so only the Pings can tell.
    const stalledAt = Date.now();
    await fake!.call('POST', '/test/stream', { stall: true });
    const blocked = await eventually(
      async () => {
        const a = await account();
        return a.entriesBlocked ? a : null;
      },
      STALL_MS * 4,
      'entries blocked by the stall',
    );
    expect(Date.now() - stalledAt).toBeLessThan(STALL_MS * 2);
    expect(blocked.entriesBlockedReason).toContain('broker alpaca is disconnected');
    expect(blocked.entriesBlockedReason).toContain('stalled');
    expect(gw!.output()).toContain('alpaca_stream_stalled');
    expectProblem(
      await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2))),
      422,
      'risk.entries_blocked',
    );
    // A fill during the stall: its stream message is lost, and the reconnects meanwhile stall as well.
    expect((await fake!.call('POST', '/test/fill', { client_order_id: id, qty: '10' })).status).toBe(200);
    await sleep(STALL_MS);
    expect((await trader.get(`${ordersPath()}/${id}`)).body.status).toBe('new');
    expect((await account()).entriesBlocked).toBe(true);

    await fake!.call('POST', '/test/stream', { stall: false });
    const filled = await eventually(
      async () => {
        const order = (await trader.get(`${ordersPath()}/${id}`)).body;
        return order.status === 'filled' ? order : null;
      },
      15_000,
      'the fill made during the stall applied by the heal',
    );
    expect(filled).toMatchObject({ filledQuantity: '10' });
    await eventually(async () => !(await account()).entriesBlocked, 15_000, 'entries allowed after the heal');
    const executions = (await trader.get(`/v1/accounts/${accountId}/executions`)).body.executions as any[];
    expect(executions.filter((e) => e.orderId === id).map((e) => e.quantity)).toEqual(['10']);
  });

  it('a stream killed for 20 s while three orders fill: each fill applied once after it, entries blocked from the drop until the heal, the events saying where each fill came from', async () => {
    const ids: string[] = [];
    for (let k = 0; k < 3; k++) {
      const placed = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      ids.push(placed.body.id as string);
    }
    await fake!.call('POST', '/test/stream', { down: true });
    const droppedAt = Date.now();
    await eventually(async () => (await account()).entriesBlocked === true, 10_000, 'entries blocked');
    for (const id of ids) {
      expect((await fake!.call('POST', '/test/fill', { client_order_id: id, qty: '10' })).status).toBe(200);
    }
    // Blocked for the whole outage, sampled every second, and an entry refused.
    const samples: boolean[] = [];
    while (Date.now() - droppedAt < 20_000) {
      samples.push((await account()).entriesBlocked === true);
      await sleep(1_000);
    }
    expect(samples.length).toBeGreaterThanOrEqual(15);
    expect(samples.every(Boolean), JSON.stringify(samples)).toBe(true);
    expectProblem(
      await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2))),
      422,
      'risk.entries_blocked',
    );
    await fake!.call('POST', '/test/stream', { down: false });
    await eventually(
      async () => {
        const statuses = await Promise.all(
          ids.map(async (id) => (await trader.get(`${ordersPath()}/${id}`)).body.status),
        );
        return statuses.every((status) => status === 'filled');
      },
      20_000,
      'the three fills made during the outage applied',
    );
    await eventually(async () => (await account()).entriesBlocked === false, 15_000, 'entries allowed again');
    // Once each: one execution of 10 and one fill event per order.
    const executions = (await trader.get(`/v1/accounts/${accountId}/executions`)).body.executions as any[];
    const events = await allEvents(trader, accountId);
    for (const id of ids) {
      expect(executions.filter((e) => e.orderId === id).map((e) => e.quantity)).toEqual(['10']);
      expect(events.filter((e) => e.order.id === id && /fill/.test(e.event)).map((e) => e.event)).toEqual(['filled']);
    }
    // The event log keeps where each fill came from: the heal pass after the reconnect (or reconciliation,
    // had its schedule come first), never the stream, which was down.
    const sources = await db!.dataSource.query<{ source: string }[]>(
      `SELECT broker_payload->>'source' AS source FROM order_events
        WHERE account_id = $1 AND order_id = ANY($2::uuid[]) AND event = 'filled' ORDER BY seq`,
      [accountId, ids],
    );
    expect(sources).toHaveLength(3);
    for (const { source } of sources) {
      expect(['alpaca_heal', 'reconciliation']).toContain(source);
    }
  });
});

describe('new keys reach a running Alpaca client', () => {
  it('keys stored again replace the built client without a restart: wrong keys refused at once, the right ones trade again', async () => {
    // The account's client is running (built with the right keys above, its stream up).
    const before = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(before.status, JSON.stringify(before.body)).toBe(201);
    const sent = ((await fake!.call('GET', '/test/received')).body as unknown[]).length;

    // Wrong keys stored: the running client is retired, the next order builds one with them and Alpaca
    // refuses them (a client kept until restart would still place this order with the old keys).
    const wrong = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: WRONG_SECRET,
    });
    expect(wrong.status).toBe(204);
    const refused = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(expectProblem(refused, 503, 'service.unavailable').detail).toContain('alpaca refused');
    expect(((await fake!.call('GET', '/test/received')).body as unknown[]).length).toBe(sent);

    // A fill of the earlier order while no client is built on the right keys still reaches the order
    // (the retired client keeps delivering until its replacement is up).
    expect((await fake!.call('POST', '/test/fill', { client_order_id: before.body.id, qty: '10' })).status).toBe(200);
    await eventually(
      async () => (await trader.get(`${ordersPath()}/${before.body.id}`)).body.status === 'filled',
      10_000,
      'the fill reported by the retired client',
    );

    // The right keys again: the next order is accepted, no restart.
    const right = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: SECRET,
    });
    expect(right.status).toBe(204);
    const placed = await trader.post(ordersPath(), limitBuy(((await bid()) - 1).toFixed(2)));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body).toMatchObject({ status: 'new', brokerOrderId: expect.any(String) });
    // Its fill comes through the new client's stream.
    expect((await fake!.call('POST', '/test/fill', { client_order_id: placed.body.id, qty: '10' })).status).toBe(200);
    await eventually(
      async () => (await trader.get(`${ordersPath()}/${placed.body.id}`)).body.status === 'filled',
      10_000,
      'the fill on the new client',
    );
    const executions = (await trader.get(`/v1/accounts/${accountId}/executions`)).body.executions as any[];
    expect(executions.filter((e) => e.orderId === before.body.id)).toHaveLength(1);
    expect(gw!.output()).not.toContain(WRONG_SECRET);
    expect(gw!.output()).not.toContain(SECRET);
  });
});

async function account(): Promise<any> {
  return (await trader.get(`/v1/accounts/${accountId}`)).body;
}

let balancesAccountId: string;
const alpacaAccount = async () => (await fake!.call('GET', '/v2/account')).body as Record<string, string>;

// `GET /v1/accounts/{id}/balances` of an Alpaca account: the fake Alpaca's own account (`GET /v2/account`),
// `source: "broker"`, following a fill made at Alpaca; the paper account of the same deployment stays computed.
describe('balances of an Alpaca account through the built gateway', () => {
  it('without credentials: 503 with what to do, no figures made up', async () => {
    const res = await admin.post('/v1/accounts', { name: 'alpaca-balances', broker: 'alpaca', environment: 'paper' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    balancesAccountId = res.body.id;
    const problem = expectProblem(
      await trader.get(`/v1/accounts/${balancesAccountId}/balances`),
      503,
      'service.unavailable',
    );
    expect(problem.detail).toContain('no Alpaca credentials');
  });

  it("answers the broker's cash, buying power and equity, and follows a fill made at Alpaca", async () => {
    const stored = await admin.request('PUT', `/v1/accounts/${balancesAccountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: SECRET,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(204);
    const before = await alpacaAccount();
    const first = await trader.get(`/v1/accounts/${balancesAccountId}/balances`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      cash: before.cash,
      buyingPower: before.buying_power,
      equity: before.equity,
      currency: 'USD',
      source: 'broker',
    });
    expect(Math.abs(Date.parse(first.body.asOf) - Date.now())).toBeLessThan(30_000);

    const quote = await trader.get('/v1/quotes/SPY');
    const limitPrice = (Number(quote.body.bid) - 1).toFixed(2);
    const placed = await trader.post(`/v1/accounts/${balancesAccountId}/orders`, {
      clientOrderId: 'alpaca-balances-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
      type: 'limit',
      limitPrice,
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect((await fake!.call('POST', '/test/fill', { client_order_id: placed.body.id, qty: '10' })).status).toBe(200);
    await eventually(
      async () =>
        (await trader.get(`/v1/accounts/${balancesAccountId}/orders/${placed.body.id}`)).body.status === 'filled',
      10_000,
      'the fill applied',
    );
    const after = await alpacaAccount();
    expect(Number(after.cash)).toBeLessThan(Number(before.cash));
    const second = (await trader.get(`/v1/accounts/${balancesAccountId}/balances`)).body;
    expect(second).toMatchObject({
      cash: after.cash,
      buyingPower: after.buying_power,
      equity: after.equity,
      source: 'broker',
    });
  });

  it('the paper account of the same deployment is computed', async () => {
    const res = await trader.get(`/v1/accounts/${gw!.accountId}/balances`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ source: 'computed', cash: '1000000' });
  });
});
