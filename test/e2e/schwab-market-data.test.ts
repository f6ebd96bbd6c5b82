import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, orderWhen } from '../support/e2e.js';
import { type FakeSchwabProcess, schwabGatewayEnv, startFakeSchwabProcess } from '../support/fake-schwab-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { dec, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';

/**
 * A Schwab account's orders are risk-checked against Schwab's own quotes (its streamer's LEVELONE_EQUITIES, on
 * the adapter's connection), not the deployment's replay: the built gateway against the fake Schwab process,
 * whose quote of SPY a test route makes differ from the replay's. A paper account of the same gateway, on the
 * deployment's replay, takes the very orders the Schwab account is denied: the price collar around Schwab's
 * price, and Schwab's stale quote (`risk.stale_market_data`) while the replay's is fresh.
 */
const START_TIME = '09:31:00';
const APP = { clientId: 'schwab-md-e2e-app', clientSecret: 'schwab-md-e2e-secret-8c2f4a1d' };
const spy = quoteAt(loadSpyQuotes(), parseTime(START_TIME))!;

let fake: FakeSchwabProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;
let schwabId: string;
let paperId: string;

beforeAll(async () => {
  fake = await startFakeSchwabProcess(APP, { PAPER_START_TIME: START_TIME, FAKE_SCHWAB_HEARTBEAT_MS: '500' });
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,schwab',
    ...schwabGatewayEnv(fake, APP),
  });
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'md-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'md-trader', '--role', 'trader', '--account', '*']));

  const schwab = await admin.post('/v1/accounts', { name: 'schwab-md', broker: 'schwab', environment: 'paper' });
  expect(schwab.status, JSON.stringify(schwab.body)).toBe(201);
  schwabId = schwab.body.id;
  const start = await admin.post(`/v1/accounts/${schwabId}/broker-connection`, {
    redirectUri: `${gw.url}/v1/oauth/schwab/callback`,
  });
  expect(start.status, JSON.stringify(start.body)).toBe(201);
  const authorize = await fetch(start.body.authorizeUrl as string, { redirect: 'manual' });
  const done = await fetch(authorize.headers.get('location')!);
  expect(done.status, await done.text()).toBe(200);
  const paper = await admin.post('/v1/accounts', { name: 'paper-md', broker: 'paper', environment: 'paper' });
  expect(paper.status, JSON.stringify(paper.body)).toBe(201);
  paperId = paper.body.id;
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
  await db?.drop();
});

let n = 0;
const buy = (account: string, limitPrice: string) =>
  trader.post(`/v1/accounts/${account}/orders`, {
    clientOrderId: `schwab-md-${++n}`,
    symbol: 'SPY',
    side: 'buy',
    quantity: '1',
    type: 'limit',
    limitPrice,
  });
/** Sets Schwab's SPY quote at the fake, and gives its streamer time to deliver the change. */
const schwabQuote = async (override: { bid?: string; ask?: string; ageMs?: number } | null) => {
  const res =
    override === null
      ? await fake!.call('DELETE', '/test/quotes')
      : await fake!.call('POST', '/test/quotes', { symbol: 'SPY', ...override });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await new Promise((r) => setTimeout(r, 500));
};
const cancel = async (account: string, id: string) => {
  await trader.request('DELETE', `/v1/accounts/${account}/orders/${id}`);
  await orderWhen(trader, account, id, (o) => ['canceled', 'filled'].includes(o.status), 'done');
};

describe("a Schwab account's pre-trade checks use Schwab's quotes", () => {
  it("collars the order around Schwab's price, where the deployment's replay would take it", async () => {
    await schwabQuote({ bid: '100.00', ask: '100.02' });
    // The deployment's quote (the replay's) is where the recorded market is.
    const deployment = (await trader.get('/v1/quotes/SPY')).body;
    expect(deployment).toMatchObject({ bid: dec(spy.bid), ask: dec(spy.ask) });

    const atReplay = dec(spy.ask);
    const denied = expectProblem(await buy(schwabId, atReplay), 422, 'risk.price_collar');
    expect(denied.detail).toContain('100.01');
    const paper = await buy(paperId, atReplay);
    expect(paper.status, JSON.stringify(paper.body)).toBe(201);

    // At Schwab's price the order passes the collar and reaches Schwab.
    const atSchwab = await buy(schwabId, '100.00');
    expect(atSchwab.status, JSON.stringify(atSchwab.body)).toBe(201);
    expect(atSchwab.body).toMatchObject({ status: 'new', brokerOrderId: expect.stringMatching(/^\d+$/) });
    await cancel(schwabId, atSchwab.body.id);
  });

  it("denies entries on Schwab's stale quote while the replay's is fresh, and takes them once Schwab's is current", async () => {
    await schwabQuote(null);
    await schwabQuote({ ageMs: 600_000 });
    const stale = expectProblem(await buy(schwabId, dec(spy.bid)), 422, 'risk.stale_market_data');
    expect(stale.detail).toMatch(/the quote for SPY is \d+ ms old/);
    const paper = await buy(paperId, dec(spy.bid));
    expect(paper.status, JSON.stringify(paper.body)).toBe(201);

    await schwabQuote(null);
    const current = await buy(schwabId, dec(spy.bid));
    expect(current.status, JSON.stringify(current.body)).toBe(201);
    await cancel(schwabId, current.body.id);
  });
});
