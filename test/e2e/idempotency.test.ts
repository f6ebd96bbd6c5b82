import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectProblem, orderWhen, sleep, sqlCount, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { dec, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';

/**
 * clientOrderId is the idempotency key (API.md "Orders"): a retry never makes a second order, neither in
 * the gateway's `orders` table nor at the venue (`paper_venue_orders`, keyed by the gateway's order id,
 * which the gateway sends as the venue's client order id).
 */
let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let accountId: string;
let prefix: string;
const AT = parseTime('09:30:10');
const ACK_MS = 300;
const quote = quoteAt(loadSpyQuotes(), AT)!;

const ordersPath = () => `/v1/accounts/${accountId}/orders`;
const gatewayOrders = (clientOrderId: string) =>
  sqlCount(db.dataSource, 'SELECT count(*) AS n FROM orders WHERE account_id = $1 AND client_order_id = $2', [
    accountId,
    clientOrderId,
  ]);
const venueOrders = (orderId: string) =>
  sqlCount(db.dataSource, 'SELECT count(*) AS n FROM paper_venue_orders WHERE client_order_id = $1', [orderId]);

beforeAll(async () => {
  db = await createTestDatabase();
  // A venue that takes 300 ms to answer, so that "the first request is still running" is observable.
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: (prefix = redisPrefix()),
    PAPER_ACK_LATENCY_MS: String(ACK_MS),
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  const admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  await stepReplay(admin, AT);
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('idempotent order placement (clientOrderId)', () => {
  it('answers the same POST twice with 201 then 200 and the same order; the venue saw one order', async () => {
    const body = { clientOrderId: 'idem-1', symbol: 'SPY', side: 'buy', quantity: '5', type: 'market' };
    const first = await api.post(ordersPath(), body);
    expect(first.status).toBe(201);
    const id = first.body.id as string;
    const filled = await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
    expect(filled.averageFillPrice).toBe(dec(quote.ask));

    const second = await api.post(ordersPath(), body);
    expect(second.status).toBe(200);
    // The original order, as it is now ("whatever happened since").
    expect(second.body).toMatchObject({ id, clientOrderId: 'idem-1', status: 'filled', filledQuantity: '5' });

    // The same body spelled differently (an explicit default) is the same request.
    const third = await api.post(ordersPath(), { ...body, timeInForce: 'day' });
    expect(third.status).toBe(200);
    expect(third.body.id).toBe(id);

    await eventually(async () => (await venueOrders(id)) === 1, 5_000, 'the venue order');
    await sleep(200);
    expect(await venueOrders(id)).toBe(1);
    expect(await gatewayOrders('idem-1')).toBe(1);
    expect(
      (await api.get(`/v1/accounts/${accountId}/executions`)).body.executions.filter((x: any) => x.orderId === id),
    ).toHaveLength(1);
    // Only one order's events: the retries appended nothing.
    const events = (await allEvents(api, accountId)).filter((e) => e.order.clientOrderId === 'idem-1');
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'new', 'filled']);
  });

  it('refuses the same clientOrderId with a different body: 422 idempotency.key_reused, nothing written', async () => {
    const body = { clientOrderId: 'idem-2', symbol: 'SPY', side: 'buy', quantity: '3', type: 'market' };
    const first = await api.post(ordersPath(), body);
    expect(first.status).toBe(201);
    await orderWhen(api, accountId, first.body.id, (o) => o.status === 'filled', 'filled');
    const eventsBefore = (await allEvents(api, accountId)).length;

    for (const changed of [
      { ...body, quantity: '4' },
      { ...body, side: 'sell' },
      { ...body, type: 'limit', limitPrice: dec(quote.bid) },
    ]) {
      const res = await api.post(ordersPath(), changed);
      expectProblem(res, 422, 'idempotency.key_reused');
    }
    expect(await gatewayOrders('idem-2')).toBe(1);
    expect(await venueOrders(first.body.id)).toBe(1);
    expect((await allEvents(api, accountId)).length).toBe(eventsBefore);
    // The original is untouched.
    const original = (await api.get(`${ordersPath()}/${first.body.id}`)).body;
    expect(original).toMatchObject({ quantity: '3', side: 'buy', type: 'market' });
  });

  it('makes exactly one order out of 20 concurrent identical POSTs; every answer is 201, 200 or 409 in_progress', async () => {
    const body = {
      clientOrderId: 'idem-race-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '7',
      type: 'limit',
      limitPrice: dec(quote.bid.minus('0.05')),
    };
    const answers = await Promise.all(Array.from({ length: 20 }, () => api.post(ordersPath(), body)));
    const statuses = answers.map((a) => a.status);
    for (const a of answers) {
      expect([200, 201, 409], JSON.stringify(a.body)).toContain(a.status);
      if (a.status === 409) {
        expectProblem(a, 409, 'idempotency.in_progress');
      }
    }
    expect(
      statuses.filter((s) => s === 201),
      `statuses ${statuses.join(',')}`,
    ).toHaveLength(1);
    // The venue answers after 300 ms, so the duplicates that arrive meanwhile are told to retry.
    expect(statuses.filter((s) => s === 409).length, `statuses ${statuses.join(',')}`).toBeGreaterThan(0);
    const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body.id));
    expect(ids.size).toBe(1);
    const [id] = [...ids] as [string];

    expect(await gatewayOrders('idem-race-1')).toBe(1);
    await eventually(async () => (await venueOrders(id)) === 1, 5_000, 'the venue order');
    await sleep(200);
    expect(await venueOrders(id)).toBe(1);
    const order = await orderWhen(api, accountId, id, (o) => o.status === 'new', 'new');
    expect(order).toMatchObject({ clientOrderId: 'idem-race-1', quantity: '7', filledQuantity: '0' });
    // A retry after the race answers 200 with the same order.
    const retry = await api.post(ordersPath(), body);
    expect(retry.status).toBe(200);
    expect(retry.body.id).toBe(id);
    const events = (await allEvents(api, accountId)).filter((e) => e.order.clientOrderId === 'idem-race-1');
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'new']);
  });

  it('answers 409 idempotency.in_progress to a retry while the first request is still at the venue, then 200', async () => {
    const body = { clientOrderId: 'idem-inflight-1', symbol: 'SPY', side: 'buy', quantity: '2', type: 'market' };
    const first = api.post(ordersPath(), body);
    await eventually(async () => (await gatewayOrders('idem-inflight-1')) === 1, 2_000, 'the durable intent');
    const during = await api.post(ordersPath(), body);
    const problem = expectProblem(during, 409, 'idempotency.in_progress');
    const created = await first;
    expect(created.status).toBe(201);
    expect(problem.orderId).toBe(created.body.id);
    const after = await api.post(ordersPath(), body);
    expect(after.status).toBe(200);
    expect(after.body.id).toBe(created.body.id);
    expect(await gatewayOrders('idem-inflight-1')).toBe(1);
  });

  it('makes exactly one order when the identical POSTs are spread over two gateway instances', async () => {
    const other = await startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      PAPER_ACK_LATENCY_MS: String(ACK_MS),
      // A second in-process venue on purpose: the gateway's own de-duplication is what is under test.
      PAPER_VENUE_EXCLUSIVE: 'false',
    });
    try {
      const body = { clientOrderId: 'idem-two-instances', symbol: 'SPY', side: 'buy', quantity: '4', type: 'market' };
      const viaOther = new Api(other.url, gw.traderToken);
      const answers = await Promise.all(
        Array.from({ length: 16 }, (_, i) => (i % 2 === 0 ? api : viaOther).post(ordersPath(), body)),
      );
      const statuses = answers.map((a) => a.status);
      expect(
        statuses.filter((s) => s === 201),
        `statuses ${statuses.join(',')}`,
      ).toHaveLength(1);
      for (const a of answers) {
        expect([200, 201, 409], JSON.stringify(a.body)).toContain(a.status);
      }
      const ids = new Set(answers.filter((a) => a.status < 300).map((a) => a.body.id));
      expect(ids.size).toBe(1);
      const [id] = [...ids] as [string];
      expect(await gatewayOrders('idem-two-instances')).toBe(1);
      await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
      await sleep(200);
      expect(await venueOrders(id)).toBe(1);
    } finally {
      await other.stop();
    }
  });

  it('finds the order by clientOrderId (zero or one)', async () => {
    const found = await api.get(`${ordersPath()}?clientOrderId=idem-race-1`);
    expect(found.status).toBe(200);
    expect(found.body.orders).toHaveLength(1);
    expect(found.body.orders[0]).toMatchObject({ clientOrderId: 'idem-race-1' });
    const none = await api.get(`${ordersPath()}?clientOrderId=never-used`);
    expect(none.status).toBe(200);
    expect(none.body.orders).toEqual([]);
  });
});
