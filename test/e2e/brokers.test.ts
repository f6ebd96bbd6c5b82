import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, sleep } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually, type JsonResponse } from '../support/http.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * One deployment, two brokers (README, "Brokers"): `paper` is the paper venue inside the gateway, `alpaca`
 * a paper-venue process over HTTP standing in for Alpaca (`BROKER_ALPACA_ADAPTER=paper-http`). An admin
 * creates an account on each broker over REST, both trade concurrently through one gateway, each order
 * reaching its own broker only; stopping the `alpaca` process blocks entries on its accounts only, with
 * the reason, while the paper account keeps trading; once the process is back and the reconnect
 * reconciliation has passed its accounts cleanly, entries are allowed again (in SPY once risk staff have
 * acknowledged the position break the restarted venue, which lost its book, makes).
 */
const START_TIME = '09:30:10';
const ORDERS_EACH = 8;

let venue: VenueProcess | undefined;
let venuePort: string;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;
let paperAccount: string;
let alpacaAccount: string;

beforeAll(async () => {
  venue = await startVenueProcess({ PAPER_START_TIME: START_TIME });
  venuePort = new URL(venue.url).port;
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,alpaca',
    BROKER_ALPACA_ADAPTER: 'paper-http',
    BROKER_ALPACA_URL: venue.url,
  });
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-trader', '--role', 'trader', '--account', '*']));
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await venue?.stop();
  await db?.drop();
});

const ordersPath = (accountId: string) => `/v1/accounts/${accountId}/orders`;
let n = 0;
const buy = () => ({ clientOrderId: `brokers-${++n}`, symbol: 'SPY', side: 'buy', quantity: '1', type: 'market' });

async function place(accountId: string): Promise<JsonResponse> {
  return trader.post(ordersPath(accountId), buy());
}

/** Places one market buy and waits for it to be filled (its fill reaches the gateway as a broker report). */
async function placeFilled(accountId: string): Promise<any> {
  const res = await place(accountId);
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return eventually(
    async () => {
      const order = (await trader.get(`${ordersPath(accountId)}/${res.body.id}`)).body;
      return order.status === 'filled' ? order : null;
    },
    10_000,
    `order ${res.body.id} filled`,
  );
}

