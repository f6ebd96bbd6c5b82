import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it } from 'vitest';
// The fake Alpaca itself and the gateway's ws connector: the client is tested against the real server, at
// Alpaca's wire protocol (the fake is driven only over HTTP and the stream).
import { type FakeAlpacaServer, startFakeAlpaca } from '../../../../apps/fake-brokers/src/alpaca/fake-alpaca-server.js';
import { wsStreamConnector } from '../../../../apps/gateway/src/market/ws-stream-connector.js';
import type { ConnectionChange } from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import { PaperVenue } from '../paper/paper-venue.js';
import { alpacaAdapter, alpacaStreamUrl } from './alpaca-adapter.js';
import {
  AlpacaAuthError,
  AlpacaClient,
  type AlpacaLogger,
  alpacaExecutionId,
  fromAlpacaSymbol,
  toAlpacaSymbol,
} from './alpaca-client.js';
import { ALPACA_ORDER_STATUSES, AlpacaUnknownStatusError, ourStatus } from './alpaca-status.js';
import { BrokerSetupError } from '../broker-registry.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const KEY = 'PKTESTKEYID';
const SECRET = 'test-secret-key-do-not-log';

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

interface Harness {
  readonly fake: FakeAlpacaServer;
  readonly client: AlpacaClient;
  readonly reports: ExecutionReport[];
  readonly changes: ConnectionChange[];
  readonly alerts: object[];
  readonly bid: Decimal;
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
}

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

