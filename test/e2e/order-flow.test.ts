import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectConsecutive, orderWhen, sleep, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import {
  D,
  dec,
  expectedFills,
  loadOptionQuotes,
  loadSpyQuotes,
  loadSpyTrades,
  parseTime,
  quoteAt,
  type RecordedQuote,
} from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';

/**
 * The order path end to end against the paper venue replaying real data: every expected price below is
 * read by the test from the recorded CSV files, never from the gateway. The replay is paused and only
 * moves when a test steps it, always forward, so the tests of this file run in order.
 */
const SPY_DATE_UTC = Date.UTC(2013, 9, 7);
const EDT_MS = 4 * 3600_000; // 2013-10-07 in New York is UTC−4
const SPXW_DATE_UTC = Date.UTC(2021, 0, 4);
const EST_MS = 5 * 3600_000; // 2021-01-04 in New York is UTC−5
const END = parseTime('09:59:59.999');

const spyQuotes = loadSpyQuotes();
const spyTrades = loadSpyTrades();
const spxwCall = loadOptionQuotes({ date: '20210104', right: 'C', strikeUsd: '3700', expiry: '20210104' });

let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let admin: Api;
let accountId: string;
let stream: StreamClient | undefined;
/** The replay clock (ms after midnight ET): tests only ever step it forward. */
let now = parseTime('09:30:00');

const ordersPath = () => `/v1/accounts/${accountId}/orders`;
const place = (body: Record<string, unknown>) => api.post(ordersPath(), body);
const step = async (to: number) => {
  expect(to).toBeGreaterThanOrEqual(now);
  await stepReplay(admin, to);
  now = to;
};
const eventsOf = async (orderId: string) => (await allEvents(api, accountId)).filter((e) => e.order.id === orderId);
const executionsOf = async (orderId: string) =>
  ((await api.get(`/v1/accounts/${accountId}/executions?limit=1000`)).body.executions as any[]).filter(
    (x) => x.orderId === orderId,
  );

/** The first quote published after `from` whose ask side suits `accept`. */
function findQuote(from: number, accept: (q: RecordedQuote) => boolean): RecordedQuote {
  const q = spyQuotes.find((x) => x.timeMs > from && accept(x));
  if (!q) {
    throw new Error('no suitable quote in the recorded data');
  }
  return q;
}

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix() });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
});

afterAll(async () => {
  stream?.close();
  await gw?.stop();
  await db?.drop();
});

