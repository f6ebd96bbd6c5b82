import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectConsecutive, expectProblem, orderWhen, sleep, sqlCount } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D } from '../support/market-data.js';

/**
 * Orders whose outcome the gateway cannot know yet (ARCHITECTURE.md, steps 4–5): a venue slower than
 * the submit timeout makes `unknown` orders; they are never resubmitted, block entries in their symbol,
 * and are settled by the venue's own evidence, never by a guess. Cancels asked for before the venue's
 * acknowledgement are sent once the order works.
 */
let db: TestDatabase;
let gw: GatewayProcess | undefined;
let api: Api;
let accountId: string;

const ORDERS = () => `/v1/accounts/${accountId}/orders`;
const market = (clientOrderId: string, extra: Record<string, unknown> = {}) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  quantity: '3',
  type: 'market',
  ...extra,
});
const venueReceived = (orderId: string) =>
  sqlCount(db.dataSource, 'SELECT count(*) AS n FROM paper_venue_orders WHERE client_order_id = $1', [orderId]);

/** Waits until no order of the account is unknown (an unknown order blocks entries in its symbol). */
async function settled(): Promise<void> {
  await eventually(
    async () =>
      (await api.get(`${ORDERS()}?status=open&limit=500`)).body.orders.every((o: any) => o.status !== 'unknown'),
    10_000,
    'unknown orders to settle',
  );
}

async function startWith(env: Record<string, string>): Promise<void> {
  await gw?.stop('SIGKILL');
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: '09:30:05',
    ...env,
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
}

beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
});

describe('a venue slower than the submit timeout', () => {
  beforeAll(() => startWith({ PAPER_ACK_LATENCY_MS: '1500', BROKER_SUBMIT_TIMEOUT_MS: '300' }));

  it('answers unknown, blocks entries in the symbol, sends once, then settles to the venue truth', async () => {
    const placed = await api.post(ORDERS(), market('slow-1'));
    expect(placed.status).toBe(201);
    expect(placed.body.status).toBe('unknown');

    const blocked = await api.post(ORDERS(), market('slow-2'));
    const problem = expectProblem(blocked, 422, 'risk.entries_blocked');
    expect(problem.detail).toContain(placed.body.id);
    const other = await api.post(ORDERS(), market('other-symbol', { symbol: 'SPXW  210104C03700000', quantity: '1' }));
    expect(other.status, 'other symbols are not blocked').toBe(201);

    const filled = await orderWhen(api, accountId, placed.body.id, (o) => o.status === 'filled', 'the late fill');
    expect(filled.filledQuantity).toBe('3');
    expect(await venueReceived(placed.body.id), 'never resubmitted').toBe(1);
    const events = (await allEvents(api, accountId)).filter((e) => e.order.id === placed.body.id);
    expect(events.map((e) => e.event)).toEqual(['pending_new', 'unknown', 'new', 'filled']);

    const retry = await api.post(ORDERS(), market('slow-2'));
    expect(retry.status, 'the denied retry answers the same denial').toBe(422);
    await eventually(
      async () => (await api.post(ORDERS(), market('slow-3'))).status === 201,
      5_000,
      'entries unblocked',
    );
    await settled();
  });

  it('records a cancel asked for before the acknowledgement and sends it once the order works', async () => {
    const quote = (await api.get('/v1/quotes/SPY')).body;
    const body = market('cancel-early', { type: 'limit', limitPrice: new D(quote.bid).minus('0.5').toFixed(2) });
    const inFlight = api.post(ORDERS(), body);
    const [pending] = await eventually(async () => {
      const found = (await api.get(`${ORDERS()}?clientOrderId=cancel-early`)).body.orders;
      return found.length === 1 ? found : null;
    });
    const cancel = await api.delete(`${ORDERS()}/${pending.id}`);
    expect(cancel.status).toBe(202);
    expect(['pending_new', 'unknown']).toContain(cancel.body.status);
    expect(cancel.body.cancelRequestedAt).not.toBeNull();
    await inFlight;
    await settled();
    const canceled = await orderWhen(api, accountId, pending.id, (o) => o.status === 'canceled', 'the deferred cancel');
    expect(canceled.filledQuantity).toBe('0');
    const rows: { record: { status: string } }[] = await db.dataSource.query(
      'SELECT record FROM paper_venue_orders WHERE client_order_id = $1',
      [pending.id],
    );
    expect(rows[0]!.record.status, 'canceled at the venue').toBe('canceled');
  });

  it('cancels an order whose time to live ends before the venue acknowledged it', async () => {
    const quote = (await api.get('/v1/quotes/SPY')).body;
    const res = await api.post(
      ORDERS(),
      market('ttl-early', { type: 'limit', limitPrice: new D(quote.bid).minus('0.5').toFixed(2), ttlMs: 100 }),
    );
    expect(res.body.status).toBe('unknown');
    await orderWhen(api, accountId, res.body.id, (o) => o.status === 'canceled', 'the ttl cancel');
    await settled();
  });

  it('keeps the per-account seq gapless through all of it', async () => {
    expectConsecutive(await allEvents(api, accountId), 1);
  });
});

