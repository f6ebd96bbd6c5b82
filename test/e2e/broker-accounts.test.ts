import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { orderWhen, stepReplay } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type FakeSchwabProcess, schwabGatewayEnv, startFakeSchwabProcess } from '../support/fake-schwab-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D, dec, loadOptionQuotes, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';

/**
 * A trading day of fills on an Alpaca and a Schwab account, and what the gateway then shows: its balances
 * (`GET /v1/accounts/{id}/balances`: the broker's own figures) equal the fake broker's account and the cash
 * this test computes from the fills (quantity × price × multiplier, 100 for the SPXW 0DTE option) less the
 * fees as each broker's fee schedule has them (Alpaca: the regulatory fees of docs.alpaca.markets/docs/
 * regulatory-fees, no commission; Schwab: $0.65 per option contract, nothing on shares); its positions (from
 * its own executions) equal the broker's positions, valued at the same mark; and the instruments list SPY and
 * the replayed SPXW option with their multipliers and tick rules. The day: buys and sells of SPY and of the
 * SPXW 0DTE call, at 09:31 and 09:45 of the replay, each order resting and filled by the fake's fill control
 * at its limit price (partly, then the rest), the replays of the gateway and of both fakes stepped together.
 */
const T1 = '09:31:00';
const T2 = '09:45:00';
const OPTION = 'SPXW  210104C03700000';
const KEYS = { keyId: 'PKDAYALPACAKEY', secretKey: 'day-alpaca-secret-2b7e9c4d1a' };
const APP = { clientId: 'schwab-day-app', clientSecret: 'schwab-day-secret-8c2f5a1e7b' };
const STARTING_CASH = new D('1000000');
const spyQuotes = loadSpyQuotes();
const callQuotes = loadOptionQuotes({ date: '20210104', right: 'C', strikeUsd: '3700', expiry: '20210104' });
const mid = (q: { bid: D; ask: D }) => q.bid.plus(q.ask).dividedBy(2);

let alpaca: FakeAlpacaProcess | undefined;
let schwab: FakeSchwabProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let admin: Api;
let trader: Api;

beforeAll(async () => {
  alpaca = await startFakeAlpacaProcess(KEYS, { PAPER_START_TIME: T1 });
  schwab = await startFakeSchwabProcess(APP, { PAPER_START_TIME: T1 });
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_START_TIME: T1,
    BROKERS: 'paper,alpaca,schwab',
    BROKER_ALPACA_ADAPTER: 'alpaca',
    BROKER_ALPACA_URL: alpaca.url,
    ...schwabGatewayEnv(schwab, APP),
  });
  admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'day-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'day-trader', '--role', 'trader', '--account', '*']));
}, 120_000);

afterAll(async () => {
  await gw?.stop();
  await alpaca?.stop();
  await schwab?.stop();
  await db?.drop();
});

/** One fill the day made: what the test expects the broker to book. */
interface Fill {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly quantity: D;
  readonly price: D;
}

/** What differs between the two brokers: how an account is connected, filled and read at the fake. */
interface Broker {
  readonly name: 'alpaca' | 'schwab';
  connect(accountId: string): Promise<void>;
  /** Fills `quantity` of the placed order (our id, the broker's id) at `price`, through the fake's control. */
  fill(order: { id: string; brokerOrderId: string }, quantity: string, price: string): Promise<void>;
  /** The fake's own account: cash, buying power, equity (decimals). */
  account(): Promise<{ cash: D; buyingPower: D; equity: D }>;
  /** The fake's own positions: symbol in our spelling, signed quantity, average price, value, P&L if it says. */
  positions(): Promise<{ symbol: string; quantity: D; averagePrice: D; marketValue: D; unrealizedPnl: D | null }[]>;
  /** The fees the broker's schedule charges for one fill, USD. */
  fees(fill: Fill): D;
  replayTo(time: string): Promise<void>;
}

const multiplierOf = (symbol: string) => new D(symbol === 'SPY' ? 1 : 100);

