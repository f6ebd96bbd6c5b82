import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it, vi } from 'vitest';
// The fake broker itself: the client is tested against the real server, at its own protocol.
import { type PaperVenueServer, ReportLog, startPaperVenueServer } from '../../../../apps/paper-venue/src/server.js';
import type { ReplaceOrderCommand } from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import { FaultyVenue } from '../testing/faulty-venue.js';
import { HttpVenueClient, type HttpVenueClientConfig } from './http-venue-client.js';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';
import { submitOrders } from '../testing/submit-orders.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

interface Harness {
  readonly venue: FaultyVenue;
  readonly server: PaperVenueServer;
  readonly client: HttpVenueClient;
  /** Reports as the venue emitted them, in process. */
  readonly emitted: ExecutionReport[];
  /** Reports as the client delivered them. */
  readonly delivered: ExecutionReport[];
  readonly errors: unknown[];
  readonly bid: Decimal;
  readonly newClient: (config?: Partial<HttpVenueClientConfig>) => HttpVenueClient;
}

async function serve(): Promise<Harness> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new FaultyVenue(replay, { ackLatencyMs: 1 });
  const emitted: ExecutionReport[] = [];
  venue.onExecutionReport((r) => emitted.push(r));
  const server = await startPaperVenueServer({ venue, replay });
  open.push(venue, server);
  const errors: unknown[] = [];
  const delivered: ExecutionReport[] = [];
  const newClient = (config: Partial<HttpVenueClientConfig> = {}): HttpVenueClient => {
    const client = new HttpVenueClient({
      baseUrl: server.url,
      pollWaitMs: 1_000,
      retryInitialMs: 10,
      retryMaxMs: 50,
      onError: (e) => errors.push(e),
      ...config,
    });
    open.push(client);
    return client;
  };
  const client = newClient();
  client.onExecutionReport((r) => delivered.push(r));
  return { venue, server, client, emitted, delivered, errors, bid: replay.getQuote('SPY')!.bid, newClient };
}

const order = submitOrders('h');

const ids = (reports: readonly ExecutionReport[]) => reports.map((r) => `${r.clientOrderId}:${r.execType}`);

