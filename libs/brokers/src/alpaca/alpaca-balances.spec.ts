import { fileURLToPath } from 'node:url';
import { Decimal } from '@gateway/oms';
import { afterEach, describe, expect, it } from 'vitest';
// The fake Alpaca itself: the client is tested against the real server at Alpaca's wire protocol.
import { startFakeAlpaca } from '../../../../apps/fake-brokers/src/alpaca/fake-alpaca-server.js';
import { wsStreamConnector } from '../../../../apps/gateway/src/market/ws-stream-connector.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import { PaperVenue } from '../paper/paper-venue.js';
import { alpacaStreamUrl } from './alpaca-adapter.js';
import { AlpacaClient } from './alpaca-client.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const KEY = 'PKBALANCEKEY';
const SECRET = 'balance-secret-do-not-log';

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

async function setup(secret = SECRET) {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
  const fake = await startFakeAlpaca({ venue, replay, keyId: KEY, secretKey: SECRET, cash: '50000' });
  open.push({ close: () => venue.exchange.close() }, fake);
  const client = new AlpacaClient({
    venue: 'alpaca',
    baseUrl: fake.url,
    streamUrl: alpacaStreamUrl(fake.url),
    credentials: { kind: 'api_key', keyId: KEY, secret },
    connect: wsStreamConnector,
    logger: { info: () => {}, warn: () => {}, error: () => {} },
    reconnectDelayMs: 20,
    maxReconnectDelayMs: 50,
  });
  open.push(client);
  return { fake, client, bid: replay.getQuote('SPY')!.bid };
}

describe('AlpacaClient.balances (GET /v2/account)', () => {
  it("reports the fake Alpaca account's cash, buying power and equity, moved by a fill", async () => {
    const { fake, client, bid } = await setup();
    await client.start();
    const before = await client.balances();
    expect(before.cash.toString()).toBe('50000');
    expect(before.currency).toBe('USD');
    expect(Math.abs(before.asOf - Date.now())).toBeLessThan(5_000);
    const clientOrderId = `bal-${Date.now()}`;
    const placed = await client.submitOrder({
      clientOrderId,
      symbol: 'SPY',
      side: 'buy',
      type: 'limit',
      timeInForce: 'day',
      quantity: new Decimal(10),
      limitPrice: bid.minus(1),
      stopPrice: null,
    });
    expect(placed.kind).toBe('accepted');
    const fill = await fetch(`${fake.url}/test/fill`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET },
      body: JSON.stringify({ client_order_id: clientOrderId, qty: '10' }),
    });
    expect(fill.status).toBe(200);
    const account = (await (
      await fetch(`${fake.url}/v2/account`, { headers: { 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET } })
    ).json()) as Record<string, string>;
    const after = await client.balances();
    expect(after.cash.lessThan(before.cash)).toBe(true);
    expect(after.cash.toString()).toBe(new Decimal(account.cash!).toString());
    expect(after.buyingPower.toString()).toBe(new Decimal(account.buying_power!).toString());
    expect(after.equity.toString()).toBe(new Decimal(account.equity!).toString());
  });

  it("moves cash by a sell's proceeds less Alpaca's regulatory fees, and values positions into equity", async () => {
    const { fake, client, bid } = await setup();
    await client.start();
    const headers = { 'content-type': 'application/json', 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };
    const fill = async (clientOrderId: string, qty: string, price: string) =>
      expect(
        (
          await fetch(`${fake.url}/test/fill`, {
            method: 'POST',
            headers,
            body: JSON.stringify({ client_order_id: clientOrderId, qty, price }),
          })
        ).status,
      ).toBe(200);
    const order = (side: 'buy' | 'sell', quantity: string, limitPrice: Decimal) => ({
      clientOrderId: `fee-${side}-${Date.now()}`,
      symbol: 'SPY',
      side,
      type: 'limit' as const,
      timeInForce: 'day' as const,
      quantity: new Decimal(quantity),
      limitPrice,
      stopPrice: null,
    });
    const buy = order('buy', '100', bid.minus(1));
    expect((await client.submitOrder(buy)).kind).toBe('accepted');
    await fill(buy.clientOrderId, '100', '150');
    const sell = order('sell', '40', bid.plus(5));
    expect((await client.submitOrder(sell)).kind).toBe('accepted');
    await fill(sell.clientOrderId, '40', '160');
    // CAT 0.000046 per share both ways; on the sell SEC 0.0000278 of 6400 and TAF 0.000166 per share.
    const fees = new Decimal('0.0046').plus('0.00184').plus('0.17792').plus('0.00664');
    const cash = new Decimal(50000).minus(15000).plus(6400).minus(fees);
    const balances = await client.balances();
    expect(balances.cash.toString()).toBe(cash.toString());
    const [position] = await client.positions();
    const marketValue = new Decimal((position!.raw as { market_value: string }).market_value);
    expect(balances.equity.toString()).toBe(cash.plus(marketValue).toString());
  });

  it('rejects, naming the status and no secret, when Alpaca refuses the keys', async () => {
    const { client } = await setup('wrong-secret');
    const refusal = await client.balances().then(
      () => null,
      (error: Error) => error,
    );
    expect(refusal?.message).toMatch(/403|401/);
    expect(refusal?.message).not.toContain('wrong-secret');
  });
});

describe('AlpacaClient.positions (GET /v2/positions)', () => {
  const headers = { 'content-type': 'application/json', 'APCA-API-KEY-ID': KEY, 'APCA-API-SECRET-KEY': SECRET };

  it('reports every open position, signed, at its average entry price, with Alpaca’s record', async () => {
    const { fake, client, bid } = await setup();
    await client.start();
    expect(await client.positions()).toEqual([]);
    const clientOrderId = `pos-${Date.now()}`;
    const placed = await client.submitOrder({
      clientOrderId,
      symbol: 'SPY',
      side: 'buy',
      type: 'limit',
      timeInForce: 'day',
      quantity: new Decimal(10),
      limitPrice: bid.minus(1),
      stopPrice: null,
    });
    expect(placed.kind).toBe('accepted');
    const fill = await fetch(`${fake.url}/test/fill`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ client_order_id: clientOrderId, qty: '10' }),
    });
    expect(fill.status).toBe(200);
    // A short set by hand (a position the fake holds without an order): qty negative, side short.
    const set = await fetch(`${fake.url}/test/positions`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ symbol: 'QQQ', qty: '-5', avg_entry_price: '400.5' }),
    });
    expect(set.status).toBe(200);
    const positions = await client.positions();
    expect(positions.map((p) => [p.symbol, p.quantity.toFixed(), p.averagePrice?.toFixed()])).toEqual([
      ['SPY', '10', bid.minus(1).toFixed()],
      ['QQQ', '-5', '400.5'],
    ]);
    expect(positions[1]!.raw).toMatchObject({ symbol: 'QQQ', side: 'short', qty: '-5' });
  });

  it('rejects, naming the status and no secret, when Alpaca refuses the keys', async () => {
    const { client } = await setup('wrong-secret');
    const refusal = await client.positions().then(
      () => null,
      (error: Error) => error,
    );
    expect(refusal?.message).toMatch(/403|401/);
    expect(refusal?.message).not.toContain('wrong-secret');
  });
});
