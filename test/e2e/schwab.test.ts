import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectProblem, orderWhen } from '../support/e2e.js';
import { type FakeSchwabProcess, schwabGatewayEnv, startFakeSchwabProcess } from '../support/fake-schwab-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D, dec, loadOptionQuotes, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';

/**
 * The `schwab` adapter end to end: the built gateway (BROKER_SCHWAB_ADAPTER=schwab) against the fake Schwab
 * process (its own wire protocol: Bearer tokens from its authorization server, 201 with the order id only in
 * `Location`, no client order id, the streamer's ACCT_ACTIVITY), one gateway and one fake for the file. The
 * account is connected over the real OAuth flow. Shown: an SPY limit and an SPXW 0DTE option limit fill at the
 * recorded prices, their events on our WebSocket with gapless seq; a cancel; a replace that cancels and
 * creates (a new Schwab order id); a lost 201 (the order `unknown`, received once, entries in SPY blocked,
 * then settled by the matching pass to Schwab's order and id); two identical candidates (stays `unknown`,
 * the `order_match_ambiguous` alert); a silent stream detected within BROKER_SCHWAB_STREAM_STALL_MS; the app's
 * order rate counted in Redis and an order over it refused before sending (`422 risk.message_rate`).
 */
const START_TIME = '09:31:00';
const OPTION = 'SPXW  210104C03700000';
const APP = { clientId: 'schwab-e2e-app', clientSecret: 'schwab-e2e-secret-5d1c9e2a7b' };
const STALL_MS = 1_500;
/** The app's order rate at Schwab (place, cancel, replace per minute), as registered: the fake enforces it too. */
const APP_RATE = 40;
const at = parseTime(START_TIME);
const spy = quoteAt(loadSpyQuotes(), at)!;
const call = quoteAt(loadOptionQuotes({ date: '20210104', right: 'C', strikeUsd: '3700', expiry: '20210104' }), at)!;

let fake: FakeSchwabProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;
let accountId: string;
let stream: StreamClient | undefined;