describe('a "never received" settlement that the venue later contradicts', () => {
  // The sweep may settle an unknown order as never sent once the window has passed (here the minimum:
  // the submit timeout + 1 s); a venue slower still then acknowledges and fills it. Fills are
  // authoritative: the order is restated from the evidence, and the position follows the fills.
  beforeAll(() =>
    startWith({ PAPER_ACK_LATENCY_MS: '3500', BROKER_SUBMIT_TIMEOUT_MS: '200', RECONCILE_MISSING_AFTER_MS: '0' }),
  );

  it('restates the order and applies the fill to the order and the position alike', async () => {
    const before = (await api.get(`/v1/accounts/${accountId}/positions`)).body.positions.find(
      (p: any) => p.symbol === 'SPY',
    );
    const placed = await api.post(ORDERS(), market('contradicted'));
    expect(placed.body.status).toBe('unknown');
    const rejected = await orderWhen(api, accountId, placed.body.id, (o) => o.status === 'rejected', 'not_submitted');
    expect(rejected.rejectReason.code).toBe('not_submitted');
    const filled = await orderWhen(api, accountId, placed.body.id, (o) => o.status === 'filled', 'the restatement');
    expect(filled.filledQuantity).toBe('3');
    const after = (await api.get(`/v1/accounts/${accountId}/positions`)).body.positions.find(
      (p: any) => p.symbol === 'SPY',
    );
    expect(new D(after.quantity).minus(before?.quantity ?? '0').toFixed()).toBe('3');
    const executions = (await api.get(`/v1/accounts/${accountId}/executions?limit=1000`)).body.executions;
    expect(executions.filter((e: any) => e.orderId === placed.body.id).map((e: any) => e.quantity)).toEqual(['3']);
    expect(gw!.output()).toContain('rejection_contradicted');
  });
});

describe('input the cancel route must refuse', () => {
  it('answers 404 for an order id that is not one', async () => {
    for (const id of ['not-a-uuid', '12345']) {
      expectProblem(await api.delete(`${ORDERS()}/${id}`), 404, 'order.not_found');
    }
  });

  it('answers 422 when the venue refuses the cancel (an instance whose paper venue never had the order)', async () => {
    const first = gw!;
    const second = await startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: redisPrefix(),
      PAPER_START_TIME: '09:30:05',
      // The split on purpose: a venue of its own that never had the first instance's order.
      PAPER_VENUE_EXCLUSIVE: 'false',
    });
    try {
      const quote = (await api.get('/v1/quotes/SPY')).body;
      const placed = await api.post(
        ORDERS(),
        market('elsewhere', { type: 'limit', limitPrice: new D(quote.bid).minus('0.5').toFixed(2) }),
      );
      await orderWhen(api, accountId, placed.body.id, (o) => o.status === 'new', 'ack');
      const viaSecond = new Api(second.url, first.traderToken);
      const refused = await viaSecond.delete(`${ORDERS()}/${placed.body.id}`);
      const problem = expectProblem(refused, 422, 'order.not_cancelable');
      expect(problem.detail).toMatch(/refused/);
      await sleep(100);
      expect((await api.get(`${ORDERS()}/${placed.body.id}`)).body.status, 'still working').toBe('new');
    } finally {
      await second.stop('SIGKILL');
    }
  });
});