/** Alpaca's regulatory fees (docs.alpaca.markets/docs/regulatory-fees, the effective rates), unrounded. */
function alpacaFees(fill: Fill): D {
  const shares = fill.quantity.times(multiplierOf(fill.symbol));
  const sell = fill.side === 'sell';
  let fees = shares.times('0.000046'); // CAT, per executed equivalent share
  if (sell) {
    fees = fees.plus(shares.times(fill.price).times('0.0000278')); // SEC, per USD of principal
  }
  if (fill.symbol === 'SPY') {
    return sell ? fees.plus(D.min(fill.quantity.times('0.000166'), '8.30')) : fees; // FINRA TAF
  }
  fees = fees.plus(fill.quantity.times('0.02685')).plus(D.min(fill.quantity.times('0.02'), 55)); // ORF, OCC
  return sell ? fees.plus(fill.quantity.times('0.00279')) : fees; // options TAF
}

const alpacaBroker: Broker = {
  name: 'alpaca',
  connect: async (accountId) => {
    const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
      kind: 'api_key',
      keyId: KEYS.keyId,
      secret: KEYS.secretKey,
    });
    expect(stored.status, JSON.stringify(stored.body)).toBe(204);
  },
  fill: async (order, quantity, price) => {
    const res = await alpaca!.call('POST', '/test/fill', { client_order_id: order.id, qty: quantity, price });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  },
  account: async () => {
    const a = (await alpaca!.call('GET', '/v2/account')).body;
    return { cash: new D(a.cash), buyingPower: new D(a.buying_power), equity: new D(a.equity) };
  },
  positions: async () =>
    ((await alpaca!.call('GET', '/v2/positions')).body as any[]).map((p) => ({
      // Alpaca names an option by its OCC symbol without padding.
      symbol: p.symbol === 'SPY' ? 'SPY' : `${p.symbol.slice(0, -15).padEnd(6, ' ')}${p.symbol.slice(-15)}`,
      quantity: new D(p.qty),
      averagePrice: new D(p.avg_entry_price),
      marketValue: new D(p.market_value),
      unrealizedPnl: new D(p.unrealized_pl),
    })),
  fees: alpacaFees,
  replayTo: async (time) => {
    expect((await alpaca!.call('POST', '/test/replay/step', { to: time })).status).toBe(200);
  },
};

const schwabBroker: Broker = {
  name: 'schwab',
  connect: async (accountId) => {
    const start = await admin.post(`/v1/accounts/${accountId}/broker-connection`, {
      redirectUri: `${gw!.url}/v1/oauth/schwab/callback`,
    });
    expect(start.status, JSON.stringify(start.body)).toBe(201);
    const authorize = await fetch(start.body.authorizeUrl as string, { redirect: 'manual' });
    const done = await fetch(authorize.headers.get('location')!);
    expect(done.status, await done.text()).toBe(200);
  },
  fill: async (order, quantity, price) => {
    const res = await schwab!.call('POST', '/test/fill', { orderId: order.brokerOrderId, quantity, price });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  },
  account: async () => {
    const { hashValue } = (await schwab!.call('GET', '/test/account')).body;
    const token = await schwabToken();
    const res = await fetch(`${schwab!.baseUrl}/accounts/${hashValue}?fields=positions`, {
      headers: { authorization: `Bearer ${token}` },
    });
    const b = (await res.json()).securitiesAccount.currentBalances;
    return { cash: new D(b.cashBalance), buyingPower: new D(b.buyingPower), equity: new D(b.liquidationValue) };
  },
  positions: async () => {
    const { hashValue } = (await schwab!.call('GET', '/test/account')).body;
    const res = await fetch(`${schwab!.baseUrl}/accounts/${hashValue}?fields=positions`, {
      headers: { authorization: `Bearer ${await schwabToken()}` },
    });
    return ((await res.json()).securitiesAccount.positions as any[]).map((p) => ({
      symbol: p.instrument.symbol,
      quantity: new D(p.longQuantity).minus(p.shortQuantity),
      averagePrice: new D(p.averagePrice),
      marketValue: new D(p.marketValue),
      unrealizedPnl: null, // the fake's positions carry no open P&L field
    }));
  },
  // schwab.com/pricing: $0 on online stock and ETF trades, $0.65 per option contract.
  fees: (fill) => (fill.symbol === 'SPY' ? new D(0) : fill.quantity.times('0.65')),
  replayTo: async (time) => {
    expect((await schwab!.call('POST', '/test/replay/step', { to: time })).status).toBe(200);
  },
};

