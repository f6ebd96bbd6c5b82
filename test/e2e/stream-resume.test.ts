import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, orderWhen, sleep, stepReplay } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { dec, loadSpyQuotes, parseTime, quoteAt } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';
import { foreignToken, signWithDevKey } from '../support/tokens.js';

/**
 * The order stream (API.md "Stream"): `seq` is per account and gapless, so a client that drops can
 * resubscribe with `fromSeq` and get exactly what it missed, nothing lost and nothing doubled, even while
 * orders keep being committed during the resubscribe. GET /events is the record it is compared with.
 */
const WS_AUTH_TIMEOUT_MS = 2_000;
/** A refused token or message closes the socket at once, well before the auth timeout would. */
const PROMPT_MS = 1_000;

let db: TestDatabase;
let gw: GatewayProcess;
let api: Api;
let accountId: string;
let prefix: string;
const clients: StreamClient[] = [];

const ordersPath = () => `/v1/accounts/${accountId}/orders`;
/** Events committed while the client is away: more than the gateway's replay page of 500. */
const BACKLOG = 520;
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

async function connect(token?: string): Promise<StreamClient> {
  const client = await StreamClient.connect(gw.url);
  clients.push(client);
  if (token) {
    await client.authenticate(token);
  }
  return client;
}

async function placeFilled(clientOrderId: string): Promise<string> {
  const res = await api.post(ordersPath(), {
    clientOrderId,
    symbol: 'SPY',
    side: 'buy',
    quantity: '1',
    type: 'market',
  });
  expect(res.status, JSON.stringify(res.body)).toBe(201);
  return res.body.id;
}

beforeAll(async () => {
  db = await createTestDatabase();
  gw = await startGatewayProcess({
    DATABASE_URL: db.url,
    REDIS_PREFIX: (prefix = redisPrefix()),
    WS_AUTH_TIMEOUT_MS: String(WS_AUTH_TIMEOUT_MS),
  });
  api = new Api(gw.url, gw.traderToken);
  accountId = gw.accountId;
  const admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  await stepReplay(admin, parseTime('09:30:05'));
});

afterAll(async () => {
  clients.forEach((c) => c.close());
  await gw?.stop();
  await db?.drop();
});