describe('order flow on the paper venue (replayed real data)', () => {
  it('fills a marketable SPY buy at the recorded ask and streams pending_new → new → filled with consecutive seqs', async () => {
    const at = parseTime('09:30:05');
    await step(at);
    const quote = quoteAt(spyQuotes, at)!;
    expect(quote.askSize.greaterThanOrEqualTo(10)).toBe(true);

    stream = await StreamClient.connect(gw.url);
    await stream.authenticate(gw.traderToken);
    const subscribed = await stream.subscribeOrders(accountId);
    expect(subscribed).toMatchObject({ type: 'subscribed', channel: 'orders', accountId, seq: 0 });

    const res = await place({
      clientOrderId: 'flow-mkt-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
      type: 'market',
    });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      clientOrderId: 'flow-mkt-1',
      accountId,
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
    });
    const id = res.body.id as string;

    await stream.waitFor((m) => m.type === 'order' && m.order.id === id && m.event === 'filled');
    const streamed = stream.orderEvents(accountId).filter((e) => e.order.id === id);
    expect(streamed.map((e) => e.event)).toEqual(['pending_new', 'new', 'filled']);
    expect(streamed.map((e) => e.order.status)).toEqual(['pending_new', 'new', 'filled']);
    expectConsecutive(streamed, 1);
    const fill = streamed[2];
    expect(fill.execution).toMatchObject({
      orderId: id,
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
      price: dec(quote.ask),
      executedAt: new Date(SPY_DATE_UTC + EDT_MS + at).toISOString(),
    });
    expect(fill.order).toMatchObject({
      status: 'filled',
      filledQuantity: '10',
      leavesQuantity: '0',
      averageFillPrice: dec(quote.ask),
    });

    const order = (await api.get(`${ordersPath()}/${id}`)).body;
    expect(order).toMatchObject({
      status: 'filled',
      filledQuantity: '10',
      averageFillPrice: dec(quote.ask),
      lastSeq: fill.seq,
    });
    expect(order.brokerOrderId).toEqual(expect.any(String));
    // GET /events is the record: the same three events, field for field.
    expect(await eventsOf(id)).toEqual(streamed);
  });

  it('rests a passive buy limit below the market, then fills it at its limit price once the recorded data crosses it', async () => {
    const at = parseTime('09:30:20');
    await step(at);
    const quote = quoteAt(spyQuotes, at)!;
    const limit = quote.bid.minus('0.01');
    expect(limit.lessThan(quote.ask)).toBe(true);
    const fills = expectedFills({
      quotes: spyQuotes,
      trades: spyTrades,
      side: 'buy',
      quantity: '20',
      limit,
      placedAt: at,
      until: END,
    });
    const filled = fills.reduce((s, f) => s.plus(f.quantity), new D(0));
    expect(filled.toFixed(), 'the recorded data never crosses the limit: pick another').toBe('20');
    const first = fills[0]!;
    const last = fills[fills.length - 1]!;

    const res = await place({
      clientOrderId: 'flow-passive-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '20',
      type: 'limit',
      limitPrice: dec(limit),
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    await orderWhen(api, accountId, id, (o) => o.status === 'new', 'new');

    // Up to 1 ms before the data reaches the limit, nothing fills.
    await step(first.timeMs - 1);
    await sleep(250);
    let order = (await api.get(`${ordersPath()}/${id}`)).body;
    expect(order).toMatchObject({ status: 'new', filledQuantity: '0', leavesQuantity: '20', averageFillPrice: null });

    await step(last.timeMs);
    order = await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
    expect(order).toMatchObject({ filledQuantity: '20', leavesQuantity: '0', averageFillPrice: dec(limit) });
    const executions = await executionsOf(id);
    expect(executions.map((x) => [x.quantity, x.price])).toEqual(fills.map((f) => [dec(f.quantity), dec(limit)]));
    expect(executions.map((x) => x.executedAt)).toEqual(
      fills.map((f) => new Date(SPY_DATE_UTC + EDT_MS + f.timeMs).toISOString()),
    );
    const events = await eventsOf(id);
    expect(events.map((e) => e.event)).toEqual([
      'pending_new',
      'new',
      ...fills.map((_, i) => (i === fills.length - 1 ? 'filled' : 'partially_filled')),
    ]);
  });

  it('fills an order larger than the displayed ask partially (the displayed size), then completely on a later quote', async () => {
    // A moment where the displayed ask is small, and the next quote update offers the remainder.
    const quote = findQuote(now + 1000, (q) => {
      if (!q.askSize.greaterThanOrEqualTo(100) || !q.askSize.lessThanOrEqualTo(2000)) {
        return false;
      }
      const f = expectedFills({
        quotes: spyQuotes,
        side: 'buy',
        quantity: q.askSize.plus(100),
        limit: null,
        placedAt: q.timeMs,
        until: END,
      });
      return f.length === 2;
    });
    const quantity = quote.askSize.plus(100);
    const fills = expectedFills({
      quotes: spyQuotes,
      side: 'buy',
      quantity,
      limit: null,
      placedAt: quote.timeMs,
      until: END,
    });
    await step(quote.timeMs);

    const res = await place({
      clientOrderId: 'flow-partial-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: dec(quantity),
      type: 'market',
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    let order = await orderWhen(api, accountId, id, (o) => o.status === 'partially_filled', 'partially_filled');
    expect(order).toMatchObject({
      filledQuantity: dec(quote.askSize),
      leavesQuantity: '100',
      averageFillPrice: dec(quote.ask),
    });
    await sleep(250);
    expect(
      (await api.get(`${ordersPath()}/${id}`)).body.filledQuantity,
      'no more fills while the replay is paused',
    ).toBe(dec(quote.askSize));

    await step(fills[1]!.timeMs);
    order = await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
    const vwap = fills
      .reduce((s, f) => s.plus(f.quantity.times(f.price)), new D(0))
      .dividedBy(quantity)
      .toDecimalPlaces(10, D.ROUND_HALF_EVEN);
    expect(order).toMatchObject({ filledQuantity: dec(quantity), leavesQuantity: '0', averageFillPrice: dec(vwap) });
    const executions = await executionsOf(id);
    expect(executions.map((x) => [x.quantity, x.price])).toEqual(fills.map((f) => [dec(f.quantity), dec(f.price)]));
    const events = await eventsOf(id);
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'new', 'partially_filled', 'filled']);
    expectConsecutive(events, events[0].seq);
  });

  it('cancels the rest of an IOC larger than the displayed size, keeping the displayed size filled', async () => {
    const quote = findQuote(now, (q) => q.askSize.greaterThanOrEqualTo(100) && q.askSize.lessThanOrEqualTo(3000));
    await step(quote.timeMs);
    const quantity = quote.askSize.plus(200);

    const res = await place({
      clientOrderId: 'flow-ioc-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: dec(quantity),
      type: 'limit',
      limitPrice: dec(quote.ask),
      timeInForce: 'ioc',
    });
    expect(res.status).toBe(201);
    const id = res.body.id as string;
    const order = await orderWhen(api, accountId, id, (o) => o.status === 'canceled', 'canceled');
    expect(order).toMatchObject({
      timeInForce: 'ioc',
      filledQuantity: dec(quote.askSize),
      leavesQuantity: '0',
      averageFillPrice: dec(quote.ask),
    });
    const events = await eventsOf(id);
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'new', 'partially_filled', 'canceled']);
    expectConsecutive(events, events[0].seq);
    const executions = await executionsOf(id);
    expect(executions.map((x) => [x.quantity, x.price])).toEqual([[dec(quote.askSize), dec(quote.ask)]]);
  });

  it('fills an SPXW 0DTE call, padded or unpadded OSI symbol, at its recorded ask', async () => {
    const quote = quoteAt(spxwCall, now)!;
    expect(quote, 'the 0DTE call has a quote at this time').toBeDefined();
    const padded = 'SPXW  210104C03700000';

    const shown = await api.get(`/v1/quotes/${encodeURIComponent(padded)}`);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ symbol: padded, ask: dec(quote.ask), bid: dec(quote.bid) });

    const ids: string[] = [];
    for (const [clientOrderId, symbol] of [
      ['flow-spxw-padded', padded],
      ['flow-spxw-unpadded', 'SPXW210104C03700000'],
    ] as const) {
      const res = await place({ clientOrderId, symbol, side: 'buy', quantity: '1', type: 'market' });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      expect(res.body.symbol).toBe(padded);
      ids.push(res.body.id);
    }
    for (const id of ids) {
      const order = await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
      expect(order).toMatchObject({ symbol: padded, filledQuantity: '1', averageFillPrice: dec(quote.ask) });
      const [execution] = await executionsOf(id);
      expect(execution).toMatchObject({
        symbol: padded,
        quantity: '1',
        price: dec(quote.ask),
        executedAt: new Date(SPXW_DATE_UTC + EST_MS + now).toISOString(),
      });
    }
  });

  it('sells part of the SPY position at the recorded bid; positions and executions agree with every fill', async () => {
    const at = now + 1000;
    await step(at);
    const quote = quoteAt(spyQuotes, at)!;
    expect(quote.bidSize.greaterThanOrEqualTo(15)).toBe(true);
    const res = await place({
      clientOrderId: 'flow-sell-1',
      symbol: 'SPY',
      side: 'sell',
      quantity: '15',
      type: 'market',
    });
    expect(res.status).toBe(201);
    await orderWhen(api, accountId, res.body.id, (o) => o.status === 'filled', 'filled');
    expect((await api.get(`${ordersPath()}/${res.body.id}`)).body.averageFillPrice).toBe(dec(quote.bid));

    const executions = (await api.get(`/v1/accounts/${accountId}/executions?limit=1000`)).body.executions as any[];
    const events = await allEvents(api, accountId);
    // Every fill event's execution is in /executions, and nothing else is.
    const fromEvents = events.filter((e) => e.execution).map((e) => e.execution);
    expect([...executions].sort((a, b) => a.id.localeCompare(b.id))).toEqual(
      [...fromEvents].sort((a, b) => a.id.localeCompare(b.id)),
    );
    // Each order's filled quantity is the sum of its executions.
    for (const order of (await api.get(`${ordersPath()}?status=all`)).body.orders as any[]) {
      const sum = executions.filter((x) => x.orderId === order.id).reduce((s, x) => s.plus(x.quantity), new D(0));
      expect(order.filledQuantity, order.clientOrderId).toBe(dec(sum));
    }

    // The positions, recomputed from the executions by the average-cost method.
    const expected = new Map<string, { qty: D; avg: D; pnl: D }>();
    for (const x of executions) {
      const p = expected.get(x.symbol) ?? { qty: new D(0), avg: new D(0), pnl: new D(0) };
      const multiplier = x.symbol.length === 21 ? 100 : 1;
      const q = new D(x.quantity);
      const price = new D(x.price);
      if (x.side === 'buy') {
        p.avg = p.qty.times(p.avg).plus(q.times(price)).dividedBy(p.qty.plus(q));
        p.qty = p.qty.plus(q);
      } else {
        p.pnl = p.pnl.plus(price.minus(p.avg).times(q).times(multiplier));
        p.qty = p.qty.minus(q);
      }
      expected.set(x.symbol, p);
    }
    const positions = (await api.get(`/v1/accounts/${accountId}/positions`)).body.positions as any[];
    expect(positions.map((p) => p.symbol).sort()).toEqual([...expected.keys()].sort());
    for (const p of positions) {
      const e = expected.get(p.symbol)!;
      expect(p.quantity, p.symbol).toBe(dec(e.qty));
      expect(
        new D(p.averagePrice).minus(e.avg).abs().lessThan('1e-8'),
        `${p.symbol} average ${p.averagePrice} vs ${e.avg.toFixed()}`,
      ).toBe(true);
      expect(
        new D(p.realizedPnl).minus(e.pnl).abs().lessThan('1e-6'),
        `${p.symbol} pnl ${p.realizedPnl} vs ${e.pnl.toFixed()}`,
      ).toBe(true);
    }
    expect(positions.find((p) => p.symbol === 'SPXW  210104C03700000')).toMatchObject({
      quantity: '2',
      realizedPnl: '0',
    });
    const spy = expected.get('SPY')!;
    expect(spy.pnl.isZero()).toBe(false);
  });

  it('cancels working orders one by one and all at once (202), ending canceled with nothing filled', async () => {
    const quote = quoteAt(spyQuotes, now)!;
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await place({
        clientOrderId: `flow-cancel-${i}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '10',
        type: 'limit',
        limitPrice: dec(quote.bid.minus(1 + i)),
      });
      expect(res.status).toBe(201);
      ids.push(res.body.id);
      await orderWhen(api, accountId, res.body.id, (o) => o.status === 'new', 'new');
    }
    const one = await api.delete(`${ordersPath()}/${ids[0]}`);
    expect(one.status).toBe(202);
    expect(['pending_cancel', 'canceled']).toContain(one.body.status);
    await orderWhen(api, accountId, ids[0]!, (o) => o.status === 'canceled', 'canceled');

    const all = await api.delete(ordersPath());
    expect(all.status).toBe(202);
    expect(all.body.orders.map((o: any) => o.id).sort()).toEqual([ids[1], ids[2]].sort());
    for (const id of ids) {
      const order = await orderWhen(api, accountId, id, (o) => o.status === 'canceled', 'canceled');
      expect(order).toMatchObject({ filledQuantity: '0', leavesQuantity: '0' });
      expect((await eventsOf(id)).map((e) => e.event)).toEqual(['pending_new', 'new', 'pending_cancel', 'canceled']);
    }
    expect((await api.get(`${ordersPath()}?status=open`)).body.orders).toEqual([]);
  });
});
