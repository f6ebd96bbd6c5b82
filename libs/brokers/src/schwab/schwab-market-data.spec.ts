import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// The fake Schwab itself and the gateway's ws connector: the feed is tested on a real SchwabClient's streamer
// connection to the real fake server, at Schwab's wire protocol (the fake is driven only over HTTP).
import { type FakeSchwabServer, startFakeSchwab } from '../../../../apps/fake-brokers/src/schwab/fake-schwab-server.js';
import { wsStreamConnector } from '../../../../apps/gateway/src/market/ws-stream-connector.js';
import { resolveMarketDataDir } from '../paper/market-data-dir.js';
import { loadMarketData } from '../paper/market-data-loader.js';
import { defaultMarketDataSets } from '../paper/market-data-sets.js';
import { MarketReplay } from '../paper/market-replay.js';
import { PaperVenue } from '../paper/paper-venue.js';
import type { Quote } from '../market-data.js';
import { BrokerRegistry } from '../broker-registry.js';
import { schwabAdapter } from './schwab-adapter.js';
import { SchwabClient, type SchwabLogger } from './schwab-client.js';

const data = loadMarketData(
  resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url))),
  defaultMarketDataSets(),
);
const TOKEN = 'I0.test-access-token-do-not-log';
const OPTION = 'SPXW  210104C03700000';
const FIRST_QUOTE_WAIT_MS = 300;

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until<T>(what: () => T | undefined | false, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = what();
    if (value) {
      return value;
    }
    if (Date.now() > end) {
      throw new Error('condition not met in time');
    }
    await sleep(10);
  }
}

async function harness(): Promise<{
  fake: FakeSchwabServer;
  replay: MarketReplay;
  client: SchwabClient;
  warnings: object[];
  control: (method: string, path: string, body?: unknown) => Promise<number>;
}> {
  const replay = new MarketReplay({ data, paused: true, startTime: '09:30:05' });
  const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
  const fake = await startFakeSchwab({
    venue,
    replay,
    isAccessTokenValid: (t) => t === TOKEN,
    heartbeatMs: 100,
    quoteIntervalMs: 50,
  });
  open.push({ close: () => venue.exchange.close() }, fake);
  const warnings: object[] = [];
  const logger: SchwabLogger = { info: () => {}, warn: (fields) => warnings.push(fields), error: () => {} };
  const client = new SchwabClient({
    venue: 'schwab',
    baseUrl: fake.baseUrl,
    accessToken: TOKEN,
    accountNumber: null,
    connect: wsStreamConnector,
    logger,
    reconnectDelayMs: 20,
    maxReconnectDelayMs: 50,
    firstQuoteWaitMs: FIRST_QUOTE_WAIT_MS,
  });
  open.push(client);
  await client.start();
  const control = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${fake.url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await res.text();
    return res.status;
  };
  return { fake, replay, client, warnings, control };
}

const prices = (q: Quote | undefined) =>
  q && { bid: q.bid.toString(), ask: q.ask.toString(), last: q.last?.toString() ?? null, source: q.source };