describe('stream resume with fromSeq', () => {
  it('resumes after a disconnect with exactly the missed events, including those committed during the resubscribe', async () => {
    // Some history before anyone listens.
    for (let i = 0; i < 5; i++) {
      const id = await placeFilled(`resume-pre-${i}`);
      await orderWhen(api, accountId, id, (o) => o.status === 'filled', 'filled');
    }
    const history = await allEvents(api, accountId);
    expect(history.map((e) => e.seq)).toEqual(range(1, 15));

    const first = await connect(gw.traderToken);
    const subscribed = await first.subscribeOrders(accountId, 0);
    expect(subscribed).toMatchObject({ type: 'subscribed', channel: 'orders', accountId, seq: 15 });
    await first.waitFor((m) => m.type === 'order' && m.seq === 15);
    expect(first.orderEvents(accountId)).toEqual(history);

    // Orders keep flowing from other loops (four placing at once).
    let stop = false;
    let placed = 0;
    const ids: string[] = [];
    const loop = Promise.all(
      Array.from({ length: 4 }, async () => {
        while (!stop) {
          ids.push(await placeFilled(`resume-loop-${placed++}`));
        }
      }),
    );

    try {
      await first.waitFor((m) => m.type === 'order' && m.seq >= 24, 15_000);
      first.close();
      await first.waitForClose();
      const n = first.lastSeq(accountId);
      expect(
        first.orderEvents(accountId).map((e) => e.seq),
        'the first client saw 1..N, gapless',
      ).toEqual(range(1, n));

      // Let more events be committed while nobody listens than one replay page holds (500), so that the
      // catch-up from PostgreSQL takes several reads while live events keep arriving; then resubscribe.
      await eventually(
        async () =>
          (await api.get(`/v1/accounts/${accountId}/events?after=${n + BACKLOG - 1}&limit=1`)).body.events.length > 0,
        30_000,
        'events while away',
      );
      const second = await connect(gw.traderToken);
      const resubscribed = await second.subscribeOrders(accountId, n);
      expect(resubscribed).toMatchObject({ type: 'subscribed', channel: 'orders', accountId });
      expect(resubscribed.seq).toBeGreaterThan(n);
      const placedAtResubscribe = placed;
      await eventually(
        () => Promise.resolve(placed >= placedAtResubscribe + 24),
        15_000,
        'more orders after the resubscribe',
      );
      stop = true;
      await loop;

      await eventually(
        async () => {
          const open = (await api.get(`${ordersPath()}?status=open&limit=500`)).body.orders;
          return open.length === 0;
        },
        15_000,
        'every loop order to fill',
      );
      for (const id of [ids[0]!, ids.at(-1)!]) {
        expect((await api.get(`${ordersPath()}/${id}`)).body.status).toBe('filled');
      }
      const record = await allEvents(api, accountId);
      const last = record.at(-1)!.seq;
      expect(last, 'events were committed after the resubscribe too').toBeGreaterThan(resubscribed.seq);
      await second.waitFor((m) => m.type === 'order' && m.seq === last, 15_000);
      await sleep(300); // a duplicate, if any, would arrive now

      const resumed = second.orderEvents(accountId);
      expect(
        resumed.map((e) => e.seq),
        'exactly N+1..last, in order, no gap, no duplicate',
      ).toEqual(range(n + 1, last));
      expect(resumed).toEqual(record.filter((e) => e.seq > n));
      expect(record.map((e) => e.seq)).toEqual(range(1, last));
    } finally {
      stop = true;
      await loop;
    }
  });

  it('delivers only live events without fromSeq', async () => {
    const client = await connect(gw.traderToken);
    const subscribed = await client.subscribeOrders(accountId);
    const latest = (await allEvents(api, accountId)).at(-1)!.seq;
    expect(subscribed.seq).toBe(latest);
    const id = await placeFilled('live-only-1');
    await client.waitFor((m) => m.type === 'order' && m.order.id === id && m.event === 'filled');
    await sleep(200);
    expect(client.orderEvents(accountId).map((e) => [e.seq, e.event])).toEqual([
      [latest + 1, 'pending_new'],
      [latest + 2, 'new'],
      [latest + 3, 'filled'],
    ]);
  });
});

describe('stream subscriptions', () => {
  it('handles a subscribe sent right behind the auth message, without waiting for `authenticated`', async () => {
    const client = await connect();
    const latest = (await allEvents(api, accountId)).at(-1)!.seq;
    client.send({ op: 'auth', token: gw.traderToken });
    client.send({ op: 'subscribe', channel: 'orders', accountId, fromSeq: latest - 3 });
    await client.waitFor((m) => m.type === 'order' && m.seq === latest);
    expect(client.messages.map((m) => m.type)).toEqual(['authenticated', 'subscribed', 'order', 'order', 'order']);
    expect(client.orderEvents(accountId).map((e) => e.seq)).toEqual(range(latest - 2, latest));
  });

  it('streams quotes of the replayed data on the quotes channel', async () => {
    const admin = api.withToken(await mintToken(db.url, ['--sub', 'e2e-admin-2', '--role', 'admin', '--account', '*']));
    const client = await connect(gw.traderToken);
    client.send({ op: 'subscribe', channel: 'quotes', symbol: 'SPY' });
    await client.waitFor((m) => m.type === 'subscribed' && m.channel === 'quotes');
    const at = parseTime('09:30:12');
    await stepReplay(admin, at);
    const expected = quoteAt(loadSpyQuotes(), at)!;
    const frame = await client.waitFor(
      (m) => m.type === 'quote' && m.ts === new Date(Date.UTC(2013, 9, 7, 13, 30, 12)).toISOString(),
    );
    expect(frame).toMatchObject({
      symbol: 'SPY',
      bid: dec(expected.bid),
      ask: dec(expected.ask),
      bidSize: dec(expected.bidSize),
      askSize: dec(expected.askSize),
    });
  });
});