beforeAll(async () => {
  fake = await startFakeSchwabProcess(APP, {
    PAPER_START_TIME: START_TIME,
    FAKE_SCHWAB_HEARTBEAT_MS: '200',
    FAKE_SCHWAB_ORDER_RATE_LIMIT: String(APP_RATE),
  });
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,schwab',
    ...schwabGatewayEnv(fake, APP),
    BROKER_SCHWAB_STREAM_STALL_MS: String(STALL_MS),
    BROKER_SCHWAB_ORDER_RATE_PER_MINUTE: String(APP_RATE),
    BROKER_SUBMIT_TIMEOUT_MS: '1000',
    // A request unanswered this long is taken as not in flight: a refused replace is settled within a test.
    RECONCILE_MISSING_AFTER_MS: '3000',
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
const order = (symbol: string, side: 'buy' | 'sell', quantity: string, limitPrice: string) => ({
  clientOrderId: `schwab-e2e-${++n}`,
  symbol,
  side,
  quantity,
  type: 'limit',
  limitPrice,
});
const account = async () => (await trader.get(`/v1/accounts/${accountId}`)).body;
const received = async () => (await fake!.call('GET', '/test/received')).body as { method: string; path: string }[];
const placedAtSchwab = async () => (await received()).filter((r) => r.method === 'POST');
const atSchwab = async (id: string) =>
  ((await fake!.call('GET', '/test/orders')).body as any[]).find((o) => String(o.orderId) === id);
const resting = () => dec(spy.bid.minus(1));

describe('a Schwab account through the built gateway', () => {
  it('is created and connected over OAuth by an admin', async () => {
    const created = await admin.post('/v1/accounts', { name: 'schwab-e2e', broker: 'schwab', environment: 'paper' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    accountId = created.body.id;
    const start = await admin.post(`/v1/accounts/${accountId}/broker-connection`, {
      redirectUri: `${gw!.url}/v1/oauth/schwab/callback`,
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const authorize = await fetch(start.body.authorizeUrl as string, { redirect: 'manual' });
    expect(authorize.status).toBe(302);
    const done = await fetch(authorize.headers.get('location')!);
    expect(done.status, await done.text()).toBe(200);
    expect((await admin.get(`/v1/accounts/${accountId}/broker-connection`)).body.status).toBe('connected');
    stream = await StreamClient.connect(gw!.url);
    await stream.authenticate(trader.token!);
    await stream.subscribeOrders(accountId, 0);
  });

  it('fills an SPY limit and an SPXW 0DTE option limit at the recorded prices; events arrive with gapless seq', async () => {
    const equity = await trader.post(ordersPath(), order('SPY', 'buy', '10', dec(spy.ask)));
    expect(equity.status, JSON.stringify(equity.body)).toBe(201);
    const spyFilled = await orderWhen(trader, accountId, equity.body.id, (o) => o.status === 'filled', 'SPY filled');
    expect(spyFilled).toMatchObject({ filledQuantity: '10', averageFillPrice: dec(spy.ask) });
    expect(spyFilled.brokerOrderId).toMatch(/^\d+$/);

    const option = await trader.post(ordersPath(), {
      ...order(OPTION, 'buy', '1', dec(call.ask)),
      positionEffect: 'open',
    });
    expect(option.status, JSON.stringify(option.body)).toBe(201);
    const optionFilled = await orderWhen(
      trader,
      accountId,
      option.body.id,
      (o) => o.status === 'filled',
      'SPXW filled',
    );
    expect(optionFilled).toMatchObject({ filledQuantity: '1', averageFillPrice: dec(call.ask) });
    const sent = (await placedAtSchwab()).map((r: any) => r.body.orderLegCollection[0]);
    expect(sent).toEqual([
      { instruction: 'BUY', quantity: 10, instrument: { symbol: 'SPY', assetType: 'EQUITY' } },
      { instruction: 'BUY_TO_OPEN', quantity: 1, instrument: { symbol: OPTION, assetType: 'OPTION' } },
    ]);
    expect(JSON.stringify(await received())).not.toContain(equity.body.id);

    await stream!.waitFor((m) => m.type === 'order' && m.order.id === option.body.id && m.event === 'filled');
    const events = stream!.orderEvents(accountId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const fills = events.filter((e) => e.execution);
    expect(fills.map((e) => [e.order.symbol, e.execution.quantity, e.execution.price])).toEqual([
      ['SPY', '10', dec(spy.ask)],
      [OPTION, '1', dec(call.ask)],
    ]);
    expect(events).toEqual(await allEvents(trader, accountId));
  });

  it('cancels; a replace cancels at Schwab and creates a new order with a new Schwab id', async () => {
    const placed = await trader.post(ordersPath(), order('SPY', 'buy', '5', resting()));
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body).toMatchObject({ status: 'new', brokerOrderId: expect.stringMatching(/^\d+$/) });
    const cancel = await trader.request('DELETE', `${ordersPath()}/${placed.body.id}`);
    expect(cancel.status, JSON.stringify(cancel.body)).toBe(202);
    await orderWhen(trader, accountId, placed.body.id, (o) => o.status === 'canceled', 'canceled');
    expect((await atSchwab(placed.body.brokerOrderId)).status).toBe('CANCELED');

    const old = await trader.post(ordersPath(), order('SPY', 'buy', '5', resting()));
    expect(old.status).toBe(201);
    const replace = await trader.request('PATCH', `${ordersPath()}/${old.body.id}`, {
      clientOrderId: `schwab-e2e-${++n}`,
      quantity: '6',
      limitPrice: dec(spy.bid.minus(2)),
    });
    expect(replace.status, JSON.stringify(replace.body)).toBe(202);
    const replaced = await orderWhen(trader, accountId, old.body.id, (o) => o.status === 'replaced', 'replaced');
    const next = await orderWhen(trader, accountId, replace.body.id, (o) => o.status === 'new', 'replacement new');
    expect(next.brokerOrderId).toMatch(/^\d+$/);
    expect(next.brokerOrderId).not.toBe(replaced.brokerOrderId);
    expect(next).toMatchObject({ replacesOrderId: old.body.id, quantity: '6', limitPrice: dec(spy.bid.minus(2)) });
    expect(await atSchwab(replaced.brokerOrderId)).toMatchObject({ status: 'REPLACED' });
    expect(await atSchwab(next.brokerOrderId)).toMatchObject({ status: 'WORKING', quantity: 6 });
    const puts = (await received()).filter((r) => r.method === 'PUT');
    expect(puts.map((r) => r.path)).toEqual([expect.stringContaining(`/orders/${replaced.brokerOrderId}`)]);
    await trader.request('DELETE', `${ordersPath()}/${replace.body.id}`);
    await orderWhen(trader, accountId, replace.body.id, (o) => o.status === 'canceled', 'replacement canceled');
  });

  it('a lost 201: unknown, received once, entries in SPY blocked, settled by matching to the Schwab order', async () => {
    const before = (await placedAtSchwab()).length;
    await fake!.call('POST', '/test/faults', { kind: 'ack_lost', remaining: 1 });
    const lost = await trader.post(ordersPath(), order('SPY', 'buy', '7', resting()));
    expect(lost.status, JSON.stringify(lost.body)).toBe(201);
    expect(lost.body).toMatchObject({ status: 'unknown', brokerOrderId: null });
    expect((await placedAtSchwab()).length).toBe(before + 1);
    // An entry in the same symbol waits for the unknown order to be settled; nothing more reaches Schwab.
    expectProblem(await trader.post(ordersPath(), order('SPY', 'buy', '1', resting())), 422, 'risk.entries_blocked');
    expect((await placedAtSchwab()).length).toBe(before + 1);
    const atBroker = ((await fake!.call('GET', '/test/orders')).body as any[]).find(
      (o) => o.quantity === 7 && o.status === 'WORKING',
    );
    const settled = await orderWhen(trader, accountId, lost.body.id, (o) => o.status === 'new', 'settled by matching');
    expect(settled.brokerOrderId).toBe(String(atBroker.orderId));
    expect((await placedAtSchwab()).length).toBe(before + 1); // never resent
    const after = await trader.post(ordersPath(), order('SPY', 'buy', '1', resting()));
    expect(after.status, JSON.stringify(after.body)).toBe(201);
    for (const id of [lost.body.id, after.body.id]) {
      await trader.request('DELETE', `${ordersPath()}/${id}`);
      await orderWhen(trader, accountId, id, (o) => o.status === 'canceled', 'canceled');
    }
  });

  it('a replace Schwab refuses and whose answer is lost: the replacement is settled rejected, the old order working', async () => {
    const old = await trader.post(ordersPath(), order('SPY', 'buy', '3', resting()));
    expect(old.status, JSON.stringify(old.body)).toBe(201);
    const brokerOrderId = old.body.brokerOrderId as string;
    await fake!.call('POST', '/test/faults', { kind: 'replace_refused', remaining: 1 });
    await fake!.call('POST', '/test/faults', { kind: 'refusal_lost', remaining: 1 });
    const replace = await trader.request('PATCH', `${ordersPath()}/${old.body.id}`, {
      clientOrderId: `schwab-e2e-${++n}`,
      quantity: '4',
    });
    expect(replace.status, JSON.stringify(replace.body)).toBe(202);
    expect(replace.body).toMatchObject({ status: 'unknown', brokerOrderId: null, replacesOrderId: old.body.id });
    const puts = (await received()).filter((r: any) => r.method === 'PUT' && r.path.endsWith(`/${brokerOrderId}`));
    expect(puts).toEqual([expect.objectContaining({ status: 400 })]); // refused; the answer never came back
    // Schwab's list proves it: the old order is still WORKING, not REPLACED, so no replacement was created.
    const rejected = await orderWhen(
      trader,
      accountId,
      replace.body.id,
      (o) => o.status === 'rejected',
      'the replacement settled',
    );
    expect(rejected.rejectReason).toMatchObject({ code: 'broker.rejected' });
    expect(rejected.rejectReason.message).toContain('never created');
    const back = await orderWhen(trader, accountId, old.body.id, (o) => o.status === 'new', 'the old order working');
    expect(back).toMatchObject({ quantity: '3', brokerOrderId, replacedByOrderId: null });
    expect(await atSchwab(brokerOrderId)).toMatchObject({ status: 'WORKING', quantity: 3 });
    const putsAfter = (await received()).filter((r: any) => r.method === 'PUT' && r.path.endsWith(`/${brokerOrderId}`));
    expect(putsAfter).toHaveLength(1); // never resent
    const entry = await trader.post(ordersPath(), order('SPY', 'buy', '1', resting()));
    expect(entry.status, JSON.stringify(entry.body)).toBe(201); // nothing uncertain blocks SPY any more
    for (const id of [old.body.id, entry.body.id]) {
      await trader.request('DELETE', `${ordersPath()}/${id}`);
      await orderWhen(trader, accountId, id, (o) => o.status === 'canceled', 'canceled');
    }
  });

  it('a stream that stalls silently is detected within BROKER_SCHWAB_STREAM_STALL_MS and entries wait for the heal', async () => {
    expect((await account()).entriesBlocked).toBe(false);
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
    expect(blocked.entriesBlockedReason).toContain('stalled');
    expect(gw!.output()).toContain('schwab_stream_stalled');
    await fake!.call('POST', '/test/stream', { stall: false });
    await eventually(
      async () => ((await account()).entriesBlocked ? null : true),
      15_000,
      'entries allowed after the heal',
    );
  });

  it('two identical candidates at Schwab: the order stays unknown and the ambiguity is alerted', async () => {
    const price = dec(spy.bid.minus(3));
    const external = await fake!.call('POST', '/test/orders', {
      orderType: 'LIMIT',
      session: 'NORMAL',
      duration: 'DAY',
      orderStrategyType: 'SINGLE',
      price,
      orderLegCollection: [{ instruction: 'BUY', quantity: 4, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
    });
    expect(external.status, JSON.stringify(external.body)).toBe(201);
    await fake!.call('POST', '/test/faults', { kind: 'ack_lost', remaining: 1 });
    const lost = await trader.post(ordersPath(), order('SPY', 'buy', '4', price));
    expect(lost.body).toMatchObject({ status: 'unknown' });
    await eventually(
      () => Promise.resolve(gw!.output().includes('order_match_ambiguous') ? true : null),
      15_000,
      'the ambiguity alert',
    );
    const still = (await trader.get(`${ordersPath()}/${lost.body.id}`)).body;
    expect(still).toMatchObject({ status: 'unknown', brokerOrderId: null });
  });

  it("an order over the app's Schwab order rate is refused before sending, naming the broker limit", async () => {
    const before = (await placedAtSchwab()).length;
    let refused: any = null;
    let sent = 0;
    for (let i = 0; i < APP_RATE && refused === null; i++) {
      const res = await trader.post(ordersPath(), {
        ...order(OPTION, 'buy', '1', dec(call.bid.minus(new D(i + 1).dividedBy(10)))),
        positionEffect: 'open',
      });
      if (res.status === 201) {
        sent += 1;
      } else {
        refused = expectProblem(res, 422, 'risk.message_rate');
      }
    }
    expect(refused, 'refused within the window').not.toBeNull();
    expect(refused.detail).toContain(`schwab allows the app ${APP_RATE} order requests`);
    expect(refused.detail).toContain('BROKER_SCHWAB_ORDER_RATE_PER_MINUTE');
    expect(refused.orderId).toEqual(expect.any(String));
    // Nothing of the refused order reached Schwab, and Schwab never had to throttle the app.
    expect((await placedAtSchwab()).length).toBe(before + sent);
    expect((await received()).filter((r: any) => r.status === 429)).toEqual([]);
    expect((await trader.get(`${ordersPath()}/${refused.orderId}`)).body).toMatchObject({ status: 'denied' });
  });

  it("never shows Schwab's tokens in the gateway's output", () => {
    // The fake's authorization server issues access tokens `I0.…` and refresh tokens `R0.…` (as Schwab's look).
    expect(gw!.output()).not.toMatch(/\b(?:I0|R0)\.[A-Za-z0-9_-]{16,}/);
  });
});
