import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';

/**
 * `GET /v1/accounts/{id}/balances` of an Alpaca account through the built gateway: the figures are the
 * fake Alpaca's own account (`GET /v2/account`), `source: "broker"`, and they follow a fill made at
 * Alpaca; the paper account of the same deployment stays computed.
 */
const START_TIME = '09:30:10';
const KEY_ID = 'PKE2EBALANCEKEY';
const SECRET = 'e2e-balance-secret-5d2e8f1a9c7b3e6d';

let fake: FakeAlpacaProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;
let accountId: string;

beforeAll(async () => {
  fake = await startFakeAlpacaProcess({ keyId: KEY_ID, secretKey: SECRET }, { PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,alpaca',
    BROKER_ALPACA_ADAPTER: 'alpaca',
    BROKER_ALPACA_URL: fake.url,
    BROKER_SUBMIT_TIMEOUT_MS: '1000',
  });
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-trader', '--role', 'trader', '--account', '*']));
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await fake?.stop();
  await db?.drop();
});

const alpacaAccount = async () => (await fake!.call('GET', '/v2/account')).body as Record<string, string>;

describe('balances of an Alpaca account through the built gateway', () => {
  it('without credentials: 503 with what to do, no figures made up', async () => {
    const res = await admin.post('/v1/accounts', { name: 'alpaca-balances', broker: 'alpaca', environment: 'paper' });
    expect(res.status, JSON.stringify(res.body)).toBe(201);
    accountId = res.body.id;
    const problem = expectProblem(await trader.get(`/v1/accounts/${accountId}/balances`), 503, 'service.unavailable');
    expect(problem.detail).toContain('no Alpaca credentials');
  });

  it("answers the broker's cash, buying power and equity, and follows a fill made at Alpaca", async () => {
    const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEY_ID,
      secret: SECRET,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(204);
    const before = await alpacaAccount();
    const first = await trader.get(`/v1/accounts/${accountId}/balances`);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    expect(first.body).toMatchObject({
      cash: before.cash,
      buyingPower: before.buying_power,
      equity: before.equity,
      currency: 'USD',
      source: 'broker',
    });
    expect(Math.abs(Date.parse(first.body.asOf) - Date.now())).toBeLessThan(30_000);

    const quote = await trader.get('/v1/quotes/SPY');
    const limitPrice = (Number(quote.body.bid) - 1).toFixed(2);
    const placed = await trader.post(`/v1/accounts/${accountId}/orders`, {
      clientOrderId: 'alpaca-balances-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
      type: 'limit',
      limitPrice,
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect((await fake!.call('POST', '/test/fill', { client_order_id: placed.body.id, qty: '10' })).status).toBe(200);
    await eventually(
      async () => (await trader.get(`/v1/accounts/${accountId}/orders/${placed.body.id}`)).body.status === 'filled',
      10_000,
      'the fill applied',
    );
    const after = await alpacaAccount();
    expect(Number(after.cash)).toBeLessThan(Number(before.cash));
    const second = (await trader.get(`/v1/accounts/${accountId}/balances`)).body;
    expect(second).toMatchObject({
      cash: after.cash,
      buyingPower: after.buying_power,
      equity: after.equity,
      source: 'broker',
    });
  });

  it('the paper account of the same deployment is computed', async () => {
    const res = await trader.get(`/v1/accounts/${gw!.accountId}/balances`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ source: 'computed', cash: '1000000' });
  });
});
