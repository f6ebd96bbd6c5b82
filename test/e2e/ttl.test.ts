import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D } from '../support/market-data.js';

/**
 * `ttlMs` (API.md): an order still working after ttlMs is canceled, at the venue too; the deadline is
 * kept in PostgreSQL and re-armed when the gateway starts again.
 */
let db: TestDatabase;
let prefix: string;
let gw: GatewayProcess | undefined;

const start = () => startGatewayProcess({ DATABASE_URL: db.url, REDIS_PREFIX: prefix, PAPER_START_TIME: '09:30:10' });

beforeAll(async () => {
  db = await createTestDatabase();
  prefix = redisPrefix();
  gw = await start();
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
});

async function placePassive(api: Api, accountId: string, clientOrderId: string, ttlMs: number) {
  const quote = (await api.get('/v1/quotes/SPY')).body;
  const limitPrice = new D(quote.bid).minus('0.5').toFixed(2); // far below the market: rests
  const res = await api.post(`/v1/accounts/${accountId}/orders`, {
    clientOrderId,
    symbol: 'SPY',
    side: 'buy',
    quantity: '5',
    type: 'limit',
    limitPrice,
    ttlMs,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  expect(res.body.status).toBe('new');
  return res.body;
}

async function venueRecord(brokerOrderId: string): Promise<{ status: string; updatedAt: number }> {
  const rows: { record: { status: string; updatedAt: number } }[] = await db.dataSource.query(
    'SELECT record FROM paper_venue_orders WHERE broker_order_id = $1',
    [brokerOrderId],
  );
  return rows[0]!.record;
}

describe('order time to live', () => {
  // The 250 ms target of a 200 ms ttl is a latency figure; here the bound is loose so a loaded CI machine
  // cannot make the test flaky, and the lower bound proves the order was not canceled early.
  it('cancels a passive order at the venue once its ttlMs has passed', async () => {
    const api = new Api(gw!.url, gw!.traderToken);
    const order = await placePassive(api, gw!.accountId, 'ttl-200', 200);
    const canceled = await orderWhen(api, gw!.accountId, order.id, (o) => o.status === 'canceled', 'ttl cancel');
    expect(canceled.filledQuantity).toBe('0');
    const record = await venueRecord(order.brokerOrderId);
    expect(record.status).toBe('canceled');
    // The venue's own clock stamps the cancel: measured from the durable intent.
    expect(record.updatedAt - Date.parse(order.createdAt)).toBeGreaterThanOrEqual(200);
    expect(record.updatedAt - Date.parse(order.createdAt)).toBeLessThan(1_000);
  });

  it('leaves an order without ttlMs working', async () => {
    const api = new Api(gw!.url, gw!.traderToken);
    const quote = (await api.get('/v1/quotes/SPY')).body;
    const res = await api.post(`/v1/accounts/${gw!.accountId}/orders`, {
      clientOrderId: 'no-ttl',
      symbol: 'SPY',
      side: 'buy',
      quantity: '5',
      type: 'limit',
      limitPrice: new D(quote.bid).minus('0.5').toFixed(2),
    });
    await new Promise((r) => setTimeout(r, 400));
    expect((await api.get(`/v1/accounts/${gw!.accountId}/orders/${res.body.id}`)).body.status).toBe('new');
  });

  // 6 s: longer than a restart under CI load (a start took over 2.5 s once), so the order is still new after it.
  it('still fires a pending deadline after the gateway is killed and started again', async () => {
    let api = new Api(gw!.url, gw!.traderToken);
    const order = await placePassive(api, gw!.accountId, 'ttl-restart', 6_000);
    await gw!.stop('SIGKILL');
    gw = await start();
    api = new Api(gw.url, gw.traderToken);
    // On a busy machine the restart can outlast the deadline; then the re-armed deadline fires at once.
    const status = (await api.get(`/v1/accounts/${gw.accountId}/orders/${order.id}`)).body.status;
    if (Date.now() - Date.parse(order.createdAt) < 5_000) {
      expect(status).toBe('new');
    }
    const canceled = await orderWhen(
      api,
      gw.accountId,
      order.id,
      (o) => o.status === 'canceled',
      'ttl cancel after restart',
    );
    expect(Date.parse(canceled.updatedAt) - Date.parse(order.createdAt)).toBeGreaterThanOrEqual(6_000);
    expect((await venueRecord(order.brokerOrderId)).status).toBe('canceled');
  });
});
