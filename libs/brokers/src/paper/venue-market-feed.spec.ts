import { request } from 'node:http';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// The fake broker itself and the gateway's WebSocket connector: the feed is tested against the real
// server, at its own protocol.
import { type PaperVenueServer, startPaperVenueServer } from '../../../../apps/paper-venue/src/server.js';
import { wsStreamConnector } from '../../../../apps/gateway/src/market/ws-stream-connector.js';
import type { Quote } from '../market-data.js';
import { FaultyVenue } from '../testing/faulty-venue.js';
import { loadLobsterBooks } from './lobster-books.js';
import { resolveMarketDataDir } from './market-data-dir.js';
import { loadMarketData } from './market-data-loader.js';
import { defaultMarketDataSets } from './market-data-sets.js';
import { MarketReplay } from './market-replay.js';
import { VenueMarketFeed } from './venue-market-feed.js';

const dir = resolveMarketDataDir(fileURLToPath(new URL('../../../../', import.meta.url)));
const data = loadMarketData(dir, defaultMarketDataSets());
const depthBooks = loadLobsterBooks(dir);

const open: { close(): Promise<void> | void }[] = [];
afterEach(async () => {
  for (const thing of open.splice(0).reverse()) {
    await thing.close();
  }
});

async function serve(port = 0): Promise<{ replay: MarketReplay; server: PaperVenueServer; venue: FaultyVenue }> {
  const replay = new MarketReplay({ data, depthBooks, paused: true, startTime: '09:30:05' });
  const venue = new FaultyVenue(replay, { ackLatencyMs: 1 });
  const server = await startPaperVenueServer({ venue, replay, port });
  open.push(venue, server);
  return { replay, server, venue };
}

function mirror(url: string, errors: unknown[] = []): VenueMarketFeed {
  const feed = new VenueMarketFeed({
    baseUrl: url,
    connect: wsStreamConnector,
    retryInitialMs: 10,
    retryMaxMs: 50,
    onError: (e) => errors.push(e),
  });
  open.push(feed);
  return feed;
}

/** A quote as plain strings, to compare across the wire. */
const plain = (q: Quote | undefined) =>
  q === undefined
    ? undefined
    : {
        symbol: q.symbol,
        bid: q.bid.toFixed(),
        ask: q.ask.toFixed(),
        bidSize: q.bidSize.toFixed(),
        askSize: q.askSize.toFixed(),
        last: q.last?.toFixed() ?? null,
        ts: q.ts,
        source: q.source,
      };

/** Every symbol's quote, age and market time on `feed`. */
const market = (
  feed: { symbols(): readonly string[] } & Pick<VenueMarketFeed, 'getQuote' | 'quoteAgeMs' | 'marketNow'>,
) =>
  feed.symbols().map((s) => {
    const quote = feed.getQuote(s);
    return { quote: plain(quote), age: quote ? feed.quoteAgeMs(quote) : null, now: feed.marketNow(s) };
  });

