import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, orderWhen } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { StreamClient } from '../support/stream-client.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Two gateway instances on one database and ONE paper-venue process (PAPER_VENUE_URL): the instances show
 * the venue's market, not replays of their own (README, "Running several instances"). Each instance is
 * configured with another PAPER_START_TIME, which a gateway mirroring the venue ignores: a client
 * alternating between them sees one quote time on both, `GET /v1/quotes` and the stream alike, after the
 * venue's replay is stepped at the venue or through either instance's replay route, and its orders,
 * placed alternately, fill at the venue's recorded prices of that moment. With the venue gone they have no
 * quote (orders are refused by the risk check, as for any symbol without one) and take the market of the
 * venue restarted at the same address.
 */
const VENUE_START = '09:30:05';
/** Where the venue is stepped, one marketable order at each; the SPY quote differs from one to the next. */
const STEPS = ['09:30:30', '09:30:45', '09:31:00', '09:31:20'];

let venue: VenueProcess | undefined;
let db: TestDatabase | undefined;
const gateways: GatewayProcess[] = [];
const streams: StreamClient[] = [];

beforeAll(async () => {
  venue = await startVenueProcess({ PAPER_START_TIME: VENUE_START });
  db = await createTestDatabase();
  const env = { DATABASE_URL: db.url, REDIS_PREFIX: redisPrefix(), PAPER_VENUE_URL: venue.url };
  // Without the shared market each would replay the data itself from its own start time.
  gateways.push(await startGatewayProcess({ ...env, PAPER_START_TIME: '09:40:00' }));
  gateways.push(await startGatewayProcess({ ...env, PAPER_START_TIME: '09:50:00' }));
}, 60_000);

afterAll(async () => {
  for (const s of streams) {
    s.close();
  }
  for (const g of gateways) {
    await g.stop();
  }
  await venue?.stop();
  await db?.drop();
});

/** The venue's own SPY quote now (its market snapshot), `ts` as the gateway renders it. */
async function venueQuote(): Promise<{ bid: string; ask: string; ts: string; clock: string }> {
  const res = await venue!.call('GET', '/v1/market/snapshot');
  expect(res.status).toBe(200);
  const spy = res.body.quotes.find((q: { symbol: string }) => q.symbol === 'SPY');
  expect(spy, JSON.stringify(res.body.quotes)).toBeDefined();
  return { bid: spy.bid, ask: spy.ask, ts: new Date(spy.ts).toISOString(), clock: res.body.clock.timeOfDay };
}

/** Waits until both instances answer `GET /v1/quotes/SPY` with the venue's quote; returns it. */
async function bothShow(token: string, expected: { bid: string; ask: string; ts: string }): Promise<void> {
  for (const g of gateways) {
    const quote = await eventually(
      async () => {
        const res = await new Api(g.url, token).get('/v1/quotes/SPY');
        return res.status === 200 && res.body.ts === expected.ts ? res.body : null;
      },
      5_000,
      `${g.url} to show the venue's SPY quote of ${expected.ts}`,
    );
    expect({ bid: quote.bid, ask: quote.ask, ts: quote.ts }).toEqual(expected);
  }
}

