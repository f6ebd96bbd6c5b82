import { fileURLToPath } from 'node:url';
import {
  HttpVenueClient,
  MarketReplay,
  defaultMarketDataSets,
  loadMarketData,
  resolveMarketDataDir,
} from '@gateway/brokers';
import { FaultyVenue } from '@gateway/brokers/testing';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type PaperVenueServer, ReportLog, loadPaperVenueConfig, startPaperVenueServer } from './server.js';

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const data = loadMarketData(resolveMarketDataDir(repoRoot), defaultMarketDataSets());

interface Harness {
  readonly replay: MarketReplay;
  readonly venue: FaultyVenue;
  readonly server: PaperVenueServer;
  readonly url: string;
  readonly client: HttpVenueClient;
}

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

async function serve(): Promise<Harness> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new FaultyVenue(replay, { ackLatencyMs: 1 });
  const server = await startPaperVenueServer({ venue, replay });
  const client = new HttpVenueClient({ baseUrl: server.url, retryInitialMs: 10, retryMaxMs: 50, pollWaitMs: 1000 });
  open.push(venue, server, client);
  return { replay, venue, server, url: server.url, client };
}

async function call(
  url: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; body: any; type: string | null }> {
  const response = await fetch(`${url}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          body: typeof body === 'string' ? body : JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? null : JSON.parse(text),
    type: response.headers.get('content-type'),
  };
}

let sequence = 0;
const submitBody = (fields: Record<string, unknown> = {}) => {
  sequence += 1;
  return {
    clientOrderId: `s-${sequence}`,
    symbol: 'SPY',
    side: 'buy',
    type: 'market',
    timeInForce: 'day',
    quantity: '100',
    limitPrice: null,
    stopPrice: null,
    ...fields,
  };
};

describe('paper venue HTTP server', () => {
  it('takes an order (201 record with decimal strings), then lists it, its fills and finds it by client order id', async () => {
    const { url, venue } = await serve();
    const created = await call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'http-1', quantity: '10' }));
    expect(created.status).toBe(201);
    expect(created.type).toBe('application/json');
    expect(created.body).toMatchObject({ clientOrderId: 'http-1', status: 'new', quantity: '10', symbol: 'SPY' });
    expect(created.body.brokerOrderId).toEqual(expect.any(String));

    const found = await call(url, 'GET', '/v1/orders:by_client_order_id?client_order_id=http-1');
    expect(found.status).toBe(200);
    expect(found.body).toEqual(venue.orderRecord('http-1')); // filled on arrival, with its fill
    expect(found.body.status).toBe('filled');
    expect((await call(url, 'GET', '/v1/orders?since=0')).body).toEqual([found.body]);
    expect((await call(url, 'GET', `/v1/orders?since=${Date.now() + 60_000}`)).body).toEqual([]);
    const fills = await call(url, 'GET', '/v1/fills?since=0');
    expect(fills.body).toEqual(venue.fillRecords(0));
    expect(fills.body[0]).toMatchObject({ clientOrderId: 'http-1', quantity: '10' });
    expect(await call(url, 'GET', '/v1/orders:by_client_order_id?client_order_id=nobody')).toMatchObject({
      status: 404,
      body: { code: 'not_found' },
    });
  });

  it('answers 422 with the venue message for a refused order, cancel or replace', async () => {
    const { url } = await serve();
    const body = submitBody({ type: 'limit', limitPrice: '100' });
    const first = await call(url, 'POST', '/v1/orders', body);
    expect(await call(url, 'POST', '/v1/orders', body)).toEqual({
      status: 422,
      type: 'application/json',
      body: { code: 'rejected', message: 'duplicate client order id' },
    });
    const id = first.body.brokerOrderId as string;
    expect(await call(url, 'DELETE', `/v1/orders/${id}?client_order_id=${body.clientOrderId}`)).toMatchObject({
      status: 202,
    });
    expect(await call(url, 'DELETE', `/v1/orders/${id}?client_order_id=${body.clientOrderId}`)).toMatchObject({
      status: 422,
      body: { code: 'rejected', message: 'order already canceled' },
    });
    expect(
      await call(url, 'PATCH', `/v1/orders/${id}`, {
        clientOrderId: body.clientOrderId,
        newClientOrderId: 'x',
        quantity: '5',
      }),
    ).toMatchObject({ status: 422, body: { message: 'order already canceled' } });
  });

  it('answers 400 with a JSON error, never 500, for bad input', async () => {
    const { url, venue } = await serve();
    const bad = [
      await call(url, 'POST', '/v1/orders', '{"clientOrderId": '),
      await call(url, 'POST', '/v1/orders', ''),
      await call(url, 'POST', '/v1/orders', '[]'),
      await call(url, 'POST', '/v1/orders', submitBody({ quantity: 100 })),
      await call(url, 'POST', '/v1/orders', submitBody({ quantity: '1e3' })),
      await call(url, 'POST', '/v1/orders', submitBody({ side: 'short' })),
      await call(url, 'POST', '/v1/orders', { symbol: 'SPY' }),
      await call(url, 'PATCH', '/v1/orders/abc', { clientOrderId: 'a' }),
      await call(url, 'DELETE', '/v1/orders/abc'),
      await call(url, 'GET', '/v1/orders?since=yesterday'),
      await call(url, 'GET', '/v1/reports'),
      await call(url, 'GET', '/v1/reports?after=-2'),
      await call(url, 'POST', '/v1/test/faults', { kind: 'gremlins' }),
      await call(url, 'POST', '/v1/test/faults', { kind: 'ack_lost', rate: 2 }),
      await call(url, 'POST', '/v1/test/orders/x/fill', { quantity: 'lots' }),
    ];
    for (const answer of bad) {
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'bad_request', message: expect.any(String) });
    }
    expect(bad[0]!.body.message).toBe('the body is not valid JSON');
    expect(venue.receivedOrders()).toEqual([]);
    expect(await call(url, 'GET', '/v1/nothing')).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await call(url, 'PUT', '/v1/orders')).toMatchObject({ status: 405 });
  });

  it('realises the answer faults over HTTP: dropped connection, 500, 200 without id, reset before acting, late answer', async () => {
    const { url, venue } = await serve();
    const add = async (rule: Record<string, unknown>) => {
      const added = await call(url, 'POST', '/v1/test/faults', { remaining: 1, ...rule });
      expect(added.status).toBe(201);
      return added.body.id as string;
    };

    await add({ kind: 'ack_lost' });
    await expect(call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'lost' }))).rejects.toThrow(TypeError);
    expect(venue.orderRecord('lost')).toMatchObject({ status: 'filled' });

    await add({ kind: 'error_after_accept' });
    expect(await call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'e500' }))).toMatchObject({
      status: 500,
      body: { code: 'internal' },
    });
    expect(venue.orderRecord('e500')).not.toBeNull();

    await add({ kind: 'accepted_without_id' });
    const noId = await call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'noid' }));
    expect(noId.status).toBe(200);
    expect(noId.body).toMatchObject({ clientOrderId: 'noid', status: 'new' });
    expect(noId.body).not.toHaveProperty('brokerOrderId');
    expect(venue.orderRecord('noid')).not.toBeNull();

    await add({ kind: 'connection_reset' });
    await expect(call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'reset' }))).rejects.toThrow(TypeError);
    expect(venue.orderRecord('reset')).toBeNull();

    await add({ kind: 'ack_delay', delayMs: 150 });
    const started = Date.now();
    expect(await call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'slow' }))).toMatchObject({
      status: 201,
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);

    const received = await call(url, 'GET', '/v1/test/received');
    expect(received.body.map((c: { clientOrderId: string }) => c.clientOrderId)).toEqual([
      'lost',
      'e500',
      'noid',
      'slow',
    ]);
    expect(received.body[0]).toMatchObject({ quantity: '100', limitPrice: null, side: 'buy' });
    const fired = await call(url, 'GET', '/v1/test/fired-faults');
    expect(fired.body.map((f: { kind: string }) => f.kind)).toEqual([
      'ack_lost',
      'error_after_accept',
      'accepted_without_id',
      'connection_reset',
      'ack_delay',
    ]);
    expect((await call(url, 'GET', '/v1/test/faults')).body).toEqual([]);
  });

  it('long-polls the report log: after=-1 at once, waits for the first new report, and times out empty', async () => {
    const { url } = await serve();
    const now = await call(url, 'GET', '/v1/reports?after=-1&wait_ms=5000');
    expect(now.body).toEqual({ logId: expect.any(String), lastSeq: 0, reports: [] });

    const started = Date.now();
    const waiting = call(url, 'GET', '/v1/reports?after=0&wait_ms=5000');
    await new Promise((resolve) => setTimeout(resolve, 100));
    await call(url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'poll', type: 'limit', limitPrice: '100' }));
    const page = await waiting;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(page.body.reports).toEqual([
      {
        seq: 1,
        report: expect.objectContaining({ execType: 'new', clientOrderId: 'poll', leavesQuantity: '100' }),
      },
    ]);
    expect(page.body.lastSeq).toBe(1);
    expect(page.body.logId).toBe(now.body.logId);

    const quiet = Date.now();
    expect((await call(url, 'GET', '/v1/reports?after=1&wait_ms=150')).body).toMatchObject({
      lastSeq: 1,
      reports: [],
    });
    expect(Date.now() - quiet).toBeGreaterThanOrEqual(140);
    // A seq beyond the log (another process's) is answered at once.
    const beyond = Date.now();
    expect((await call(url, 'GET', '/v1/reports?after=99&wait_ms=5000')).body).toMatchObject({ lastSeq: 1 });
    expect(Date.now() - beyond).toBeLessThan(1_000);
    expect((await call(url, 'GET', '/v1/reports?after=0')).body.reports).toHaveLength(1);
  });

  it('drives fills, late fills, faults and the replay through the test routes', async () => {
    const { url, venue, replay } = await serve();
    const placed = await call(
      url,
      'POST',
      '/v1/orders',
      submitBody({ clientOrderId: 'hook', type: 'limit', limitPrice: '150' }),
    );
    const filled = await call(url, 'POST', '/v1/test/orders/hook/fill', { quantity: '30' });
    expect(filled).toMatchObject({ status: 200, body: { status: 'partially_filled', filledQuantity: '30' } });
    expect(filled.body.fills[0]).toMatchObject({ price: '150', quantity: '30' });
    expect(await call(url, 'POST', '/v1/test/orders/hook/fill', { quantity: '71' })).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
    expect(await call(url, 'POST', '/v1/test/orders/ghost/fill', { quantity: '1' })).toMatchObject({ status: 404 });
    await call(url, 'DELETE', `/v1/orders/${placed.body.brokerOrderId}?client_order_id=hook`);
    expect(await call(url, 'POST', '/v1/test/orders/hook/late-fill', { quantity: '5', price: '149.5' })).toMatchObject({
      status: 200,
      body: { status: 'canceled', filledQuantity: '35' },
    });

    const id = (await call(url, 'POST', '/v1/test/faults', { kind: 'duplicate_reports', match: { symbol: 'SPY' } }))
      .body.id;
    expect((await call(url, 'GET', '/v1/test/faults')).body).toEqual([
      { id, kind: 'duplicate_reports', match: { symbol: 'SPY' } },
    ]);
    expect(await call(url, 'DELETE', `/v1/test/faults/${id}`)).toMatchObject({ status: 204 });
    expect(await call(url, 'DELETE', `/v1/test/faults/${id}`)).toMatchObject({ status: 404 });
    await call(url, 'POST', '/v1/test/faults', { kind: 'ack_lost' });
    expect(await call(url, 'DELETE', '/v1/test/faults')).toMatchObject({ status: 204 });
    expect(venue.faults()).toEqual([]);

    expect((await call(url, 'GET', '/v1/test/replay')).body).toMatchObject({ timeOfDay: '09:30:05.000' });
    expect(await call(url, 'POST', '/v1/test/replay/step', { to: '09:31:00' })).toMatchObject({
      status: 200,
      body: { timeOfDay: '09:31:00.000' },
    });
    expect(replay.state().timeOfDay).toBe('09:31:00.000');
    expect(await call(url, 'POST', '/v1/test/replay/step', { to: '11:00:00' })).toMatchObject({ status: 400 });
  });

  it('lists received replaces and answers a replace with the new order', async () => {
    const { url } = await serve();
    const placed = await call(
      url,
      'POST',
      '/v1/orders',
      submitBody({ clientOrderId: 'r1', type: 'limit', limitPrice: '150' }),
    );
    const replaced = await call(url, 'PATCH', `/v1/orders/${placed.body.brokerOrderId}`, {
      clientOrderId: 'r1',
      newClientOrderId: 'r2',
      quantity: '60',
      limitPrice: '151',
    });
    expect(replaced).toMatchObject({
      status: 200,
      body: { order: { clientOrderId: 'r2', quantity: '60', limitPrice: '151', status: 'new' } },
    });
    expect(replaced.body.order.brokerOrderId).not.toBe(placed.body.brokerOrderId);
    expect((await call(url, 'GET', '/v1/test/received-replaces')).body).toEqual([
      {
        clientOrderId: 'r1',
        brokerOrderId: placed.body.brokerOrderId,
        newClientOrderId: 'r2',
        quantity: '60',
        limitPrice: '151',
        stopPrice: null,
      },
    ]);
    expect((await call(url, 'GET', '/v1/orders:by_client_order_id?client_order_id=r1')).body.status).toBe('replaced');
  });

  it('ends pending long polls and drops connections when it closes; a new server can serve the same log', async () => {
    const { url, venue, server } = await serve();
    const log = server.reportLog;
    const pending = call(url, 'GET', '/v1/reports?after=0&wait_ms=20000');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await server.close();
    await pending.then(
      (answer) => expect(answer.body.reports).toEqual([]),
      (error: unknown) => expect(error).toBeInstanceOf(TypeError),
    );
    expect(Date.now() - started).toBeLessThan(2_000);

    const shared = new ReportLog(venue);
    const again = await startPaperVenueServer({ venue, reportLog: shared });
    open.push(again, shared);
    await call(again.url, 'POST', '/v1/orders', submitBody({ clientOrderId: 'again' }));
    expect((await call(again.url, 'GET', '/v1/reports?after=0')).body.reports).toHaveLength(2);
    expect(log.lastSeq).toBe(0); // the closed server's own log stopped recording
  });

  it('reads its environment with the gateway defaults', () => {
    const config = loadPaperVenueConfig({});
    expect(config).toMatchObject({
      port: 0,
      host: '127.0.0.1',
      spxwDate: '20210104',
      speed: 1,
      startTime: '09:30:00',
      ackLatencyMs: 5,
      latency: { minMs: 0, maxMs: 0 },
      seed: null,
    });
    expect(config.marketDataDir).toBe(resolveMarketDataDir(repoRoot, {}));
    expect(
      loadPaperVenueConfig({
        PORT: '4010',
        PAPER_SPEED: '0',
        VENUE_LATENCY_MIN_MS: '0',
        VENUE_LATENCY_MAX_MS: '2000',
        VENUE_SEED: '7',
        PAPER_MARKET_DATA_DIR: '/data/market',
      }),
    ).toMatchObject({
      port: 4010,
      speed: 0,
      latency: { minMs: 0, maxMs: 2000 },
      seed: 7,
      marketDataDir: '/data/market',
    });
    expect(() => loadPaperVenueConfig({ PAPER_START_TIME: '9am' })).toThrow(/PAPER_START_TIME/);
    expect(() => loadPaperVenueConfig({ VENUE_LATENCY_MIN_MS: '10', VENUE_LATENCY_MAX_MS: '5' })).toThrow(
      /VENUE_LATENCY_MAX_MS/,
    );
  });

  it('serves HttpVenueClient: a submit through the client is the order the venue has', async () => {
    const { client, venue } = await serve();
    const result = await client.submitOrder({
      clientOrderId: 'via-client',
      symbol: 'SPY',
      side: 'sell',
      type: 'limit',
      timeInForce: 'gtc',
      quantity: new Decimal('12.5'),
      limitPrice: new Decimal('170.25'),
      stopPrice: null,
    });
    expect(result).toMatchObject({ kind: 'accepted' });
    expect(venue.receivedOrders()[0]).toMatchObject({ timeInForce: 'gtc', side: 'sell' });
    expect(venue.receivedOrders()[0]!.quantity.toFixed()).toBe('12.5');
    expect(venue.receivedOrders()[0]!.limitPrice!.toFixed()).toBe('170.25');
    await vi.waitFor(() => expect(venue.orderRecord('via-client')).toMatchObject({ resting: true }));
  });
});