describe('HttpVenueClient against the paper venue server', () => {
  it('submits, replaces and cancels, and reads orders and fills as the venue has them', async () => {
    const { client, venue, bid } = await serve();
    const submitted = await client.submitOrder(
      order({ clientOrderId: 'c-1', type: 'limit', limitPrice: bid, quantity: new Decimal(100) }),
    );
    expect(submitted).toMatchObject({ kind: 'accepted', raw: { clientOrderId: 'c-1', status: 'new' } });
    const first = submitted.kind === 'accepted' ? submitted.brokerOrderId : '';
    expect(first).toBe(venue.orderRecord('c-1')!.brokerOrderId);
    venue.forceFill('c-1', new Decimal(30));

    const replace: ReplaceOrderCommand = {
      clientOrderId: 'c-1',
      brokerOrderId: first,
      newClientOrderId: 'c-2',
      quantity: new Decimal(80),
      limitPrice: null,
      stopPrice: null,
    };
    const replaced = await client.replaceOrder(replace);
    expect(replaced.kind).toBe('accepted');
    const second = replaced.kind === 'accepted' ? replaced.brokerOrderId : '';
    expect(replaced.kind === 'accepted' && replaced.quantity.toFixed()).toBe('50'); // 80 minus the 30 filled
    expect(second).toBe(venue.orderRecord('c-2')!.brokerOrderId);
    expect(venue.receivedReplaces()[0]!.quantity.toFixed()).toBe('80');

    expect(await client.cancelOrder({ clientOrderId: 'c-2', brokerOrderId: second })).toMatchObject({
      kind: 'accepted',
    });
    expect(await client.cancelOrder({ clientOrderId: 'c-2', brokerOrderId: second })).toMatchObject({
      kind: 'rejected',
      reason: 'order already canceled',
    });
    expect(await client.replaceOrder(replace)).toMatchObject({ kind: 'rejected', reason: 'order already replaced' });
    expect(await client.submitOrder(order({ clientOrderId: 'c-1' }))).toMatchObject({
      kind: 'rejected',
      reason: 'duplicate client order id',
    });

    expect(await client.getOrderByClientOrderId('c-1')).toEqual(await venue.getOrderByClientOrderId('c-1'));
    expect(await client.getOrderByClientOrderId('c-2')).toMatchObject({ status: 'canceled' });
    expect(await client.getOrderByClientOrderId('nobody')).toBeNull();
    const listed = await client.listOrders(0);
    expect(listed.map((o) => [o.clientOrderId, o.status, o.filledQuantity.toFixed()])).toEqual([
      ['c-1', 'replaced', '30'],
      ['c-2', 'canceled', '0'],
    ]);
    expect(listed).toEqual(await venue.listOrders(0));
    const fills = await client.listFills(0);
    expect(fills).toEqual(await venue.listFills(0));
    expect(fills.map((f) => [f.clientOrderId, f.quantity.toFixed(), f.price.toFixed()])).toEqual([
      ['c-1', '30', bid.toFixed()],
    ]);
    // GET /v1/positions: what the venue's fills add up to, as the in-process venue reports it.
    const positions = await client.positions();
    expect(positions).toEqual(await venue.positions());
    expect(positions.map((p) => [p.symbol, p.quantity.toFixed(), p.averagePrice?.toFixed()])).toEqual([
      ['SPY', '30', bid.toFixed()],
    ]);
  });

  it('answers unknown for every answer fault, while the venue did (or, for a reset, did not) receive the order', async () => {
    const { client, venue } = await serve();
    const cases = [
      { kind: 'ack_lost', reason: /network error/ },
      { kind: 'error_after_accept', reason: /HTTP 500/ },
      { kind: 'accepted_without_id', reason: /without an order id/ },
      { kind: 'connection_reset', reason: /network error/ },
    ] as const;
    for (const { kind, reason } of cases) {
      venue.addFault({ kind, match: { clientOrderId: kind } });
      const result = await client.submitOrder(order({ clientOrderId: kind }), AbortSignal.timeout(5_000));
      expect(result).toEqual({ kind: 'unknown', reason: expect.stringMatching(reason) });
      expect(venue.orderRecord(kind) === null).toBe(kind === 'connection_reset');
    }
    expect(venue.receivedOrders().map((c) => c.clientOrderId)).toEqual([
      'ack_lost',
      'error_after_accept',
      'accepted_without_id',
    ]);

    // A late answer: the caller gives up first; the venue acts all the same.
    venue.addFault({ kind: 'ack_delay', match: { clientOrderId: 'slow' }, delayMs: 200 });
    expect(await client.submitOrder(order({ clientOrderId: 'slow' }), AbortSignal.timeout(50))).toEqual({
      kind: 'unknown',
      reason: 'aborted while waiting for the venue',
    });
    expect(venue.receivedOrders().at(-1)!.clientOrderId).toBe('slow');
    await vi.waitFor(() => expect(venue.orderRecord('slow')).not.toBeNull());

    // An abort before sending: nothing leaves.
    const aborted = new AbortController();
    aborted.abort();
    expect(await client.submitOrder(order({ clientOrderId: 'never' }), aborted.signal)).toEqual({
      kind: 'rejected',
      reason: 'aborted before sending',
      raw: null,
    });
    expect(venue.receivedOrders()).toHaveLength(4);
  });

  it('answers unknown for a replace or cancel whose answer is lost or broken, and the venue did act', async () => {
    const { client, venue, bid } = await serve();
    const placed = await client.submitOrder(order({ clientOrderId: 'base', type: 'limit', limitPrice: bid }));
    const brokerOrderId = placed.kind === 'accepted' ? placed.brokerOrderId : '';
    venue.addFault({ kind: 'accepted_without_id', match: { clientOrderId: 'base' }, remaining: 1 });
    const replaced = await client.replaceOrder({
      clientOrderId: 'base',
      brokerOrderId,
      newClientOrderId: 'base-2',
      quantity: new Decimal(100),
      limitPrice: null,
      stopPrice: null,
    });
    expect(replaced).toEqual({ kind: 'unknown', reason: 'venue answered HTTP 200 without an order id' });
    const replacement = venue.orderRecord('base-2')!;
    expect(replacement.status).toBe('new');

    venue.addFault({ kind: 'error_after_accept', match: { clientOrderId: 'base-2' } });
    expect(
      await client.cancelOrder({ clientOrderId: 'base-2', brokerOrderId: replacement.brokerOrderId }),
    ).toMatchObject({ kind: 'unknown', reason: 'venue answered HTTP 500' });
    expect(venue.orderRecord('base-2')!.status).toBe('canceled');
  });

  it('delivers every report in seq order, fields restored, as the venue emitted them', async () => {
    const { client, venue, emitted, delivered, bid } = await serve();
    await client.start();
    await client.submitOrder(order({ clientOrderId: 'r-1' }));
    await client.submitOrder(order({ clientOrderId: 'r-2', type: 'limit', limitPrice: bid }));
    venue.forceFill('r-2', new Decimal('12'));
    const r2 = venue.orderRecord('r-2')!;
    await client.cancelOrder({ clientOrderId: 'r-2', brokerOrderId: r2.brokerOrderId });
    await vi.waitFor(() => expect(delivered).toHaveLength(emitted.length));
    expect(ids(delivered)).toEqual(['r-1:new', 'r-1:trade', 'r-2:new', 'r-2:trade', 'r-2:canceled']);
    expect(delivered).toEqual(emitted);
    expect(delivered[1]!.execution!.price).toBeInstanceOf(Decimal);
    expect(client.deliveredSeq()).toBe(5);
  });

  it('starts after the current last seq, and a restarted client resumes from its seq with nothing lost or doubled', async () => {
    const { venue, emitted, newClient } = await serve();
    await venue.submitOrder(order({ clientOrderId: 'before-start' })); // in process, before any client
    const first = newClient();
    const seenByFirst: ExecutionReport[] = [];
    first.onExecutionReport((r) => seenByFirst.push(r));
    await first.start();
    expect(first.deliveredSeq()).toBe(2);
    await venue.submitOrder(order({ clientOrderId: 'during-first' }));
    await vi.waitFor(() => expect(seenByFirst).toHaveLength(2));
    await first.close();
    const resumeAt = first.deliveredSeq();
    expect(resumeAt).toBe(4);

    await venue.submitOrder(order({ clientOrderId: 'between' })); // no client running
    const second = newClient();
    const seenBySecond: ExecutionReport[] = [];
    second.onExecutionReport((r) => seenBySecond.push(r));
    await second.start({ afterSeq: resumeAt });
    await venue.submitOrder(order({ clientOrderId: 'during-second' }));
    await vi.waitFor(() => expect(seenBySecond).toHaveLength(4));
    expect(ids(seenByFirst)).toEqual(['during-first:new', 'during-first:trade']);
    expect(ids(seenBySecond)).toEqual(['between:new', 'between:trade', 'during-second:new', 'during-second:trade']);
    expect([...seenByFirst, ...seenBySecond]).toEqual(emitted.slice(2));
  });

  it('retries with backoff through a venue blip and resumes where it was: no loss, no duplicate; tells the connection lost and back once each', async () => {
    const { venue, emitted, errors } = await serve();
    const log = new ReportLog(venue); // outlives the first server, as the venue process would
    const first = await startPaperVenueServer({ venue, reportLog: log, port: 0 });
    open.push(first, log);
    const blipping = new HttpVenueClient({
      baseUrl: first.url,
      pollWaitMs: 500,
      retryInitialMs: 10,
      retryMaxMs: 40,
      onError: (e) => errors.push(e),
    });
    open.push(blipping);
    const seen: ExecutionReport[] = [];
    blipping.onExecutionReport((r) => seen.push(r));
    const changes: string[] = [];
    blipping.onConnectionChange((c) => changes.push(c.connected ? 'up' : `down: ${c.reason}`));
    await blipping.start();
    await venue.submitOrder(order({ clientOrderId: 'b-1' }));
    await vi.waitFor(() => expect(seen).toHaveLength(2));

    const firstPort = Number(new URL(first.url).port);
    await first.close();
    await venue.submitOrder(order({ clientOrderId: 'b-2' })); // while the venue is unreachable
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(seen).toHaveLength(2);
    expect(errors.length).toBeGreaterThan(0); // reported once per outage
    expect(changes).toEqual([expect.stringMatching(/^down: paper venue reports: network error/)]);
    expect(blipping.isConnected()).toBe(false);

    const back = await startPaperVenueServer({ venue, reportLog: log, port: firstPort });
    open.push(back);
    await venue.submitOrder(order({ clientOrderId: 'b-3' }));
    await vi.waitFor(() => expect(seen).toHaveLength(6));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(ids(seen)).toEqual(['b-1:new', 'b-1:trade', 'b-2:new', 'b-2:trade', 'b-3:new', 'b-3:trade']);
    expect(seen).toEqual(emitted.slice(-6));
    expect(blipping.deliveredSeq()).toBe(6);
    expect(changes).toHaveLength(2);
    expect(changes[1]).toBe('up');
  });

  it('stamps its own venue name on the reports it delivers (a venue process standing in for another broker)', async () => {
    const { venue, emitted, newClient } = await serve();
    const alpaca = newClient({ venue: 'alpaca' });
    expect(alpaca.venue).toBe('alpaca');
    const seen: ExecutionReport[] = [];
    alpaca.onExecutionReport((r) => seen.push(r));
    await alpaca.start();
    await venue.submitOrder(order({ clientOrderId: 'as-alpaca' }));
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    expect(seen).toEqual(emitted.slice(-2).map((r) => ({ ...r, venue: 'alpaca' })));
    expect(emitted.at(-1)!.venue).toBe('paper');
  });

  it('starts again at seq 1 when the venue restarted (a new log), and says so', async () => {
    const { venue, newClient, errors } = await serve();
    const log = new ReportLog(venue);
    const first = await startPaperVenueServer({ venue, reportLog: log });
    open.push(first, log);
    const port = Number(new URL(first.url).port);
    const client = newClient({ baseUrl: first.url });
    const seen: ExecutionReport[] = [];
    client.onExecutionReport((r) => seen.push(r));
    await venue.submitOrder(order({ clientOrderId: 'old-1' }));
    await client.start();
    await venue.submitOrder(order({ clientOrderId: 'old-2' }));
    await vi.waitFor(() => expect(seen).toHaveLength(2));
    await first.close();

    const fresh = new ReportLog(venue); // the venue process restarted: a new log from seq 1
    await venue.submitOrder(order({ clientOrderId: 'new-1' }));
    const restarted = await startPaperVenueServer({ venue, reportLog: fresh, port });
    open.push(restarted, fresh);
    await vi.waitFor(() => expect(seen).toHaveLength(4));
    expect(ids(seen)).toEqual(['old-2:new', 'old-2:trade', 'new-1:new', 'new-1:trade']);
    expect(errors.some((e) => String(e).includes('restarted'))).toBe(true);
  });

  it('throws from the reconciliation reads when the venue does not answer, and null only for a 404', async () => {
    const { client, server } = await serve();
    expect(await client.getOrderByClientOrderId('nobody')).toBeNull();
    await server.close();
    await expect(client.getOrderByClientOrderId('nobody')).rejects.toThrow(/paper venue/);
    await expect(client.listOrders(0)).rejects.toThrow(Error);
    await expect(client.listFills(0)).rejects.toThrow(Error);
    await expect(client.positions()).rejects.toThrow(Error);
    expect(await client.submitOrder(order({ clientOrderId: 'nowhere' }), AbortSignal.timeout(2_000))).toMatchObject({
      kind: 'unknown',
      reason: expect.stringMatching(/network error/),
    });
  });

  it('retries start() until the venue answers, and can be closed while waiting', async () => {
    const { server, venue } = await serve();
    const port = Number(new URL(server.url).port);
    await server.close();
    const client = new HttpVenueClient({
      baseUrl: `http://127.0.0.1:${port}`,
      retryInitialMs: 10,
      retryMaxMs: 20,
      onError: () => {},
    });
    open.push(client);
    const starting = client.start();
    await new Promise((resolve) => setTimeout(resolve, 60));
    const back = await startPaperVenueServer({ venue, port });
    open.push(back);
    await starting;
    expect(client.deliveredSeq()).toBe(0);
    await expect(client.start()).rejects.toThrow(/already started/);

    const never = new HttpVenueClient({ baseUrl: 'http://127.0.0.1:1', retryInitialMs: 10, onError: () => {} });
    const waiting = never.start();
    await never.close();
    await waiting;
  });
});
