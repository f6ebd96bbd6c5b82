import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { describe, expect, it } from 'vitest';
import type { SubmitResult } from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import { FaultyVenue, type FaultyVenueConfig, seededRandom } from './faulty-venue.js';
import { submitOrders } from './submit-orders.js';

const dataDir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dataDir, defaultMarketDataSets());
const CALL_0DTE = 'SPXW  210104C03700000';

const order = submitOrders('f');

interface Harness {
  readonly venue: FaultyVenue;
  readonly reports: ExecutionReport[];
  /** The SPY bid at 09:30:05: a buy limit there rests (it is not marketable). */
  readonly bid: Decimal;
  /** Execution types of the reports of one order, in delivery order. */
  readonly typesOf: (clientOrderId: string) => string[];
  /** Submits a resting buy limit at the bid; returns its broker order id. */
  readonly rest: (clientOrderId: string, quantity?: number) => Promise<string>;
}

function faulty(config: FaultyVenueConfig = {}): Harness {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new FaultyVenue(replay, { ackLatencyMs: 1, ...config });
  const reports: ExecutionReport[] = [];
  venue.onExecutionReport((r) => reports.push(r));
  const bid = replay.getQuote('SPY')!.bid;
  return {
    venue,
    reports,
    bid,
    typesOf: (id) => reports.filter((r) => r.clientOrderId === id).map((r) => r.execType),
    rest: async (clientOrderId, quantity = 100) => {
      const result = await venue.submitOrder(
        order({ clientOrderId, type: 'limit', limitPrice: bid, quantity: new Decimal(quantity) }),
      );
      return accepted(result);
    },
  };
}

function accepted(result: SubmitResult): string {
  if (result.kind !== 'accepted') {
    throw new Error(`expected accepted, got ${JSON.stringify(result)}`);
  }
  return result.brokerOrderId;
}

const wait = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const PENDING = 'still pending' as const;
const settledWithin = <T>(promise: Promise<T>, ms: number): Promise<T | typeof PENDING> =>
  Promise.race([promise, wait(ms).then((): typeof PENDING => PENDING)]);