async function step(server: PaperVenueServer, to: string): Promise<{ loops: number; timeOfDayMs: number }> {
  const res = await fetch(`${server.url}/v1/test/replay/step`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ to }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { loops: number; timeOfDayMs: number };
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('VenueMarketFeed against the paper venue server', () => {
  it('starts from the snapshot: the symbols, quotes, ages, market times and depth book of the venue', async () => {
    const { replay, server } = await serve();
    const feed = mirror(server.url);
    await feed.start();
    expect(feed.symbols()).toEqual(replay.symbols());
    expect(feed.getQuote('SPY')).toBeDefined();
    expect(market(feed)).toEqual(market(replay));
    expect(feed.clockState()).toEqual(replay.state());
    await until(() => feed.connected, 'the stream');
    expect(feed.orderBook()).toEqual(replay.orderBook());
    expect(feed.getQuote('NOPE')).toBeUndefined();
    expect(feed.marketNow('NOPE')).toBeNull();
  });

  it("follows the venue's replay: every quote it publishes, the trades' last prices, the clock and the book", async () => {
    const { replay, server } = await serve();
    const feed = mirror(server.url);
    await feed.start();
    await until(() => feed.connected, 'the stream');
    const heard: string[] = [];
    feed.onQuote((q) => heard.push(`${q.symbol}@${q.ts}`));
    const published: string[] = [];
    replay.onQuote((q) => published.push(`${q.symbol}@${q.ts}`));
    const bookBefore = feed.orderBook();

    const state = await step(server, '09:30:40');
    expect(await feed.waitForClock(state, 2_000)).toBe(true);
    expect(published.length).toBeGreaterThan(0);
    expect(heard).toEqual(published);
    expect(market(feed)).toEqual(market(replay));
    expect(feed.clockState()).toEqual(replay.state());
    expect(feed.orderBook()).toEqual(replay.orderBook());
    expect(feed.orderBook()).not.toEqual(bookBefore);
  });

  it('applies a replay command at the venue (pause, speed, step, resume) and publishes its clock at once', async () => {
    const { replay, server } = await serve();
    const feed = mirror(server.url);
    await feed.start();
    await until(() => feed.connected, 'the stream');
    const post = async (body: unknown) => {
      const res = await fetch(`${server.url}/v1/test/replay`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    const answer = await post({ paused: true, speed: 5, stepTo: '09:30:20' });
    expect(answer).toEqual({ status: 200, body: replay.state() });
    expect(answer.body).toMatchObject({ timeOfDay: '09:30:20.000', speed: 5, paused: true });
    expect(await feed.waitForClock(replay.state(), 2_000)).toBe(true);
    expect(feed.clockState()).toEqual(replay.state());
    expect(market(feed)).toEqual(market(replay));
    expect(await post({ stepTo: '11:00:00' })).toMatchObject({ status: 400, body: { code: 'bad_request' } });
    expect(await post({ speed: -1 })).toMatchObject({ status: 400 });
    expect(replay.state().timeOfDay).toBe('09:30:20.000');
  });

  it('ages quotes across a wrap of the window as the replay does, and drops what the wrap cleared', async () => {
    const { replay, server } = await serve();
    const feed = mirror(server.url);
    await feed.start();
    await until(() => feed.connected, 'the stream');
    await step(server, '09:59:59');
    // Earlier than now: through the window's end into the next loop.
    const state = await step(server, '09:30:01');
    expect(state.loops).toBe(1);
    expect(await feed.waitForClock(state, 2_000)).toBe(true);
    expect(market(feed)).toEqual(market(replay));
  });

  it('has no quote while the venue is gone, then reconnects and resyncs from the snapshot', async () => {
    const first = await serve();
    const errors: unknown[] = [];
    const feed = mirror(first.server.url, errors);
    await feed.start();
    await until(() => feed.connected, 'the stream');
    const port = Number(new URL(first.server.url).port);
    await first.server.close();
    await until(() => !feed.connected, 'the drop');
    expect(feed.getQuote('SPY')).toBeUndefined();
    expect(feed.orderBook()).toBeNull();
    expect(feed.symbols()).toEqual(first.replay.symbols()); // the recorded data does not change
    expect(errors.length).toBeGreaterThan(0);

    // Another venue process on the same address, at another time: the feed takes its market.
    const second = await serve(port);
    await step(second.server, '09:31:00');
    await until(() => feed.connected, 'the reconnect');
    expect(market(feed)).toEqual(market(second.replay));
    expect(feed.clockState()).toEqual(second.replay.state());
  });

  it('fails to start, naming the venue, when nothing answers', async () => {
    const { server } = await serve();
    const url = server.url;
    await server.close();
    const feed = mirror(url);
    await expect(feed.start(200)).rejects.toThrow(
      /paper venue's market at http:\/\/127\.0\.0\.1:\d+\/v1\/market\/snapshot/,
    );
  });

  it('serves the market routes: the snapshot, and 404 for an unknown upgrade', async () => {
    const { replay, server } = await serve();
    const res = await fetch(`${server.url}/v1/market/snapshot`);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body).toMatchObject({
      feedId: server.market!.feedId,
      window: replay.window(),
      clock: replay.state(),
      symbols: replay.symbols(),
    });
    expect(body.quotes.map((q: { symbol: string }) => q.symbol)).toContain('SPY');
    const status = await new Promise<number>((done, failed) => {
      const req = request(`${server.url}/v1/nothing`, {
        headers: {
          connection: 'Upgrade',
          upgrade: 'websocket',
          'sec-websocket-version': '13',
          'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        },
      });
      req.on('response', (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on('upgrade', (_res, socket) => {
        socket.destroy();
        done(101);
      });
      req.on('error', failed);
      req.end();
    });
    expect(status).toBe(404);
  });
});