async function harness(secret = SECRET, streamStallMs?: number): Promise<Harness> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
  const fake = await startFakeAlpaca({ venue, replay, keyId: KEY, secretKey: SECRET, replaceDelayMs: 20 });
  open.push({ close: () => venue.exchange.close() }, fake);
  const alerts: object[] = [];
  const logger: AlpacaLogger = { info: () => {}, warn: () => {}, error: (fields) => alerts.push(fields) };
  const client = new AlpacaClient({
    venue: 'alpaca',
    baseUrl: fake.url,
    streamUrl: alpacaStreamUrl(fake.url),
    credentials: { kind: 'api_key', keyId: KEY, secret },
    connect: wsStreamConnector,
    logger,
    reconnectDelayMs: 20,
    maxReconnectDelayMs: 50,
    replacePollMs: 1_000,
    ...(streamStallMs === undefined ? {} : { streamStallMs }),
  });
  open.push(client);
  const reports: ExecutionReport[] = [];
  const changes: ConnectionChange[] = [];
  client.onExecutionReport((r) => reports.push(r));
  client.onConnectionChange((c) => changes.push(c));
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fake.url}${path}`, {
      method,
      headers: {
        'APCA-API-KEY-ID': KEY,
        'APCA-API-SECRET-KEY': SECRET,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  };
  return { fake, client, reports, changes, alerts, bid: replay.getQuote('SPY')!.bid, call };
}

let n = 0;
const restingBuy = (h: Harness, quantity = '10') => ({
  clientOrderId: `ord-${Date.now()}-${++n}`,
  symbol: 'SPY',
  side: 'buy' as const,
  type: 'limit' as const,
  timeInForce: 'day' as const,
  quantity: new Decimal(quantity),
  limitPrice: h.bid.minus(1),
  stopPrice: null,
});
const ordersReceived = async (h: Harness, method = 'POST') =>
  ((await h.call('GET', '/test/received')).body as { method: string; path: string }[]).filter(
    (r) => r.method === method && (method !== 'POST' || r.path === '/v2/orders'),
  );

describe('the status table', () => {
  it('maps every status Alpaca documents, each row with its source', () => {
    const documented = [
      'new', 'partially_filled', 'filled', 'done_for_day', 'canceled', 'expired', 'replaced', 'pending_cancel',
      'pending_replace', 'accepted', 'pending_new', 'accepted_for_bidding', 'stopped', 'rejected', 'suspended',
      'calculated', 'pending_review', 'held',
    ]; // prettier-ignore
    expect(Object.keys(ALPACA_ORDER_STATUSES).sort()).toEqual([...documented].sort());
    for (const row of Object.values(ALPACA_ORDER_STATUSES)) {
      expect(row.source).toMatch(/\[(P|L)\]/);
    }
    expect(ourStatus('pending_cancel', '10', '4')).toBe('partially_filled');
    expect(ourStatus('calculated', '10', '10')).toBe('filled');
    expect(ourStatus('done_for_day', '10', '0')).toBe('new');
    expect(ourStatus('replaced', '10', '3')).toBe('replaced');
  });

  it('never guesses a status it does not know', () => {
    expect(ourStatus('reviewing_by_martians', '1', '0')).toBeNull();
    expect(ourStatus('constructor', '1', '0')).toBeNull();
  });
});

describe('AlpacaClient against the fake Alpaca', () => {
  it('places an order with our client order id and applies its fill once, with a stable execution id', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    const result = await h.client.submitOrder(command);
    expect(result.kind).toBe('accepted');
    const id = (result as { brokerOrderId: string }).brokerOrderId;
    const [placed] = await ordersReceived(h);
    expect((placed as unknown as { body: Record<string, unknown> }).body).toMatchObject({
      client_order_id: command.clientOrderId,
      qty: '10',
      type: 'limit',
      time_in_force: 'day',
    });
    await until(() => h.reports.find((r) => r.execType === 'new'));
    expect((await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '4' })).status).toBe(200);
    const fill = await until(() => h.reports.find((r) => r.execType === 'trade'));
    expect(fill.execution!.brokerExecutionId).toBe(alpacaExecutionId(id, '4'));
    expect(fill.execution!.quantity.toString()).toBe('4');
    expect(fill.cumulativeQuantity.toString()).toBe('4');
    expect(fill.leavesQuantity.toString()).toBe('6');
    const listed = await h.client.listFills(Date.now() - 60_000);
    expect(listed.map((f) => f.brokerExecutionId)).toEqual([fill.execution!.brokerExecutionId]);
    const status = await h.client.getOrderByClientOrderId(command.clientOrderId);
    expect(status).toMatchObject({ status: 'partially_filled', brokerOrderId: id });
    expect(status!.filledQuantity.toString()).toBe('4');
    const positions = await h.call('GET', '/v2/positions');
    expect(positions.body).toEqual([expect.objectContaining({ symbol: 'SPY', qty: '4', side: 'long' })]);
  });

  it('maps Alpaca refusals: 403 buying power, 422 bad parameters, 429 rate limit, all rejected', async () => {
    const h = await harness();
    await h.client.start();
    const big = await h.client.submitOrder({ ...restingBuy(h, '100000000'), limitPrice: h.bid });
    expect(big).toMatchObject({ kind: 'rejected', reason: 'alpaca 403: 40310000 insufficient buying power' });
    const bad = await h.client.submitOrder({ ...restingBuy(h), limitPrice: null });
    expect(bad).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('alpaca 422') });
    await h.call('POST', '/test/faults', { kind: 'rate_limit', remaining: 1 });
    const limited = await h.client.submitOrder(restingBuy(h));
    expect(limited).toMatchObject({ kind: 'rejected', reason: 'alpaca 429: 42910000 rate limit exceeded' });
  });

  it('refuses wrong keys with an AlpacaAuthError that holds no secret', async () => {
    const h = await harness('wrong-secret-value');
    const error = await h.client.start().then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(AlpacaAuthError);
    expect(String((error as Error).message)).not.toContain('wrong-secret-value');
  });

  it('after a lost acknowledgement the order is unknown, then settled by its client order id, never resent', async () => {
    const h = await harness();
    await h.client.start();
    await h.call('POST', '/test/faults', { kind: 'ack_lost', remaining: 1 });
    const command = restingBuy(h);
    const result = await h.client.submitOrder(command, AbortSignal.timeout(2_000));
    expect(result.kind).toBe('unknown');
    const found = await h.client.getOrderByClientOrderId(command.clientOrderId);
    expect(found).toMatchObject({ clientOrderId: command.clientOrderId, status: 'new' });
    expect(await ordersReceived(h)).toHaveLength(1);
  });

  it('after a 5xx the order is looked up by its client order id (accepted), and sent once', async () => {
    const h = await harness();
    await h.client.start();
    await h.call('POST', '/test/faults', { kind: 'error_after_accept', remaining: 1 });
    const command = restingBuy(h);
    const result = await h.client.submitOrder(command);
    expect(result.kind).toBe('accepted');
    expect(await ordersReceived(h)).toHaveLength(1);
    const again = await h.client.getOrderByClientOrderId(command.clientOrderId);
    expect(again!.brokerOrderId).toBe((result as { brokerOrderId: string }).brokerOrderId);
  });

  it('applies every fill once when the stream sends each message twice', async () => {
    const h = await harness();
    await h.client.start();
    await h.call('POST', '/test/faults', { kind: 'duplicate_stream' });
    const command = restingBuy(h);
    await h.client.submitOrder(command);
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '3' });
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '7' });
    await until(() => h.reports.filter((r) => r.execType === 'trade').length >= 2);
    await sleep(100);
    const fills = h.reports.filter((r) => r.execType === 'trade');
    expect(fills.map((f) => f.execution!.quantity.toString())).toEqual(['3', '7']);
    expect(h.reports.filter((r) => r.execType === 'new')).toHaveLength(1);
  });

  it('reports a dropped stream, and after the reconnect applies a fill made meanwhile exactly once', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    await h.client.submitOrder(command);
    await until(() => h.reports.find((r) => r.execType === 'new'));
    await h.call('POST', '/test/stream', { down: true });
    await until(() => h.changes.find((c) => !c.connected));
    expect(h.client.isConnected()).toBe(false);
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '10' });
    await sleep(150); // reconnect attempts are refused meanwhile
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(0);
    expect(h.changes).toEqual([expect.objectContaining({ connected: false })]); // told once, not per retry
    await h.call('POST', '/test/stream', { down: false });
    await until(() => h.changes.find((c) => c.connected));
    const fills = h.reports.filter((r) => r.execType === 'trade');
    expect(fills).toHaveLength(1);
    expect(fills[0]!.execution!.quantity.toString()).toBe('10');
    // The heal pass reported it before `connected: true`; the reconciliation's list carries the same id.
    const listed = await h.client.listFills(Date.now() - 60_000);
    expect(listed.map((f) => f.brokerExecutionId)).toEqual([fills[0]!.execution!.brokerExecutionId]);
    await sleep(100);
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(1);
  });

  it("trades an option under Alpaca's unpadded OCC symbol; reports and positions name it as ours (padded OSI)", async () => {
    const OPTION = 'SPXW  210104C03700000';
    expect(toAlpacaSymbol(OPTION)).toBe('SPXW210104C03700000');
    expect(fromAlpacaSymbol('SPXW210104C03700000')).toBe(OPTION);
    expect([toAlpacaSymbol('SPY'), fromAlpacaSymbol('SPY')]).toEqual(['SPY', 'SPY']);
    const h = await harness();
    await h.client.start();
    const command = { ...restingBuy(h, '2'), symbol: OPTION, limitPrice: new Decimal('1.00') };
    expect((await h.client.submitOrder(command)).kind).toBe('accepted');
    const [sent] = await ordersReceived(h);
    expect(sent).toMatchObject({ body: { symbol: 'SPXW210104C03700000' } });
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '2', price: '1.00' });
    const fill = await until(() => h.reports.find((r) => r.execType === 'trade'));
    expect(fill.symbol).toBe(OPTION);
    const positions = await h.client.positions();
    expect(positions.map((p) => [p.symbol, p.quantity.toFixed(), p.averagePrice?.toFixed()])).toEqual([
      [OPTION, '2', '1'],
    ]);
    // 2 contracts × $1.00 × 100 shares each, as the fake's account moved (its fees aside).
    expect(positions[0]!.raw).toMatchObject({ asset_class: 'us_option', cost_basis: '200' });
    expect((await h.client.listFills(Date.now() - 60_000)).map((f) => f.symbol)).toEqual([OPTION]);
  });

  it('keeps a quiet stream whose socket answers Pings: silence without a stall is not a drop', async () => {
    // A stall time well above an event-loop pause of a loaded machine: only a dead socket is given up.
    const h = await harness(SECRET, 700);
    await h.client.start();
    await sleep(2_500); // over three stall times with no trade update at all
    expect(h.changes).toEqual([]);
    expect(h.alerts).toEqual([]);
    expect(h.client.isConnected()).toBe(true);
  });

  it('detects a stream that stalls silently (open, no frames, no Pongs), heals, and applies a fill made meanwhile once', async () => {
    const STALL_MS = 300;
    const h = await harness(SECRET, STALL_MS);
    await h.client.start();
    const command = restingBuy(h);
    await h.client.submitOrder(command);
    await until(() => h.reports.find((r) => r.execType === 'new'));
    await h.call('POST', '/test/stream', { stall: true });
    const stalledAt = Date.now();
    const down = await until(() => h.changes.find((c) => !c.connected));
    // Detected within the stall time plus one check (a fifth of it), with a wide margin for a loaded machine.
    expect(Date.now() - stalledAt).toBeLessThan(STALL_MS * 5);
    expect(down.reason).toContain('stalled');
    expect(h.alerts).toContainEqual(expect.objectContaining({ alert: 'alpaca_stream_stalled', venue: 'alpaca' }));
    expect(h.client.isConnected()).toBe(false);
    // A fill while stalled: its stream message is lost; the sockets opened meanwhile stall too.
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '10' });
    await sleep(STALL_MS * 3);
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(0);
    expect(h.changes.filter((c) => c.connected)).toEqual([]);
    await h.call('POST', '/test/stream', { stall: false });
    await until(() => h.changes.find((c) => c.connected));
    const fills = h.reports.filter((r) => r.execType === 'trade');
    expect(fills.map((f) => f.execution!.quantity.toString())).toEqual(['10']);
    await sleep(STALL_MS * 2);
    expect(h.reports.filter((r) => r.execType === 'trade')).toHaveLength(1);
    expect(h.client.isConnected()).toBe(true);
  });

  it('replaces an order: accepted once the stream confirms, with the new order id and booked quantity', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    const placed = await h.client.submitOrder(command);
    const oldId = (placed as { brokerOrderId: string }).brokerOrderId;
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '2' });
    const result = await h.client.replaceOrder({
      clientOrderId: command.clientOrderId,
      brokerOrderId: oldId,
      newClientOrderId: `${command.clientOrderId}-r`,
      quantity: new Decimal('12'),
      filledQuantity: new Decimal('2'),
      limitPrice: command.limitPrice.minus('0.5'),
      stopPrice: null,
    });
    expect(result.kind).toBe('accepted');
    const accepted = result as { brokerOrderId: string; quantity: Decimal };
    expect(accepted.brokerOrderId).not.toBe(oldId);
    expect(accepted.quantity.toString()).toBe('10');
    // Alpaca's qty is the new order's own: what is left of the new total, never the total.
    const patched = (await ordersReceived(h, 'PATCH')) as unknown as { body: { qty: string } }[];
    expect(patched.map((p) => p.body.qty)).toEqual(['10']);
    await until(() => h.reports.find((r) => r.execType === 'replaced' && r.clientOrderId === command.clientOrderId));
    const old = await h.call('GET', `/v2/orders/${oldId}`);
    expect(old.body).toMatchObject({ status: 'replaced', replaced_by: accepted.brokerOrderId, filled_qty: '2' });
    const replacement = await h.call('GET', `/v2/orders/${accepted.brokerOrderId}`);
    expect(replacement.body).toMatchObject({ qty: '10', filled_qty: '0', replaces: oldId });
  });

  it("the fake books a PATCH's qty as the new order's own quantity, the old order's fills not taken off", async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    const placed = await h.client.submitOrder(command);
    const oldId = (placed as { brokerOrderId: string }).brokerOrderId;
    await h.call('POST', '/test/fill', { client_order_id: command.clientOrderId, qty: '3' });
    // A price-only PATCH keeps the old order's qty (10) for the new one, as Alpaca does after a partial fill.
    const patched = await h.call('PATCH', `/v2/orders/${oldId}`, {
      limit_price: command.limitPrice.minus('0.5').toString(),
      client_order_id: `${command.clientOrderId}-p`,
    });
    expect(patched.status).toBe(200);
    expect(patched.body).toMatchObject({ qty: '10', filled_qty: '0' });
    const id = (patched.body as { id: string }).id;
    await until(() => h.reports.find((r) => r.execType === 'new' && r.brokerOrderId === id));
    expect((await h.call('GET', `/v2/orders/${id}`)).body).toMatchObject({ qty: '10', status: 'new' });
    expect((await h.call('GET', `/v2/orders/${oldId}`)).body).toMatchObject({ status: 'replaced', filled_qty: '3' });
  });

  it('a replace refused on the stream after the PATCH succeeded is rejected, the old order left as Alpaca has it', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    const placed = await h.client.submitOrder(command);
    const oldId = (placed as { brokerOrderId: string }).brokerOrderId;
    await h.call('POST', '/test/faults', { kind: 'replace_refused', remaining: 1 });
    const result = await h.client.replaceOrder({
      clientOrderId: command.clientOrderId,
      brokerOrderId: oldId,
      newClientOrderId: `${command.clientOrderId}-r`,
      quantity: new Decimal('12'),
      limitPrice: null,
      stopPrice: null,
    });
    expect(result).toMatchObject({ kind: 'rejected' });
    const patched = (await ordersReceived(h, 'PATCH')) as unknown as { status: number }[];
    expect(patched).toEqual([expect.objectContaining({ status: 200 })]); // the PATCH itself succeeded
    const old = await h.client.getOrderByClientOrderId(command.clientOrderId);
    expect(old!.status).toBe('filled'); // it filled first: never `replaced`
    expect(h.reports.some((r) => r.execType === 'replaced')).toBe(false);
    await until(() =>
      h.reports.find((r) => r.execType === 'rejected' && r.clientOrderId === `${command.clientOrderId}-r`),
    );
  });

  it('applies a fill that arrives after the cancel was confirmed (late fill)', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    const placed = await h.client.submitOrder(command);
    await h.call('POST', '/test/faults', { kind: 'late_fill', remaining: 1, delay_ms: 20 });
    const cancel = await h.client.cancelOrder({
      clientOrderId: command.clientOrderId,
      brokerOrderId: (placed as { brokerOrderId: string }).brokerOrderId,
    });
    expect(cancel.kind).toBe('accepted');
    await until(() => h.reports.find((r) => r.execType === 'trade'));
    const kinds = h.reports.filter((r) => r.clientOrderId === command.clientOrderId).map((r) => r.execType);
    expect(kinds.indexOf('canceled')).toBeLessThan(kinds.indexOf('trade'));
    const again = await h.client.cancelOrder({
      clientOrderId: command.clientOrderId,
      brokerOrderId: (placed as { brokerOrderId: string }).brokerOrderId,
    });
    expect(again).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('alpaca 422') });
  });

  it('an order status the table does not know: an alert and unknown, never a guess', async () => {
    const h = await harness();
    await h.client.start();
    const command = restingBuy(h);
    await h.call('POST', '/test/faults', { kind: 'unknown_status', match: { client_order_id: command.clientOrderId } });
    const result = await h.client.submitOrder(command);
    expect(result).toMatchObject({ kind: 'unknown', reason: expect.stringContaining('under_review_x') });
    await expect(h.client.getOrderByClientOrderId(command.clientOrderId)).rejects.toBeInstanceOf(
      AlpacaUnknownStatusError,
    );
    expect((await h.client.listOrders(Date.now() - 60_000)).map((o) => o.clientOrderId)).not.toContain(
      command.clientOrderId,
    );
    expect(h.alerts).toContainEqual(
      expect.objectContaining({ alert: 'alpaca_status_unknown', status: 'under_review_x' }),
    );
    expect(await ordersReceived(h)).toHaveLength(1);
  });

  it('cancel-all answers 207 with a status per order', async () => {
    const h = await harness();
    await h.client.start();
    await h.client.submitOrder(restingBuy(h));
    await h.client.submitOrder(restingBuy(h));
    const all = await h.call('DELETE', '/v2/orders');
    expect(all.status).toBe(207);
    expect(all.body).toEqual([
      expect.objectContaining({ status: 200, id: expect.any(String) }),
      expect.objectContaining({ status: 200, id: expect.any(String) }),
    ]);
  });

  it('the adapter refuses an account without credentials with what to do', async () => {
    const h = await harness();
    const adapter = alpacaAdapter({
      venue: 'alpaca',
      endpoints: {
        paper: { baseUrl: h.fake.url, streamUrl: alpacaStreamUrl(h.fake.url) },
        live: { baseUrl: h.fake.url, streamUrl: alpacaStreamUrl(h.fake.url) },
      },
      connect: wsStreamConnector,
      logger: { info: () => {}, warn: () => {}, error: () => {} },
    });
    const account = { id: 'acc-1', broker: 'alpaca', environment: 'paper' as const, brokerAccountId: null };
    await expect(adapter.create({ broker: 'alpaca', account, secrets: () => Promise.resolve(null) })).rejects.toThrow(
      BrokerSetupError,
    );
    const session = await adapter.create({
      broker: 'alpaca',
      account,
      secrets: () => Promise.resolve({ kind: 'api_key', keyId: KEY, secret: SECRET }),
    });
    open.push(session);
    expect(session.client.venue).toBe('alpaca');
  });
});