describe('FaultyVenue', () => {
  it('ack_delay: acts and answers only after delayMs, so a caller that gives up first sees unknown', async () => {
    const { venue } = faulty();
    venue.addFault({ kind: 'ack_delay', match: { clientOrderId: 'slow' }, delayMs: 80 });
    const started = Date.now();
    const result = await venue.submitOrder(order({ clientOrderId: 'slow' }), AbortSignal.timeout(20));
    expect(result).toEqual({ kind: 'unknown', reason: 'aborted while waiting for the venue' });
    expect(venue.receivedOrders().map((c) => c.clientOrderId)).toEqual(['slow']);
    expect(await venue.getOrderByClientOrderId('slow')).toBeNull(); // not acted on yet
    await wait(100);
    expect(await venue.getOrderByClientOrderId('slow')).toMatchObject({ status: 'filled' });

    // Without an abort the answer comes, late, and is the real one.
    venue.addFault({ kind: 'ack_delay', match: { clientOrderId: 'slow-2' }, delayMs: 60 });
    const before = Date.now();
    expect(await venue.submitOrder(order({ clientOrderId: 'slow-2' }))).toMatchObject({ kind: 'accepted' });
    expect(Date.now() - before).toBeGreaterThanOrEqual(55);
    expect(before - started).toBeGreaterThanOrEqual(95);
  });

  it('ack_lost: the venue books and fills the order, the answer never comes and its `new` report is not delivered', async () => {
    const { venue, typesOf } = faulty();
    venue.addFault({ kind: 'ack_lost', match: { clientOrderId: 'lost' } });
    const controller = new AbortController();
    const pending = venue.submitOrder(order({ clientOrderId: 'lost' }), controller.signal);
    expect(await settledWithin(pending, 40)).toBe(PENDING);
    expect(await venue.getOrderByClientOrderId('lost')).toMatchObject({ status: 'filled' });
    expect(typesOf('lost')).toEqual(['trade']);
    expect(venue.receivedOrders()).toHaveLength(1);
    controller.abort();
    expect(await pending).toEqual({ kind: 'unknown', reason: 'aborted while waiting for the venue' });
    expect(venue.firedFaults()).toMatchObject([{ kind: 'ack_lost', target: 'submit', clientOrderId: 'lost' }]);
  });

  it('error_after_accept: the venue acts, the answer is a server error (unknown), on a submit and on a cancel', async () => {
    const { venue, typesOf, rest } = faulty();
    venue.addFault({ kind: 'error_after_accept', match: { clientOrderId: 'e500' } });
    expect(await venue.submitOrder(order({ clientOrderId: 'e500' }))).toEqual({
      kind: 'unknown',
      reason: 'venue answered a server error (HTTP 500)',
    });
    expect(typesOf('e500')).toEqual(['new', 'trade']);
    expect(venue.receivedOrders()).toHaveLength(1);

    const id = await rest('e500-cancel');
    venue.addFault({ kind: 'error_after_accept', match: { clientOrderId: 'e500-cancel' } });
    expect(await venue.cancelOrder({ clientOrderId: 'e500-cancel', brokerOrderId: id })).toMatchObject({
      kind: 'unknown',
    });
    expect(await venue.getOrderByClientOrderId('e500-cancel')).toMatchObject({ status: 'canceled' });
    expect(typesOf('e500-cancel')).toEqual(['new', 'canceled']);
  });

  it('accepted_without_id: the venue books the order but the success has no id (unknown); cancels are not affected', async () => {
    const { venue, typesOf } = faulty();
    venue.addFault({ kind: 'accepted_without_id', match: { clientOrderId: 'noid' } });
    const limit = order({ clientOrderId: 'noid', type: 'limit', limitPrice: new Decimal(100) });
    expect(await venue.submitOrder(limit)).toEqual({
      kind: 'unknown',
      reason: 'venue answered success without an order id',
    });
    const booked = (await venue.getOrderByClientOrderId('noid'))!;
    expect(booked.status).toBe('new');
    expect(typesOf('noid')).toEqual(['new']);
    // A cancel of the same order is not a target of this kind: answered normally.
    expect(await venue.cancelOrder({ clientOrderId: 'noid', brokerOrderId: booked.brokerOrderId })).toMatchObject({
      kind: 'accepted',
    });
    expect(venue.firedFaults()).toHaveLength(1);
  });

  it('connection_reset: unknown at once, the venue never saw the request, and the same order sent again is new to it', async () => {
    const { venue, reports } = faulty();
    venue.addFault({ kind: 'connection_reset', match: { clientOrderId: 'reset' }, remaining: 1 });
    const command = order({ clientOrderId: 'reset' });
    expect(await venue.submitOrder(command)).toEqual({ kind: 'unknown', reason: 'connection reset by the venue' });
    await wait(10);
    expect(venue.receivedOrders()).toEqual([]);
    expect(await venue.getOrderByClientOrderId('reset')).toBeNull();
    expect(reports).toEqual([]);
    expect(venue.faults()).toEqual([]); // used up
    expect(await venue.submitOrder(command)).toMatchObject({ kind: 'accepted' }); // not a duplicate
    expect(venue.receivedOrders()).toEqual([command]);
  });

  it('duplicate_reports: every report of the matched order is delivered twice, others once', async () => {
    const { venue, reports, typesOf } = faulty();
    venue.addFault({ kind: 'duplicate_reports', match: { clientOrderId: 'twice' } });
    await venue.submitOrder(order({ clientOrderId: 'twice' }));
    await venue.submitOrder(order({ clientOrderId: 'once' }));
    expect(typesOf('twice')).toEqual(['new', 'new', 'trade', 'trade']);
    expect(reports.filter((r) => r.clientOrderId === 'twice')[2]).toBe(
      reports.filter((r) => r.clientOrderId === 'twice')[3],
    ); // the same execution id, as a broker resending would
    expect(typesOf('once')).toEqual(['new', 'trade']);
    expect(venue.firedFaults().map((f) => [f.kind, f.target])).toEqual([
      ['duplicate_reports', 'report'],
      ['duplicate_reports', 'report'],
    ]);
    expect(venue.receivedOrders()).toHaveLength(2);
  });

  it('fill_before_ack: the `new` report comes right after the first fill report (or before a cancel without fill)', async () => {
    const { venue, typesOf, rest } = faulty();
    venue.addFault({ kind: 'fill_before_ack' });
    expect(accepted(await venue.submitOrder(order({ clientOrderId: 'fast' })))).toBeTruthy();
    expect(typesOf('fast')).toEqual(['trade', 'new']);

    const id = await rest('slow-fill');
    expect(typesOf('slow-fill')).toEqual([]); // accepted, but no report yet
    venue.forceFill('slow-fill', new Decimal(10));
    expect(typesOf('slow-fill')).toEqual(['trade', 'new']);

    const never = await rest('never-filled');
    await venue.cancelOrder({ clientOrderId: 'never-filled', brokerOrderId: never });
    expect(typesOf('never-filled')).toEqual(['new', 'canceled']);
    expect(id).not.toBe(never);
  });

  it('late_fill_after_cancel: the cancel is confirmed, then a fill of what was left (or of `quantity`) arrives', async () => {
    const { venue, reports, typesOf, rest } = faulty();
    const id = await rest('late');
    venue.forceFill('late', new Decimal(30));
    venue.addFault({ kind: 'late_fill_after_cancel', match: { clientOrderId: 'late' } });
    expect(await venue.cancelOrder({ clientOrderId: 'late', brokerOrderId: id })).toMatchObject({ kind: 'accepted' });
    expect(typesOf('late')).toEqual(['new', 'trade', 'canceled', 'trade']);
    const late = reports.at(-1)!;
    expect(late.execution!.quantity.toFixed()).toBe('70');
    expect(late.leavesQuantity.toFixed()).toBe('0');
    expect(late.cumulativeQuantity.toFixed()).toBe('100');
    expect(await venue.getOrderByClientOrderId('late')).toMatchObject({ status: 'filled' });
    expect((await venue.listFills(0)).map((f) => f.quantity.toFixed())).toEqual(['30', '70']);

    const partId = await rest('late-part');
    venue.addFault({ kind: 'late_fill_after_cancel', match: { clientOrderId: 'late-part' }, quantity: '20' });
    await venue.cancelOrder({ clientOrderId: 'late-part', brokerOrderId: partId });
    expect(typesOf('late-part')).toEqual(['new', 'canceled', 'trade']);
    const status = (await venue.getOrderByClientOrderId('late-part'))!;
    expect(status.status).toBe('canceled');
    expect(status.filledQuantity.toFixed()).toBe('20');
  });

  it('fill_during_pending_cancel: after the accepted cancel and before `canceled`, half of what is left fills', async () => {
    const { venue, reports, typesOf, rest } = faulty();
    const id = await rest('racing', 9);
    venue.addFault({ kind: 'fill_during_pending_cancel', match: { symbol: 'SPY' } });
    expect(await venue.cancelOrder({ clientOrderId: 'racing', brokerOrderId: id })).toMatchObject({
      kind: 'accepted',
    });
    expect(typesOf('racing')).toEqual(['new', 'trade', 'canceled']);
    expect(reports.at(-2)!.execution!.quantity.toFixed()).toBe('4'); // half of 9 in whole shares
    expect(reports.at(-1)!.cumulativeQuantity.toFixed()).toBe('4');
    expect(await venue.getOrderByClientOrderId('racing')).toMatchObject({ status: 'canceled' });
  });

  it('cancel_rejected_filled: the order fills completely first and the cancel is rejected "order already filled"', async () => {
    const { venue, typesOf, rest } = faulty();
    const id = await rest('too-late');
    venue.addFault({ kind: 'cancel_rejected_filled', match: { clientOrderId: 'too-late' } });
    expect(await venue.cancelOrder({ clientOrderId: 'too-late', brokerOrderId: id })).toMatchObject({
      kind: 'rejected',
      reason: 'order already filled',
    });
    expect(typesOf('too-late')).toEqual(['new', 'trade']);
    expect(await venue.getOrderByClientOrderId('too-late')).toMatchObject({ status: 'filled' });
  });

  it('replace_rejected_filled: the order fills completely first and the replace is rejected "order already filled"', async () => {
    const { venue, typesOf, rest } = faulty();
    const id = await rest('no-replace');
    venue.addFault({ kind: 'replace_rejected_filled', match: { clientOrderId: 'no-replace' } });
    const result = await venue.replaceOrder({
      clientOrderId: 'no-replace',
      brokerOrderId: id,
      newClientOrderId: 'no-replace-2',
      quantity: new Decimal(50),
      limitPrice: null,
      stopPrice: null,
    });
    expect(result).toMatchObject({ kind: 'rejected', reason: 'order already filled' });
    expect(typesOf('no-replace')).toEqual(['new', 'trade']);
    expect(await venue.getOrderByClientOrderId('no-replace-2')).toBeNull();
    expect(venue.receivedReplaces()).toHaveLength(1);
  });

  it('loses the replacement ack like a submit ack: the old order is replaced, the new one booked without `new` report', async () => {
    const { venue, typesOf, rest } = faulty();
    const id = await rest('r-old');
    venue.addFault({ kind: 'ack_lost', match: { clientOrderId: 'r-new' } });
    const pending = venue.replaceOrder(
      {
        clientOrderId: 'r-old',
        brokerOrderId: id,
        newClientOrderId: 'r-new',
        quantity: new Decimal(100),
        limitPrice: null,
        stopPrice: null,
      },
      AbortSignal.timeout(30),
    );
    expect(await pending).toMatchObject({ kind: 'unknown' });
    expect(typesOf('r-old')).toEqual(['new', 'replaced']);
    expect(typesOf('r-new')).toEqual([]);
    expect(await venue.getOrderByClientOrderId('r-new')).toMatchObject({ status: 'new' });
  });

  it('gives a transport the answer fault itself, with what the venue decided', async () => {
    const { venue } = faulty();
    venue.addFault({ kind: 'ack_lost', remaining: 1 });
    venue.addFault({ kind: 'connection_reset', remaining: 1 });
    const lost = await venue.receiveSubmit(order({ clientOrderId: 'wire-1' }));
    expect(lost).toMatchObject({ fault: 'ack_lost', result: { kind: 'accepted' } });
    expect(await venue.receiveSubmit(order({ clientOrderId: 'wire-2' }))).toEqual({
      fault: 'connection_reset',
      result: null,
    });
    expect(await venue.receiveSubmit(order({ clientOrderId: 'wire-3' }))).toMatchObject({
      fault: null,
      result: { kind: 'accepted' },
    });
    expect(venue.receivedOrders().map((c) => c.clientOrderId)).toEqual(['wire-1', 'wire-3']);
  });

  it('matches on symbol, counts `remaining`, and can remove and clear rules', async () => {
    const { venue } = faulty();
    const optionOnly = venue.addFault({ kind: 'connection_reset', match: { symbol: CALL_0DTE } });
    expect((await venue.submitOrder(order())).kind).toBe('accepted');
    expect((await venue.submitOrder(order({ symbol: CALL_0DTE, quantity: new Decimal(1) }))).kind).toBe('unknown');
    const twice = venue.addFault({ kind: 'error_after_accept', remaining: 2 });
    expect(venue.faults()).toEqual([
      { id: optionOnly, kind: 'connection_reset', match: { symbol: CALL_0DTE } },
      { id: twice, kind: 'error_after_accept', remaining: 2 },
    ]);
    expect((await venue.submitOrder(order())).kind).toBe('unknown');
    expect(venue.faults().find((f) => f.id === twice)?.remaining).toBe(1);
    expect(venue.removeFault(optionOnly)).toBe(true);
    expect(venue.removeFault(optionOnly)).toBe(false);
    expect((await venue.submitOrder(order({ symbol: CALL_0DTE, quantity: new Decimal(1) }))).kind).toBe('unknown'); // the 500, its last one
    expect(venue.faults()).toEqual([]);
    venue.addFault({ kind: 'connection_reset' });
    venue.clearFaults();
    expect((await venue.submitOrder(order())).kind).toBe('accepted');
    expect(() => venue.addFault({ kind: 'ack_lost', rate: 1.5 })).toThrow(RangeError);
    expect(() => venue.addFault({ kind: 'late_fill_after_cancel', quantity: '-1' })).toThrow(RangeError);
    expect(() => venue.addFault({ kind: 'nope' as never })).toThrow(RangeError);
  });

  it('fires at `rate` with a seeded random source, reproducibly', async () => {
    const run = async (seed: number): Promise<string[]> => {
      const { venue } = faulty({ random: seededRandom(seed) });
      venue.addFault({ kind: 'connection_reset', rate: 0.3 });
      await Promise.all(Array.from({ length: 200 }, (_, i) => venue.submitOrder(order({ clientOrderId: `r${i}` }))));
      return venue.firedFaults().map((f) => f.clientOrderId);
    };
    const first = await run(42);
    expect(first.length).toBeGreaterThan(30);
    expect(first.length).toBeLessThan(90);
    expect(await run(42)).toEqual(first);
    expect(await run(7)).not.toEqual(first);
  });

  it('adds a random latency from the configured range before the venue acts', async () => {
    const { venue } = faulty({ latency: { minMs: 40, maxMs: 60 }, random: seededRandom(1) });
    const started = Date.now();
    const pending = venue.submitOrder(order({ clientOrderId: 'lat' }));
    await wait(25);
    expect(await venue.getOrderByClientOrderId('lat')).toBeNull();
    expect(await pending).toMatchObject({ kind: 'accepted' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
    expect(() => faulty({ latency: { minMs: 10, maxMs: 5 } })).toThrow(RangeError);
  });
});