describe('two gateway instances sharing one paper venue', () => {
  it("show the venue's market on both, and fill orders placed alternately at the venue's recorded prices", async () => {
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    expect(b.accountId).toBe(a.accountId);
    const token = a.traderToken;
    const accountId = a.accountId;
    const admin = await mintToken(db!.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']);

    // At start: one quote time on both, whatever their own PAPER_START_TIME: the venue's quote.
    const [onA, onB] = await Promise.all(
      gateways.map(async (g) => (await new Api(g.url, token).get('/v1/quotes/SPY')).body),
    );
    expect(onB.ts, `${JSON.stringify(onA)} / ${JSON.stringify(onB)}`).toBe(onA.ts);
    const atStart = await venueQuote();
    await bothShow(token, { bid: atStart.bid, ask: atStart.ask, ts: atStart.ts });
    for (const g of gateways) {
      const replay = await new Api(g.url, admin).get('/v1/venues/paper/replay');
      expect(replay.body, JSON.stringify(replay.body)).toMatchObject({ timeOfDay: `${VENUE_START}.000`, paused: true });
      const instruments = await new Api(g.url, token).get('/v1/instruments');
      expect(instruments.status).toBe(200);
      expect(instruments.body.instruments.map((i: { symbol: string }) => i.symbol)).toContain('SPY');
    }

    for (const g of gateways) {
      const s = await StreamClient.connect(g.url);
      streams.push(s);
      await s.authenticate(token);
      s.send({ op: 'subscribe', channel: 'quotes', symbol: 'SPY' });
      await s.waitFor((m) => m.type === 'subscribed' && m.channel === 'quotes');
    }

    const ordersPath = `/v1/accounts/${accountId}/orders`;
    const fills: { side: string; price: string; quote: { bid: string; ask: string } }[] = [];
    for (const [i, time] of STEPS.entries()) {
      // Stepped at the venue (even steps) or through one instance's replay route (odd: it acts at the venue).
      if (i % 2 === 0) {
        const stepped = await venue!.call('POST', '/v1/test/replay/step', { to: time });
        expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
      } else {
        const via = gateways[(i + 1) % 2]!;
        const stepped = await new Api(via.url, admin).post('/v1/venues/paper/replay', { stepTo: time });
        expect(stepped.status, JSON.stringify(stepped.body)).toBe(200);
        expect(stepped.body).toMatchObject({ timeOfDay: `${time}.000`, paused: true });
        // The route answers once its own instance has the venue's market of that time.
        const here = (await new Api(via.url, token).get('/v1/quotes/SPY')).body;
        expect(here.ts).toBe((await venueQuote()).ts);
      }
      const quote = await venueQuote();
      expect(quote.clock).toBe(`${time}.000`);
      await bothShow(token, { bid: quote.bid, ask: quote.ask, ts: quote.ts });
      for (const s of streams) {
        await s.waitFor((m) => m.type === 'quote' && m.symbol === 'SPY' && m.ts === quote.ts, 5_000);
      }

      // One marketable order, through the instances in turn: it fills at the venue's quote of now.
      const side = i % 2 === 0 ? 'buy' : 'sell';
      const via = new Api(gateways[i % 2]!.url, token);
      const placed = await via.post(ordersPath, {
        clientOrderId: `shared-market-${i}`,
        symbol: 'SPY',
        side,
        quantity: '5',
        type: 'market',
      });
      expect(placed.status, JSON.stringify(placed.body)).toBe(201);
      const other = new Api(gateways[(i + 1) % 2]!.url, token);
      const filled = await orderWhen(other, accountId, placed.body.id, (o) => o.status === 'filled', 'filled');
      fills.push({ side, price: filled.averageFillPrice, quote });
    }

    // Each at the recorded opposite quote of its moment, as both instances showed it, and as the venue booked it.
    for (const f of fills) {
      expect(f.price).toBe(f.side === 'buy' ? f.quote.ask : f.quote.bid);
    }
    expect(new Set(fills.map((f) => f.price)).size, JSON.stringify(fills)).toBeGreaterThan(1);
    const booked = (await venue!.call('GET', '/v1/fills?since=0')).body as { price: string }[];
    expect(booked.map((f) => f.price)).toEqual(fills.map((f) => f.price));

    // A time outside the window is refused by the venue, said by the route as ever.
    expectProblem(
      await new Api(a.url, admin).post('/v1/venues/paper/replay', { stepTo: '11:00:00' }),
      422,
      'replay.out_of_window',
    );
  }, 60_000);

  it("have no quote while the venue is gone (refused as for any missing quote, never a 5xx), then resync from the restarted venue's snapshot", async () => {
    const token = gateways[0]!.traderToken;
    const accountId = gateways[0]!.accountId;
    const port = new URL(venue!.url).port;
    await venue!.stop();
    for (const [i, g] of gateways.entries()) {
      const api = new Api(g.url, token);
      await eventually(
        async () => (await api.get('/v1/quotes/SPY')).status === 404,
        10_000,
        `${g.url} to drop the venue's quotes`,
      );
      expectProblem(await api.get('/v1/quotes/SPY'), 404, 'quote.not_found');
      const denied = await api.post(`/v1/accounts/${accountId}/orders`, {
        clientOrderId: `shared-market-down-${i}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '1',
        type: 'market',
      });
      expect(denied.status, JSON.stringify(denied.body)).toBe(422);
      expect(denied.body.code).toMatch(/^risk\./);
      // The recorded data does not change: the instruments stay listed.
      expect((await api.get('/v1/instruments')).status).toBe(200);
    }

    // A new venue process at the same address, at another time: both instances take its market.
    venue = await startVenueProcess({ PAPER_START_TIME: '09:31:30', PORT: port });
    const restarted = await venueQuote();
    expect(restarted.clock).toBe('09:31:30.000');
    await bothShow(token, { bid: restarted.bid, ask: restarted.ask, ts: restarted.ts });
  }, 60_000);
});
