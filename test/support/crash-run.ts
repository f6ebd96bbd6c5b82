import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  allExecutions,
  attempt,
  countBy,
  duplicates,
  netBySymbol,
  SeededRandom,
  seedFrom,
  UNCERTAIN_STATUSES,
} from './chaos.js';
import { createTestDatabase, redisPrefix, type TestDatabase } from './database.js';
import { allEvents, allOrders, expectConsecutive, sleep } from './e2e.js';
import { type GatewayProcess, mintToken, startGatewayProcess } from './gateway-process.js';
import { Api, eventually, type JsonResponse } from './http.js';
import { D, dec } from './market-data.js';

/*
 * The crash test's body (ARCHITECTURE.md "Placing an order", steps 3–5), run against one fake broker per
 * entry file (test/e2e/crash.test.ts: the paper venue; crash-alpaca.test.ts; crash-schwab.test.ts), so that
 * vitest runs them in parallel: one fake broker that answers each order request after a random 0–2 s
 * (seeded), one gateway that is SIGKILLed at random moments and started again on the same database, and
 * concurrent clients that retry every request that got no answer (refused, reset, 5xx, 409 in_progress)
 * with the SAME clientOrderId and body, as a client must after a crash. A submission that takes longer than
 * the gateway's 1.5 s timeout becomes `unknown`. At the end, once reconciliation has settled everything, the
 * broker must have seen every order at most once, the gateway's orders, executions and positions must agree
 * with the broker's own records, and the account's events must be gapless.
 *
 * Replay a failure with the printed seed: `CRASH_SEED=<seed> npx vitest run test/e2e/crash<-broker>.test.ts`
 * (the interleaving with the kills still varies with timing; the plan of orders, kills and delays does not),
 * with `CRASH_LOG_DIR=<dir>` to keep every process's log (in `<dir>/<broker>/`: gateway-0.log … in start
 * order, broker.log).
 */

/** One submit as the broker received it: our id when its wire carries one, and the order's terms. */
export interface BrokerSubmit {
  readonly clientOrderId: string | null;
  readonly terms: string;
}

/** One order as the broker has it, its status in the gateway's words (`new`, `filled`, … ). */
export interface BrokerOrder {
  readonly clientOrderId: string | null;
  readonly brokerOrderId: string;
  readonly terms: string;
  readonly status: string;
  readonly filledQuantity: string;
}

/** One fill as the broker has it; `brokerExecutionId` as the gateway's adapter derives it. */
export interface BrokerFill {
  readonly brokerExecutionId: string;
  readonly brokerOrderId: string;
  readonly clientOrderId: string | null;
  readonly symbol: string;
  readonly side: string;
  readonly quantity: string;
  readonly price: string;
}

/** A resting order the "market" may fill at the broker. */
export interface RestingOrder {
  readonly id: string;
  brokerOrderId: string | null;
}

/**
 * What the crash test needs of one fake broker: start it (with the seeded random answer delay), the
 * gateway's configuration for it, the account the clients trade in, a fill now (the "market"), and the
 * broker's own records for the final comparison.
 */
export interface CrashBroker {
  readonly name: string;
  /**
   * Whether the broker carries our order id (the clientOrderId the gateway sends). Without it (Schwab), the
   * broker's orders are told apart by their terms, and the gateway's orders are found by broker order id.
   */
  readonly carriesClientOrderId: boolean;
  /** Starts the fake, paused at `startTime`, answering every order request after a random 0–2 s from `seed`. */
  start(seed: number, startTime: string): Promise<void>;
  /** The gateway's environment for this broker, for every start. */
  gatewayEnv(): Record<string, string>;
  /** With the first gateway: the account the clients trade in, ready for orders, and a trader's token for it. */
  connect(gw: GatewayProcess, databaseUrl: string): Promise<{ accountId: string; token: string }>;
  /** A fill of one share now at the broker, of a resting order (by our id, or its broker order id); true if made. */
  fillOne(order: RestingOrder): Promise<boolean>;
  submits(): Promise<BrokerSubmit[]>;
  orders(): Promise<BrokerOrder[]>;
  fills(): Promise<BrokerFill[]>;
  /** The broker's net position per symbol (zero ones left out), decimal strings. */
  positions(fills: readonly BrokerFill[]): Promise<Record<string, string>>;
  output(): string;
  stop(): Promise<void>;
}

