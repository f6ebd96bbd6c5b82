import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import type { ReplaceOrderCommand, SubmitResult } from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import { zonedTimeToEpochMs } from '@gateway/oms';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';
import type { PaperOrderRecord } from './paper-order-record.js';
import type { PaperVenueConfig } from './paper-venue.js';
import { InMemoryPaperVenueStore, type PaperVenueStore } from './paper-venue-store.js';
import { isLastSaleEligible } from './sale-condition.js';
import { parseTimeOfDay } from './time-of-day.js';
import { submitOrders } from '../testing/submit-orders.js';
import { TestPaperVenue } from '../testing/test-paper-venue.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());
const CALL_0DTE = 'SPXW  210104C03700000';

// ---- expectations read straight from the CSV files, independently of the loader ----

const csv = (file: string): string[][] =>
  readFileSync(path.join(dataDir, file), 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split(','));
const dollars = (scaled: string): Decimal => new Decimal(scaled).dividedBy(10_000);

interface CsvQuote {
  readonly t: number;
  readonly bid: Decimal;
  readonly ask: Decimal;
  readonly bidSize: Decimal;
  readonly askSize: Decimal;
}

/** Quote updates of a Lean quote bar file: the open at t, the close at t + bar − 1 when it differs. */
function barQuotes(
  rows: string[][],
  barMs: number,
  col: (name: 'time' | 'bo' | 'bc' | 'bs' | 'ao' | 'ac' | 'as') => number,
): CsvQuote[] {
  const out: CsvQuote[] = [];
  for (const r of rows) {
    const f = (name: Parameters<typeof col>[0]): string => r[col(name)]!;
    const sizes = { bidSize: new Decimal(f('bs')), askSize: new Decimal(f('as')) };
    out.push({ t: Number(f('time')), bid: dollars(f('bo')), ask: dollars(f('ao')), ...sizes });
    if (f('bo') !== f('bc') || f('ao') !== f('ac')) {
      out.push({ t: Number(f('time')) + barMs - 1, bid: dollars(f('bc')), ask: dollars(f('ac')), ...sizes });
    }
  }
  return out.sort((a, b) => a.t - b.t);
}

const SPY_COLUMNS = { time: 0, bo: 1, bc: 4, bs: 5, ao: 6, ac: 9, as: 10 } as const;
const spyQuotes = barQuotes(csv('spy_20131007_second_quote_0930_1000.csv'), 1000, (n) => SPY_COLUMNS[n]);
const spyTrades = csv('spy_20131007_tick_trade_0930_1000.csv')
  .filter((r) => r[5] === '0' && isLastSaleEligible(r[4]!))
  .map((r) => ({ t: Number(r[0]), price: dollars(r[1]!), size: new Decimal(r[2]!) }));
const OPTION_COLUMNS = { time: 6, bo: 7, bc: 10, bs: 11, ao: 12, ac: 15, as: 16 } as const;
const callQuotes = barQuotes(
  csv('spxw_options_20210104_06_08_minute_quote.csv').filter(
    (r) => r[0] === '20210104' && r[5] === '20210104' && r[3] === 'C' && r[4] === '3700',
  ),
  60_000,
  (n) => OPTION_COLUMNS[n],
);

/** The quote in force at `t` (the latest update at or before it). */
const quoteAt = (quotes: readonly CsvQuote[], t: number): CsvQuote => quotes.filter((q) => q.t <= t).at(-1)!;
const spyEpoch = (t: number): number => zonedTimeToEpochMs('2013-10-07', t);

// ---- harness ----

const order = submitOrders('ord');

function paperAt(
  time: string,
  config: PaperVenueConfig = {},
): { replay: MarketReplay; venue: TestPaperVenue; reports: ExecutionReport[] } {
  const replay = new MarketReplay({ data, paused: true, startTime: time });
  const venue = new TestPaperVenue(replay, { ackLatencyMs: 1, ...config });
  const reports: ExecutionReport[] = [];
  venue.onExecutionReport((r) => reports.push(r));
  return { replay, venue, reports };
}

const fills = (reports: readonly ExecutionReport[]): ExecutionReport[] => reports.filter((r) => r.execType === 'trade');
const fillView = (r: ExecutionReport): { price: string; quantity: string; executedAt: number } => ({
  price: r.execution!.price.toFixed(),
  quantity: r.execution!.quantity.toFixed(),
  executedAt: r.execution!.executedAt,
});

const T0930_05 = parseTimeOfDay('09:30:05');

