import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attempt } from '../support/chaos.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allOrders } from '../support/e2e.js';
import { type FakeAlpacaProcess, startFakeAlpacaProcess } from '../support/fake-alpaca-process.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D, dec } from '../support/market-data.js';

/**
 * A retry after a crash between the broker's report and its answer (found by the crash test against the
 * fake Alpaca, crash-alpaca.test.ts): Alpaca's `trade_updates` says `new` before the POST's answer arrives,
 * so the order is settled while its idempotency key is still `in_progress`; the gateway is SIGKILLed before
 * the answer, so nothing completes the key. The client's retry with the same clientOrderId must get the
 * order (200) once the broker call is over (BROKER_SUBMIT_TIMEOUT_MS and a second), not `409
 * idempotency.in_progress` until the key goes stale a minute later. Alpaca received the order once.
 */
const START_TIME = '09:30:10';
const KEYS = { keyId: 'PKIDEMCRASHKEY', secretKey: 'idem-crash-secret-6b0e2f9d4c1a7e35' };
const SUBMIT_TIMEOUT_MS = 2_000;

let fake: FakeAlpacaProcess | undefined;
let db: TestDatabase | undefined;
let gw: GatewayProcess | undefined;
let prefix: string;
let trader: Api;
let accountId: string;

const startGateway = () =>
  startGatewayProcess({
    DATABASE_URL: db!.url,
    REDIS_PREFIX: prefix,
    PAPER_START_TIME: START_TIME,
    BROKERS: 'paper,alpaca',
    BROKER_ALPACA_ADAPTER: 'alpaca',
    BROKER_ALPACA_URL: fake!.url,
    BROKER_SUBMIT_TIMEOUT_MS: String(SUBMIT_TIMEOUT_MS),
  });

beforeAll(async () => {
  fake = await startFakeAlpacaProcess(KEYS, { PAPER_START_TIME: START_TIME });
  db = await createTestDatabase();
  prefix = redisPrefix();
  gw = await startGateway();
  const admin = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-admin', '--role', 'admin', '--account', '*']));
  trader = new Api(gw.url, await mintToken(db.url, ['--sub', 'e2e-trader', '--role', 'trader', '--account', '*']));
  const created = await admin.post('/v1/accounts', { name: 'idem-crash', broker: 'alpaca', environment: 'paper' });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  accountId = created.body.id;
  const stored = await admin.request('PUT', `/v1/accounts/${accountId}/broker-credentials`, {
    kind: 'api_key',
    keyId: KEYS.keyId,
    secret: KEYS.secretKey,
  });
  expect(stored.status).toBe(204);
}, 120_000);

afterAll(async () => {
  await gw?.stop('SIGKILL');
  await fake?.stop();
  await db?.drop();
});

describe('a retry after a crash between the broker report and its answer', () => {
  it('gets the order (200) once the broker call is over, not 409 in_progress; Alpaca saw one order', async () => {
    const bid = new D((await trader.get('/v1/quotes/SPY')).body.bid);
    const body = {
      clientOrderId: 'idem-crash-1',
      symbol: 'SPY',
      side: 'buy',
      quantity: '3',
      type: 'limit',
      limitPrice: dec(bid.minus(1)),
    };
    // Alpaca acts on the order (its stream says `new`) but holds the answer past the kill.
    const fault = await fake!.call('POST', '/test/faults', {
      kind: 'random_delay',
      delay_ms: 60_000,
      max_delay_ms: 60_000,
      remaining: 1,
    });
    expect(fault.status).toBe(201);
    const path = `/v1/accounts/${accountId}/orders`;
    const first = attempt(gw!.url, trader.token!, 'POST', path, body);
    const settled = await eventually(
      async () =>
        (await allOrders(trader, accountId)).find((o) => o.clientOrderId === body.clientOrderId && o.status === 'new'),
      10_000,
      'the order new by the stream, its answer still held',
    );
    await gw!.stop('SIGKILL');
    expect((await first).kind).toBe('failed');
    gw = await startGateway();
    const retry = new Api(gw.url, trader.token);

    const answers: number[] = [];
    const replayed = await eventually(
      async () => {
        const res = await retry.post(path, body);
        answers.push(res.status);
        return res.status === 200 ? res : null;
      },
      20_000,
      'the retry answered 200, not 409 idempotency.in_progress',
    );
    expect(replayed.body).toMatchObject({ id: settled.id, status: 'new', clientOrderId: body.clientOrderId });
    expect(
      answers.every((s) => s === 200 || s === 409),
      answers.join(', '),
    ).toBe(true);
    const posts = ((await fake!.call('GET', '/test/received')).body as any[]).filter((r) => r.method === 'POST');
    expect(posts.map((r) => r.body.client_order_id)).toEqual([settled.id]);
  }, 60_000);
});
