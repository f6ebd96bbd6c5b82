import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type FakeSchwabProcess, schwabGatewayEnv, startFakeSchwabProcess } from '../support/fake-schwab-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, type JsonResponse } from '../support/http.js';
import { D, dec, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * The Schwab app's order rate across gateway instances: one fake Schwab (its own limit at its default, 120
 * order requests per rolling minute), two gateway processes on one database and one Redis prefix, and 130
 * small resting SPY limits placed within a minute, alternately through the two, a few at a time. The gateway
 * counts the app's requests in Redis (BROKER_SCHWAB_ORDER_RATE_PER_MINUTE=120, the same figure): what it lets
 * through in one fixed window is half the limit (docs/brokers/schwab.md, "Rate limit"), so the fake receives 60
 * and every other order is refused before sending with `422 risk.message_rate` naming Schwab's limit. Without
 * the shared count each instance would send until Schwab throttled the app (429s: orders sent and refused).
 */
const START_TIME = '09:31:00';
const APP = { clientId: 'schwab-rate-app', clientSecret: 'schwab-rate-secret-3f8a1c6e9d' };
/** Schwab's limit as registered for the app: schwab-py's recommendation, and the fake's default. */
const APP_RATE = 120;
const ORDERS = 130;
/** Orders in flight at once (half through each gateway). */
const BATCH = 10;
const spy = quoteAt(loadSpyQuotes(), parseTime(START_TIME))!;

let fake: FakeSchwabProcess | undefined;
/** The paper broker's venue, as its own process: instances share one (they refuse an in-process venue each). */
let venue: VenueProcess | undefined;
let db: TestDatabase | undefined;
const gateways: GatewayProcess[] = [];
let traders: Api[] = [];
let accountId: string;

beforeAll(async () => {
  fake = await startFakeSchwabProcess(APP, { PAPER_START_TIME: START_TIME });
  venue = await startVenueProcess({ PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: venue.url,
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,schwab',
    ...schwabGatewayEnv(fake, APP),
    BROKER_SCHWAB_ORDER_RATE_PER_MINUTE: String(APP_RATE),
  };
  gateways.push(await startGatewayProcess(env), await startGatewayProcess(env));
  const token = await mintToken(db.url, ['--sub', 'rate-trader', '--role', 'trader', '--account', '*']);
  traders = gateways.map((g) => new Api(g.url, token));
}, 120_000);

afterAll(async () => {
  for (const g of gateways) {
    await g.stop();
  }
  await fake?.stop();
  await venue?.stop();
  await db?.drop();
});

const received = async () =>
  (await fake!.call('GET', '/test/received')).body as { method: string; path: string; status: number }[];

describe("Schwab's app order rate across two gateway instances", () => {
  it('connects one Schwab account over OAuth through the first instance', async () => {
    const admin = new Api(
      gateways[0]!.url,
      await mintToken(db!.url, ['--sub', 'rate-admin', '--role', 'admin', '--account', '*']),
    );
    const created = await admin.post('/v1/accounts', { name: 'schwab-rate', broker: 'schwab', environment: 'paper' });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    accountId = created.body.id;
    const start = await admin.post(`/v1/accounts/${accountId}/broker-connection`, {
      redirectUri: `${gateways[0]!.url}/v1/oauth/schwab/callback`,
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const authorize = await fetch(start.body.authorizeUrl as string, { redirect: 'manual' });
    const done = await fetch(authorize.headers.get('location')!);
    expect(done.status, await done.text()).toBe(200);
  });

  it(`130 orders in a minute: the fake receives half the limit, the rest are refused before sending`, async () => {
    const answers: JsonResponse[] = [];
    for (let first = 0; first < ORDERS; first += BATCH) {
      const batch = [];
      for (let i = first; i < Math.min(first + BATCH, ORDERS); i++) {
        batch.push(
          traders[i % 2]!.post(`/v1/accounts/${accountId}/orders`, {
            clientOrderId: `rate-${i}`,
            symbol: 'SPY',
            side: 'buy',
            quantity: '1',
            type: 'limit',
            limitPrice: dec(spy.bid.minus(1).minus(new D(i).dividedBy(100))),
          }),
        );
      }
      answers.push(...(await Promise.all(batch)));
    }

    const placed = answers.filter((a) => a.status === 201);
    const refused = answers.filter((a) => a.status !== 201);
    // Each gateway instance placed some and had some refused: the count is the app's, not the instance's.
    for (const parity of [0, 1]) {
      const through = answers.filter((_, i) => i % 2 === parity);
      expect(through.some((a) => a.status === 201)).toBe(true);
      expect(through.some((a) => a.status === 422)).toBe(true);
    }
    expect(placed.length).toBe(APP_RATE / 2);
    expect(refused.length).toBe(ORDERS - APP_RATE / 2);
    for (const answer of placed) {
      expect(answer.body).toMatchObject({ status: 'new', brokerOrderId: expect.stringMatching(/^\d+$/) });
    }
    for (const answer of refused) {
      const problem = expectProblem(answer, 422, 'risk.message_rate');
      expect(problem.detail).toContain(`schwab allows the app ${APP_RATE} order requests`);
      expect(problem.detail).toContain('BROKER_SCHWAB_ORDER_RATE_PER_MINUTE');
    }

    // What reached Schwab: every placed order once, nothing of a refused one, and never a 429.
    const posts = (await received()).filter((r) => r.method === 'POST');
    expect(posts.length).toBe(placed.length);
    expect(posts.length).toBeLessThanOrEqual(APP_RATE);
    expect((await received()).filter((r) => r.status === 429)).toEqual([]);
    expect(posts.every((r) => r.status === 201)).toBe(true);
    const atSchwab = (await fake!.call('GET', '/test/orders')).body as { orderId: number; status: string }[];
    expect(atSchwab.map((o) => String(o.orderId)).sort()).toEqual(
      placed.map((a) => a.body.brokerOrderId as string).sort(),
    );
    // A refused order is kept as denied, on either instance.
    const deniedId = refused[refused.length - 1]!.body.orderId as string;
    for (const trader of traders) {
      expect((await trader.get(`/v1/accounts/${accountId}/orders/${deniedId}`)).body).toMatchObject({
        status: 'denied',
      });
    }
  });
});