describe("SchwabMarketDataFeed on the client's streamer connection", () => {
  it("knows no symbol before it is asked for; then quotes equities and options at the replay's prices, as decimals", async () => {
    const { replay, client } = await harness();
    const feed = client.marketData;
    expect(feed.symbols()).toEqual([]);
    // The first ask subscribes: nothing is made up meanwhile.
    expect(feed.getQuote('SPY')).toBeUndefined();
    await feed.awaitQuote('SPY');
    await feed.awaitQuote(OPTION);
    const spy = replay.getQuote('SPY')!;
    const call = replay.getQuote(OPTION)!;
    expect(prices(feed.getQuote('SPY'))).toEqual({
      bid: spy.bid.toString(),
      ask: spy.ask.toString(),
      last: spy.last?.toString() ?? null,
      source: 'schwab',
    });
    expect(feed.getQuote(OPTION)).toMatchObject({ symbol: OPTION, bid: call.bid, ask: call.ask, source: 'schwab' });
    expect([...feed.symbols()].sort()).toEqual([OPTION, 'SPY'].sort());
    // The quote time is Schwab's (field 34 / 38, wall-clock epoch ms): the age is the replayed quote's.
    const age = feed.quoteAgeMs(feed.getQuote('SPY')!);
    expect(age).toBeGreaterThanOrEqual(replay.quoteAgeMs(spy));
    expect(age).toBeLessThan(replay.quoteAgeMs(spy) + 2_000);
    expect(feed.marketNow()).toBeNull();
  });

  it('merges partial "Change" updates field by field, keeps decimal strings exact, and follows the quote time', async () => {
    const { replay, client, control } = await harness();
    const feed = client.marketData;
    await feed.awaitQuote('SPY');
    const ask = replay.getQuote('SPY')!.ask;
    const seen: Quote[] = [];
    feed.onQuote((q) => seen.push(q));
    expect(await control('POST', '/test/quotes', { symbol: 'SPY', bid: '123.456789' })).toBe(200);
    const merged = await until(() => {
      const q = feed.getQuote('SPY');
      return q?.bid.toString() === '123.456789' ? q : undefined;
    });
    // Only the bid (and the time) changed on the wire: the ask is the one sent before.
    expect(merged.ask.toString()).toBe(ask.toString());
    expect(seen.at(-1)).toBe(merged);
    expect(feed.quoteAgeMs(merged)).toBeLessThan(2_000);
    // A quote Schwab dates ten minutes back is ten minutes old, whatever the replay says.
    await control('POST', '/test/quotes', { symbol: 'SPY', bid: '123.456789', ageMs: 600_000 });
    const old = await until(() => {
      const q = feed.getQuote('SPY');
      return q && feed.quoteAgeMs(q) >= 600_000 ? q : undefined;
    });
    expect(old.bid.toString()).toBe('123.456789');
    await control('DELETE', '/test/quotes');
    await until(() => feed.getQuote('SPY')?.bid.equals(replay.getQuote('SPY')!.bid));
  });

  it('a symbol Schwab never quotes stays unknown: the wait for its first quote is bounded', async () => {
    const { client } = await harness();
    const feed = client.marketData;
    const started = Date.now();
    await feed.awaitQuote('QQQ');
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(FIRST_QUOTE_WAIT_MS - 20);
    expect(waited).toBeLessThan(FIRST_QUOTE_WAIT_MS + 1_000);
    expect(feed.getQuote('QQQ')).toBeUndefined();
    // Asked again later, it does not wait again.
    const again = Date.now();
    await feed.awaitQuote('QQQ');
    expect(Date.now() - again).toBeLessThan(50);
  });

  it('forgets every quote when the stream drops, and quotes again from the new subscription after the reconnect', async () => {
    const { client, control } = await harness();
    const feed = client.marketData;
    await feed.awaitQuote('SPY');
    await feed.awaitQuote(OPTION);
    await control('POST', '/test/quotes', { symbol: 'SPY', bid: '300.10', ask: '300.12' });
    await until(() => feed.getQuote('SPY')?.bid.toString() === '300.1');
    await control('POST', '/test/stream', { down: true });
    await until(() => feed.getQuote('SPY') === undefined);
    expect(feed.getQuote(OPTION)).toBeUndefined();
    expect(feed.symbols()).toEqual([]);
    await control('POST', '/test/stream', { down: false });
    // The new connection's SUBS brings both symbols back in full (nothing merged across the gap).
    const back = await until(() => feed.getQuote('SPY'));
    expect(prices(back)).toMatchObject({ bid: '300.1', ask: '300.12' });
    await until(() => feed.getQuote(OPTION));
  });

  it("is the schwab session's marketData in the broker registry; a broker without its own quotes has none", async () => {
    const { fake, replay } = await harness();
    const logger: SchwabLogger = { info: () => {}, warn: () => {}, error: () => {} };
    const venue = new PaperVenue(replay, { ackLatencyMs: 0 });
    const registry = new BrokerRegistry<{ kind: string; accessToken?: string }>({
      brokers: {
        paper: {
          name: 'paper',
          scope: 'broker',
          environments: ['paper'],
          create: () => Promise.resolve({ client: venue, close: () => Promise.resolve() }),
        },
        schwab: schwabAdapter({
          venue: 'schwab',
          baseUrl: fake.baseUrl,
          streamerUrl: null,
          connect: wsStreamConnector,
          logger,
        }),
      },
    });
    open.push(registry, { close: () => venue.exchange.close() });
    const secrets = () => Promise.resolve({ kind: 'oauth', accessToken: TOKEN });
    const at = (id: string, broker: string) => ({ id, broker, environment: 'paper' as const, brokerAccountId: null });
    const feed = await registry.marketDataFor(at('s1', 'schwab'), secrets);
    const client = (await registry.clientFor(at('s1', 'schwab'), secrets)) as SchwabClient;
    expect(feed).toBe(client.marketData);
    await feed!.awaitQuote!('SPY');
    expect(feed!.getQuote('SPY')?.ask).toEqual(replay.getQuote('SPY')!.ask);
    expect(await registry.marketDataFor(at('p1', 'paper'))).toBeNull();
  });
});