describe('PaperVenue', () => {
  it('acknowledges after the latency and fills a marketable buy at the recorded ask of 09:30:05', async () => {
    const { venue, reports } = paperAt('09:30:05', { ackLatencyMs: 5 });
    const expected = quoteAt(spyQuotes, T0930_05);
    const pending = venue.submitOrder(order({ clientOrderId: 'buy-1', quantity: new Decimal(100) }));
    expect(reports).toEqual([]); // nothing before the ack latency has passed
    const result = await pending;

    expect(result.kind).toBe('accepted');
    const brokerOrderId = result.kind === 'accepted' ? result.brokerOrderId : '';
    expect(reports.map((r) => r.execType)).toEqual(['new', 'trade']);
    const [ack, fill] = reports as [ExecutionReport, ExecutionReport];
    expect(ack).toMatchObject({ venue: 'paper', clientOrderId: 'buy-1', brokerOrderId, symbol: 'SPY', side: 'buy' });
    expect(ack.leavesQuantity.toFixed()).toBe('100');
    expect(fillView(fill)).toEqual({
      price: expected.ask.toFixed(),
      quantity: '100',
      executedAt: Date.parse('2013-10-07T13:30:05.000Z'),
    });
    expect(fill.cumulativeQuantity.toFixed()).toBe('100');
    expect(fill.leavesQuantity.toFixed()).toBe('0');
    expect(fill.raw).toEqual(JSON.parse(JSON.stringify(fill.raw))); // plain JSON
    expect(fill.raw).toMatchObject({
      venue: 'paper',
      event: 'fill',
      fill: { price: expected.ask.toFixed(), quantity: '100' },
    });

    const status = await venue.getOrderByClientOrderId('buy-1');
    expect(status).toMatchObject({ brokerOrderId, status: 'filled' });
    expect(status!.averageFillPrice!.equals(expected.ask)).toBe(true);
  });

  it('fills a sell at the bid', async () => {
    const { venue, reports } = paperAt('09:30:05');
    await venue.submitOrder(order({ side: 'sell', quantity: new Decimal(100) }));
    expect(fillView(fills(reports)[0]!).price).toBe(quoteAt(spyQuotes, T0930_05).bid.toFixed());
  });

  it('fills an order larger than the displayed size from each later quote update, once per update', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const end = parseTimeOfDay('09:30:20');
    // Expected: the ask size of the quote in force, then the ask size of every update whose ask side changed.
    const first = quoteAt(spyQuotes, T0930_05);
    const expected = [
      { price: first.ask.toFixed(), quantity: first.askSize.toFixed(), executedAt: spyEpoch(T0930_05) },
    ];
    let previous = first;
    for (const q of spyQuotes.filter((x) => x.t > T0930_05 && x.t <= end)) {
      if (!q.ask.equals(previous.ask) || !q.askSize.equals(previous.askSize)) {
        expected.push({ price: q.ask.toFixed(), quantity: q.askSize.toFixed(), executedAt: spyEpoch(q.t) });
      }
      previous = q;
    }
    expect(spyQuotes.filter((x) => x.t > T0930_05 && x.t <= end).length).toBeGreaterThan(expected.length - 1); // some updates do not change the ask

    await venue.submitOrder(order({ clientOrderId: 'big', quantity: new Decimal(1_000_000) }));
    replay.stepTo('09:30:20');
    expect(fills(reports).map(fillView)).toEqual(expected);
    const last = fills(reports).at(-1)!;
    const total = expected.reduce((sum, f) => sum.plus(f.quantity), new Decimal(0));
    expect(last.cumulativeQuantity.toFixed()).toBe(total.toFixed());
    expect(last.leavesQuantity.toFixed()).toBe(new Decimal(1_000_000).minus(total).toFixed());
  });

  it('fills the rest of a larger-than-displayed order completely on the next quote update', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const first = quoteAt(spyQuotes, T0930_05);
    const next = spyQuotes.find(
      (q) => q.t > T0930_05 && (!q.ask.equals(first.ask) || !q.askSize.equals(first.askSize)),
    )!;
    const quantity = first.askSize.plus(1000);
    await venue.submitOrder(order({ clientOrderId: 'partial', quantity }));
    expect(fills(reports).map(fillView)).toEqual([
      { price: first.ask.toFixed(), quantity: first.askSize.toFixed(), executedAt: spyEpoch(T0930_05) },
    ]);
    expect((await venue.getOrderByClientOrderId('partial'))!.status).toBe('partially_filled');

    replay.stepTo('09:30:10');
    expect(fills(reports).map(fillView)).toEqual([
      { price: first.ask.toFixed(), quantity: first.askSize.toFixed(), executedAt: spyEpoch(T0930_05) },
      { price: next.ask.toFixed(), quantity: '1000', executedAt: spyEpoch(next.t) },
    ]);
    const status = (await venue.getOrderByClientOrderId('partial'))!;
    expect(status.status).toBe('filled');
    const vwap = first.ask.times(first.askSize).plus(next.ask.times(1000)).dividedBy(quantity).toDecimalPlaces(10);
    expect(status.averageFillPrice!.equals(vwap)).toBe(true);
  });

  it('rests a passive buy limit and fills it at its own price when the data first crosses it', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    const limit = quote.bid;
    expect(limit.lessThan(quote.ask)).toBe(true);
    // The first crossing after 09:30:05: a trade at or below the limit, or an ask at or below it.
    const trade = spyTrades.find((t) => t.t > T0930_05 && t.price.lessThanOrEqualTo(limit))!;
    const crossingQuote = spyQuotes.find((q) => q.t > T0930_05 && q.ask.lessThanOrEqualTo(limit));
    const crossAt = Math.min(trade.t, crossingQuote?.t ?? Infinity);
    const crossSize = trade.t === crossAt ? trade.size : crossingQuote!.askSize;
    expect(crossAt).toBeLessThan(parseTimeOfDay('09:30:30'));

    await venue.submitOrder(
      order({ clientOrderId: 'passive', type: 'limit', limitPrice: limit, quantity: new Decimal(100) }),
    );
    expect(reports.map((r) => r.execType)).toEqual(['new']);
    replay.stepTo(crossAt - 1);
    expect(fills(reports)).toEqual([]);
    replay.stepTo(crossAt);
    expect(fills(reports).map(fillView)).toEqual([
      { price: limit.toFixed(), quantity: Decimal.min(100, crossSize).toFixed(), executedAt: spyEpoch(crossAt) },
    ]);
    expect(fills(reports)[0]!.raw).toMatchObject({ fill: { liquidity: 'maker' } });
  });

  it('fills a resting limit at its own price, up to the size of a trade printing through it', async () => {
    // At 09:30:21 SPY bids 167.46; a trade prints at 167.43 at 09:30:21.396, through a 167.44 buy limit.
    const { replay, venue, reports } = paperAt('09:30:21');
    const at = parseTimeOfDay('09:30:21');
    const limit = quoteAt(spyQuotes, at).bid.minus('0.02');
    const trade = spyTrades.find((t) => t.t > at && t.price.lessThanOrEqualTo(limit))!;
    expect(trade.price.lessThan(limit)).toBe(true);
    expect(spyQuotes.find((q) => q.t > at && q.ask.lessThanOrEqualTo(limit))!.t).toBeGreaterThan(trade.t);

    await venue.submitOrder(order({ type: 'limit', limitPrice: limit, quantity: trade.size.plus(5000) }));
    replay.stepTo(trade.t);
    expect(fillView(fills(reports)[0]!)).toEqual({
      price: limit.toFixed(),
      quantity: trade.size.toFixed(),
      executedAt: spyEpoch(trade.t),
    });
  });

  it('cancels the remainder of an IOC order and all of a non-marketable one', async () => {
    const { venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    await venue.submitOrder(order({ clientOrderId: 'ioc', timeInForce: 'ioc', quantity: quote.askSize.plus(500) }));
    expect(reports.map((r) => r.execType)).toEqual(['new', 'trade', 'canceled']);
    expect(fillView(reports[1]!)).toMatchObject({ price: quote.ask.toFixed(), quantity: quote.askSize.toFixed() });
    expect(reports[2]).toMatchObject({ reason: 'IOC: remainder canceled' });
    expect(reports[2]!.cumulativeQuantity.toFixed()).toBe(quote.askSize.toFixed());
    expect(reports[2]!.leavesQuantity.toFixed()).toBe('0');
    const status = (await venue.getOrderByClientOrderId('ioc'))!;
    expect(status.status).toBe('canceled');
    expect(status.filledQuantity.equals(quote.askSize)).toBe(true);

    reports.length = 0;
    await venue.submitOrder(order({ timeInForce: 'ioc', type: 'limit', limitPrice: quote.bid }));
    expect(reports.map((r) => r.execType)).toEqual(['new', 'canceled']);
  });

  it('fills a FOK order whole when the displayed size covers it, and cancels it whole otherwise', async () => {
    const { venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    await venue.submitOrder(order({ clientOrderId: 'fok-big', timeInForce: 'fok', quantity: quote.askSize.plus(1) }));
    expect(reports.map((r) => r.execType)).toEqual(['new', 'canceled']);
    expect(reports[1]).toMatchObject({ reason: 'FOK: displayed size does not cover the order' });
    expect(reports[1]!.cumulativeQuantity.isZero()).toBe(true);

    reports.length = 0;
    await venue.submitOrder(order({ clientOrderId: 'fok-fit', timeInForce: 'fok', quantity: quote.askSize }));
    expect(reports.map((r) => r.execType)).toEqual(['new', 'trade']);
    expect(fillView(reports[1]!)).toMatchObject({ price: quote.ask.toFixed(), quantity: quote.askSize.toFixed() });
  });

  it('triggers a buy stop on the first trade at or above the stop and buys at the ask then', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const stop = quoteAt(spyQuotes, T0930_05).ask.plus('0.01');
    const trigger = spyTrades.find((t) => t.t > T0930_05 && t.price.greaterThanOrEqualTo(stop))!;
    await venue.submitOrder(order({ type: 'stop', stopPrice: stop }));
    expect(reports.map((r) => r.execType)).toEqual(['new']);
    replay.stepTo('09:31:00');
    expect(fills(reports).map(fillView)).toEqual([
      { price: quoteAt(spyQuotes, trigger.t).ask.toFixed(), quantity: '100', executedAt: spyEpoch(trigger.t) },
    ]);
  });

  it('cancels a working order after the latency and refuses to cancel a done or unknown one', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    const passive = order({ type: 'limit', limitPrice: quote.bid });
    const placed = await venue.submitOrder(passive);
    const brokerOrderId = placed.kind === 'accepted' ? placed.brokerOrderId : '';
    const cancel = { clientOrderId: passive.clientOrderId, brokerOrderId };

    const pending = venue.cancelOrder(cancel);
    expect(reports.map((r) => r.execType)).toEqual(['new']);
    expect(await pending).toMatchObject({ kind: 'accepted' });
    expect(reports.at(-1)).toMatchObject({ execType: 'canceled', reason: 'canceled by client' });
    expect(reports.at(-1)!.leavesQuantity.isZero()).toBe(true);
    replay.stepTo('09:31:00'); // the limit is crossed in this minute (see the passive limit test); no fill now
    expect(fills(reports)).toEqual([]);

    expect(await venue.cancelOrder(cancel)).toMatchObject({ kind: 'rejected', reason: 'order already canceled' });
    const filled = order();
    const done = await venue.submitOrder(filled);
    expect(
      await venue.cancelOrder({
        clientOrderId: filled.clientOrderId,
        brokerOrderId: done.kind === 'accepted' ? done.brokerOrderId : '',
      }),
    ).toMatchObject({ kind: 'rejected', reason: 'order already filled' });
    expect(await venue.cancelOrder({ clientOrderId: 'nope', brokerOrderId: 'nope' })).toMatchObject({
      kind: 'rejected',
      reason: 'order not found',
    });
  });

  it('rejects a duplicate client order id, an unknown symbol and an invalid order, and counts what it received', async () => {
    const { venue } = paperAt('09:30:05');
    const first = order({ clientOrderId: 'dup', type: 'limit', limitPrice: new Decimal('100') });
    expect((await venue.submitOrder(first)).kind).toBe('accepted');
    expect(await venue.submitOrder({ ...first })).toMatchObject({
      kind: 'rejected',
      reason: 'duplicate client order id',
    });
    expect(await venue.submitOrder(order({ symbol: 'AAPL' }))).toMatchObject({
      kind: 'rejected',
      reason: expect.stringMatching(/unknown symbol/),
    });
    expect(await venue.submitOrder(order({ type: 'limit' }))).toMatchObject({
      kind: 'rejected',
      reason: 'limit price required for a limit order',
    });
    expect(await venue.submitOrder(order({ quantity: new Decimal(0) }))).toMatchObject({
      kind: 'rejected',
      reason: 'quantity must be positive',
    });
    expect(venue.receivedOrders()).toHaveLength(5);
    expect(venue.receivedOrders()[1]).toEqual(first);
    expect(await venue.listOrders(0)).toHaveLength(1);
  });

  it('gives every execution a unique id and lists fills and orders by the venue clock', async () => {
    let now = 1_000;
    const { replay, venue, reports } = paperAt('09:30:05', { clock: { now: () => now } });
    await venue.submitOrder(order({ quantity: new Decimal(1_000_000) }));
    now = 2_000;
    replay.stepTo('09:31:00');
    await venue.submitOrder(order({ side: 'sell', quantity: new Decimal(1_000_000) }));
    replay.stepTo('09:32:00');
    const ids = fills(reports).map((r) => r.execution!.brokerExecutionId);
    expect(ids.length).toBeGreaterThan(20);
    expect(new Set(ids).size).toBe(ids.length);

    const listed = await venue.listFills(0);
    expect(listed.map((f) => f.brokerExecutionId)).toEqual(ids);
    expect((await venue.listFills(2_000)).length).toBe(ids.length - 1); // only the arrival fill happened at 1000
    expect((await venue.listOrders(1_500)).map((o) => o.side)).toEqual(['sell']);
  });

  it('quotes and fills a SPXW 0DTE call from the 2021-01-04 data', async () => {
    const { replay, venue, reports } = paperAt('09:31:30');
    const expected = quoteAt(callQuotes, parseTimeOfDay('09:31:30'));
    const quote = replay.getQuote(CALL_0DTE)!;
    expect(quote.ask.equals(expected.ask)).toBe(true);
    expect(quote.bid.equals(expected.bid)).toBe(true);
    expect(quote.askSize.equals(expected.askSize)).toBe(true);
    expect(replay.quoteAgeMs(quote)).toBe(parseTimeOfDay('09:31:30') - expected.t);

    await venue.submitOrder(order({ symbol: CALL_0DTE, quantity: new Decimal(2) }));
    expect(fills(reports).map(fillView)).toEqual([
      { price: expected.ask.toFixed(), quantity: '2', executedAt: Date.parse('2021-01-04T14:31:30.000Z') },
    ]);
    expect(await venue.submitOrder(order({ symbol: CALL_0DTE, quantity: new Decimal('1.5') }))).toMatchObject({
      kind: 'rejected',
      reason: 'option quantity must be a whole number of contracts',
    });
  });

  it('triggers a sell stop on an option (no trade data) when the bid reaches it, and sells at that bid', async () => {
    const { replay, venue, reports } = paperAt('09:31:30');
    const start = parseTimeOfDay('09:31:30');
    const stop = quoteAt(callQuotes, start).bid.minus(2);
    const trigger = callQuotes.find((q) => q.t > start && q.bid.greaterThan(0) && q.bid.lessThanOrEqualTo(stop))!;
    expect(trigger.t).toBeLessThan(parseTimeOfDay('10:00:00'));
    await venue.submitOrder(
      order({ symbol: CALL_0DTE, side: 'sell', type: 'stop', stopPrice: stop, quantity: new Decimal(1) }),
    );
    replay.stepTo('09:59:59');
    expect(fills(reports).map(fillView)).toEqual([
      { price: trigger.bid.toFixed(), quantity: '1', executedAt: zonedTimeToEpochMs('2021-01-04', trigger.t) },
    ]);
  });

  it('persists its book and restores working orders after a restart', async () => {
    const store = new InMemoryPaperVenueStore();
    const before = paperAt('09:30:05', { store });
    const quote = quoteAt(spyQuotes, T0930_05);
    await before.venue.submitOrder(order({ clientOrderId: 'survivor', type: 'limit', limitPrice: quote.bid }));
    await before.venue.submitOrder(order({ clientOrderId: 'done' }));
    await before.venue.flush();
    before.venue.close();

    const after = paperAt('09:30:05', { store });
    expect(await after.venue.restore()).toBe(2);
    expect(await after.venue.getOrderByClientOrderId('survivor')).toMatchObject({ status: 'new' });
    expect(await after.venue.getOrderByClientOrderId('done')).toMatchObject({ status: 'filled' });
    expect(await after.venue.submitOrder(order({ clientOrderId: 'done' }))).toMatchObject({
      reason: 'duplicate client order id',
    });
    after.replay.stepTo('09:31:00');
    expect(fills(after.reports).map((r) => r.clientOrderId)).toEqual(['survivor']);
    expect(fillView(fills(after.reports)[0]!).price).toBe(quote.bid.toFixed());
    await after.venue.flush();
    const saved = (await store.load()).find((r) => r.clientOrderId === 'survivor')!;
    expect(saved).toMatchObject({ status: 'filled', resting: true, filledQuantity: '100' });
    expect(saved).toEqual(JSON.parse(JSON.stringify(saved)));
  });

  it('surfaces a failing store through onError, never as an unhandled rejection', async () => {
    const errors: unknown[] = [];
    const failing: PaperVenueStore = {
      load: () => Promise.resolve([]),
      save: (_record: PaperOrderRecord) => Promise.reject(new Error('disk full')),
    };
    const { venue } = paperAt('09:30:05', { store: failing, onError: (e) => errors.push(e) });
    expect((await venue.submitOrder(order())).kind).toBe('accepted');
    await venue.flush();
    expect(errors.map(String)).toEqual(['Error: disk full', 'Error: disk full']); // the new order, then its fill
  });

  it('answers unknown when the caller aborts while waiting, yet the venue has the order', async () => {
    const { venue } = paperAt('09:30:05', { ackLatencyMs: 20 });
    const controller = new AbortController();
    const pending = venue.submitOrder(order({ clientOrderId: 'aborted' }), controller.signal);
    controller.abort();
    expect(await pending).toEqual({ kind: 'unknown', reason: 'aborted while waiting for the venue' });
    expect(await venue.getOrderByClientOrderId('aborted')).toBeNull();
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(await venue.getOrderByClientOrderId('aborted')).toMatchObject({ status: 'filled' });
  });
});