describe('accounts at two brokers in one gateway', () => {
  it('creates an account on each configured broker over REST', async () => {
    const a = await admin.post('/v1/accounts', { name: 'at-paper', broker: 'paper', environment: 'paper' });
    expect(a.status, JSON.stringify(a.body)).toBe(201);
    expect(a.body).toMatchObject({
      name: 'at-paper',
      broker: 'paper',
      environment: 'paper',
      brokerAccountId: null,
      brokerConnection: null,
      tradingState: 'active',
      entriesBlocked: false,
    });
    const b = await admin.post('/v1/accounts', {
      name: 'at-alpaca',
      broker: 'alpaca',
      environment: 'paper',
      brokerAccountId: 'PA3EXAMPLE',
    });
    expect(b.status, JSON.stringify(b.body)).toBe(201);
    expect(b.body).toMatchObject({ broker: 'alpaca', brokerAccountId: 'PA3EXAMPLE', entriesBlocked: false });
    paperAccount = a.body.id;
    alpacaAccount = b.body.id;
    expect((await admin.get(`/v1/accounts/${alpacaAccount}`)).body).toEqual(b.body);
    // The alpaca broker here is a paper venue: it serves paper accounts only.
    const live = await admin.post('/v1/accounts', { name: 'live-alpaca', broker: 'alpaca', environment: 'live' });
    expectProblem(live, 422, 'account.environment_not_served');
  });

  it('trades both accounts concurrently, each order at its own broker and under its venue', async () => {
    const filled = await Promise.all(
      Array.from({ length: ORDERS_EACH }, () => [placeFilled(paperAccount), placeFilled(alpacaAccount)]).flat(),
    );
    const atAlpaca = filled.filter((o) => o.accountId === alpacaAccount).map((o) => o.id);
    const atPaper = filled.filter((o) => o.accountId === paperAccount).map((o) => o.id);
    expect(atAlpaca).toHaveLength(ORDERS_EACH);
    expect(atPaper).toHaveLength(ORDERS_EACH);
    // The alpaca process received exactly the alpaca account's orders.
    const received = (await venue!.received()).map((c: { clientOrderId: string }) => c.clientOrderId);
    expect([...received].sort()).toEqual([...atAlpaca].sort());
    // Executions carry their client's venue.
    const venues = await db!.dataSource.query(
      `SELECT account_id, array_agg(DISTINCT venue) AS venues, count(*)::int AS n FROM executions GROUP BY account_id`,
    );
    const byAccount = Object.fromEntries(venues.map((r: any) => [r.account_id, r]));
    expect(byAccount[paperAccount]).toMatchObject({ venues: ['paper'], n: ORDERS_EACH });
    expect(byAccount[alpacaAccount]).toMatchObject({ venues: ['alpaca'], n: ORDERS_EACH });
    const orderVenues = await db!.dataSource.query(
      `SELECT account_id, array_agg(DISTINCT venue) AS venues FROM orders GROUP BY account_id`,
    );
    expect(Object.fromEntries(orderVenues.map((r: any) => [r.account_id, r.venues]))).toMatchObject({
      [paperAccount]: ['paper'],
      [alpacaAccount]: ['alpaca'],
    });
  });

  it('blocks entries on the stopped broker’s accounts only, with the reason; the other keeps trading', async () => {
    await venue!.stop();
    const denied = await eventually(
      async () => {
        const res = await place(alpacaAccount);
        return res.status === 422 ? res : null;
      },
      15_000,
      'entries blocked on the alpaca account',
    );
    const problem = expectProblem(denied, 422, 'risk.entries_blocked');
    expect(problem.detail).toMatch(/broker alpaca is disconnected/);
    const account = (await trader.get(`/v1/accounts/${alpacaAccount}`)).body;
    expect(account).toMatchObject({ entriesBlocked: true, entriesBlockedReason: expect.stringMatching(/alpaca/) });
    expect((await trader.get(`/v1/accounts/${paperAccount}`)).body).toMatchObject({ entriesBlocked: false });
    // The paper account trades on while alpaca is down.
    for (let i = 0; i < 3; i++) {
      await placeFilled(paperAccount);
    }
    // Still blocked, and the denied orders never reached anything.
    expectProblem(await place(alpacaAccount), 422, 'risk.entries_blocked');
  });

  it('allows entries again once the broker is back and its accounts have been reconciled cleanly', async () => {
    await sleep(200);
    venue = await startVenueProcess({ PAPER_START_TIME: START_TIME, PORT: venuePort });
    const placeOnceReconciled = () =>
      eventually(
        async () => {
          const res = await place(alpacaAccount);
          if (res.status === 422 && res.body.code === 'risk.entries_blocked') {
            expect(res.body.detail).toMatch(
              /broker alpaca (is disconnected|reconnected; entries wait for a clean reconciliation)/,
            );
            await sleep(200);
            return null;
          }
          return res;
        },
        30_000,
        'entries allowed again on the alpaca account',
      );
    // The restarted venue process lost its book (it keeps it in memory only): the reconnect pass finds the
    // account's SPY position gone at the broker, a position break that denies entries in SPY until risk
    // staff acknowledge it (docs/reconciliation.md).
    const denied = await placeOnceReconciled();
    expect(denied.status, JSON.stringify(denied.body)).toBe(422);
    expect(denied.body.code).toBe('risk.position_break');
    expect(gw!.output()).toMatch(/broker reconnected and reconciled: entries allowed again/);
    const passes = (await trader.get(`/v1/accounts/${alpacaAccount}/reconciliation?limit=1`)).body.passes;
    expect(passes[0]).toMatchObject({ trigger: 'reconnect', outcome: 'breaks' });
    const [found] = passes[0].breaks;
    expect(found).toMatchObject({ kind: 'position', symbol: 'SPY', broker: '0', status: 'open' });
    const risk = new Api(gw!.url, await mintToken(db!.url, ['--sub', 'e2e-risk', '--role', 'risk', '--account', '*']));
    const ack = await risk.post(`/v1/accounts/${alpacaAccount}/reconciliation/breaks/${found.id}/acknowledge`, {
      reason: 'the venue process restarted without its book',
    });
    expect(ack.status, JSON.stringify(ack.body)).toBe(200);
    const order = await placeOnceReconciled();
    expect(order.status, JSON.stringify(order.body)).toBe(201);
    await eventually(
      async () => (await trader.get(`${ordersPath(alpacaAccount)}/${order.body.id}`)).body.status === 'filled',
      10_000,
      'the order after the reconnect filled',
    );
    expect((await venue.received()).map((c: { clientOrderId: string }) => c.clientOrderId)).toEqual([order.body.id]);
    expect((await trader.get(`/v1/accounts/${alpacaAccount}`)).body).toMatchObject({ entriesBlocked: false });
    await placeFilled(paperAccount);
  });
});
