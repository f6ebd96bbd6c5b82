import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allExecutions,
  attempt,
  countBy,
  duplicates,
  netBySymbol,
  OPEN_STATUSES,
  SeededRandom,
  seedFrom,
  signed,
  UNCERTAIN_STATUSES,
  venueFills,
  venueOrders,
} from '../support/chaos.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from '../support/database.js';
import { allEvents, allOrders, expectConsecutive, orderWhen } from '../support/e2e.js';
import { type GatewayProcess, startGatewayProcess } from '../support/gateway-process.js';
import { Api, eventually } from '../support/http.js';
import { D, dec } from '../support/market-data.js';
import { StreamClient } from '../support/stream-client.js';
import { startVenueProcess, type VenueProcess } from '../support/venue-process.js';

/**
 * Two gateway processes on one database, one Redis prefix and one fake broker, with concurrent clients
 * hammering ONE account through both (the instance alternates per request): market buys and sells,
 * passive limits, cancels and replaces. ARCHITECTURE.md: one account's commands are serialised across
 * instances by the account row lock, so the per-account limits hold at every moment, the account's
 * events have one gapless seq, and every instance's stream shows the same events in seq order.
 *
 * Replay the plan with the printed seed: `MULTI_SEED=<seed> npx vitest run test/e2e/multi-instance.test.ts`.
 */
const SEED = seedFrom('MULTI_SEED');
const MAX_POSITION = 50;
const MAX_WORKING = 20;
/** Bought before the hammering starts (a multiple of 5). */
const WARM_UP = 40;
const CLIENTS = 8;
const OPS_PER_CLIENT = 40;
const START_TIME = '09:30:10';
const DENIALS = ['risk.max_position', 'risk.max_working_orders'];

let venue: VenueProcess | undefined;
let db: TestDatabase | undefined;
const gateways: GatewayProcess[] = [];
const streams: StreamClient[] = [];

beforeAll(async () => {
  console.log(`multi-instance test: MULTI_SEED=${SEED}`);
  venue = await startVenueProcess({
    VENUE_LATENCY_MIN_MS: '0',
    VENUE_LATENCY_MAX_MS: '40',
    VENUE_SEED: String(SEED),
    PAPER_START_TIME: START_TIME,
  });
  db = await createTestDatabase();
  const env = {
    DATABASE_URL: db.url,
    REDIS_PREFIX: redisPrefix(),
    PAPER_VENUE_URL: venue.url,
    PAPER_START_TIME: START_TIME,
    RISK_MAX_POSITION_QUANTITY: String(MAX_POSITION),
    RISK_MAX_WORKING_ORDERS: String(MAX_WORKING),
  };
  gateways.push(await startGatewayProcess(env));
  gateways.push(await startGatewayProcess(env));
});

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