describe('stream authorisation', () => {
  it('answers a subscription to an account the token may not see with auth.forbidden, and sends none of its events', async () => {
    const own = await connect(gw.traderToken);
    const unknown = await own.subscribeOrders(randomUUID(), 0);
    expect(unknown).toMatchObject({ type: 'error', code: 'auth.forbidden' });
    // The connection stays usable for what the token may see.
    expect(await own.subscribeOrders(accountId)).toMatchObject({ type: 'subscribed', accountId });

    const otherToken = await mintToken(db.url, ['--sub', 'e2e-other', '--role', 'trader', '--account', randomUUID()]);
    const other = await connect(otherToken);
    const denied = await other.subscribeOrders(accountId, 0);
    expect(denied).toMatchObject({ type: 'error', code: 'auth.forbidden' });
    const id = await placeFilled('forbidden-probe-1');
    await own.waitFor((m) => m.type === 'order' && m.order.id === id && m.event === 'filled');
    await sleep(200);
    expect(other.orderEvents()).toEqual([]);
    expect(other.closeCode).toBeNull();
  });

  it('closes with 4401 on a bad token', async () => {
    const expired = await signWithDevKey(db.dataSource, { exp: Math.floor(Date.now() / 1000) - 3600 });
    for (const token of ['garbage', await foreignToken(), expired]) {
      const client = await connect();
      const sent = Date.now();
      client.send({ op: 'auth', token });
      expect(await client.waitForClose(5_000)).toBe(4401);
      expect(client.closedAt! - sent, 'closed for the token, not by the auth timeout').toBeLessThan(PROMPT_MS);
      expect(client.messages.filter((m) => m.type === 'authenticated')).toEqual([]);
    }
  });

  it('closes with 4401 a client that subscribes before authenticating', async () => {
    const client = await connect();
    const sent = Date.now();
    client.send({ op: 'subscribe', channel: 'orders', accountId, fromSeq: 0 });
    expect(await client.waitForClose(5_000)).toBe(4401);
    expect(client.closedAt! - sent, 'closed for the message, not by the auth timeout').toBeLessThan(PROMPT_MS);
    expect(client.orderEvents()).toEqual([]);
  });

  it('closes with 4401 a client that sends no auth message within WS_AUTH_TIMEOUT_MS', async () => {
    const opened = Date.now();
    const client = await connect();
    expect(await client.waitForClose(WS_AUTH_TIMEOUT_MS + 5_000)).toBe(4401);
    const after = client.closedAt! - opened;
    expect(after).toBeGreaterThanOrEqual(WS_AUTH_TIMEOUT_MS - 100);
    expect(after).toBeLessThan(WS_AUTH_TIMEOUT_MS + 3_000);
  });
});

describe('several instances', () => {
  it('streams, live, to a client of one instance the events of orders placed through another', async () => {
    // A second in-process venue on purpose: the fan-out between instances is what is under test.
    const other = await startGatewayProcess({
      DATABASE_URL: db.url,
      REDIS_PREFIX: prefix,
      PAPER_VENUE_EXCLUSIVE: 'false',
    });
    try {
      expect(other.accountId).toBe(accountId);
      const client = await connect(gw.traderToken);
      const subscribed = await client.subscribeOrders(accountId);
      const viaOther = new Api(other.url, gw.traderToken);
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await viaOther.post(ordersPath(), {
          clientOrderId: `other-instance-${i}`,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        });
        expect(res.status, JSON.stringify(res.body)).toBe(201);
        ids.push(res.body.id);
      }
      for (const id of ids) {
        await client.waitFor((m) => m.type === 'order' && m.order.id === id && m.event === 'filled', 5_000);
      }
      const record = (await allEvents(api, accountId)).filter((e) => e.seq > subscribed.seq);
      expect(record).toHaveLength(9);
      expect(client.orderEvents(accountId)).toEqual(record);
    } finally {
      await other.stop();
    }
  });
});