export interface CrashRunOptions {
  readonly orders: number;
  readonly kills: number;
  readonly clients: number;
  /**
   * Whether every order must differ from every other in side, quantity and limit price (the broker cannot
   * tell our orders apart otherwise: see crash-schwab.test.ts). The marketable limits then cross the touch by
   * a random 0.05–0.50 rather than a fixed 0.05; they fill at the touch all the same.
   */
  readonly distinctTerms: boolean;
  /** The whole test's time limit, ms. */
  readonly timeoutMs: number;
  /**
   * Also a quiet account on the traded account's broker (no order ever): how long after each restart's
   * `/health/ready` it takes entries again, printed, and at most QUIET_ENTRIES_WITHIN_MS (nothing of it is
   * uncertain, so only the start-up reconciliation pass stands between). Needs a broker whose accounts
   * trade without credentials of their own (the paper venue).
   */
  readonly quietAccount?: boolean;
}

/** An account with nothing uncertain takes entries again within this long of a restart's readiness. */
const QUIET_ENTRIES_WITHIN_MS = 1_000;

/** The terms an order is told apart by when the broker has no client order id: side, quantity, limit price. */
export function orderTerms(side: string, quantity: string | number, limitPrice: string | number | null): string {
  return `${side} ${dec(String(quantity))} @ ${limitPrice === null ? 'market' : dec(String(limitPrice))}`;
}

const START_TIME = '09:30:10';
const SUBMIT_TIMEOUT_MS = 1_500;
const MISSING_AFTER_MS = 3_000;
/** A request that gets no answer for this long fails the test (a gateway that never comes back). */
const REQUEST_DEADLINE_MS = 90_000;
const SETTLE_TIMEOUT_MS = 60_000;

interface PlannedOrder {
  readonly index: number;
  readonly passive: boolean;
  readonly body: {
    clientOrderId: string;
    symbol: 'SPY';
    side: 'buy' | 'sell';
    quantity: string;
    type: 'limit';
    limitPrice: string;
  };
}

/** What one client request finally got, after its retries. */
interface Answered {
  readonly res: JsonResponse;
  readonly attempts: number;
}

