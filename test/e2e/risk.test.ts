import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectProblem, orderWhen, sqlCount, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D, dec, loadOptionQuotes, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';

/**
 * Pre-trade risk (API.md "Orders"): a denial is `422 risk.<check>` with the `orderId` of the order kept
 * as `denied` (never sent to the venue) and a `denied` event; a retry with the same key answers the same.
 * Limits for this process: 10 000 USD notional per order, quotes older than 2 s are stale, ±10 % collar.
 */
const MAX_NOTIONAL = new D(10_000);
const MAX_QUOTE_AGE_MS = 2_000;
const SPXW = 'SPXW  210104C03700000';
const AT = parseTime('09:30:30');

const spyQuotes = loadSpyQuotes();
const spxwCall = loadOptionQuotes({ date: '20210104', right: 'C', strikeUsd: '3700', expiry: '20210104' });

let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let admin: Api;
let accountId: string;

const ordersPath = () => `/v1/accounts/${accountId}/orders`;
const venueOrders = (orderId: string) =>
  sqlCount(db.dataSource, 'SELECT count(*) AS n FROM paper_venue_orders WHERE client_order_id = $1', [orderId]);

/** Places `body`, expects the denial `code`, and checks what the user sees of the denied order. */
async function expectDenied(body: Record<string, unknown>, code: string): Promise<{ orderId: string; detail: string }> {
  const eventsBefore = await allEvents(api, accountId);
  const res = await api.post(ordersPath(), body);
  const problem = expectProblem(res, 422, code);
  expect(problem.orderId).toEqual(expect.any(String));
  const order = (await api.get(`${ordersPath()}/${problem.orderId}`)).body;
  expect(order).toMatchObject({
    id: problem.orderId,
    clientOrderId: body.clientOrderId,
    status: 'denied',
    filledQuantity: '0',
    leavesQuantity: '0',
    brokerOrderId: null,
    rejectReason: { code },
  });
  const events = await allEvents(api, accountId);
  const added = events.slice(eventsBefore.length);
  expect(added.map((e) => [e.seq, e.event, e.order.id, e.order.status])).toEqual([
    [(eventsBefore.at(-1)?.seq ?? 0) + 1, 'denied', problem.orderId, 'denied'],
  ]);
  expect(await venueOrders(problem.orderId), 'a denied order never reaches the venue').toBe(0);
  return { orderId: problem.orderId, detail: String(problem.detail ?? '') };
}

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    RISK_MAX_ORDER_NOTIONAL: MAX_NOTIONAL.toFixed(),
    RISK_MAX_QUOTE_AGE_MS: String(MAX_QUOTE_AGE_MS),
    RISK_PRICE_COLLAR_PERCENT: '10',
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  await stepReplay(admin, AT);
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('pre-trade risk checks', () => {
  const spy = quoteAt(spyQuotes, AT)!;

  it('denies an order over the notional limit (422 risk.max_notional) and keeps it as denied', async () => {
    expect(AT - spy.timeMs).toBeLessThanOrEqual(MAX_QUOTE_AGE_MS);
    const quantity = 100;
    expect(spy.ask.times(quantity).greaterThan(MAX_NOTIONAL)).toBe(true);
    const { detail } = await expectDenied(
      { clientOrderId: 'risk-notional-1', symbol: 'SPY', side: 'buy', quantity: String(quantity), type: 'market' },
      'risk.max_notional',
    );
    // The reason is the user's figure: quantity × the recorded ask.
    expect(detail).toContain(dec(spy.ask.times(quantity)));

    // Just under the limit at the same ask is accepted and fills.
    const under = MAX_NOTIONAL.dividedBy(spy.ask).floor();
    const ok = await api.post(ordersPath(), {
      clientOrderId: 'risk-notional-ok',
      symbol: 'SPY',
      side: 'buy',
      quantity: dec(under),
      type: 'market',
    });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const filled = await orderWhen(api, accountId, ok.body.id, (o) => o.status === 'filled', 'filled');
    expect(filled.averageFillPrice).toBe(dec(spy.ask));
  });

  it('answers the retry of a denied request with the same 422 and the same orderId, writing nothing', async () => {
    const body = { clientOrderId: 'risk-notional-1', symbol: 'SPY', side: 'buy', quantity: '100', type: 'market' };
    const [original] = (await api.get(`${ordersPath()}?clientOrderId=risk-notional-1`)).body.orders;
    const eventsBefore = (await allEvents(api, accountId)).length;
    for (let i = 0; i < 2; i++) {
      const retry = await api.post(ordersPath(), body);
      const problem = expectProblem(retry, 422, 'risk.max_notional');
      expect(problem.orderId).toBe(original.id);
    }
    expect((await allEvents(api, accountId)).length).toBe(eventsBefore);
    expect(
      await sqlCount(db.dataSource, `SELECT count(*) AS n FROM orders WHERE client_order_id = 'risk-notional-1'`),
    ).toBe(1);
  });

  it('counts the option multiplier (× 100) in the notional', async () => {
    // Two SPXW contracts at about $69 are about $13 800: over the limit although 2 × 69 is not.
    await stepReplay(admin, parseTime('09:31:00.500'));
    const quote = quoteAt(spxwCall, parseTime('09:31:00.500'))!;
    expect(quote.ask.times(2).times(100).greaterThan(MAX_NOTIONAL)).toBe(true);
    await expectDenied(
      { clientOrderId: 'risk-spxw-notional', symbol: SPXW, side: 'buy', quantity: '2', type: 'market' },
      'risk.max_notional',
    );
  });

  it('denies a limit price far outside the collar (422 risk.price_collar), either way, and accepts one inside it', async () => {
    const now = parseTime('09:31:00.500');
    const q = quoteAt(spyQuotes, now)!;
    expect(now - q.timeMs).toBeLessThanOrEqual(MAX_QUOTE_AGE_MS);
    const mid = q.bid.plus(q.ask).dividedBy(2);
    await expectDenied(
      {
        clientOrderId: 'risk-collar-low',
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'limit',
        limitPrice: dec(mid.times('0.5').toDecimalPlaces(2)),
      },
      'risk.price_collar',
    );
    await expectDenied(
      {
        clientOrderId: 'risk-collar-high',
        symbol: 'SPY',
        side: 'sell',
        quantity: '1',
        type: 'limit',
        limitPrice: dec(mid.times('1.5').toDecimalPlaces(2)),
      },
      'risk.price_collar',
    );
    // 5 % under the mid rests; then cancel it.
    const inside = await api.post(ordersPath(), {
      clientOrderId: 'risk-collar-inside',
      symbol: 'SPY',
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: dec(mid.times('0.95').toDecimalPlaces(2)),
    });
    expect(inside.status, JSON.stringify(inside.body)).toBe(201);
    await orderWhen(api, accountId, inside.body.id, (o) => o.status === 'new', 'new');
    const canceled = await api.delete(`${ordersPath()}/${inside.body.id}`);
    expect(canceled.status).toBe(202);
    await orderWhen(api, accountId, inside.body.id, (o) => o.status === 'canceled', 'canceled');
  });

  it('denies an order on a stale quote (422 risk.stale_market_data); the retry still answers the denial once the data is fresh', async () => {
    // The SPXW minute bar of 09:32 opens at 09:32:00.000; 30 s later its quote is 30 000 ms old.
    const at = parseTime('09:32:30');
    await stepReplay(admin, at);
    const quote = quoteAt(spxwCall, at)!;
    expect(at - quote.timeMs).toBeGreaterThan(MAX_QUOTE_AGE_MS);
    const body = { clientOrderId: 'risk-stale-1', symbol: SPXW, side: 'buy', quantity: '1', type: 'market' };
    const { orderId } = await expectDenied(body, 'risk.stale_market_data');

    // At 09:33:00.500 the quote is 500 ms old: a new order goes through and fills at the recorded ask...
    const fresh = parseTime('09:33:00.500');
    await stepReplay(admin, fresh);
    const freshQuote = quoteAt(spxwCall, fresh)!;
    expect(fresh - freshQuote.timeMs).toBeLessThanOrEqual(MAX_QUOTE_AGE_MS);
    const ok = await api.post(ordersPath(), { ...body, clientOrderId: 'risk-fresh-1' });
    expect(ok.status, JSON.stringify(ok.body)).toBe(201);
    const filled = await orderWhen(api, accountId, ok.body.id, (o) => o.status === 'filled', 'filled');
    expect(filled.averageFillPrice).toBe(dec(freshQuote.ask));

    // ...but the denied request, retried with its key, answers its recorded denial.
    const retry = await api.post(ordersPath(), body);
    expect(expectProblem(retry, 422, 'risk.stale_market_data').orderId).toBe(orderId);
    await eventually(async () => (await venueOrders(ok.body.id)) === 1, 5_000, 'the venue order');
    expect(await venueOrders(orderId)).toBe(0);
  });
});
