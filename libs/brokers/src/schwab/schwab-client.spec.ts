import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it } from 'vitest';
// The fake Schwab itself and the gateway's ws connector: the client is tested against the real server, at
// Schwab's wire protocol (the fake is driven only over HTTP and the streamer).
import { type FakeSchwabServer, startFakeSchwab } from '../../../../apps/fake-brokers/src/schwab/fake-schwab-server.js';
import { wsStreamConnector } from '../../../../apps/gateway/src/market/ws-stream-connector.js';
import type { ConnectionChange, SubmitOrderCommand } from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import { PaperVenue } from '../paper/paper-venue.js';
import { BrokerRegistry, BrokerSetupError } from '../broker-registry.js';
import { schwabAdapter } from './schwab-adapter.js';
import { SchwabClient, type SchwabLogger, parseSchwabTime, schwabInstruction } from './schwab-client.js';
import { SCHWAB_ORDER_STATUSES, SchwabUnknownStatusError, schwabOurStatus } from './schwab-status.js';
import { fromSchwabSymbol, toSchwabSymbol } from './schwab-symbol.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const TOKEN = 'I0.test-access-token-do-not-log';
const OPTION = 'SPXW  210104C03700000';

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: () => T | undefined | false | Promise<T | undefined | false>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = await what();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await sleep(10);
  }
}

interface Harness {
  readonly fake: FakeSchwabServer;
  readonly replay: MarketReplay;
  readonly client: SchwabClient;
  readonly reports: ExecutionReport[];
  readonly changes: ConnectionChange[];
  readonly alerts: object[];
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; location: string | null }>;
}

async function harness(
  options: { streamStallMs?: number; heartbeatMs?: number; fetch?: typeof fetch } = {},
): Promise<Harness> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
  const fake = await startFakeSchwab({
    venue,
    replay,
    isAccessTokenValid: (t) => t === TOKEN,
    heartbeatMs: options.heartbeatMs ?? 100,
  });
  open.push({ close: () => venue.exchange.close() }, fake);
  const alerts: object[] = [];
  const logger: SchwabLogger = { info: () => {}, warn: () => {}, error: (fields) => alerts.push(fields) };
  const client = new SchwabClient({
    venue: 'schwab',
    baseUrl: fake.baseUrl,
    accessToken: TOKEN,
    accountNumber: null,
    connect: wsStreamConnector,
    logger,
    reconnectDelayMs: 20,
    maxReconnectDelayMs: 50,
    streamStallMs: options.streamStallMs ?? 5_000,
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  open.push(client);
  const reports: ExecutionReport[] = [];
  const changes: ConnectionChange[] = [];
  client.onExecutionReport((r) => reports.push(r));
  client.onConnectionChange((c) => changes.push(c));
  await client.start();
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fake.url}${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text), location: res.headers.get('location') };
  };
  return { fake, replay, client, reports, changes, alerts, call };
}

let n = 0;
const limit = (
  h: Harness,
  symbol: string,
  side: 'buy' | 'sell',
  price: Decimal,
  quantity = '1',
): SubmitOrderCommand => ({
  clientOrderId: `ord-${++n}`,
  symbol,
  side,
  type: 'limit',
  timeInForce: 'day',
  quantity: new Decimal(quantity),
  limitPrice: price,
  stopPrice: null,
});
const received = async (h: Harness) =>
  ((await h.call('GET', '/test/received')).body as { method: string; path: string; body: any }[]).filter(
    (r) => r.method === 'POST',
  );

describe('the status table', () => {
  it('maps all 21 statuses Schwab documents, each row with its source; a new one maps to nothing', () => {
    const documented = [
      'AWAITING_PARENT_ORDER', 'AWAITING_CONDITION', 'AWAITING_STOP_CONDITION', 'AWAITING_MANUAL_REVIEW',
      'ACCEPTED', 'AWAITING_UR_OUT', 'PENDING_ACTIVATION', 'QUEUED', 'WORKING', 'REJECTED', 'PENDING_CANCEL',
      'CANCELED', 'PENDING_REPLACE', 'REPLACED', 'FILLED', 'EXPIRED', 'NEW', 'AWAITING_RELEASE_TIME',
      'PENDING_ACKNOWLEDGEMENT', 'PENDING_RECALL', 'UNKNOWN',
    ]; // prettier-ignore
    expect(Object.keys(SCHWAB_ORDER_STATUSES).sort()).toEqual([...documented].sort());
    for (const row of Object.values(SCHWAB_ORDER_STATUSES)) {
      expect(row.source).toMatch(/\[P\]/);
    }
    const zero = new Decimal(0);
    expect(schwabOurStatus('WORKING', zero)).toBe('new');
    expect(schwabOurStatus('PENDING_CANCEL', new Decimal(2))).toBe('partially_filled');
    expect(schwabOurStatus('AWAITING_UR_OUT', zero)).toBe('new');
    expect(schwabOurStatus('FILLED', new Decimal(5))).toBe('filled');
    expect(schwabOurStatus('REPLACED', zero)).toBe('replaced');
    expect(schwabOurStatus('UNKNOWN', zero)).toBeNull();
    expect(schwabOurStatus('HELD_FOR_REVIEW_X', zero)).toBeNull();
  });
});