/** An access token of the fake Schwab's authorization server, as the test's own app login (not the gateway's). */
let cachedToken: string | null = null;
async function schwabToken(): Promise<string> {
  if (cachedToken !== null) {
    return cachedToken;
  }
  const authorize = await fetch(
    `${schwab!.oauthUrl}/v1/oauth/authorize?response_type=code&client_id=${APP.clientId}&redirect_uri=${encodeURIComponent('http://127.0.0.1:9/cb')}&state=s`,
    { redirect: 'manual' },
  );
  const code = new URL(authorize.headers.get('location')!).searchParams.get('code')!;
  const token = await fetch(`${schwab!.oauthUrl}/v1/oauth/token`, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${APP.clientId}:${APP.clientSecret}`).toString('base64')}`,
    },
    body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/cb' }),
  });
  cachedToken = ((await token.json()) as { access_token: string }).access_token;
  return cachedToken;
}

async function stepAll(time: string): Promise<void> {
  await stepReplay(admin, time);
  await alpacaBroker.replayTo(time);
  await schwabBroker.replayTo(time);
}

describe.each([alpacaBroker, schwabBroker])('a day of fills on a $name account', (broker) => {
  let accountId: string;
  const fills: Fill[] = [];
  let n = 0;

  /** Places a resting limit, fills it at its limit price in the given parts, and waits until it is filled. */
  async function trade(symbol: string, side: 'buy' | 'sell', parts: string[], limitPrice: D): Promise<void> {
    const quantity = parts.reduce((sum, q) => sum.plus(q), new D(0));
    const placed = await trader.post(`/v1/accounts/${accountId}/orders`, {
      clientOrderId: `${broker.name}-day-${++n}`,
      symbol,
      side,
      quantity: dec(quantity),
      type: 'limit',
      limitPrice: dec(limitPrice),
      ...(symbol === 'SPY' ? {} : { positionEffect: side === 'buy' ? 'open' : 'close' }),
    });
    expect(placed.status, JSON.stringify(placed.body)).toBe(201);
    expect(placed.body.status).toBe('new');
    for (const part of parts) {
      await broker.fill(placed.body, part, dec(limitPrice));
      fills.push({ symbol, side, quantity: new D(part), price: limitPrice });
    }
    await orderWhen(trader, accountId, placed.body.id, (o) => o.status === 'filled', `${symbol} ${side} filled`);
  }

  it('is created and connected', async () => {
    await stepAll(T1);
    const created = await admin.post('/v1/accounts', {
      name: `${broker.name}-day`,
      broker: broker.name,
      environment: 'paper',
    });
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    accountId = created.body.id;
    await broker.connect(accountId);
  });

  it('trades SPY and the SPXW 0DTE call through the day', async () => {
    const spy1 = quoteAt(spyQuotes, parseTime(T1))!;
    const call1 = quoteAt(callQuotes, parseTime(T1))!;
    await trade('SPY', 'buy', ['4', '6'], spy1.bid.minus('0.50'));
    await trade(OPTION, 'buy', ['1', '2'], call1.bid.minus('1.00'));
    await trade('SPY', 'sell', ['5'], spy1.ask.plus('0.50'));
    await stepAll(T2);
    const spy2 = quoteAt(spyQuotes, parseTime(T2))!;
    const call2 = quoteAt(callQuotes, parseTime(T2))!;
    await trade('SPY', 'buy', ['5'], spy2.bid.minus('0.50'));
    await trade(OPTION, 'sell', ['1'], call2.ask.plus('1.00'));
  });

  it("the gateway's balances equal the broker's account and the cash the fills and fees make", async () => {
    const expectedCash = fills.reduce((cash, f) => {
      const amount = f.quantity.times(f.price).times(multiplierOf(f.symbol));
      return (f.side === 'buy' ? cash.minus(amount) : cash.plus(amount)).minus(broker.fees(f));
    }, STARTING_CASH);
    // Every fill moved the broker's cash by its amount × multiplier and its fees, nothing else.
    const feesCharged = fills.reduce((sum, f) => sum.plus(broker.fees(f)), new D(0));
    expect(feesCharged.gt(0)).toBe(true);
    const atBroker = await broker.account();
    expect(dec(atBroker.cash)).toBe(dec(expectedCash));

    const spy2 = quoteAt(spyQuotes, parseTime(T2))!;
    const call2 = quoteAt(callQuotes, parseTime(T2))!;
    // 10 SPY (5 kept from 09:31, 5 bought at 09:45) and 2 calls, marked at the mid.
    const expectedEquity = expectedCash.plus(mid(spy2).times(10)).plus(mid(call2).times(2).times(100));
    expect(dec(atBroker.equity)).toBe(dec(expectedEquity));

    const res = await trader.get(`/v1/accounts/${accountId}/balances`);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ currency: 'USD', source: 'broker' });
    expect(dec(new D(res.body.cash))).toBe(dec(expectedCash));
    expect(dec(new D(res.body.buyingPower))).toBe(dec(atBroker.buyingPower));
    expect(dec(new D(res.body.equity))).toBe(dec(expectedEquity));
    expect(Math.abs(Date.parse(res.body.asOf) - Date.now())).toBeLessThan(60_000);
  });

  it("the gateway's positions equal the broker's, valued at the same mark", async () => {
    const spy1 = quoteAt(spyQuotes, parseTime(T1))!;
    const spy2 = quoteAt(spyQuotes, parseTime(T2))!;
    const call1 = quoteAt(callQuotes, parseTime(T1))!;
    const call2 = quoteAt(callQuotes, parseTime(T2))!;
    const spyAverage = spy1.bid.minus('0.50').plus(spy2.bid.minus('0.50')).dividedBy(2);
    const expected = [
      { symbol: OPTION, quantity: new D(2), averagePrice: call1.bid.minus('1.00'), mark: mid(call2) },
      { symbol: 'SPY', quantity: new D(10), averagePrice: spyAverage, mark: mid(spy2) },
    ];
    const ours = ((await trader.get(`/v1/accounts/${accountId}/positions`)).body.positions as any[])
      .filter((p) => !new D(p.quantity).isZero())
      .sort((a, b) => a.symbol.localeCompare(b.symbol));
    const theirs = (await broker.positions()).sort((a, b) => a.symbol.localeCompare(b.symbol));
    expect(ours.map((p) => p.symbol)).toEqual(expected.map((p) => p.symbol));
    expect(theirs.map((p) => p.symbol)).toEqual(expected.map((p) => p.symbol));
    expected.forEach((e, i) => {
      const multiplier = multiplierOf(e.symbol);
      const marketValue = e.quantity.times(e.mark).times(multiplier);
      const unrealized = e.mark.minus(e.averagePrice).times(e.quantity).times(multiplier);
      const [o, t] = [ours[i], theirs[i]!];
      expect([o.quantity, o.averagePrice, o.marketValue, o.unrealizedPnl]).toEqual(
        [e.quantity, e.averagePrice, marketValue, unrealized].map(dec),
      );
      expect([t.quantity, t.averagePrice, t.marketValue].map(dec)).toEqual(
        [e.quantity, e.averagePrice, marketValue].map(dec),
      );
      if (t.unrealizedPnl !== null) {
        expect(dec(t.unrealizedPnl)).toBe(dec(unrealized));
      }
    });
  });
});

