import { type ChildProcess, spawn } from 'node:child_process';
import { connect, createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { expectProblem, sleep } from '../support/e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually, type JsonResponse } from '../support/http.js';
import { StreamClient } from '../support/stream-client.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Abuse limits (README, "Abuse limits"): two gateway processes on one database and one Redis prefix, started with
 * tight limits, share each client's budget: a client alternating between them gets the limit once,
 * not twice; over it every answer is 429 `rate_limit.exceeded` with Retry-After, and nothing happens;
 * after Retry-After it works again; other clients are not affected. Requests without a valid token
 * are limited per IP. The stream limits subscriptions per connection and connections per subject
 * across both instances (close 4429). A third instance whose Redis goes away keeps answering, and
 * limiting, from its in-memory insurance limiter.
 *
 * Each part uses its own token subject, so that the parts' budgets do not mix; the IP flood runs last
 * (once its address is refused, every request from 127.0.0.1 is, until the window passes).
 */
const REQUESTS = 10;
const ORDERS = 3;
const UNAUTHENTICATED = 5;
const WINDOW_S = 2;
const MAX_SUBSCRIPTIONS = 3;
const MAX_CONNECTIONS = 2;
const START_TIME = '09:30:10';

let venue: VenueProcess | undefined;
let db: TestDatabase | undefined;
const gateways: GatewayProcess[] = [];
/** The instance with a Redis of its own, stopped by the test. */
let lonely: GatewayProcess | undefined;
let ownRedis: ChildProcess | undefined;
const streams: StreamClient[] = [];
let accountId: string;
const tokens: Record<'burst' | 'other' | 'orders' | 'viewer' | 'streamA' | 'streamB', string> = {
  burst: '',
  other: '',
  orders: '',
  viewer: '',
  streamA: '',
  streamB: '',
};

beforeAll(async () => {
  venue = await startVenueProcess({ PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: venue.url,
    PAPER_START_TIME: START_TIME,
    RATE_LIMIT_REQUESTS: `${REQUESTS}/${WINDOW_S}s`,
    RATE_LIMIT_ORDERS: `${ORDERS}/${WINDOW_S}s`,
    RATE_LIMIT_UNAUTHENTICATED: `${UNAUTHENTICATED}/${WINDOW_S}s`,
    WS_MAX_SUBSCRIPTIONS: String(MAX_SUBSCRIPTIONS),
    WS_MAX_CONNECTIONS_PER_PRINCIPAL: String(MAX_CONNECTIONS),
    LOG_LEVEL: 'warn',
  };
  // The first makes the dev signing key and the demo account the others find.
  gateways.push(await startGatewayProcess(env));
  const port = await freePort();
  ownRedis = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  await eventually(async () => (await accepts(port)) || null, 5_000, 'a Redis of its own');
  [lonely] = await Promise.all([
    startGatewayProcess({ ...env, REDIS_URL: `redis://127.0.0.1:${port}` }),
    startGatewayProcess(env).then((g) => gateways.push(g)),
  ]);
  accountId = gateways[0]!.accountId;
  const mint = (sub: string, role: string) => mintToken(db!.url, ['--sub', sub, '--role', role, '--account', '*']);
  [tokens.burst, tokens.other, tokens.orders, tokens.viewer, tokens.streamA, tokens.streamB] = await Promise.all([
    mint('rl-burst', 'trader'),
    mint('rl-other', 'trader'),
    mint('rl-orders', 'trader'),
    mint('rl-viewer', 'viewer'),
    mint('rl-stream-a', 'trader'),
    mint('rl-stream-b', 'trader'),
  ]);
}, 60_000);

afterAll(async () => {
  streams.forEach((s) => s.close());
  for (const g of [...gateways, lonely]) {
    await g?.stop();
  }
  ownRedis?.kill('SIGKILL');
  await venue?.stop();
  await db?.drop();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Whether something accepts TCP connections on the port. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** The i-th request's gateway: the two instances in turn. */
const via = (i: number) => gateways[i % 2]!;

function expectRateLimited(res: JsonResponse): number {
  expectProblem(res, 429, 'rate_limit.exceeded');
  const retryAfter = res.headers.get('retry-after');
  expect(retryAfter, 'Retry-After').toMatch(/^\d+$/);
  const seconds = Number(retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(WINDOW_S);
  return seconds;
}

describe('request limits shared by two instances', () => {
  it('accepts one client’s limit once across both instances, refuses the rest with 429 until Retry-After, and leaves other clients alone', async () => {
    const started = Date.now();
    const answers = await Promise.all(
      Array.from({ length: 3 * REQUESTS }, (_, i) => new Api(via(i).url, tokens.burst).get('/v1/accounts')),
    );
    const elapsed = Date.now() - started;
    // All in one window, or the count below could legitimately be higher.
    expect(elapsed).toBeLessThan(WINDOW_S * 1000);
    const accepted = answers.filter((r) => r.status === 200);
    const refused = answers.filter((r) => r.status !== 200);
    console.log(
      `rate-limit: ${answers.length} requests by one client through 2 instances in ${elapsed} ms: ` +
        `${accepted.length} accepted, ${refused.length} refused (limit ${REQUESTS}/${WINDOW_S}s)`,
    );
    // Per-instance counting would accept 2 × REQUESTS.
    expect(accepted).toHaveLength(REQUESTS);
    const retryAfters = refused.map(expectRateLimited);
    // Both instances refused: each knew about the other's requests.
    expect(new Set(answers.map((r, i) => (r.status === 429 ? i % 2 : -1)))).toEqual(new Set([-1, 0, 1]));

    // Another client is not affected, on either instance.
    for (const g of gateways) {
      expect((await new Api(g.url, tokens.other).get('/v1/accounts')).status).toBe(200);
    }
    // Still refused, and health, metrics and docs are never limited.
    expectRateLimited(await new Api(via(1).url, tokens.burst).get('/v1/accounts'));
    for (const path of ['/health/live', '/metrics', '/docs/openapi.json']) {
      expect((await new Api(via(0).url, tokens.burst).get(path)).status, path).toBe(200);
    }

    const wait = Math.max(...retryAfters);
    await sleep(wait * 1000);
    for (const g of gateways) {
      expect((await new Api(g.url, tokens.burst).get('/v1/accounts')).status).toBe(200);
    }
    const metrics = await new Api(via(0).url).get('/metrics');
    expect(metrics.body).toMatch(/gateway_rate_limited_total\{scope="requests",environments="paper"\} [1-9]/);
  });

  it('gives order placement its own tighter budget; a refused order is never placed', async () => {
    const path = `/v1/accounts/${accountId}/orders`;
    const keys = Array.from({ length: ORDERS + 3 }, (_, i) => `rl-order-${Date.now()}-${i}`);
    const answers: JsonResponse[] = [];
    for (const [i, clientOrderId] of keys.entries()) {
      answers.push(
        await new Api(via(i).url, tokens.orders).post(path, {
          clientOrderId,
          symbol: 'SPY',
          side: 'buy',
          quantity: '1',
          type: 'market',
        }),
      );
    }
    expect(answers.slice(0, ORDERS).map((r) => `${r.status} ${JSON.stringify(r.body).slice(0, 200)}`)).toEqual(
      Array.from({ length: ORDERS }, () => expect.stringMatching(/^201 /)),
    );
    for (const res of answers.slice(ORDERS)) {
      expect(expectRateLimited(res)).toBeGreaterThanOrEqual(1);
      expect(res.body.detail).toMatch(/orders/);
    }
    // The same client can still read: its request budget is not spent.
    expect((await new Api(via(0).url, tokens.orders).get(`${path}?status=all`)).status).toBe(200);
    // Nothing exists of the refused orders (asked by another client, through both instances).
    for (const [i, clientOrderId] of keys.entries()) {
      const found = await new Api(via(i + 1).url, tokens.viewer).get(`${path}?clientOrderId=${clientOrderId}`);
      expect(found.status, JSON.stringify(found.body)).toBe(200);
      expect(found.body.orders, clientOrderId).toHaveLength(i < ORDERS ? 1 : 0);
    }
  });
});

describe('stream limits', () => {
  async function connect(instance: number, token: string): Promise<StreamClient> {
    const client = await StreamClient.connect(gateways[instance]!.url);
    streams.push(client);
    client.send({ op: 'auth', token });
    await eventually(
      () => Promise.resolve(client.closeCode !== null || client.messages.some((m) => m.type === 'authenticated')),
      5_000,
      'authenticated or closed',
    );
    return client;
  }

  it(`allows ${MAX_CONNECTIONS} connections per subject across both instances; one more is closed with 4429`, async () => {
    const first = await connect(0, tokens.streamA);
    const second = await connect(1, tokens.streamA);
    expect([first.closeCode, second.closeCode]).toEqual([null, null]);
    for (const instance of [0, 1]) {
      const extra = await connect(instance, tokens.streamA);
      expect(await extra.waitForClose()).toBe(4429);
      expect(extra.messages.some((m) => m.type === 'authenticated')).toBe(false);
    }
    // Another subject is not affected.
    expect((await connect(0, tokens.streamB)).closeCode).toBeNull();
    // A closed connection frees its slot, on the other instance too.
    second.close();
    await second.waitForClose();
    const again = await eventually(
      async () => {
        const c = await connect(0, tokens.streamA);
        return c.closeCode === null ? c : null;
      },
      5_000,
      'a slot freed by the closed connection',
    );
    expect(again.messages.some((m) => m.type === 'authenticated')).toBe(true);
  });

  it(`allows ${MAX_SUBSCRIPTIONS} subscriptions per connection; one more gets a rate_limit.exceeded error frame`, async () => {
    const client = await connect(1, tokens.streamB);
    expect(await client.subscribeOrders(accountId)).toMatchObject({ type: 'subscribed', channel: 'orders' });
    const subscribeQuote = async (symbol: string) => {
      const before = client.messages.length;
      client.send({ op: 'subscribe', channel: 'quotes', symbol });
      return client.waitFor(
        (m) =>
          client.messages.indexOf(m) >= before &&
          ((m.type === 'subscribed' && m.symbol === symbol) || (m.type === 'error' && m.symbol === symbol)),
      );
    };
    expect(await subscribeQuote('SPY')).toMatchObject({ type: 'subscribed' });
    expect(await subscribeQuote('QQQ')).toMatchObject({ type: 'subscribed' });
    expect(await subscribeQuote('IWM')).toMatchObject({ type: 'error', code: 'rate_limit.exceeded' });
    expect(await client.subscribeOrders('another-account')).toMatchObject({
      type: 'error',
      code: 'rate_limit.exceeded',
    });
    // Subscribing again to what it has is not one more; unsubscribing frees one.
    expect(await subscribeQuote('SPY')).toMatchObject({ type: 'subscribed' });
    client.send({ op: 'unsubscribe', channel: 'quotes', symbol: 'QQQ' });
    expect(await subscribeQuote('IWM')).toMatchObject({ type: 'subscribed' });
    expect(client.closeCode).toBeNull();
  });
});

describe('with Redis gone', () => {
  it('keeps answering and limiting, per instance, from the in-memory insurance limiter', async () => {
    const api = new Api(lonely!.url, tokens.other);
    expect((await api.get('/v1/accounts')).status).toBe(200);
    ownRedis!.kill('SIGKILL');
    await new Promise((r) => ownRedis!.once('exit', r));
    const statuses: number[] = [];
    for (let i = 0; i < REQUESTS + 3; i++) {
      statuses.push((await api.get('/v1/accounts')).status);
    }
    console.log(`rate-limit: with Redis down, ${statuses.length} requests answered ${statuses.join(' ')}`);
    expect(statuses.filter((s) => s >= 500)).toEqual([]);
    expect(statuses.slice(0, REQUESTS)).toEqual(Array.from({ length: REQUESTS }, () => 200));
    expect(statuses.slice(REQUESTS)).toEqual([429, 429, 429]);
    expect(lonely!.output()).toMatch(/rate limits are counted per instance/);
  });
});

describe('requests without a valid token', () => {
  it('are limited per IP, bad tokens included; health stays reachable; the block ends after Retry-After', async () => {
    const statuses: number[] = [];
    let last: JsonResponse | undefined;
    // One after the other, a little apart: a refusal is counted just after its answer has gone out.
    for (let i = 0; i < 2 * UNAUTHENTICATED; i++) {
      const token = i % 2 === 0 ? undefined : 'not-a-token';
      last = await new Api(via(i).url, token).get('/v1/accounts');
      statuses.push(last.status);
      await sleep(20);
    }
    console.log(`rate-limit: unauthenticated flood through 2 instances answered ${statuses.join(' ')}`);
    expect(statuses).toEqual([
      ...Array.from({ length: UNAUTHENTICATED }, () => 401),
      ...Array.from({ length: UNAUTHENTICATED }, () => 429),
    ]);
    const wait = expectRateLimited(last!);
    expect(last!.body.detail).toMatch(/without a valid access token/);
    for (const g of gateways) {
      expect((await new Api(g.url).get('/health/live')).status).toBe(200);
    }

    await sleep(wait * 1000);
    expect((await new Api(via(0).url).get('/v1/accounts')).status).toBe(401);
    expect((await new Api(via(1).url, tokens.other).get('/v1/accounts')).status).toBe(200);
  });
});
