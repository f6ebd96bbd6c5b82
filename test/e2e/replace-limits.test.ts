import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D } from '../support/market-data.js';

/**
 * A replace is checked for what it would work in the old order's stead: at the working-order or position
 * limit, a replace that does not add exposure is accepted, and one that adds beyond the limit is denied.
 */
let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let limit: string;

const ORDERS = () => `/v1/accounts/${gw.accountId}/orders`;
const passive = (clientOrderId: string, quantity: string) => ({
  clientOrderId,
  symbol: 'SPY',
  side: 'buy',
  quantity,
  type: 'limit',
  limitPrice: limit,
});

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: '09:30:05',
    RISK_MAX_WORKING_ORDERS: '2',
    RISK_MAX_POSITION_QUANTITY: '10',
  });
  api = new Api(gw.url, gw.traderToken);
  limit = new D((await api.get('/v1/quotes/SPY')).body.bid).minus('0.50').toFixed(2);
});
afterAll(async () => {
  await gw?.stop('SIGKILL');
  await db?.drop();
});

describe('replace at the limits', () => {
  it('replaces at the working-order and position caps without counting the old order twice', async () => {
    const a = await api.post(ORDERS(), passive('a', '5'));
    const b = await api.post(ORDERS(), passive('b', '5'));
    expect([a.body.status, b.body.status]).toEqual(['new', 'new']);
    const sell = { ...passive('c', '1'), side: 'sell', limitPrice: new D(limit).plus('1.00').toFixed(2) };
    expectProblem(await api.post(ORDERS(), sell), 422, 'risk.max_working_orders');

    const repriced = await api.patch(`${ORDERS()}/${a.body.id}`, {
      clientOrderId: 'a-2',
      limitPrice: new D(limit).minus('0.01').toFixed(2),
    });
    expect(repriced.status, JSON.stringify(repriced.body)).toBe(202);
    expect(repriced.body.status).toBe('new');
    const smaller = await api.patch(`${ORDERS()}/${b.body.id}`, { clientOrderId: 'b-2', quantity: '4' });
    expect(smaller.status, JSON.stringify(smaller.body)).toBe(202);

    // Working buys 5 + 4 against a cap of 10: growing the 4 to 6 would make 11.
    expectProblem(
      await api.patch(`${ORDERS()}/${smaller.body.id}`, { clientOrderId: 'b-3', quantity: '6' }),
      422,
      'risk.max_position',
    );
    const five = await api.patch(`${ORDERS()}/${smaller.body.id}`, { clientOrderId: 'b-4', quantity: '5' });
    expect(five.status, JSON.stringify(five.body)).toBe(202);
  });
});