describe('instruments of the deployment', () => {
  it('lists SPY and the replayed SPXW options with multiplier and tick rules', async () => {
    const all = (await trader.get('/v1/instruments')).body.instruments as any[];
    expect(all.find((i) => i.symbol === 'SPY')).toMatchObject({
      kind: 'equity',
      multiplier: '1',
      tick: '0.01',
      // Reg NMS Rule 612: 0.01 at and above $1.00, 0.0001 below.
      tickRule: { kind: 'stepped', threshold: '1', below: '0.0001', atOrAbove: '0.01' },
    });
    const options = all.filter((i) => i.root === 'SPXW');
    expect(options.length).toBeGreaterThan(1);
    for (const option of options) {
      // Cboe SPX/SPXW: 0.05 below 3.00, 0.10 from 3.00; the tick at the current mark follows the rule.
      expect(option).toMatchObject({
        kind: 'option',
        multiplier: '100',
        settlement: 'cash',
        exercise: 'european',
        tickRule: { kind: 'stepped', threshold: '3', below: '0.05', atOrAbove: '0.1' },
      });
      expect(['0.05', '0.1']).toContain(option.tick);
    }
    const call = all.find((i) => i.symbol === OPTION);
    expect(call).toMatchObject({ expiry: '2021-01-04', strike: '3700', right: 'call' });
    const mark = mid(quoteAt(callQuotes, parseTime(T2))!);
    expect(call.tick).toBe(mark.lt(3) ? '0.05' : '0.1');
  });
});
