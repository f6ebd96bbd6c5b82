import { v7 as uuidv7 } from 'uuid';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, orderWhen, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D, dec, loadOptionQuotes, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';

/**
 * Balances, valued positions and instruments as a desk sees them, on the built gateway with the paper
 * venue replaying real data (paused, stepped forward only). Expected prices come from the recorded CSV
 * files; the gateway's figures must follow every fill (cash × multiplier) and every replay step (marks).
 */
const STARTING_CASH = '250000';
const OPTION = 'SPXW  210104C03700000';
const spyQuotes = loadSpyQuotes();
const spxwCall = loadOptionQuotes({ date: '20210104', right: 'C', strikeUsd: '3700', expiry: '20210104' });
const mid = (q: { bid: D; ask: D }) => q.bid.plus(q.ask).dividedBy(2);

let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let admin: Api;
let accountId: string;

const balances = async () => {
  const res = await api.get(`/v1/accounts/${accountId}/balances`);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body;
};
const positions = async () => {
  const res = await api.get(`/v1/accounts/${accountId}/positions`);
  expect(res.status).toBe(200);
  return res.body.positions as any[];
};

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_STARTING_CASH: STARTING_CASH,
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
});

afterAll(async () => {
  await gw?.stop();
  await db?.drop();
});

describe('accounts and instruments as a desk sees them (paper venue, replayed real data)', () => {
  it('lists what the replay quotes with its rules: SPY and the SPXW options; QQQ and IWM have no data, so none', async () => {
    await stepReplay(admin, '09:30:05');
    const all = (await api.get('/v1/instruments')).body.instruments as any[];
    expect(all.find((i) => i.symbol === 'SPY')).toMatchObject({ kind: 'equity', multiplier: '1', tick: '0.01' });
    expect(all.find((i) => i.symbol === OPTION)).toMatchObject({
      kind: 'option',
      root: 'SPXW',
      multiplier: '100',
      settlement: 'cash',
      exercise: 'european',
      expiry: '2021-01-04',
      strike: '3700',
      right: 'call',
    });
    expect((await api.get('/v1/instruments?root=QQQ')).body).toEqual({ instruments: [] });
    const one = await api.get('/v1/instruments?symbol=SPXW210104C03700000');
    expect(one.body.instruments.map((i: any) => i.symbol)).toEqual([OPTION]);
    const bad = expectProblem(await api.get('/v1/instruments?symbol=not%20a%20symbol'), 422, 'validation.failed');
    expect(bad.errors).toEqual([expect.objectContaining({ path: 'symbol' })]);
    expectProblem(await api.get('/v1/instruments?root=spxw'), 422, 'validation.failed');
    expectProblem(await api.get('/v1/instruments?sort=asc'), 422, 'validation.failed');
    expect((await new Api(gw.url, '').get('/v1/instruments')).status).toBe(401);
  });

  it('answers the balances of an unknown account as every account route does: 404 account.not_found', async () => {
    expectProblem(await api.get(`/v1/accounts/${uuidv7()}/balances`), 404, 'account.not_found');
  });

  it('starts at PAPER_STARTING_CASH, then moves cash by each fill × multiplier and values positions as the replay moves', async () => {
    expect(await balances()).toMatchObject({
      cash: STARTING_CASH,
      buyingPower: STARTING_CASH,
      equity: STARTING_CASH,
      currency: 'USD',
      source: 'computed',
    });

    // 10 SPY at the recorded ask.
    const at = parseTime('09:30:05');
    const spy = quoteAt(spyQuotes, at)!;
    const buy = await api.post(`/v1/accounts/${accountId}/orders`, {
      clientOrderId: 'desk-spy-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '10',
      type: 'market',
    });
    expect(buy.status, JSON.stringify(buy.body)).toBe(201);
    await orderWhen(api, accountId, buy.body.id, (o) => o.status === 'filled', 'filled');
    let cash = new D(STARTING_CASH).minus(spy.ask.times(10));
    let b = await balances();
    expect(b.cash).toBe(dec(cash));
    let [spyPosition] = (await positions()).filter((p) => p.symbol === 'SPY');
    expect(spyPosition).toMatchObject({
      quantity: '10',
      averagePrice: dec(spy.ask),
      marketValue: dec(mid(spy).times(10)),
      unrealizedPnl: dec(mid(spy).minus(spy.ask).times(10)),
    });
    expect(b.equity).toBe(dec(cash.plus(mid(spy).times(10))));

    // One SPXW 0DTE call at its recorded ask: cash moves by 100 × the price.
    const call = quoteAt(spxwCall, at)!;
    const option = await api.post(`/v1/accounts/${accountId}/orders`, {
      clientOrderId: 'desk-spxw-1',
      symbol: OPTION,
      side: 'buy',
      quantity: '1',
      type: 'limit',
      limitPrice: dec(call.ask),
    });
    expect(option.status, JSON.stringify(option.body)).toBe(201);
    await orderWhen(api, accountId, option.body.id, (o) => o.status === 'filled', 'filled');
    cash = cash.minus(call.ask.times(100));
    b = await balances();
    expect(b.cash).toBe(dec(cash));
    const optionPosition = (await positions()).find((p) => p.symbol === OPTION);
    expect(optionPosition).toMatchObject({
      quantity: '1',
      marketValue: dec(mid(call).times(100)),
      unrealizedPnl: dec(mid(call).minus(call.ask).times(100)),
    });

    // The replay moves on: the marks follow the recorded quotes, cash does not move.
    const later = parseTime('09:45:00');
    await stepReplay(admin, later);
    const spyLater = quoteAt(spyQuotes, later)!;
    const callLater = quoteAt(spxwCall, later)!;
    expect(mid(spyLater).equals(mid(spy))).toBe(false);
    [spyPosition] = (await positions()).filter((p) => p.symbol === 'SPY');
    expect(spyPosition).toMatchObject({
      marketValue: dec(mid(spyLater).times(10)),
      unrealizedPnl: dec(mid(spyLater).minus(spy.ask).times(10)),
    });
    b = await balances();
    expect(b.cash).toBe(dec(cash));
    expect(b.equity).toBe(dec(cash.plus(mid(spyLater).times(10)).plus(mid(callLater).times(100))));

    // Selling the SPY back at the recorded bid: cash takes the proceeds, the position is flat and worth 0.
    const sell = await api.post(`/v1/accounts/${accountId}/orders`, {
      clientOrderId: 'desk-spy-2',
      symbol: 'SPY',
      side: 'sell',
      quantity: '10',
      type: 'market',
    });
    expect(sell.status, JSON.stringify(sell.body)).toBe(201);
    await orderWhen(api, accountId, sell.body.id, (o) => o.status === 'filled', 'filled');
    cash = cash.plus(spyLater.bid.times(10));
    expect((await balances()).cash).toBe(dec(cash));
    [spyPosition] = (await positions()).filter((p) => p.symbol === 'SPY');
    expect(spyPosition).toMatchObject({
      quantity: '0',
      marketValue: '0',
      unrealizedPnl: '0',
      realizedPnl: dec(spyLater.bid.minus(spy.ask).times(10)),
    });
  });
});