describe('two gateway instances on one database and one broker', () => {
  it('keep one gapless seq, the same streams, and the position and working-order limits at every moment', async () => {
    const started = Date.now();
    const rng = new SeededRandom(SEED);
    const [a, b] = gateways as [GatewayProcess, GatewayProcess];
    expect(b.accountId).toBe(a.accountId);
    const accountId = a.accountId;
    const token = a.traderToken;
    const ordersPath = `/v1/accounts/${accountId}/orders`;

    for (const g of gateways) {
      const s = await StreamClient.connect(g.url);
      streams.push(s);
      await s.authenticate(token);
      expect(await s.subscribeOrders(accountId, 0)).toMatchObject({ type: 'subscribed', seq: 0 });
    }

    const quote = (await new Api(a.url, token).get('/v1/quotes/SPY')).body;
    expect(quote, JSON.stringify(quote)).toMatchObject({ bid: expect.any(String), ask: expect.any(String) });
    const bid = new D(quote.bid);
    const ask = new D(quote.ask);

    let turn = 0;
    const via = () => gateways[turn++ % 2]!;

    // Warm-up: a long position of WARM_UP shares, so that the hammering works at the position limit.
    for (let i = 0; i < WARM_UP / 5; i++) {
      const res = await new Api(via().url, token).post(ordersPath, {
        clientOrderId: `multi-${SEED}-warm-${i}`,
        symbol: 'SPY',
        side: 'buy',
        quantity: '5',
        type: 'market',
      });
      expect(res.status, JSON.stringify(res.body)).toBe(201);
      await orderWhen(new Api(via().url, token), accountId, res.body.id, (o) => o.status === 'filled', 'filled');
    }
    const answers: { op: string; key: string }[] = [];
    const unexpected: string[] = [];
    const denied: { code: string; orderId: string }[] = [];

    const send = async (op: string, method: string, path: string, body: unknown, ok: (key: string) => boolean) => {
      const res = await attempt(via().url, token, method, path, body);
      const key =
        res.kind === 'failed' ? `failed ${res.reason}` : `${res.status}${res.body?.code ? ` ${res.body.code}` : ''}`;
      answers.push({ op, key });
      if (!ok(key) || res.kind === 'failed') {
        unexpected.push(`${op} ${method} ${path} ${JSON.stringify(body)}: ${key} ${JSON.stringify((res as any).body)}`);
        return null;
      }
      if (res.status === 422 && String(res.body?.code).startsWith('risk.')) {
        denied.push({ code: res.body.code, orderId: res.body.orderId });
      }
      return res;
    };
    const isDenial = (key: string) => DENIALS.some((d) => key === `422 ${d}`);

    const client = async (n: number) => {
      const own = rng.fork(n);
      const mine: { id: string; quantity: number; limitPrice: string }[] = [];
      for (let i = 0; i < OPS_PER_CLIENT; i++) {
        const r = own.next();
        const clientOrderId = `multi-${SEED}-${n}-${i}`;
        const quantity = own.int(1, 5);
        if (r < 0.5) {
          const side = r < 0.33 ? 'buy' : 'sell';
          await send(
            `market ${side}`,
            'POST',
            ordersPath,
            { clientOrderId, symbol: 'SPY', side, quantity: String(quantity), type: 'market' },
            (k) => k === '201' || isDenial(k),
          );
        } else if (r < 0.75 || mine.length === 0) {
          const side = own.chance(0.5) ? 'buy' : 'sell';
          const away = new D(own.int(5, 50)).dividedBy(100);
          const limitPrice = dec(side === 'buy' ? bid.minus(away) : ask.plus(away));
          const res = await send(
            `passive ${side}`,
            'POST',
            ordersPath,
            { clientOrderId, symbol: 'SPY', side, quantity: String(quantity), type: 'limit', limitPrice },
            (k) => k === '201' || isDenial(k),
          );
          if (res?.status === 201) {
            mine.push({ id: res.body.id, quantity, limitPrice });
          }
        } else if (r < 0.9) {
          const [target] = mine.splice(own.int(0, mine.length - 1), 1);
          await send(
            'cancel',
            'DELETE',
            `${ordersPath}/${target!.id}`,
            undefined,
            (k) => k === '202' || k === '422 order.not_cancelable',
          );
        } else {
          const [target] = mine.splice(own.int(0, mine.length - 1), 1);
          const change = own.chance(0.5)
            ? { quantity: String(target!.quantity + own.int(1, 3)) }
            : { limitPrice: dec(new D(target!.limitPrice).plus(own.chance(0.5) ? '0.01' : '-0.01')) };
          const res = await send(
            'replace',
            'PATCH',
            `${ordersPath}/${target!.id}`,
            { clientOrderId, ...change },
            (k) => k === '202' || k === '422 order.not_replaceable' || isDenial(k),
          );
          if (res?.status === 202) {
            mine.push({
              id: res.body.id,
              quantity: Number(res.body.quantity),
              limitPrice: res.body.limitPrice ?? target!.limitPrice,
            });
          } else if (res?.status === 422 && isDenial(`422 ${res.body.code}`)) {
            mine.push(target!); // the old order is left as it was
          }
        }
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n)));
    const trafficMs = Date.now() - started;

    // Quiescence: no order uncertain, every venue fill recorded, and no new event for a while; then both
    // streams catch up. Bounded: the assertions below say what is missing.
    const api = new Api(a.url, token);
    let lastCount = -1;
    await eventually(
      async () => {
        const all = await allOrders(api, accountId);
        const recorded = (await allExecutions(api, accountId)).length === (await venueFills(venue!)).length;
        const count = (await allEvents(api, accountId)).length;
        const quiet = count === lastCount;
        lastCount = count;
        return all.every((o) => !UNCERTAIN_STATUSES.includes(o.status)) && recorded && quiet;
      },
      20_000,
      'every order to settle and every fill to be recorded',
    ).catch(() => undefined);
    const orders = await allOrders(api, accountId);
    const events = await allEvents(api, accountId);
    const seq = events.length;
    await Promise.all(
      streams.map((s, i) =>
        eventually(() => Promise.resolve(s.lastSeq(accountId) >= seq), 10_000, `stream ${i} to reach seq ${seq}`).catch(
          () => undefined,
        ),
      ),
    );
    const eventsViaB = await allEvents(new Api(b.url, token), accountId);
    const executions = await allExecutions(api, accountId);
    const fills = await venueFills(venue!);
    const atVenue = await venueOrders(venue!);
    const received: any[] = await venue!.received();
    const replaces = await venue!.call('GET', '/v1/test/received-replaces');
    const positions = (await api.get(`/v1/accounts/${accountId}/positions`)).body.positions;

    // The running position in the order the venue filled, and in the order the gateway recorded (seq).
    const maxAbsRunning = (steps: readonly { symbol: string; side: string; quantity: string }[]) => {
      const running = new Map<string, InstanceType<typeof D>>();
      let max = new D(0);
      const breaches: string[] = [];
      steps.forEach((f, i) => {
        const p = (running.get(f.symbol) ?? new D(0)).plus(signed(f.side, f.quantity));
        running.set(f.symbol, p);
        max = D.max(max, p.abs());
        if (p.abs().greaterThan(MAX_POSITION)) {
          breaches.push(`step ${i}: ${f.symbol} ${p.toFixed()}`);
        }
      });
      return { max: max.toNumber(), breaches };
    };
    const venueRun = maxAbsRunning(fills);
    const eventRun = maxAbsRunning(
      events.filter((e) => e.execution).map((e) => ({ ...e.execution, symbol: e.order.symbol, side: e.order.side })),
    );
    // Working orders after each event. An order being replaced (`pending_replace`) and its replacement are
    // one working order: the replacement takes its place, and the limit counts it once.
    const statusOf = new Map<string, string>();
    let maxWorking = 0;
    const workingBreaches: string[] = [];
    for (const [i, e] of events.entries()) {
      statusOf.set(e.order.id, e.order.status);
      // A replace writes the replacement's pending_new and then, in the same transaction, the old order's
      // pending_replace: count after the pair, not between its two events.
      if (e.order.replacesOrderId && e.event === 'pending_new' && events[i + 1]?.order.id === e.order.replacesOrderId) {
        continue;
      }
      const working = [...statusOf.values()].filter((s) => OPEN_STATUSES.includes(s) && s !== 'pending_replace').length;
      maxWorking = Math.max(maxWorking, working);
      if (working > MAX_WORKING) {
        workingBreaches.push(`after seq ${e.seq}: ${working} working orders`);
      }
    }

    const streamSeqs = streams.map((s) => s.orderEvents(accountId).map((e) => e.seq as number));
    // How long a market order waited for its fill to be recorded (the venue fills it on arrival).
    const fillDelays = events
      .filter((e) => e.event === 'filled' && e.order.type === 'market')
      .map((e) => Date.parse(e.ts) - Date.parse(e.order.createdAt))
      .sort((x, y) => x - y);
    console.log(
      [
        `multi-instance report (MULTI_SEED=${SEED})`,
        `  requests ${answers.length} by ${CLIENTS} clients through 2 instances`,
        ...Object.entries(countBy(answers, (x) => x.op)).map(
          ([op, n]) =>
            `    ${op} ×${n}: ${JSON.stringify(
              countBy(
                answers.filter((x) => x.op === op),
                (x) => x.key,
              ),
            )}`,
        ),
        `  orders ${orders.length}, final statuses ${JSON.stringify(countBy(orders, (o) => o.status))}`,
        `  events ${events.length}; stream events ${streamSeqs.map((s) => s.length).join(' / ')}`,
        `  max |position| ${venueRun.max} (venue fill order) / ${eventRun.max} (event order), limit ${MAX_POSITION}; final ${JSON.stringify(netBySymbol(fills))}`,
        `  max working orders ${maxWorking}, limit ${MAX_WORKING}`,
        `  market order fill recorded after (ms): median ${fillDelays[fillDelays.length >> 1]}, max ${fillDelays.at(-1)}`,
        `  venue: submits ${received.length}, replaces ${replaces.body?.length}, orders ${atVenue.length}, fills ${fills.length}; gateway executions ${executions.length}`,
        `  time: traffic ${trafficMs} ms, total ${Date.now() - started} ms`,
      ].join('\n'),
    );

    expect(unexpected, 'unexpected answers').toEqual([]);
    expect(
      orders.filter((o) => UNCERTAIN_STATUSES.includes(o.status)).map((o) => `${o.id} ${o.status}`),
      'orders still uncertain',
    ).toEqual([]);

    // One gapless seq, without duplicates, the same through both instances.
    expect(duplicates(events.map((e) => String(e.seq))), 'duplicate seqs').toEqual({});
    expectConsecutive(events, 1);
    expect(eventsViaB).toEqual(events);

    // Both streams: every event once, in seq order, the same as GET /events.
    const shape = (e: any) => ({
      seq: e.seq,
      event: e.event,
      orderId: e.order.id,
      status: e.order.status,
      filledQuantity: e.order.filledQuantity,
      brokerExecutionId: e.execution?.brokerExecutionId ?? null,
    });
    for (const [i, s] of streams.entries()) {
      expect(streamSeqs[i], `stream ${i} seqs`).toEqual(events.map((e) => e.seq));
      expect(s.orderEvents(accountId).map(shape), `stream ${i} events`).toEqual(events.map(shape));
    }

    // The position never exceeded the limit, in the venue's order of fills nor in the gateway's.
    expect(venueRun.breaches, 'position beyond the limit (venue fill order)').toEqual([]);
    expect(eventRun.breaches, 'position beyond the limit (event order)').toEqual([]);
    const gatewayPositions = Object.fromEntries(
      positions.filter((p: any) => !new D(p.quantity).isZero()).map((p: any) => [p.symbol, dec(p.quantity)]),
    );
    expect(gatewayPositions, 'positions vs venue fills').toEqual(netBySymbol(fills));

    // Working orders never exceeded their limit.
    expect(workingBreaches, 'working orders beyond the limit').toEqual([]);

    // The venue received no clientOrderId twice (submits and replacements together).
    const sentIds = [
      ...received.map((r) => r.clientOrderId as string),
      ...(replaces.body as any[]).map((r) => r.newClientOrderId as string),
    ];
    expect(duplicates(sentIds), 'client order ids received twice').toEqual({});

    // Denials are the two limits, both reached; a denied order is kept as denied and never sent.
    expect(
      denied.filter((d) => !DENIALS.includes(d.code)),
      'other denials',
    ).toEqual([]);
    expect([...new Set(denied.map((d) => d.code))].sort(), 'both limits reached').toEqual(DENIALS);
    const byId = new Map(orders.map((o) => [o.id as string, o]));
    const venueIds = new Set(atVenue.map((o) => o.clientOrderId as string));
    expect(
      denied.filter((d) => byId.get(d.orderId)?.status !== 'denied' || venueIds.has(d.orderId)),
      'denied orders not kept as denied, or sent',
    ).toEqual([]);

    // Every venue fill is an execution exactly once.
    expect(duplicates(executions.map((x) => x.brokerExecutionId)), 'executions applied twice').toEqual({});
    expect(executions.map((x) => x.brokerExecutionId).sort()).toEqual(fills.map((f) => f.brokerExecutionId).sort());
  }, 60_000);
});