const brokerId = (result: SubmitResult): string => {
  if (result.kind !== 'accepted') {
    throw new Error(`expected accepted, got ${JSON.stringify(result)}`);
  }
  return result.brokerOrderId;
};

describe('PaperVenue replace', () => {
  it('replaces a partially filled order: books the new total minus the filled quantity, and only the new one works', async () => {
    const { replay, venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    // Takes the displayed ask size at once; 1000 stay working (no new quote while paused).
    const first = order({
      clientOrderId: 'chain-1',
      type: 'limit',
      limitPrice: quote.ask,
      quantity: quote.askSize.plus(1000),
    });
    const oldId = brokerId(await venue.submitOrder(first));
    expect((await venue.getOrderByClientOrderId('chain-1'))!.filledQuantity.equals(quote.askSize)).toBe(true);

    const command: ReplaceOrderCommand = {
      clientOrderId: 'chain-1',
      brokerOrderId: oldId,
      newClientOrderId: 'chain-2',
      quantity: quote.askSize.plus(500),
      limitPrice: quote.bid,
      stopPrice: null,
    };
    const result = await venue.replaceOrder(command);
    expect(result.kind).toBe('accepted');
    const newId = result.kind === 'accepted' ? result.brokerOrderId : '';
    expect(newId).not.toBe(oldId);
    expect(result.kind === 'accepted' && result.quantity.toFixed()).toBe('500');

    expect(reports.map((r) => [r.execType, r.clientOrderId])).toEqual([
      ['new', 'chain-1'],
      ['trade', 'chain-1'],
      ['replaced', 'chain-1'],
      ['new', 'chain-2'],
    ]);
    const [, , replaced, booked] = reports as [ExecutionReport, ExecutionReport, ExecutionReport, ExecutionReport];
    expect(replaced.brokerOrderId).toBe(oldId);
    expect(replaced.cumulativeQuantity.equals(quote.askSize)).toBe(true);
    expect(replaced.leavesQuantity.toFixed()).toBe('0');
    expect(replaced.raw).toMatchObject({
      event: 'replaced',
      replacement: { brokerOrderId: newId, clientOrderId: 'chain-2' },
    });
    expect(booked.brokerOrderId).toBe(newId);
    expect(booked.leavesQuantity.toFixed()).toBe('500');
    expect(booked.cumulativeQuantity.toFixed()).toBe('0');

    const listed = await venue.listOrders(0);
    expect(listed.map((o) => [o.clientOrderId, o.status, o.quantity.toFixed(), o.limitPrice?.toFixed()])).toEqual([
      ['chain-1', 'replaced', quote.askSize.plus(1000).toFixed(), quote.ask.toFixed()],
      ['chain-2', 'new', '500', quote.bid.toFixed()],
    ]);
    expect(listed[1]).toMatchObject({ symbol: 'SPY', side: 'buy', type: 'limit', brokerOrderId: newId });
    expect(venue.receivedReplaces()).toEqual([command]);

    // The replaced order takes nothing more; the replacement rests at its bid and fills there.
    replay.stepTo('09:31:00');
    const later = fills(reports).slice(1);
    expect(later.length).toBeGreaterThan(0);
    expect(later.every((r) => r.clientOrderId === 'chain-2' && r.execution!.price.equals(quote.bid))).toBe(true);
    expect((await venue.getOrderByClientOrderId('chain-1'))!.filledQuantity.equals(quote.askSize)).toBe(true);
  });

  it('keeps the old prices when the command gives none, and matches the replacement right after the answer', async () => {
    const { venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    const resting = order({ clientOrderId: 'keep-1', type: 'limit', limitPrice: quote.bid });
    const oldId = brokerId(await venue.submitOrder(resting));
    const kept = await venue.replaceOrder({
      clientOrderId: 'keep-1',
      brokerOrderId: oldId,
      newClientOrderId: 'keep-2',
      quantity: new Decimal(200),
      limitPrice: null,
      stopPrice: null,
    });
    expect(kept).toMatchObject({ kind: 'accepted' });
    expect(await venue.getOrderByClientOrderId('keep-2')).toMatchObject({ status: 'new', limitPrice: quote.bid });

    const pending = venue.replaceOrder({
      clientOrderId: 'keep-2',
      brokerOrderId: kept.kind === 'accepted' ? kept.brokerOrderId : '',
      newClientOrderId: 'keep-3',
      quantity: new Decimal(100),
      limitPrice: quote.ask, // now marketable
      stopPrice: null,
    });
    expect(reports.map((r) => r.execType)).toEqual(['new', 'replaced', 'new']); // nothing before the latency
    expect(await pending).toMatchObject({ kind: 'accepted' });
    expect(reports.slice(3).map((r) => [r.execType, r.clientOrderId])).toEqual([
      ['replaced', 'keep-2'],
      ['new', 'keep-3'],
      ['trade', 'keep-3'],
    ]);
    expect(fillView(reports.at(-1)!)).toMatchObject({ price: quote.ask.toFixed(), quantity: '100' });
  });

  it('rejects a replace of a done or unknown order, a known new client order id, a total not above the filled quantity and invalid prices', async () => {
    const { venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    let replaces = 0;
    const replace = (
      fields: Partial<ReplaceOrderCommand> & Pick<ReplaceOrderCommand, 'clientOrderId' | 'brokerOrderId'>,
    ) =>
      venue.replaceOrder({
        newClientOrderId: `new-${(replaces += 1)}`,
        quantity: new Decimal(100),
        limitPrice: null,
        stopPrice: null,
        ...fields,
      });

    const filled = order();
    const filledId = brokerId(await venue.submitOrder(filled));
    expect(await replace({ clientOrderId: filled.clientOrderId, brokerOrderId: filledId })).toMatchObject({
      kind: 'rejected',
      reason: 'order already filled',
    });

    const canceled = order({ type: 'limit', limitPrice: quote.bid });
    const canceledId = brokerId(await venue.submitOrder(canceled));
    await venue.cancelOrder({ clientOrderId: canceled.clientOrderId, brokerOrderId: canceledId });
    expect(await replace({ clientOrderId: canceled.clientOrderId, brokerOrderId: canceledId })).toMatchObject({
      reason: 'order already canceled',
    });

    const working = order({ clientOrderId: 'work', type: 'limit', limitPrice: quote.bid });
    const workingId = brokerId(await venue.submitOrder(working));
    const ids = { clientOrderId: 'work', brokerOrderId: workingId };
    expect(await replace({ ...ids, newClientOrderId: filled.clientOrderId })).toMatchObject({
      reason: 'duplicate client order id',
    });
    expect(await replace({ ...ids, newClientOrderId: 'work' })).toMatchObject({ reason: 'duplicate client order id' });
    venue.forceFill('work', new Decimal(40));
    expect(await replace({ ...ids, quantity: new Decimal(40) })).toMatchObject({
      reason: 'new quantity does not exceed the filled quantity',
    });
    expect(await replace({ ...ids, stopPrice: new Decimal(170) })).toMatchObject({
      reason: 'no stop price allowed for a limit order',
    });
    expect(await replace({ ...ids, limitPrice: new Decimal(-1) })).toMatchObject({ reason: 'prices must be positive' });
    expect(await replace({ clientOrderId: 'other', brokerOrderId: workingId })).toMatchObject({
      reason: 'client order id does not match the order',
    });
    expect(await replace({ clientOrderId: 'nope', brokerOrderId: 'nope' })).toMatchObject({
      reason: 'order not found',
    });
    const market = order({ type: 'stop', stopPrice: quote.ask.plus(5) });
    const marketId = brokerId(await venue.submitOrder(market));
    expect(
      await replace({ clientOrderId: market.clientOrderId, brokerOrderId: marketId, limitPrice: new Decimal(1) }),
    ).toMatchObject({ reason: 'no limit price allowed for a stop order' });

    // Nothing was replaced: the working order is as it was, and a successful replace ends it `replaced`.
    expect(reports.some((r) => r.execType === 'replaced')).toBe(false);
    expect(await venue.getOrderByClientOrderId('work')).toMatchObject({ status: 'partially_filled' });
    expect(await replace({ ...ids, newClientOrderId: 'work-2' })).toMatchObject({ kind: 'accepted' });
    expect(await replace({ ...ids, newClientOrderId: 'work-3' })).toMatchObject({ reason: 'order already replaced' });
    expect(venue.receivedReplaces()).toHaveLength(12);
  });
});

describe('PaperVenue test hooks', () => {
  it('forceFill fills a working order at its limit (or the quote) through the normal fill path', async () => {
    const store = new InMemoryPaperVenueStore();
    const { venue, reports } = paperAt('09:30:05', { store });
    const quote = quoteAt(spyQuotes, T0930_05);
    const resting = order({ clientOrderId: 'hook', type: 'limit', limitPrice: quote.bid });
    await venue.submitOrder(resting);

    venue.forceFill('hook', new Decimal(30));
    const fill = reports.at(-1)!;
    expect(fill).toMatchObject({ execType: 'trade', clientOrderId: 'hook' });
    expect(fillView(fill)).toMatchObject({ price: quote.bid.toFixed(), quantity: '30' });
    expect(fill.leavesQuantity.toFixed()).toBe('70');
    venue.forceFill('hook', new Decimal(10), new Decimal('167.01'));
    expect(fillView(reports.at(-1)!).price).toBe('167.01');
    expect((await venue.listFills(0)).map((f) => f.quantity.toFixed())).toEqual(['30', '10']);
    await venue.flush();
    expect((await store.load())[0]).toMatchObject({ status: 'partially_filled', filledQuantity: '40' });

    expect(() => venue.forceFill('hook', new Decimal(61))).toThrow(/overfill/);
    expect(() => venue.forceFill('hook', new Decimal(0))).toThrow(/positive/);
    expect(() => venue.forceFill('ghost', new Decimal(1))).toThrow(/unknown order/);
    venue.forceFill('hook', new Decimal(60));
    expect(await venue.getOrderByClientOrderId('hook')).toMatchObject({ status: 'filled' });
    expect(() => venue.forceFill('hook', new Decimal(1))).toThrow(Error);

    // A stop order has no limit: the current ask.
    await venue.submitOrder(order({ clientOrderId: 'stop', type: 'stop', stopPrice: quote.ask.plus(5) }));
    venue.forceFill('stop', new Decimal(5));
    expect(fillView(reports.at(-1)!)).toMatchObject({ price: quote.ask.toFixed(), quantity: '5' });
  });

  it('lateFill fills a canceled or replaced order: trade report with leaves 0, listed, filled only when complete', async () => {
    const { venue, reports } = paperAt('09:30:05');
    const quote = quoteAt(spyQuotes, T0930_05);
    const resting = order({ clientOrderId: 'late', type: 'limit', limitPrice: quote.bid });
    const id = brokerId(await venue.submitOrder(resting));
    expect(() => venue.lateFill('late', new Decimal(1))).toThrow(/not canceled or replaced/);
    await venue.cancelOrder({ clientOrderId: 'late', brokerOrderId: id });

    venue.lateFill('late', new Decimal(40));
    expect(reports.map((r) => r.execType)).toEqual(['new', 'canceled', 'trade']);
    const late = reports.at(-1)!;
    expect(fillView(late)).toMatchObject({ price: quote.bid.toFixed(), quantity: '40' });
    expect(late.cumulativeQuantity.toFixed()).toBe('40');
    expect(late.leavesQuantity.toFixed()).toBe('0');
    expect(await venue.getOrderByClientOrderId('late')).toMatchObject({ status: 'canceled' });
    expect((await venue.listFills(0)).map((f) => [f.clientOrderId, f.quantity.toFixed()])).toEqual([['late', '40']]);

    expect(() => venue.lateFill('late', new Decimal(61))).toThrow(/overfill/);
    venue.lateFill('late', new Decimal(60));
    expect(await venue.getOrderByClientOrderId('late')).toMatchObject({ status: 'filled' });
    expect(() => venue.lateFill('late', new Decimal(1))).toThrow(Error);
    expect(() => venue.lateFill('nobody', new Decimal(1))).toThrow(/unknown order/);

    const replacedOrder = order({ clientOrderId: 'old', type: 'limit', limitPrice: quote.bid });
    const oldId = brokerId(await venue.submitOrder(replacedOrder));
    await venue.replaceOrder({
      clientOrderId: 'old',
      brokerOrderId: oldId,
      newClientOrderId: 'young',
      quantity: new Decimal(100),
      limitPrice: null,
      stopPrice: null,
    });
    venue.lateFill('old', new Decimal(25), new Decimal('167.5'));
    expect(await venue.getOrderByClientOrderId('old')).toMatchObject({ status: 'replaced' });
    expect(reports.at(-1)).toMatchObject({ execType: 'trade', clientOrderId: 'old' });
    expect(reports.at(-1)!.leavesQuantity.toFixed()).toBe('0');
  });
});
