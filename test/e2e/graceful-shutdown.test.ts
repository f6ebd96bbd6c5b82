import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, expectConsecutive, sleep } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api } from '../support/http.js';
import { D } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * SIGTERM on one of two instances sharing one paper venue while 8 clients place orders (README, "Running
 * several instances"): readiness goes false first while requests are still answered (SHUTDOWN_DRAIN_MS),
 * then the instance closes its stream clients with 1012 and finishes its in-flight requests. Each client
 * acts as a load balancer would: it moves to the other instance when this one stops answering.
 */
const DRAIN_MS = 1_500;
const CLIENTS = 8;

let venue: VenueProcess;
let db: TestDatabase;
let a: GatewayProcess;
let b: GatewayProcess;

beforeAll(async () => {
  venue = await startVenueProcess();
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: venue.url,
    SHUTDOWN_DRAIN_MS: String(DRAIN_MS),
  };
  a = await startGatewayProcess(env);
  b = await startGatewayProcess(env);
});
afterAll(async () => {
  await a?.stop('SIGKILL');
  await b?.stop();
  await venue?.stop();
  await db?.drop();
});

describe('SIGTERM on one of two instances', () => {
  it('drains: readiness false first, every request answered or refused before intent, each accepted order at the venue once, streams resume on the other', async () => {
    const accountId = a.accountId;
    const quote = (await new Api(a.url, a.traderToken).get('/v1/quotes/SPY')).body;
    const limitPrice = new D(quote.bid).minus('0.50').toFixed(2); // resting, inside the price collar
    const stream = await StreamClient.connect(a.url);
    await stream.authenticate(a.traderToken);
    await stream.subscribeOrders(accountId, 0);

    const answers: { clientOrderId: string; status: number | 'refused'; id?: string }[] = [];
    let placing = true;
    let n = 0;
    const client = async (k: number) => {
      let target = a;
      while (placing) {
        const clientOrderId = `drain-${k}-${n++}`;
        const body = { clientOrderId, symbol: 'SPY', side: 'buy', quantity: '1', type: 'limit', limitPrice };
        try {
          const res = await new Api(target.url, a.traderToken).post(`/v1/accounts/${accountId}/orders`, body);
          answers.push({ clientOrderId, status: res.status, id: res.body?.id });
          if (res.status >= 500) {
            target = b;
          }
        } catch {
          // The connection was refused or closed before an answer: the load balancer's next instance.
          answers.push({ clientOrderId, status: 'refused' });
          target = b;
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, k) => client(k));
    await sleep(1_500);
    const before = answers.length;
    const terminated = a.stop('SIGTERM');
    // Readiness goes false at once, while orders are still answered there during the drain.
    const readyStatuses: number[] = [];
    for (let i = 0; i < 5; i += 1) {
      readyStatuses.push(
        await fetch(`${a.url}/health/ready`).then(
          (r) => r.status,
          () => 0,
        ),
      );
      await sleep(100);
    }
    expect(
      readyStatuses.slice(1).every((s) => s === 503),
      `readiness ${readyStatuses.join(',')}`,
    ).toBe(true);
    await terminated;
    await sleep(1_500);
    placing = false;
    await Promise.all(clients);
    expect(answers.length).toBeGreaterThan(before);

    // Every request was answered 2xx/4xx or refused: none got a 5xx from a half-closed instance.
    const statuses = answers.map((x) => x.status);
    expect(
      statuses.filter((s) => typeof s === 'number' && s >= 500),
      `statuses ${[...new Set(statuses)].join(',')}`,
    ).toEqual([]);

    // The stream client was closed with 1012 and resumes on the other instance from its last seq.
    const closeCode = await stream.waitForClose(DRAIN_MS + 10_000);
    expect(closeCode).toBe(1012);
    const resumed = await StreamClient.connect(b.url);
    await resumed.authenticate(b.traderToken);
    await resumed.subscribeOrders(accountId, stream.lastSeq(accountId));

    const api = new Api(b.url, b.traderToken);
    const record = await allEvents(api, accountId);
    const last = record[record.length - 1].seq as number;
    await resumed.waitFor((m) => m.type === 'order' && m.seq === last, 10_000);
    const seen = [...stream.orderEvents(accountId), ...resumed.orderEvents(accountId)];
    const unique = [...new Map(seen.map((e) => [e.seq, e])).values()].sort((x, y) => x.seq - y.seq);
    expectConsecutive(unique, 1);
    expect(unique.map((e) => e.seq)).toEqual(record.map((e) => e.seq));
    resumed.close();

    // Each accepted order reached the venue exactly once; a refused request left no order behind, or one
    // that also reached the venue once (the instance finished it).
    const received = await venue.received();
    const atVenue = new Map<string, number>();
    for (const r of received) {
      atVenue.set(r.clientOrderId, (atVenue.get(r.clientOrderId) ?? 0) + 1);
    }
    const orders: { id: string; client_order_id: string }[] = await db.dataSource.query(
      'SELECT id, client_order_id FROM orders WHERE account_id = $1',
      [accountId],
    );
    for (const answer of answers.filter((x) => x.status === 201)) {
      expect(atVenue.get(answer.id!), answer.clientOrderId).toBe(1);
    }
    for (const order of orders) {
      expect(atVenue.get(order.id), order.client_order_id).toBe(1);
    }
    const placed = new Set(orders.map((o) => o.id));
    for (const answer of answers.filter((x) => x.status === 201)) {
      expect(placed.has(answer.id!), answer.clientOrderId).toBe(true);
    }
  }, 60_000);
});