describe('symbology and instructions', () => {
  it('writes options as Schwab pads them and reads both forms back as ours', () => {
    expect(toSchwabSymbol('SPXW261204C05000000')).toEqual({ symbol: 'SPXW  261204C05000000', assetType: 'OPTION' });
    expect(toSchwabSymbol('XSP   261204P00600000')).toEqual({ symbol: 'XSP   261204P00600000', assetType: 'OPTION' });
    expect(toSchwabSymbol('SPY')).toEqual({ symbol: 'SPY', assetType: 'EQUITY' });
    expect(fromSchwabSymbol('SPX   261218C06000000')).toBe('SPX   261218C06000000');
    expect(fromSchwabSymbol('SPY   261218P00500000')).toBe('SPY   261218P00500000');
    expect(fromSchwabSymbol('SPY')).toBe('SPY');
    expect(fromSchwabSymbol('not a symbol')).toBeNull();
  });

  it('chooses open or close from positionEffect, else from the position, and refuses a flip', () => {
    const q = (v: string) => new Decimal(v);
    expect(schwabInstruction('EQUITY', 'buy', q('1'), null, null)).toBe('BUY');
    expect(schwabInstruction('EQUITY', 'sell', q('1'), 'close', null)).toBe('SELL');
    expect(schwabInstruction('OPTION', 'buy', q('1'), 'open', null)).toBe('BUY_TO_OPEN');
    expect(schwabInstruction('OPTION', 'sell', q('1'), 'close', null)).toBe('SELL_TO_CLOSE');
    expect(schwabInstruction('OPTION', 'sell', q('2'), null, q('3'))).toBe('SELL_TO_CLOSE');
    expect(schwabInstruction('OPTION', 'buy', q('2'), null, q('-2'))).toBe('BUY_TO_CLOSE');
    expect(schwabInstruction('OPTION', 'sell', q('2'), null, q('0'))).toBe('SELL_TO_OPEN');
    expect(schwabInstruction('OPTION', 'sell', q('4'), null, q('3'))).toBeNull();
    expect(schwabInstruction('OPTION', 'sell', q('4'), 'close', q('3'))).toBeNull();
  });

  it("reads Schwab's +0000 times", () => {
    expect(parseSchwabTime('2021-01-01T12:01:00+0000')).toBe(Date.UTC(2021, 0, 1, 12, 1, 0));
  });
});