/** Declares the crash test (beforeAll, afterAll, one `it`) against `broker`. */
export function describeCrashTest(broker: CrashBroker, options: CrashRunOptions): void {
  const SEED = seedFrom('CRASH_SEED');
  const { orders: ORDERS, kills: KILLS, clients: CLIENTS } = options;
  const label = broker.name;

  let db: TestDatabase | undefined;
  let gw: GatewayProcess | undefined;
  let prefix: string;
  let started = false;
  let accountId: string;
  let token: string;
  let quietAccountId: string | undefined;
  let quietToken = '';

  function startGateway(): Promise<GatewayProcess> {
    return startGatewayProcess({
      DATABASE_URL: db!.url,
      REDIS_PREFIX: prefix,
      PAPER_START_TIME: START_TIME,
      BROKER_SUBMIT_TIMEOUT_MS: String(SUBMIT_TIMEOUT_MS),
      RECONCILE_MISSING_AFTER_MS: String(MISSING_AFTER_MS),
      ...broker.gatewayEnv(),
    });
  }

  /** With CRASH_LOG_DIR set, every process's output is kept in `<dir>/<broker>/`. */
  let logged = 0;
  function keepLog(name: string, text: string): void {
    const dir = process.env.CRASH_LOG_DIR;
    if (dir) {
      mkdirSync(join(dir, label), { recursive: true });
      writeFileSync(join(dir, label, name), text);
    }
  }

  async function killGateway(): Promise<void> {
    await gw!.stop('SIGKILL');
    keepLog(`gateway-${logged++}.log`, gw!.output());
  }

  beforeAll(async () => {
    console.log(`crash test (${label}): CRASH_SEED=${SEED}`);
    await broker.start(SEED, START_TIME);
    started = true;
    db = await createTestDatabase();
    prefix = redisPrefix();
    gw = await startGateway();
    ({ accountId, token } = await broker.connect(gw, db.url));
    if (options.quietAccount) {
      const [row] = await db.dataSource.query<{ id: string }[]>(
        `INSERT INTO accounts (id, name, environment, broker, broker_account_id)
         SELECT gen_random_uuid(), 'crash-quiet', environment, broker, broker_account_id FROM accounts WHERE id = $1
         RETURNING id`,
        [accountId],
      );
      quietAccountId = row!.id;
      quietToken = await mintToken(db.url, ['--sub', 'crash-quiet', '--role', 'trader', '--account', quietAccountId]);
    }
  }, 120_000);

  afterAll(async () => {
    if (gw) {
      await killGateway();
    }
    if (started) {
      keepLog('broker.log', broker.output());
      await broker.stop();
    }
    await db?.drop();
  });

  describe(`crash test (${label}): SIGKILL and restart under load, with a slow broker`, () => {
    it(
      'never sends an order twice, and ends with the broker and the gateway in agreement',
      async () => {
        const started = Date.now();
        const rng = new SeededRandom(SEED);
        const ordersPath = `/v1/accounts/${accountId}/orders`;
        const quote = (await new Api(gw!.url, token).get('/v1/quotes/SPY')).body;
        expect(quote, JSON.stringify(quote)).toMatchObject({ bid: expect.any(String), ask: expect.any(String) });
        const bid = new D(quote.bid);
        const ask = new D(quote.ask);

        // The plan: marketable limits (through the touch: they fill at once, at the touch) and passive limits
        // (away from it: they rest; the paused replay never reaches them).
        const taken = new Set<string>();
        const plan: PlannedOrder[] = Array.from({ length: ORDERS }, (_, index) => {
          for (;;) {
            const passive = rng.chance(0.55);
            const side = rng.chance(0.5) ? 'buy' : 'sell';
            const away = new D(rng.int(5, 50)).dividedBy(100);
            const through = options.distinctTerms ? away : new D('0.05');
            const limitPrice = passive
              ? side === 'buy'
                ? bid.minus(away)
                : ask.plus(away)
              : side === 'buy'
                ? ask.plus(through)
                : bid.minus(through);
            const quantity = String(passive ? rng.int(1, 10) : rng.int(1, 5));
            const terms = orderTerms(side, quantity, dec(limitPrice));
            if (options.distinctTerms && taken.has(terms)) {
              continue; // drawn again: no two orders alike
            }
            taken.add(terms);
            return {
              index,
              passive,
              body: {
                clientOrderId: `crash-${SEED}-${index}`,
                symbol: 'SPY',
                side,
                quantity,
                type: 'limit',
                limitPrice: dec(limitPrice),
              },
            };
          }
        });

        const stats = {
          retriedRequests: 0,
          retries: 0,
          failures: {} as Record<string, number>,
          kills: 0,
          restartMs: [] as number[],
          cancels: {} as Record<string, number>,
          forcedFills: 0,
          unexpected: [] as string[],
        };
        const answers = new Map<number, Answered>();
        /** Passive orders a client got back as accepted, which it may cancel or the "market" may fill. */
        const resting: RestingOrder[] = [];
        let clientsDone = false;

        /** Sends one request until it gets an answer that is not "try again", following the current gateway. */
        async function untilAnswered(
          method: string,
          path: string,
          body: unknown,
          what: string,
          wait: SeededRandom,
        ): Promise<Answered> {
          const deadline = Date.now() + REQUEST_DEADLINE_MS;
          for (let attempts = 1; ; attempts++) {
            const a = await attempt(gw!.url, token, method, path, body);
            const retry =
              a.kind === 'failed' ||
              a.status >= 500 ||
              (a.status === 409 && a.body?.code === 'idempotency.in_progress');
            if (!retry) {
              if (attempts > 1) {
                stats.retriedRequests++;
                stats.retries += attempts - 1;
              }
              return { res: a, attempts };
            }
            const why = a.kind === 'failed' ? a.reason : `${a.status} ${a.body?.code ?? ''}`.trim();
            stats.failures[why] = (stats.failures[why] ?? 0) + 1;
            if (Date.now() > deadline) {
              throw new Error(`${what}: no answer within ${REQUEST_DEADLINE_MS} ms (last: ${why})`);
            }
            await sleep(wait.int(50, 300));
          }
        }

        let next = 0;
        const client = async (n: number) => {
          const own = rng.fork(n);
          const mine: string[] = [];
          while (next < ORDERS) {
            const order = plan[next++]!;
            const answered = await untilAnswered('POST', ordersPath, order.body, order.body.clientOrderId, own);
            answers.set(order.index, answered);
            const { status, body } = answered.res;
            if (status === 201 || status === 200) {
              if (order.passive && ['pending_new', 'new', 'partially_filled', 'unknown'].includes(body.status)) {
                mine.push(body.id);
                resting.push({ id: body.id, brokerOrderId: body.brokerOrderId ?? null });
              }
            } else if (status === 422 && body?.code === 'risk.entries_blocked') {
              // As a real client would: entries are blocked until reconciliation has run; try later.
              await sleep(own.int(300, 1_000));
            } else if (!(status === 422 && String(body?.code).startsWith('risk.'))) {
              stats.unexpected.push(`POST ${order.body.clientOrderId}: ${status} ${JSON.stringify(body)}`);
            }
            if (mine.length > 0 && own.chance(0.3)) {
              const id = mine.splice(own.int(0, mine.length - 1), 1)[0]!;
              const cancel = await untilAnswered('DELETE', `${ordersPath}/${id}`, undefined, `cancel ${id}`, own);
              const key = `${cancel.res.status}${cancel.res.body?.code ? ` ${cancel.res.body.code}` : ''}`;
              stats.cancels[key] = (stats.cancels[key] ?? 0) + 1;
              if (cancel.res.status !== 202 && !(cancel.res.status === 422 && key.endsWith('order.not_cancelable'))) {
                stats.unexpected.push(`DELETE ${id}: ${key} ${JSON.stringify(cancel.res.body)}`);
              }
            }
          }
        };

        // The "market": now and then, a resting order gets a fill at the broker, whether the gateway is up or not.
        const market = async () => {
          const own = rng.fork(1000);
          while (!clientsDone) {
            await sleep(own.int(300, 2_000));
            if (resting.length === 0) {
              continue;
            }
            const order = own.pick(resting);
            if (!broker.carriesClientOrderId && order.brokerOrderId === null) {
              // Its submit was `unknown` when answered: the broker's id is known once the gateway settled it.
              const read = await attempt(gw!.url, token, 'GET', `${ordersPath}/${order.id}`, undefined, 2_000);
              order.brokerOrderId = read.kind === 'answered' ? (read.body?.brokerOrderId ?? null) : null;
              if (order.brokerOrderId === null) {
                continue;
              }
            }
            if (await broker.fillOne(order)) {
              stats.forcedFills++;
            }
          }
        };

        const killer = async () => {
          const own = rng.fork(2000);
          for (let k = 0; k < KILLS; k++) {
            await sleep(own.int(2_000, 7_000));
            await killGateway();
            stats.kills++;
            const t0 = Date.now();
            gw = await startGateway();
            stats.restartMs.push(Date.now() - t0);
            uptimes.push({ readyAt: Date.now(), unblockedAt: null });
            if (quietAccountId !== undefined) {
              quietMeasures.push(quietEntriesAfterReady(gw));
            }
          }
        };

        // The quiet account (nothing of it uncertain): from `/health/ready` answering 200 to its entries
        // unblocked (GET /v1/accounts/{id} `entriesBlocked: false`), polled every 20 ms; null when that
        // gateway was killed first.
        const quietMeasures: Promise<number | null>[] = [];
        const quietEntriesAfterReady = async (at: GatewayProcess): Promise<number | null> => {
          const poll = async (path: string, auth: string, done: (res: JsonResponse) => boolean) => {
            for (;;) {
              if (gw !== at) {
                return false;
              }
              const res = await attempt(at.url, auth, 'GET', path, undefined, 2_000);
              if (res.kind === 'answered' && done(res)) {
                return true;
              }
              await sleep(20);
            }
          };
          if (!(await poll('/health/ready', quietToken, (res) => res.status === 200))) {
            return null;
          }
          const readyAt = Date.now();
          const unblocked = await poll(
            `/v1/accounts/${quietAccountId}`,
            quietToken,
            (res) => res.status === 200 && res.body?.entriesBlocked === false,
          );
          return unblocked ? Date.now() - readyAt : null;
        };

        // How long each restart blocks entries (`restart: …` on the account), sampled every 200 ms.
        const uptimes: { readyAt: number; unblockedAt: number | null }[] = [{ readyAt: Date.now(), unblockedAt: null }];
        const monitor = async () => {
          while (!clientsDone || stats.kills < KILLS) {
            const current = uptimes.at(-1)!;
            const res = await attempt(gw!.url, token, 'GET', `/v1/accounts/${accountId}`, undefined, 2_000);
            if (current.unblockedAt === null && res.kind === 'answered' && res.body?.entriesBlocked === false) {
              current.unblockedAt = Date.now();
            }
            await sleep(200);
          }
        };

        const clients = Promise.all(Array.from({ length: CLIENTS }, (_, n) => client(n))).finally(() => {
          clientsDone = true;
        });
        await Promise.all([clients, market(), killer(), monitor()]);
        const trafficMs = Date.now() - started;
        const quietEntries = await Promise.all(quietMeasures);

        // Reconciliation settles every uncertain order (bounded), then the reports and the account pass
        // bring the gateway's executions to the broker's fills.
        const api = new Api(gw!.url, token);
        const settleStarted = Date.now();
        await eventually(
          async () => (await allOrders(api, accountId)).every((o) => !UNCERTAIN_STATUSES.includes(o.status)),
          SETTLE_TIMEOUT_MS,
          'reconciliation to settle every order',
        ).catch(() => undefined); // the assertions below say what is left
        const fills = await broker.fills();
        await eventually(
          async () => (await allExecutions(api, accountId)).length >= fills.length,
          15_000,
          'the executions',
        ).catch(() => undefined);
        const settleMs = Date.now() - settleStarted;
        const orders = await allOrders(api, accountId);
        const executions = await allExecutions(api, accountId);
        const events = await allEvents(api, accountId);
        const positions = (await api.get(`/v1/accounts/${accountId}/positions`)).body.positions;
        const received = await broker.submits();
        const atBroker = await broker.orders();
        const brokerPositions = await broker.positions(fills);

        const answerCounts = countBy([...answers.values()], (a) =>
          a.res.status === 422 ? `422 ${a.res.body?.code}` : String(a.res.status),
        );
        const unknownThenSettled = new Set(
          events.filter((e) => e.event === 'unknown').map((e) => e.order.id as string),
        );
        const byId = new Map(orders.map((o) => [o.id as string, o]));
        const settledUnknowns = [...unknownThenSettled].filter((id) => byId.get(id)?.status !== 'unknown');
        console.log(
          [
            `crash test report (${label}, CRASH_SEED=${SEED})`,
            `  orders sent ${ORDERS} by ${CLIENTS} clients; answers ${JSON.stringify(answerCounts)}`,
            `  retried requests ${stats.retriedRequests}, retries ${stats.retries}, failures ${JSON.stringify(stats.failures)}`,
            `  kills ${stats.kills}, restart ms ${JSON.stringify(stats.restartMs)}`,
            `  entries blocked after each start for (ms; "killed" when still blocked at the next kill): ${JSON.stringify(
              uptimes.map((u, i) =>
                u.unblockedAt !== null ? u.unblockedAt - u.readyAt : i < stats.kills ? 'killed' : 'still blocked',
              ),
            )}`,
            ...(quietAccountId === undefined
              ? []
              : [
                  `  an account with nothing uncertain takes entries, ms after /health/ready ("killed": before it did): ${JSON.stringify(
                    quietEntries.map((ms) => ms ?? 'killed'),
                  )}`,
                ]),
            `  cancels ${JSON.stringify(stats.cancels)}, fills forced at the broker ${stats.forcedFills}`,
            `  final statuses ${JSON.stringify(countBy(orders, (o) => o.status))}`,
            `  reject reasons ${JSON.stringify(
              countBy(
                orders.filter((o) => o.rejectReason),
                (o) =>
                  o.rejectReason.code === 'risk.entries_blocked'
                    ? `${o.rejectReason.code} (${/restart:/.test(o.rejectReason.message) ? 'restart' : /unknown/.test(o.rejectReason.message) ? 'unknown order' : 'other'})`
                    : o.rejectReason.code,
              ),
            )}`,
            `  unknown then settled ${settledUnknowns.length} of ${unknownThenSettled.size} unknown`,
            `  broker: submits received ${received.length}, orders ${atBroker.length}, fills ${fills.length}; gateway executions ${executions.length}, events ${events.length}`,
            `  time: traffic ${trafficMs} ms, settle ${settleMs} ms, total ${Date.now() - started} ms`,
          ].join('\n'),
        );

        // Every client request got a definite answer of an expected kind.
        expect(stats.unexpected, 'unexpected answers').toEqual([]);
        expect(answers.size).toBe(ORDERS);
        expect(stats.kills).toBe(KILLS);
        // The quiet account takes entries within QUIET_ENTRIES_WITHIN_MS of each restart it was measured on.
        expect(quietEntries.filter((ms) => ms !== null && ms > QUIET_ENTRIES_WITHIN_MS)).toEqual([]);
        if (quietAccountId !== undefined) {
          expect(quietEntries.filter((ms) => ms !== null).length, 'restarts measured').toBeGreaterThan(0);
        }

        // No order is left uncertain: reconciliation settled every one.
        expect(
          orders.filter((o) => UNCERTAIN_STATUSES.includes(o.status)).map((o) => `${o.id} ${o.status}`),
          'orders still uncertain',
        ).toEqual([]);

        // The broker received no order twice: no retry after a crash made a second order. A broker without
        // our id is checked on the terms (every planned order has its own, distinctTerms).
        const identity = (x: { clientOrderId: string | null; terms: string }) => x.clientOrderId ?? x.terms;
        expect(duplicates(received.map(identity)), 'submits received twice').toEqual({});
        expect(duplicates(atBroker.map(identity)), 'broker orders of the same order').toEqual({});

        // One gateway order per clientOrderId, and only the planned ones.
        expect(orders.map((o) => o.clientOrderId).sort()).toEqual(plan.map((p) => p.body.clientOrderId).sort());

        // Each broker order is one gateway order's: by our id when the broker carries it, else by the broker
        // order id the gateway settled on (and no two gateway orders claim the same broker order).
        expect(
          duplicates(orders.map((o) => o.brokerOrderId).filter((b): b is string => typeof b === 'string')),
          'gateway orders on the same broker order',
        ).toEqual({});
        const byBrokerOrderId = new Map(
          orders.filter((o) => o.brokerOrderId).map((o) => [o.brokerOrderId as string, o.id as string]),
        );
        const ourIdOf = (x: { clientOrderId: string | null; brokerOrderId: string }) =>
          (broker.carriesClientOrderId ? x.clientOrderId : byBrokerOrderId.get(x.brokerOrderId)) ??
          `broker order ${x.brokerOrderId}`;
        const brokerById = new Map(atBroker.map((o) => [ourIdOf(o), o]));

        // Every order answered 201/200 is at the broker, or settled as never sent with a reason.
        expect(
          [...answers.values()]
            .filter((a) => a.res.status === 201 || a.res.status === 200)
            .map((a) => byId.get(a.res.body.id as string) ?? { id: a.res.body.id, status: 'missing' })
            .filter((o) => !brokerById.has(o.id) && !(o.status === 'rejected' && o.rejectReason?.code))
            .map((o) => `${o.id} ${o.status}`),
          'accepted orders neither at the broker nor settled with a reason',
        ).toEqual([]);

        // The gateway and the broker agree on every order: what the broker has is working or done there with
        // the same terms and filled quantity; what the broker does not have was denied or rejected (never sent).
        const disagreements: string[] = [];
        for (const o of orders) {
          const v = brokerById.get(o.id);
          if (v === undefined) {
            if (!['denied', 'rejected'].includes(o.status)) {
              disagreements.push(`${o.id} is ${o.status} in the gateway but unknown to the broker`);
            }
            continue;
          }
          if (o.status !== v.status) {
            disagreements.push(`${o.id} is ${o.status} in the gateway, ${v.status} at the broker`);
          }
          if (dec(o.filledQuantity) !== dec(v.filledQuantity)) {
            disagreements.push(`${o.id} filled ${o.filledQuantity} in the gateway, ${v.filledQuantity} at the broker`);
          }
          const terms = orderTerms(o.side, o.quantity, o.limitPrice ?? null);
          if (terms !== v.terms) {
            disagreements.push(`${o.id} is ${terms} in the gateway, ${v.terms} at the broker`);
          }
        }
        for (const v of atBroker) {
          if (!byId.has(ourIdOf(v))) {
            disagreements.push(
              `broker order ${v.brokerOrderId} (${v.clientOrderId ?? v.terms}) is not a gateway order`,
            );
          }
        }
        expect(disagreements, 'gateway vs broker orders').toEqual([]);

        // Every broker fill is a gateway execution exactly once, and no execution is missing at the broker.
        expect(duplicates(fills.map((f) => f.brokerExecutionId)), 'broker fill ids').toEqual({});
        expect(duplicates(executions.map((x) => x.brokerExecutionId)), 'executions applied twice').toEqual({});
        const comparable = (x: any, orderId: string) => ({
          brokerExecutionId: x.brokerExecutionId,
          orderId,
          side: x.side,
          quantity: dec(x.quantity),
          price: dec(x.price),
        });
        const sortById = (a: { brokerExecutionId: string }, b: { brokerExecutionId: string }) =>
          a.brokerExecutionId.localeCompare(b.brokerExecutionId);
        expect(
          executions.map((x) => comparable(x, x.orderId)).sort(sortById),
          'gateway executions vs broker fills',
        ).toEqual(fills.map((f) => comparable(f, ourIdOf(f))).sort(sortById));

        // Positions are the broker's fills summed per symbol, and the broker's own positions.
        const gatewayPositions = Object.fromEntries(
          positions.filter((p: any) => !new D(p.quantity).isZero()).map((p: any) => [p.symbol, dec(p.quantity)]),
        );
        expect(gatewayPositions, 'positions vs broker fills').toEqual(netBySymbol(fills));
        expect(gatewayPositions, "positions vs the broker's positions").toEqual(brokerPositions);

        // The account's events: gapless seq 1..N, and each order's state is its last event's.
        expectConsecutive(events, 1);
        const last = new Map<string, any>();
        for (const e of events) {
          last.set(e.order.id, e);
        }
        expect(
          orders
            .filter((o) => last.get(o.id)?.order.status !== o.status || last.get(o.id)?.seq !== o.lastSeq)
            .map(
              (o) => `${o.id}: ${o.status} (lastSeq ${o.lastSeq}), last event ${JSON.stringify(last.get(o.id)?.order)}`,
            ),
          'orders whose state is not their last event',
        ).toEqual([]);
        // No change recorded twice (a report or a reconciliation applied again after a restart).
        const seen = new Set<string>();
        const repeated: string[] = [];
        for (const e of events) {
          const key = JSON.stringify([e.order.id, e.event, e.order.status, e.order.filledQuantity, e.execution?.id]);
          if (seen.has(key)) {
            repeated.push(
              `seq ${e.seq}: ${e.event} of ${e.order.id} (${e.order.status}, filled ${e.order.filledQuantity})`,
            );
          }
          seen.add(key);
        }
        expect(repeated, 'events recorded twice').toEqual([]);
      },
      options.timeoutMs,
    );
  });
}