describe('the Schwab client against the fake Schwab', () => {
  it('places an equity limit: 201 with the id only in Location, no client order id on the wire; a fill reported once', async () => {
    const h = await harness();
    const quote = h.replay.getQuote('SPY')!;
    await h.call('POST', '/test/faults', { kind: 'duplicate_stream' });
    const command = limit(h, 'SPY', 'buy', quote.bid.minus(1), '10');
    const result = await h.client.submitOrder(command);
    expect(result).toMatchObject({ kind: 'accepted', brokerOrderId: expect.stringMatching(/^\d+$/) });
    const id = (result as { brokerOrderId: string }).brokerOrderId;
    const [sent] = await received(h);
    expect(sent!.body).toEqual({
      orderType: 'LIMIT',
      session: 'NORMAL',
      duration: 'DAY',
      orderStrategyType: 'SINGLE',
      price: quote.bid.minus(1).toString(),
      orderLegCollection: [{ instruction: 'BUY', quantity: 10, instrument: { symbol: 'SPY', assetType: 'EQUITY' } }],
    });
    expect(JSON.stringify(sent!.body)).not.toContain(command.clientOrderId);
    expect((await h.call('POST', '/test/fill', { orderId: id, quantity: '4' })).status).toBe(200);
    const fill = await until(() => h.reports.find((r) => r.execType === 'trade'));
    expect(fill).toMatchObject({
      clientOrderId: command.clientOrderId,
      brokerOrderId: id,
      cumulativeQuantity: new Decimal(4),
      leavesQuantity: new Decimal(6),
      execution: { quantity: new Decimal(4), price: quote.bid.minus(1) },
    });
    await sleep(150);
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(1);
    const listed = await h.client.listFills(Date.now() - 60_000);
    expect(listed.map((f) => f.brokerExecutionId)).toEqual([fill.execution!.brokerExecutionId]);
  });

  it('an option without positionEffect opens, then closes from the position; SPXW padded on the wire', async () => {
    const h = await harness();
    const quote = h.replay.getQuote(OPTION)!;
    const buy = await h.client.submitOrder(limit(h, 'SPXW210104C03700000', 'buy', quote.ask));
    expect(buy.kind).toBe('accepted');
    await until(async () => (await h.client.positions()).some((p) => p.symbol === OPTION && p.quantity.eq(1)));
    const sell = await h.client.submitOrder(limit(h, OPTION, 'sell', quote.bid));
    expect(sell.kind).toBe('accepted');
    const legs = (await received(h)).map((r) => r.body.orderLegCollection[0]);
    expect(legs.map((l: any) => [l.instruction, l.instrument])).toEqual([
      ['BUY_TO_OPEN', { symbol: OPTION, assetType: 'OPTION' }],
      ['SELL_TO_CLOSE', { symbol: OPTION, assetType: 'OPTION' }],
    ]);
    await until(async () => (await h.client.positions()).every((p) => p.symbol !== OPTION));
    // Each contract moves 100 × its price, and Schwab's $0.65 commission per contract is charged both ways.
    const balances = await h.client.balances();
    expect(balances.cash.toString()).toBe(
      new Decimal(1_000_000).minus(quote.ask.times(100)).plus(quote.bid.times(100)).minus('1.3').toString(),
    );
  });

  it('a lost 201 is unknown, never resent; the fake received it once and lists it', async () => {
    const h = await harness();
    await h.call('POST', '/test/faults', { kind: 'ack_lost', remaining: 1 });
    const command = limit(h, 'SPY', 'buy', h.replay.getQuote('SPY')!.bid.minus(2), '3');
    const result = await h.client.submitOrder(command, AbortSignal.timeout(2_000));
    expect(result.kind).toBe('unknown');
    expect(await received(h)).toHaveLength(1);
    const listed = await h.client.listOrders(Date.now() - 60_000);
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({
      clientOrderId: '',
      symbol: 'SPY',
      side: 'buy',
      quantity: new Decimal(3),
      status: 'new',
    });
  });

  it('a 5xx after accepting is unknown; a 400 and the 429 of the rate limit are rejected', async () => {
    const h = await harness();
    await h.call('POST', '/test/faults', { kind: 'error_after_accept', remaining: 1 });
    const bid = h.replay.getQuote('SPY')!.bid;
    expect((await h.client.submitOrder(limit(h, 'SPY', 'buy', bid.minus(1)))).kind).toBe('unknown');
    await h.call('POST', '/test/rate-limit', { perMinute: 1 });
    expect((await h.client.submitOrder(limit(h, 'SPY', 'buy', bid.minus(1)))).kind).toBe('accepted');
    const limited = await h.client.submitOrder(limit(h, 'SPY', 'buy', bid.minus(1)));
    expect(limited).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('schwab 429') });
    await h.call('POST', '/test/rate-limit', { perMinute: 120 });
    const bad = await h.client.submitOrder({ ...limit(h, 'SPY', 'buy', bid.minus(1)), quantity: new Decimal('1.5') });
    expect(bad).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('schwab 400') });
  });

  it('replace cancels and creates: a new order id, the old one REPLACED; cancel answers 200 and reports canceled', async () => {
    const h = await harness();
    const bid = h.replay.getQuote('SPY')!.bid;
    const first = limit(h, 'SPY', 'buy', bid.minus(1), '5');
    const placed = (await h.client.submitOrder(first)) as { brokerOrderId: string };
    const replaced = await h.client.replaceOrder({
      clientOrderId: first.clientOrderId,
      brokerOrderId: placed.brokerOrderId,
      newClientOrderId: 'ord-new',
      quantity: new Decimal(6),
      limitPrice: bid.minus(2),
      stopPrice: null,
    });
    expect(replaced).toMatchObject({ kind: 'accepted', quantity: new Decimal(6) });
    const newId = (replaced as { brokerOrderId: string }).brokerOrderId;
    expect(newId).not.toBe(placed.brokerOrderId);
    expect(
      (await h.call('GET', `/trader/v1/accounts/${h.fake.accountHash}/orders/${placed.brokerOrderId}`)).body,
    ).toMatchObject({
      status: 'REPLACED',
    });
    // The old order's report names its replacement (replacingOrderCollection): reconciliation's link to it.
    const old = await h.client.getOrderByClientOrderId(first.clientOrderId);
    expect(old).toMatchObject({ status: 'replaced', replacedByBrokerOrderId: newId });
    expect(old).not.toHaveProperty('replacePending');
    await until(() => h.reports.find((r) => r.execType === 'replaced' && r.clientOrderId === first.clientOrderId));
    const canceled = await h.client.cancelOrder({ clientOrderId: 'ord-new', brokerOrderId: newId });
    expect(canceled.kind).toBe('accepted');
    await until(() => h.reports.find((r) => r.execType === 'canceled' && r.clientOrderId === 'ord-new'));
    await h.call('POST', '/test/faults', { kind: 'cancel_refused', remaining: 1 });
    const other = (await h.client.submitOrder(limit(h, 'SPY', 'buy', bid.minus(1)))) as { brokerOrderId: string };
    expect((await h.client.cancelOrder({ clientOrderId: 'x', brokerOrderId: other.brokerOrderId })).kind).toBe(
      'rejected',
    );
  });

  it("a fill racing the replace (after the old order was read): the booked quantity is the replacement's at Schwab", async () => {
    // The order fills 2 between the client's read of it and its PUT: Schwab books the new total minus those 2.
    let raceFill: (() => Promise<unknown>) | null = null;
    const racing: typeof fetch = async (input, init) => {
      if (init?.method === 'PUT' && raceFill !== null) {
        const fill = raceFill;
        raceFill = null;
        await fill();
      }
      return fetch(input, init);
    };
    const h = await harness({ fetch: racing });
    const bid = h.replay.getQuote('SPY')!.bid;
    const first = limit(h, 'SPY', 'buy', bid.minus(1), '5');
    const placed = (await h.client.submitOrder(first)) as { brokerOrderId: string };
    raceFill = () => h.call('POST', '/test/fill', { orderId: placed.brokerOrderId, quantity: '2' });
    const replaced = await h.client.replaceOrder({
      clientOrderId: first.clientOrderId,
      brokerOrderId: placed.brokerOrderId,
      newClientOrderId: 'ord-raced',
      quantity: new Decimal(6),
      limitPrice: bid.minus(2),
      stopPrice: null,
    });
    expect(replaced).toMatchObject({ kind: 'accepted', quantity: new Decimal(4) });
    const newId = (replaced as { brokerOrderId: string }).brokerOrderId;
    expect((await h.call('GET', `/trader/v1/accounts/${h.fake.accountHash}/orders/${newId}`)).body).toMatchObject({
      quantity: 4,
    });
  });

  it('reordered stream messages are harmless; a fill after the cancel (late fill) is still reported once', async () => {
    const h = await harness();
    await h.call('POST', '/test/faults', { kind: 'reorder_stream' });
    await h.call('POST', '/test/faults', { kind: 'late_fill', remaining: 1, delay_ms: 50 });
    const command = limit(h, 'SPY', 'buy', h.replay.getQuote('SPY')!.bid.minus(1), '4');
    const placed = (await h.client.submitOrder(command)) as { brokerOrderId: string };
    await h.call('POST', '/test/fill', { orderId: placed.brokerOrderId, quantity: '1' });
    expect(
      (await h.client.cancelOrder({ clientOrderId: command.clientOrderId, brokerOrderId: placed.brokerOrderId })).kind,
    ).toBe('accepted');
    await until(
      () =>
        h.reports.filter((r) => r.execType === 'trade').length === 2 &&
        h.reports.some((r) => r.execType === 'canceled'),
    );
    await sleep(200);
    const trades = h.reports.filter((r) => r.execType === 'trade');
    expect(trades.map((t) => t.execution!.quantity.toString())).toEqual(['1', '3']);
    expect(new Set(trades.map((t) => t.execution!.brokerExecutionId)).size).toBe(2);
    expect(h.reports.filter((r) => r.execType === 'canceled')).toHaveLength(1);
  });

  it('the order list needs its time window; an undocumented status alerts and settles nothing', async () => {
    const h = await harness();
    const noWindow = await h.call('GET', `/trader/v1/accounts/${h.fake.accountHash}/orders`);
    expect(noWindow.status).toBe(400);
    expect(noWindow.body).toMatchObject({
      message: expect.any(String),
      errors: [expect.stringContaining('fromEnteredTime')],
    });
    await h.client.submitOrder(limit(h, 'SPY', 'buy', h.replay.getQuote('SPY')!.bid.minus(1)));
    await h.call('POST', '/test/faults', { kind: 'unknown_status' });
    await expect(h.client.listOrders(Date.now() - 60_000)).rejects.toBeInstanceOf(SchwabUnknownStatusError);
    expect(h.alerts).toContainEqual(
      expect.objectContaining({ alert: 'schwab_status_unknown', status: 'HELD_FOR_REVIEW_X' }),
    );
  });

  it('a stream that stalls (open and silent) is dropped within the stall time, healed, and a missed fill reported', async () => {
    const h = await harness({ streamStallMs: 600, heartbeatMs: 100 });
    const command = limit(h, 'SPY', 'buy', h.replay.getQuote('SPY')!.bid.minus(1), '2');
    const placed = (await h.client.submitOrder(command)) as { brokerOrderId: string };
    await sleep(300);
    expect(h.changes).toEqual([]);
    const stalledAt = Date.now();
    await h.call('POST', '/test/stream', { stall: true });
    await h.call('POST', '/test/fill', { orderId: placed.brokerOrderId, quantity: '2' });
    const down = await until(() => h.changes.find((c) => !c.connected), 3_000);
    expect(Date.now() - stalledAt).toBeLessThan(600 + 600);
    expect(down).toMatchObject({ reason: expect.stringContaining('stalled') });
    expect(h.alerts).toContainEqual(expect.objectContaining({ alert: 'schwab_stream_stalled' }));
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(0);
    await h.call('POST', '/test/stream', { stall: false });
    await until(() => h.changes.find((c) => c.connected), 5_000);
    expect(h.reports.filter((r) => r.execType === 'trade')).toEqual([
      expect.objectContaining({ clientOrderId: command.clientOrderId, cumulativeQuantity: new Decimal(2) }),
    ]);
  });

  it('the adapter refuses an account without a Schwab connection, with what to do', async () => {
    const adapter = schwabAdapter({
      venue: 'schwab',
      baseUrl: 'http://127.0.0.1:9/trader/v1',
      streamerUrl: null,
      connect: wsStreamConnector,
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const account = { id: 'acc-1', broker: 'schwab', environment: 'live' as const, brokerAccountId: null };
    await expect(adapter.create({ broker: 'schwab', account, secrets: () => Promise.resolve(null) })).rejects.toThrow(
      BrokerSetupError,
    );
  });

  it('a refreshed token reaches the account: the evicted client is rebuilt with it, and what the old one learnt is kept', async () => {
    const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
    const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
    const valid = new Set(['I0.first-token']);
    const fake = await startFakeSchwab({ venue, replay, isAccessTokenValid: (t) => valid.has(t), heartbeatMs: 100 });
    open.push({ close: () => venue.exchange.close() }, fake);
    let token = 'I0.first-token';
    const registry = new BrokerRegistry({
      brokers: {
        schwab: schwabAdapter({
          venue: 'schwab',
          baseUrl: fake.baseUrl,
          streamerUrl: null,
          connect: wsStreamConnector,
          logger: { info: () => {}, warn: () => {}, error: () => {} },
          client: { reconnectDelayMs: 20 },
        }),
      },
    });
    open.push(registry);
    const reports: ExecutionReport[] = [];
    registry.onExecutionReport((r) => reports.push(r));
    const account = { id: 'acc-1', broker: 'schwab', environment: 'live' as const, brokerAccountId: '12345678' };
    const secrets = () => Promise.resolve({ kind: 'oauth', accessToken: token });
    const first = await registry.clientFor(account, secrets);
    const command = limit({} as Harness, 'SPY', 'buy', replay.getQuote('SPY')!.bid.minus(1), '3');
    const placed = (await first.submitOrder(command)) as { kind: string; brokerOrderId: string };
    expect(placed.kind).toBe('accepted');

    // The token is refreshed: the old one is dead at Schwab, the registry retires the client.
    token = 'I0.second-token';
    valid.clear();
    valid.add(token);
    expect(registry.evict(registry.keyOf(account).key)).toBe(true);
    const second = await registry.clientFor(account, secrets);
    expect(second).not.toBe(first);
    expect(
      (await second.submitOrder(limit({} as Harness, 'SPY', 'buy', replay.getQuote('SPY')!.bid.minus(2)))).kind,
    ).toBe('accepted');
    // A fill of the order the first client placed is reported by the second, under our id.
    await fetch(`${fake.url}/test/fill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ orderId: placed.brokerOrderId, quantity: '3' }),
    });
    const fill = await until(() => reports.find((r) => r.execType === 'trade'));
    expect(fill).toMatchObject({ clientOrderId: command.clientOrderId, brokerOrderId: placed.brokerOrderId });
  });
});
