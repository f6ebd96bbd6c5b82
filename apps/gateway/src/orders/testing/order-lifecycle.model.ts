/**
 * Model-based test of the order lifecycle (ARCHITECTURE.md; README, "The order path"): random sequences of client
 * commands, venue actions and venue faults, run with fast-check's `fc.commands` / `fc.asyncModelRun` against the
 * real gateway services (OrderLedger, the order command handlers, ExecutionReportProcessor, OrderReconciler,
 * EventBus on the real Redis, GatewayMetrics) on a fresh database migrated with the real migrations, and an in-
 * process FaultyVenue over a paused MarketReplay of the recorded SPY data. No HTTP app: the services come from a
 * Nest testing module (test/support/testing-module.ts), one fresh account (and venue) per sequence. After every
 * command the database itself is read and the invariants below are checked; at the end of every sequence
 * everything is settled and the gateway is compared with the venue.
 *
 * The venue is reached through a VenueHarness, one entry spec each (`../order-lifecycle.model.<venue>.spec.ts`):
 * - paper: the FaultyVenue is the gateway's ExecutionClient itself;
 * - alpaca, schwab (lifecycle-harness-alpaca.ts, lifecycle-harness-schwab.ts): the gateway's real adapter
 *   (AlpacaClient, SchwabClient) over real HTTP and WebSocket to the in-process fake broker
 *   (apps/fake-brokers) built over the sequence's FaultyVenue, so the venue's faults, parked requests and
 *   fills act behind the broker's protocol. Where a protocol changes what the gateway can know (Schwab has no
 *   client order id; a lost answer is still reported on Alpaca's stream), the harness says so
 *   (ProtocolLimits) and the model's expectations follow it; the invariants are the same for every venue.
 *
 * Invariants (after every command):
 * - every order: filledQuantity ≤ quantity, filledQuantity = Σ of its applied executions; no
 *   execution twice per (venue, brokerExecutionId); none kept unapplied (overfill) or flagged;
 * - the account's position per symbol = Σ of its signed applied executions;
 * - every order's events follow the transition table (`nextStatus` of libs/oms: some event leads
 *   from one event's status to the next's, `restated` included), an order starts `pending_new` or
 *   `denied`, its row is its last event (status, lastSeq), and `seq` is gapless per account;
 * - nothing is sent twice: the venue never received a client order id twice (submits and replaces).
 * Plus what the model knows for sure at each command (see each command's `run`), and at the end:
 * no order left uncertain, the gateway's executions are exactly the venue's fills of the account's
 * orders (once each), positions match the venue's fills, and every order matches the venue's record.
 *
 * Run:    npx vitest run apps/gateway/src/orders/order-lifecycle.model.paper.spec.ts (also .alpaca, .schwab)
 * Env:    MODEL_RUNS=<n>   number of sequences (default: the harness's, 500 for each venue, the CI figure)
 *         MODEL_SEED=<seed> MODEL_PATH=<path> [MODEL_REPLAY_PATH=<replayPath>]
 *                          replays one failing sequence; a failure prints the three values (the
 *                          replay path is what fc.commands prints as `replayPath`)
 *         MODEL_VERBOSE=1  prints every sequence's commands as it runs
 *
 * Time is a manual clock shared by the services and the venue: the reconciler's in-flight window
 * (RECONCILE_MISSING_AFTER_MS) is passed by advancing it, never by waiting. The only wall-clock waits
 * are the submit timeout (BROKER_SUBMIT_TIMEOUT_MS, 50 ms; a broker harness's is longer) in the commands that exercise it, and, with a
 * broker harness, the adapters' and fakes' own timers (Alpaca's replace delay) and the wire itself.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import {
  defaultMarketDataSets,
  type ExecutionClient,
  type ExecutionReport,
  type FaultContext,
  loadMarketData,
  type LoadedMarketData,
  MarketReplay,
  type PaperOrderRecord,
  type VenueRequest,
} from '@gateway/brokers';
import { type FaultKind, FaultyVenue, type FaultyVenueConfig, ParkingScheduling } from '@gateway/brokers/testing';
import {
  type Clock,
  Decimal,
  eventNameFor,
  nextStatus,
  type OrderSide,
  type OrderStatus,
  type OrderStatusEvent,
  type OrderEventKind,
  UNCERTAIN_STATUSES,
} from '@gateway/oms';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { type Logger, pino } from 'pino';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { createTestDatabase, REDIS_URL, redisPrefix, type TestDatabase } from '../../../../../test/support/database.js';
import type { Account } from '../../accounts/account.js';
import { AccountRepository } from '../../accounts/account.repository.js';
import { TradingStateRepository } from '../../accounts/trading-state.repository.js';
import { type OrderRepositories, orderRepositories } from '../../../../../test/support/order-repositories.js';
import { orderPathTestingModule } from '../../../../../test/support/testing-module.js';
import { ApiError } from '../../common/api-error.js';
import { type GatewayConfig, loadConfig } from '../../config/config.js';
import { GatewayMetrics } from '../../health/metrics.js';
import { MARKET_DATA } from '../../market/market.tokens.js';
import { createRedis } from '../../redis/redis.provider.js';
import { EventBus } from '../event-bus.js';
import type { StreamEvent } from '../stream-event.js';
import { AfterCommitDispatcher } from '../after-commit/after-commit.dispatcher.js';
import { PublishOrderEvents } from '../after-commit/publish-order-events.handler.js';
import { SendHeldCancel } from '../after-commit/send-held-cancel.handler.js';
import { CancelAllOrdersHandler } from '../commands/cancel-all-orders.handler.js';
import { CancelOrderHandler } from '../commands/cancel-order.handler.js';
import { ORDER_COMMAND_PROVIDERS } from '../commands/index.js';
import type { PlaceOrderOutcome } from '../commands/order-intake.js';
import { PlaceOrderHandler } from '../commands/place-order.handler.js';
import { ReplaceOrderHandler } from '../commands/replace-order.handler.js';
import { OrderQueries } from '../order-queries.service.js';
import { ExecutionReportProcessor } from '../execution-report.processor.js';
import { type AccountTransaction, OrderLedger } from '../order-ledger.js';
import type { OrderDto } from '../order.mapper.js';
import { OrderReconciler } from '../order-reconciler.js';
import { OrderMessageRepository } from '../../risk/order-message.repository.js';
import { OrderMessages } from '../../risk/order-messages.js';
import { PreTradeRisk } from '../../risk/pre-trade-risk.js';
import { OpenPositionBreakRepository } from '../../risk/open-position-break.repository.js';
import { RiskContextRepository } from '../../risk/risk-context.repository.js';
import { RiskLimitsRepository } from '../../risk/risk-limits.repository.js';
import { RiskLimitsService } from '../../risk/risk-limits.service.js';
import type { PlaceOrderRequest } from '../place-order.request.js';
import type { ReplaceOrderRequest } from '../replace-order.request.js';

// ---- settings ----

const RUNS_OVERRIDE = process.env.MODEL_RUNS === undefined ? undefined : Number(process.env.MODEL_RUNS);
const SEED = process.env.MODEL_SEED === undefined ? undefined : Number(process.env.MODEL_SEED);
const PATH = process.env.MODEL_PATH;
const REPLAY_PATH = process.env.MODEL_REPLAY_PATH;
const VERBOSE = process.env.MODEL_VERBOSE === '1';
const MAX_COMMANDS = 40;

/** BROKER_SUBMIT_TIMEOUT_MS: the harness's (VenueHarness.submitTimeoutMs), set by describeOrderLifecycleModel. */
let SUBMIT_TIMEOUT_MS = 50;
/** The reconciler looks at an uncertain order only after the submit timeout plus 1 s (its grace). */
let GRACE_MS = SUBMIT_TIMEOUT_MS + 1_000;
const MISSING_AFTER_MS = 2_000;
/** `ack_delay`: the venue acts and answers this long after the request, past the submit timeout. */
let ACK_DELAY_MS = SUBMIT_TIMEOUT_MS + 20;
const SYMBOL = 'SPY';
const CENT = new Decimal('0.01');
const DONE: ReadonlySet<OrderStatus> = new Set<OrderStatus>([
  'filled',
  'canceled',
  'replaced',
  'rejected',
  'denied',
  'expired',
]);

// ---- the transition table, as the event log must follow it ----

const STATUS_EVENT_VARIANTS: { readonly [K in OrderEventKind]: readonly Extract<OrderStatusEvent, { kind: K }>[] } = {
  accepted: [{ kind: 'accepted' }],
  rejected: [{ kind: 'rejected' }],
  submitted_unknown: [{ kind: 'submitted_unknown' }],
  fill: [
    { kind: 'fill', complete: false },
    { kind: 'fill', complete: true },
  ],
  cancel_requested: [{ kind: 'cancel_requested' }],
  canceled: [{ kind: 'canceled' }],
  cancel_rejected: [
    { kind: 'cancel_rejected', hasFills: false },
    { kind: 'cancel_rejected', hasFills: true },
  ],
  replace_requested: [{ kind: 'replace_requested' }],
  replaced: [{ kind: 'replaced' }],
  replace_rejected: [
    { kind: 'replace_rejected', hasFills: false },
    { kind: 'replace_rejected', hasFills: true },
  ],
  rebooked: [{ kind: 'rebooked' }],
  expired: [{ kind: 'expired' }],
};
const STATUS_EVENTS: readonly OrderStatusEvent[] = Object.values(STATUS_EVENT_VARIANTS).flat();

/** Whether some event of the table turns `from` into `to` and is recorded as `event`. */
function explainedByTable(from: OrderStatus, event: string, to: OrderStatus): boolean {
  return STATUS_EVENTS.some((e) => eventNameFor(e) === event && nextStatus(from, e) === to);
}

// ---- instrumentation: knowing when the system has gone quiet ----

/**
 * Counts work in flight (venue timers, broker calls, account transactions), so that a command can wait
 * until every consequence of it (reports, a cancel sent on an event, a late answer) has been recorded.
 */
export class Activity {
  busy = 0;
  version = 0;
  private waiters: (() => void)[] = [];

  begin(): void {
    this.busy += 1;
    this.version += 1;
  }

  end(): void {
    this.busy -= 1;
    this.version += 1;
    if (this.busy === 0) {
      this.waiters.splice(0).forEach((resolve) => resolve());
    }
  }

  track<T>(promise: Promise<T>): Promise<T> {
    this.begin();
    return promise.finally(() => this.end());
  }

  idle(): Promise<void> {
    return this.busy === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}

/** The real ledger, counting its transactions in flight. */
class CountingLedger extends OrderLedger {
  constructor(
    dataSource: DataSource,
    logger: Logger,
    private readonly activity: Activity,
    repos: OrderRepositories,
    readonly dispatcher: AfterCommitDispatcher = new AfterCommitDispatcher(logger),
  ) {
    super(dataSource, repos.orders, repos.events, dispatcher, logger);
  }

  override inAccount<T>(
    accountId: string,
    work: (tx: AccountTransaction) => Promise<T>,
  ): Promise<{ result: T; events: StreamEvent[] } | null> {
    return this.activity.track(super.inAccount(accountId, work));
  }
}

/**
 * Fills an order partly just as a replace of it arrives (the venue's arrival hook): when the next
 * replace reaches the venue, the order it replaces fills a fraction of what it has left first (at least
 * one share, never all of it), through the venue's forceFill: an execution racing the replace request.
 */
class ReplaceRace {
  fraction: number | null = null;

  onArrive(request: VenueRequest, venue: FaultContext): void {
    const fraction = this.fraction;
    if (request.kind === 'replace' && fraction !== null) {
      this.fraction = null;
      const old = venue.orderRecord(request.command.clientOrderId);
      if (old !== null && (old.status === 'new' || old.status === 'partially_filled')) {
        const leaves = new Decimal(old.quantity).minus(old.filledQuantity);
        const quantity = Decimal.max(leaves.times(fraction).floor(), 1);
        if (quantity.lessThan(leaves)) {
          venue.forceFill(old.clientOrderId, quantity);
        }
      }
    }
  }
}

/**
 * The FaultyVenue with a few test hooks of our own, all injected into the venue: it counts its timers
 * (ParkingScheduling) and the calls waiting for it (its activity tracker), for quiescence; it can park
 * the next request (the venue acts on it only at `releaseParked`: an acknowledgement that comes whenever
 * the model says); it can deliver an old report again (`reemit`); and it can fill an order partly just
 * as a replace of it arrives (`fillOnNextReplace`, a ReplaceRace on its arrival hook). `countCalls`: whether
 * its submit, cancel and replace calls count as activity (the gateway's calls, when it calls the venue itself;
 * a fake broker's calls are not: the gateway's side of them is counted by the harness). `onArrival`: told of
 * every request that reaches the venue (a harness learning the venue's ids).
 */
export class ModelVenue extends FaultyVenue {
  private readonly scheduling: ParkingScheduling;
  private readonly race: ReplaceRace;
  private readonly arrivals = new Set<(request: VenueRequest) => void>();

  constructor(replay: MarketReplay, activity: Activity, config: FaultyVenueConfig, countCalls = true) {
    const scheduling = new ParkingScheduling(activity);
    const race = new ReplaceRace();
    const arrivals = new Set<(request: VenueRequest) => void>();
    super(replay, {
      ...config,
      scheduling,
      ...(countCalls ? { activity } : {}),
      onArrive: (request, venue) => {
        race.onArrive(request, venue);
        arrivals.forEach((listener) => listener(request));
      },
    });
    this.scheduling = scheduling;
    this.race = race;
    this.arrivals = arrivals;
  }

  /** Tells `listener` of every request that reaches the venue from now on (after the ReplaceRace). */
  onArrival(listener: (request: VenueRequest) => void): void {
    this.arrivals.add(listener);
  }

  /**
   * When the next replace reaches the venue, the order it replaces fills partly first (a fraction of
   * what it has left, at least one share, never all of it): an execution racing the replace request.
   */
  fillOnNextReplace(fraction: number | null): void {
    this.race.fraction = fraction;
  }

  /** The next request that reaches the venue waits there until releaseParked(). */
  parkNextRequest(on = true): void {
    this.scheduling.parkNext(on);
  }

  parkedCount(): number {
    return this.scheduling.parkedCount();
  }

  /** The venue acts on the parked requests now, in arrival order. Returns how many. */
  releaseParked(): number {
    return this.scheduling.releaseParked();
  }

  /** Delivers a report the venue sent before once more (a broker's at-least-once delivery). */
  reemit(report: ExecutionReport): void {
    this.exchange.publish(report);
  }
}

/** A clock that moves only when told: the services' and the venue's. */
export class ManualClock implements Clock {
  constructor(private t: number) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

// ---- how the model reaches the venue ----

/**
 * What a broker's protocol lets the gateway know, where it differs from the paper venue's (the model's
 * expectations follow these; the invariants do not change). Sources: ../shared/brokers/README.md and
 * PROTOCOLS.md, docs/brokers/alpaca.md and schwab.md.
 */
export interface ProtocolLimits {
  /**
   * A submit whose answer is lost (`ack_lost`) is still reported: Alpaca's `trade_updates` carries our client
   * order id, so its `new` reaches the order. Paper: the venue's `new` report is lost with the answer; Schwab:
   * the stream names the order by Schwab's id only, which the lost 201 would have told.
   */
  readonly lostSubmitAnswerReported: boolean;
  /**
   * The broker's reports and fills reach an order only once the gateway knows its broker order id (Schwab: no
   * client order id, PROTOCOLS.md A3): an order whose 201 (`Location`) never came stays `unknown`, learning
   * nothing, until reconciliation matches it (matchBrokerOrder).
   */
  readonly reportsNeedBrokerOrderId: boolean;
  /**
   * A replace is accepted only once the stream says the replacement is `new` (or it fills): Alpaca's PATCH
   * answer "does not mean replaced" (README.md, Alpaca Trading API). `fill_before_ack` holds the
   * replacement's `new` back until its first fill, so an unfilled replacement stays `unknown` (the reconciler
   * settles it later).
   */
  readonly replaceSettledByStream: boolean;
  /**
   * The account's orders are kept distinct in side, quantity and limit price (a place's quantity is raised
   * until it is): Schwab's matching never settles between identical candidates (docs/brokers/schwab.md, "An
   * `unknown` order: matching"), by design, so identical unknown orders would stay unknown for good. For the
   * same reason no fill races a replace whose answer may not come: Schwab would book the replacement for less
   * than we asked, and it would match nothing.
   */
  readonly distinctOrders: boolean;
  /**
   * Whether a fill may race a replace at the venue (an execution of the old order as the replace arrives).
   * Every venue now: the gateway reads a replacement's booked quantity back from the broker's reports (on
   * Alpaca it was left out until then: a replacement accepted on an early quantity was not corrected by the
   * later `new`, a gap this model found). Kept for a broker whose protocol cannot tell the booked quantity.
   */
  readonly fillMayRaceReplace: boolean;
  /**
   * The gateway's execution ids are the venue's (paper), or the adapter's own (Alpaca's order id and
   * cumulative quantity, Schwab's order id and activity id): then executions are compared with the venue's
   * fills by order and quantity, not by id.
   */
  readonly venueExecutionIds: boolean;
  /**
   * Request faults the protocol cannot carry, by what they are a fault of, mapped to the nearest it can (the
   * command then expects what the mapped fault brings).
   */
  readonly variants: Readonly<
    Partial<Record<'submit' | 'cancel' | 'replace', Partial<Record<RequestVariant, RequestVariant>>>>
  >;
}

/** What a harness is handed per sequence. */
export interface HarnessSequence {
  readonly venue: ModelVenue;
  readonly replay: MarketReplay;
  readonly clock: ManualClock;
  readonly activity: Activity;
  /** The sequence's account (for a broker without client order ids: our ids of its order ids). */
  readonly accountId: string;
  readonly dataSource: DataSource;
  readonly logger: Logger;
}

/** One sequence's connection to the venue (see VenueHarness). */
export interface VenueLink {
  /** The ExecutionClient of one gateway generation (paper: the venue; a broker: a new client, started). */
  connect(): Promise<ExecutionClient>;
  /** The generation ends: its client is closed (reports from now on reach no one). */
  disconnect(): Promise<void>;
  /** The venue's client order id of our order (Schwab: its Schwab order id); ours when it has no other. */
  venueKey(orderId: string): string;
  /** Our order id of a venue client order id (the inverse of venueKey; the key itself when not ours). */
  orderIdOf(venueKey: string): string;
  /** The venue requests of the current command that created orders are `orderId`'s (a place's, a replace's). */
  claim(orderId: string): void;
  /**
   * Arms a request fault for the current command where the protocol carries it (a fake broker's fault, or
   * the wire's): true; false leaves it to the venue (a FaultyVenue rule).
   */
  arm(variant: RequestVariant, match: { readonly orderId?: string; readonly symbol?: string }): Promise<boolean>;
  /** Removes what arm() set that is still in force. */
  disarm(): Promise<void>;
  /** The next `count` reports about `orderId` are delivered twice (a broker's at-least-once delivery). */
  duplicate(orderId: string, count: number): void;
  /**
   * Whether the broker holds our order pending a request the venue has not acted on yet (Alpaca: a replace
   * it took shows `pending_replace`, a replacement whose `new` has not come `pending_new`, and it refuses
   * cancels and replaces meanwhile: README.md, Alpaca Trading API); the venue's record then says less than the
   * broker does.
   */
  pendingAtBroker(orderId: string): Promise<boolean>;
  /** Delivers one of the reports already delivered once more (`index` modulo how many there were). */
  reemit(index: number): void;
  /**
   * Resolves once what the activity tracker cannot count has landed (frames on the wire); true when something
   * arrived meanwhile (the caller waits again).
   */
  quiet(): Promise<boolean>;
  close(): Promise<void>;
}

/** How the model reaches the venue: the paper venue itself, or a broker's protocol (a fake and our adapter). */
export interface VenueHarness {
  /** The venue's name: the broker of the sequence's account, and the spec's. */
  readonly name: string;
  /** The spec to name in the replay hint of a failure. */
  readonly specFile: string;
  /** Sequences per run, unless MODEL_RUNS says otherwise. */
  readonly defaultRuns: number;
  /**
   * The first sequence's clock (epoch ms) and the step between sequences (past the reconciler's look-back,
   * so no sequence sees another's account).
   */
  readonly clock: () => { readonly startMs: number; readonly stepMs: number };
  /**
   * BROKER_SUBMIT_TIMEOUT_MS, ms: paper 50; over HTTP a request must come back well within it on a busy
   * machine, or a plain request would time out at random.
   */
  readonly submitTimeoutMs: number;
  /** Whether the gateway calls the venue in process (paper): the venue's calls then count as activity. */
  readonly gatewayCallsVenue: boolean;
  readonly protocol: ProtocolLimits;
  open(sequence: HarnessSequence): Promise<VenueLink>;
}

/** The paper venue: the FaultyVenue is the gateway's ExecutionClient; faults are its own rules. */
export const paperHarness: VenueHarness = {
  name: 'paper',
  specFile: 'apps/gateway/src/orders/order-lifecycle.model.paper.spec.ts',
  defaultRuns: 500,
  clock: () => ({ startMs: Date.UTC(2030, 0, 1), stepMs: 86_400_000 }),
  submitTimeoutMs: 50,
  gatewayCallsVenue: true,
  protocol: {
    lostSubmitAnswerReported: false,
    reportsNeedBrokerOrderId: false,
    replaceSettledByStream: false,
    distinctOrders: false,
    fillMayRaceReplace: true,
    venueExecutionIds: true,
    variants: {},
  },
  open: ({ venue }) => {
    const reports: ExecutionReport[] = [];
    venue.onExecutionReport((report) => reports.push(report));
    return Promise.resolve({
      connect: () => Promise.resolve(venue),
      disconnect: () => Promise.resolve(),
      venueKey: (orderId) => orderId,
      orderIdOf: (key) => key,
      claim: () => undefined,
      arm: () => Promise.resolve(false),
      disarm: () => Promise.resolve(),
      pendingAtBroker: () => Promise.resolve(false),
      duplicate: (orderId, count) => {
        // Stays in force until used up: every report of the order is delivered twice.
        venue.addFault({ kind: 'duplicate_reports', match: { clientOrderId: orderId }, remaining: count });
      },
      reemit: (index) => {
        if (reports.length > 0) {
          venue.reemit(reports[index % reports.length]!);
        }
      },
      quiet: () => Promise.resolve(false),
      close: () => Promise.resolve(),
    });
  },
};

// ---- the file's shared parts ----

interface Shared {
  readonly db: TestDatabase;
  readonly config: GatewayConfig;
  readonly redis: Redis;
  readonly subscriber: Redis;
  readonly metrics: GatewayMetrics;
  readonly logger: Logger;
  readonly data: LoadedMarketData;
  readonly accounts: AccountRepository;
}

/** Warnings and errors of the gateway (alerts included), kept for the failure message. */
const logLines: string[] = [];
const logSink = {
  write(line: string): void {
    logLines.push(line);
    if (logLines.length > 400) {
      logLines.splice(0, 200);
    }
  },
};

/** What the run exercised (printed at the end): command outcomes, transitions, faults that fired. */
const coverage = new Map<string, number>();
const count = (key: string): void => {
  coverage.set(key, (coverage.get(key) ?? 0) + 1);
};

let shared: Shared;
/** The file's harness (describeOrderLifecycleModel). */
let harness: VenueHarness = paperHarness;
/** Each sequence's clock starts a step (the harness's) after the last one's, outside the reconciler's look-back window. */
let nextClockStart = 0;
let clockStepMs = 0;

async function setUpShared(): Promise<void> {
  ({ startMs: nextClockStart, stepMs: clockStepMs } = harness.clock());
  const config = loadConfig({
    REDIS_PREFIX: redisPrefix(),
    BROKER_SUBMIT_TIMEOUT_MS: String(SUBMIT_TIMEOUT_MS),
    RECONCILE_MISSING_AFTER_MS: String(MISSING_AFTER_MS),
    RECONCILE_LOOKBACK_MS: String(3_600_000),
    PAPER_SPEED: '0',
    ...(process.env.MARKET_DATA_DIR ? { MARKET_DATA_DIR: process.env.MARKET_DATA_DIR } : {}),
  });
  const db = await createTestDatabase();
  // A run commits tens of thousands of small transactions: not waiting for each WAL flush saves about a
  // tenth of the run time and changes nothing the gateway can observe (only durability should PostgreSQL
  // itself crash; the restarts here are the gateway's). New sessions pick the setting up.
  await db.dataSource.query(`ALTER DATABASE "${db.name}" SET synchronous_commit = off`);
  await db.dataSource.destroy();
  await db.dataSource.initialize();
  const redis = createRedis(REDIS_URL, 'model-spec');
  // Only for the EventBus constructor: the bus is not subscribed (one gateway instance at a time).
  const subscriber = createRedis(REDIS_URL, 'model-spec-sub');
  await redis.connect();
  // SPY only: the model trades SPY, and a replay without the option data is cheap to build per sequence.
  const sets = defaultMarketDataSets({ spxwDate: config.paper.spxwDate }).filter(
    (s) => s.kind !== 'lean_option_quote_bars',
  );
  shared = {
    db,
    config,
    redis,
    subscriber,
    metrics: new GatewayMetrics(),
    logger: pino({ level: process.env.MODEL_LOG_LEVEL ?? 'warn', base: null }, logSink),
    data: loadMarketData(config.paper.marketDataDir, sets),
    accounts: new AccountRepository(db.dataSource),
  };
}

async function tearDownShared(): Promise<void> {
  shared?.redis.disconnect();
  shared?.subscriber.disconnect();
  await shared?.db.drop();
}

// ---- one generation of the gateway (a process, between restarts) ----

/** The order commands as the model calls them: one handler each, as the controller calls them. */
interface OrderCommands {
  place(account: Account, request: PlaceOrderRequest): Promise<PlaceOrderOutcome>;
  replace(account: Account, orderId: string, request: ReplaceOrderRequest): Promise<PlaceOrderOutcome>;
  cancel(accountId: string, orderId: string): Promise<OrderDto>;
  cancelAll(accountId: string): Promise<OrderDto[]>;
}

class Generation {
  private constructor(
    readonly bus: EventBus,
    readonly orders: OrderCommands,
    readonly processor: ExecutionReportProcessor,
    readonly reconciler: OrderReconciler,
    private readonly publisher: PublishOrderEvents,
    private readonly heldCancel: SendHeldCancel,
    private readonly link: VenueLink,
  ) {}

  /**
   * Builds the services as the Nest module does (a testing module over the sequence's ledger, venue,
   * replay and clock), and runs their start-up by hand: the after-commit handlers the order path needs
   * (the stream, the held cancel), the venue subscription, the reconciler's account pass. The bus is not
   * subscribed to Redis (one gateway instance at a time).
   */
  static async start(r: Pick<Real, 'ledger' | 'link' | 'replay' | 'clock'>): Promise<Generation> {
    const { config, logger, metrics, redis, subscriber, db } = shared;
    const module = await orderPathTestingModule(
      {
        dataSource: db.dataSource,
        logger,
        config,
        clock: r.clock,
        redis,
        redisSubscriber: subscriber,
        executionClient: await r.link.connect(),
      },
      [
        { provide: OrderLedger, useValue: r.ledger },
        { provide: AfterCommitDispatcher, useValue: r.ledger.dispatcher },
        { provide: GatewayMetrics, useValue: metrics },
        { provide: MARKET_DATA, useValue: r.replay },
        EventBus,
        PublishOrderEvents,
        SendHeldCancel,
        RiskContextRepository,
        OpenPositionBreakRepository,
        TradingStateRepository,
        OrderMessageRepository,
        RiskLimitsRepository,
        RiskLimitsService,
        OrderMessages,
        PreTradeRisk,
        OrderQueries,
        ...ORDER_COMMAND_PROVIDERS,
        ExecutionReportProcessor,
        AccountRepository,
        OrderReconciler,
      ],
    );
    const place = module.get(PlaceOrderHandler);
    const replace = module.get(ReplaceOrderHandler);
    const cancel = module.get(CancelOrderHandler);
    const cancelAll = module.get(CancelAllOrdersHandler);
    const orders: OrderCommands = {
      place: (account, request) => place.execute(account, request),
      replace: (account, orderId, request) => replace.execute(account, orderId, request),
      cancel: (accountId, orderId) => cancel.execute(accountId, orderId),
      cancelAll: (accountId) => cancelAll.execute(accountId),
    };
    const publisher = module.get(PublishOrderEvents);
    const heldCancel = module.get(SendHeldCancel);
    const processor = module.get(ExecutionReportProcessor);
    const reconciler = module.get(OrderReconciler);
    publisher.onModuleInit();
    heldCancel.onModuleInit();
    processor.onModuleInit();
    await reconciler.onApplicationBootstrap();
    stopSweepTimer(reconciler);
    await reconciler.started();
    await reconciler.sweep(); // the sweep the start-up pass is followed by
    return new Generation(module.get(EventBus), orders, processor, reconciler, publisher, heldCancel, r.link);
  }

  /**
   * Shuts down: unsubscribes from the venue (later reports are lost to this gateway) and from the bus, and
   * closes a broker client (its stream).
   */
  async stop(): Promise<void> {
    await this.processor.onModuleDestroy();
    await this.reconciler.onModuleDestroy();
    this.heldCancel.onModuleDestroy();
    this.publisher.onModuleDestroy();
    this.bus.onModuleDestroy();
    await this.link.disconnect();
  }
}

/**
 * The reconciler sweeps every second of wall time on its own timer; here the model runs that same
 * sweep at its `reconcile` and `restart` commands instead, so a sequence replays the same way each time.
 */
function stopSweepTimer(reconciler: OrderReconciler): void {
  const timer = (reconciler as unknown as { timer?: NodeJS.Timeout }).timer;
  if (timer === undefined) {
    throw new Error('OrderReconciler has no sweep timer field any more: update stopSweepTimer');
  }
  clearInterval(timer);
}

// ---- one sequence: the real system and the model ----

interface Real {
  readonly clock: ManualClock;
  readonly activity: Activity;
  readonly replay: MarketReplay;
  readonly venue: ModelVenue;
  /** How the gateway reaches the venue (the harness's link for this sequence). */
  readonly link: VenueLink;
  readonly venueErrors: unknown[];
  readonly ledger: CountingLedger;
  readonly account: Account;
  gen: Generation;
  /** Fault rules for the current command only. */
  readonly oneShot: string[];
  snapshot: Snapshot;
  readonly checked: EventCheck;
  keys: number;
  readonly trail: string[];
  /** performance.now() of the last command's start (MODEL_VERBOSE timings). */
  lastMark: number;
}

interface ModelOrder {
  readonly id: string;
  readonly side: OrderSide;
}

interface Model {
  /** Every order the gateway made in this sequence (denied ones and replacements too), oldest first. */
  readonly orders: ModelOrder[];
  /** The place requests sent, with the order each made. */
  readonly places: { readonly request: PlaceOrderRequest; readonly orderId: string }[];
  /** The replace requests that made a replacement (approved or denied). */
  readonly replaces: {
    readonly orderId: string;
    readonly request: ReplaceOrderRequest;
    readonly replacementId: string;
  }[];
  /** Requests parked at the venue. */
  parked: number;
}

async function openSequence(): Promise<Real> {
  const clock = new ManualClock(nextClockStart);
  nextClockStart += clockStepMs;
  const activity = new Activity();
  const replay = new MarketReplay({ data: shared.data, paused: true, startTime: '09:30:05' });
  const venueErrors: unknown[] = [];
  const venue = new ModelVenue(
    replay,
    activity,
    {
      ackLatencyMs: 0,
      clock,
      onError: (error) => venueErrors.push(error),
    },
    harness.gatewayCallsVenue,
  );
  const ledger = new CountingLedger(
    shared.db.dataSource,
    shared.logger,
    activity,
    await orderRepositories(shared.db.dataSource),
  );
  const name = `model-${randomUUID()}`;
  const account =
    harness.name === 'paper'
      ? await shared.accounts.ensurePaperAccount(name)
      : await shared.accounts.create({ name, broker: harness.name, environment: 'paper', brokerAccountId: null });
  if (account === null) {
    throw new Error(`account ${name} could not be created`);
  }
  const link = await harness.open({
    venue,
    replay,
    clock,
    activity,
    accountId: account.id,
    dataSource: shared.db.dataSource,
    logger: shared.logger,
  });
  const parts = { clock, activity, replay, venue, link, venueErrors, ledger, account };
  const gen = await Generation.start(parts);
  const real: Real = {
    ...parts,
    gen,
    oneShot: [],
    snapshot: emptySnapshot(),
    checked: { lastSeq: 0, status: new Map(), lastSeqOf: new Map() },
    keys: 0,
    trail: [],
    lastMark: performance.now(),
  };
  real.snapshot = await observe(real, 'start');
  return real;
}

async function closeSequence(r: Real): Promise<void> {
  for (const fired of r.venue.firedFaults()) {
    count(`fault ${fired.kind} on ${fired.target}`);
  }
  r.venue.clearFaults();
  // After a failure the system may be mid-flight: give it a moment, never forever.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([quiesce(r), new Promise((resolve) => (timer = setTimeout(resolve, 2_000)))]).catch(
    () => undefined,
  );
  clearTimeout(timer);
  await r.gen.stop();
  await r.link.close();
  r.venue.close();
}

/** Waits until nothing is in flight: venue timers, broker calls, report processing, transactions. */
async function quiesce(r: Real): Promise<void> {
  for (let round = 0; round < 100_000; round++) {
    const version = r.activity.version;
    const queue = r.gen.processor.drained();
    await queue;
    await r.activity.idle();
    await nextTurn();
    if (r.activity.busy === 0 && r.activity.version === version && r.gen.processor.drained() === queue) {
      // What no tracker counts (a broker's frames on the wire) has landed, or the loop waits for it too.
      if (!(await r.link.quiet())) {
        return;
      }
    }
  }
  throw new Error('the gateway never went quiet');
}

// ---- reading the database, and the invariants ----

interface OrderRow {
  readonly id: string;
  readonly status: OrderStatus;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  readonly filled: Decimal;
  readonly limitPrice: Decimal | null;
  readonly lastSeq: number;
  readonly cancelRequested: boolean;
  readonly overfilled: boolean;
  readonly flagged: boolean;
}

interface ExecutionRow {
  readonly orderId: string;
  readonly venue: string;
  readonly executionId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
  readonly applied: boolean;
  readonly overfill: boolean;
}

interface Snapshot {
  readonly lastSeq: number;
  readonly blockedReason: string | null;
  readonly orders: ReadonlyMap<string, OrderRow>;
  readonly executions: readonly ExecutionRow[];
  readonly positions: ReadonlyMap<string, Decimal>;
}

/** What has been checked of the account's event log so far. */
interface EventCheck {
  lastSeq: number;
  readonly status: Map<string, OrderStatus>;
  readonly lastSeqOf: Map<string, number>;
}

function emptySnapshot(): Snapshot {
  return { lastSeq: 0, blockedReason: null, orders: new Map(), executions: [], positions: new Map() };
}

const SNAPSHOT_SQL = `
  SELECT
    (SELECT json_build_object('lastSeq', last_seq::text, 'blocked', entries_blocked_reason)
       FROM accounts WHERE id = $1) AS account,
    (SELECT coalesce(json_agg(json_build_object(
        'id', id, 'status', status, 'symbol', symbol, 'side', side, 'quantity', quantity::text,
        'filled', filled_quantity::text, 'limitPrice', limit_price::text, 'lastSeq', last_seq::text,
        'cancelRequested', cancel_requested_at IS NOT NULL, 'overfilled', overfilled,
        'flagged', needs_reconciliation) ORDER BY id), '[]'::json)
       FROM orders WHERE account_id = $1) AS orders,
    (SELECT coalesce(json_agg(json_build_object(
        'orderId', order_id, 'venue', venue, 'executionId', broker_execution_id, 'symbol', symbol,
        'side', side, 'quantity', quantity::text, 'applied', applied, 'overfill', overfill)), '[]'::json)
       FROM executions WHERE account_id = $1) AS executions,
    (SELECT coalesce(json_agg(json_build_object(
        'seq', seq::text, 'orderId', order_id, 'event', event, 'status', "order"->>'status') ORDER BY seq), '[]'::json)
       FROM order_events WHERE account_id = $1 AND seq > $2) AS events,
    (SELECT coalesce(json_agg(json_build_object('symbol', symbol, 'quantity', quantity::text)), '[]'::json)
       FROM positions WHERE account_id = $1) AS positions`;

interface RawSnapshot {
  account: { lastSeq: string; blocked: string | null };
  orders: (Omit<OrderRow, 'quantity' | 'filled' | 'limitPrice' | 'lastSeq'> & {
    quantity: string;
    filled: string;
    limitPrice: string | null;
    lastSeq: string;
  })[];
  executions: (Omit<ExecutionRow, 'quantity'> & { quantity: string })[];
  events: { seq: string; orderId: string; event: string; status: OrderStatus }[];
  positions: { symbol: string; quantity: string }[];
}

class InvariantError extends Error {
  override name = 'InvariantError';
}

function fail(label: string, message: string): never {
  throw new InvariantError(`[${label}] ${message}`);
}

/** Reads the account from the database in one statement (one snapshot) and checks every invariant. */
async function observe(r: Real, label: string): Promise<Snapshot> {
  const rows: RawSnapshot[] = await shared.db.dataSource.query(SNAPSHOT_SQL, [r.account.id, r.checked.lastSeq]);
  const raw = rows[0]!;
  const snapshot: Snapshot = {
    lastSeq: Number(raw.account.lastSeq),
    blockedReason: raw.account.blocked,
    orders: new Map(
      raw.orders.map((o) => [
        o.id,
        {
          ...o,
          quantity: new Decimal(o.quantity),
          filled: new Decimal(o.filled),
          limitPrice: o.limitPrice === null ? null : new Decimal(o.limitPrice),
          lastSeq: Number(o.lastSeq),
        },
      ]),
    ),
    executions: raw.executions.map((e) => ({ ...e, quantity: new Decimal(e.quantity) })),
    positions: new Map(raw.positions.map((p) => [p.symbol, new Decimal(p.quantity)])),
  };

  // The event log: gapless seq, each order's history explained by the transition table.
  const check = r.checked;
  for (const e of raw.events) {
    const seq = Number(e.seq);
    if (seq !== check.lastSeq + 1) {
      fail(label, `seq gap: event ${seq} follows ${check.lastSeq}`);
    }
    const from = check.status.get(e.orderId);
    if (from === undefined) {
      if (!((e.event === 'pending_new' || e.event === 'denied') && e.status === e.event)) {
        fail(label, `order ${e.orderId} starts with event ${e.event} (status ${e.status})`);
      }
    } else if (!explainedByTable(from, e.event, e.status)) {
      fail(
        label,
        `order ${e.orderId}: event ${seq} "${e.event}" takes it ${from} → ${e.status}, which no transition allows`,
      );
    } else {
      count(`${from}→${e.status}`);
    }
    check.status.set(e.orderId, e.status);
    check.lastSeqOf.set(e.orderId, seq);
    check.lastSeq = seq;
  }
  if (check.lastSeq !== snapshot.lastSeq) {
    fail(label, `account lastSeq is ${snapshot.lastSeq} but its events end at ${check.lastSeq}`);
  }

  // Orders against their events and executions.
  const applied = new Map<string, Decimal>();
  const seen = new Set<string>();
  const position = new Map<string, Decimal>();
  for (const e of snapshot.executions) {
    const key = `${e.venue}/${e.executionId}`;
    if (seen.has(key)) {
      fail(label, `execution ${key} recorded twice`);
    }
    seen.add(key);
    if (!snapshot.orders.has(e.orderId)) {
      fail(label, `execution ${key} belongs to no order of the account`);
    }
    if (!e.applied || e.overfill) {
      fail(label, `execution ${key} of order ${e.orderId} kept unapplied (overfill: ${e.overfill})`);
    }
    applied.set(e.orderId, (applied.get(e.orderId) ?? new Decimal(0)).plus(e.quantity));
    const signed = e.side === 'buy' ? e.quantity : e.quantity.negated();
    position.set(e.symbol, (position.get(e.symbol) ?? new Decimal(0)).plus(signed));
  }
  for (const o of snapshot.orders.values()) {
    if (check.status.get(o.id) !== o.status || check.lastSeqOf.get(o.id) !== o.lastSeq) {
      fail(
        label,
        `order ${o.id} is ${o.status} (lastSeq ${o.lastSeq}) but its last event says ${check.status.get(o.id)} (seq ${check.lastSeqOf.get(o.id)})`,
      );
    }
    if (o.filled.greaterThan(o.quantity)) {
      fail(label, `order ${o.id} filled ${o.filled.toFixed()} of ${o.quantity.toFixed()}`);
    }
    const sum = applied.get(o.id) ?? new Decimal(0);
    if (!o.filled.equals(sum)) {
      fail(
        label,
        `order ${o.id} (${o.status}) says filled ${o.filled.toFixed()}, its executions sum to ${sum.toFixed()}`,
      );
    }
    if (o.overfilled || o.flagged) {
      fail(label, `order ${o.id} is ${o.overfilled ? 'overfilled' : 'flagged for reconciliation'}`);
    }
  }
  for (const symbol of new Set([...position.keys(), ...snapshot.positions.keys()])) {
    const expected = position.get(symbol) ?? new Decimal(0);
    const actual = snapshot.positions.get(symbol) ?? new Decimal(0);
    if (!expected.equals(actual)) {
      fail(label, `position ${symbol} is ${actual.toFixed()}, its executions sum to ${expected.toFixed()}`);
    }
  }

  // Nothing reached the venue twice (each venue request that made an order, as our order id).
  const sent = new Set<string>();
  for (const id of [
    ...r.venue.receivedOrders().map((c) => r.link.orderIdOf(c.clientOrderId)),
    ...r.venue.receivedReplaces().map((c) => r.link.orderIdOf(c.newClientOrderId)),
  ]) {
    if (sent.has(id)) {
      fail(label, `order ${id} was sent to the venue twice`);
    }
    sent.add(id);
  }
  if (r.venueErrors.length > 0) {
    fail(label, `the venue reported errors: ${r.venueErrors.map(String).join('; ')}`);
  }
  return snapshot;
}

/**
 * The gateway's executions are exactly the venue's fills (once each), and positions add up to them. By
 * execution id where the gateway's ids are the venue's (paper); else by order, as the same quantities in the
 * same order (a broker adapter names each fill its own way: ProtocolLimits.venueExecutionIds). Where reports
 * reach an order only by its broker order id (Schwab), an order still `unknown` is left out: nothing of the
 * venue's can reach it until reconciliation matches it (ProtocolLimits.reportsNeedBrokerOrderId).
 */
async function expectFillsMatchVenue(r: Real, s: Snapshot, label: string): Promise<void> {
  const protocol = harness.protocol;
  const ours = new Set(
    [...s.orders.values()]
      .filter((o) => !(protocol.reportsNeedBrokerOrderId && o.status === 'unknown'))
      .map((o) => o.id),
  );
  const venueFills = (await r.venue.listFills(0))
    .map((f) => ({ ...f, orderId: r.link.orderIdOf(f.clientOrderId) }))
    .filter((f) => ours.has(f.orderId));
  const position = new Map<string, Decimal>();
  if (protocol.venueExecutionIds) {
    const gateway = new Map(s.executions.map((e) => [e.executionId, e]));
    for (const f of venueFills) {
      const e = gateway.get(f.brokerExecutionId);
      if (e === undefined) {
        fail(label, `venue fill ${f.brokerExecutionId} (${f.quantity.toFixed()} of ${f.orderId}) missing`);
      }
      if (e.orderId !== f.orderId || !e.quantity.equals(f.quantity)) {
        fail(label, `venue fill ${f.brokerExecutionId} recorded as ${e.quantity.toFixed()} of ${e.orderId}`);
      }
      gateway.delete(f.brokerExecutionId);
    }
    if (gateway.size > 0) {
      fail(label, `executions the venue never made: ${[...gateway.keys()].join(', ')}`);
    }
  } else {
    const quantities = (list: readonly { orderId: string; quantity: Decimal }[], id: string) =>
      list
        .filter((x) => x.orderId === id)
        .map((x) => x.quantity.toFixed())
        .sort()
        .join(' ');
    for (const id of new Set([...venueFills.map((f) => f.orderId), ...s.executions.map((e) => e.orderId)])) {
      if (!ours.has(id)) {
        continue;
      }
      const venue = quantities(venueFills, id);
      const gateway = quantities(s.executions, id);
      if (venue !== gateway) {
        fail(label, `order ${id}: the venue filled [${venue}], the gateway's executions are [${gateway}]`);
      }
    }
  }
  for (const f of venueFills) {
    const signed = f.side === 'buy' ? f.quantity : f.quantity.negated();
    position.set(f.symbol, (position.get(f.symbol) ?? new Decimal(0)).plus(signed));
  }
  const actual = new Map<string, Decimal>();
  for (const e of s.executions.filter((x) => ours.has(x.orderId))) {
    const signed = e.side === 'buy' ? e.quantity : e.quantity.negated();
    actual.set(e.symbol, (actual.get(e.symbol) ?? new Decimal(0)).plus(signed));
  }
  const positions = protocol.reportsNeedBrokerOrderId ? actual : s.positions;
  for (const symbol of new Set([...position.keys(), ...positions.keys()])) {
    const expected = position.get(symbol) ?? new Decimal(0);
    const got = positions.get(symbol) ?? new Decimal(0);
    if (!expected.equals(got)) {
      fail(label, `position ${symbol} is ${got.toFixed()}, the venue's fills make ${expected.toFixed()}`);
    }
  }
}

/**
 * Whether our order works at the venue with `filled` filled, as the broker lets it be acted on: not while the
 * broker holds it pending a request of its own (VenueLink.pendingAtBroker).
 */
async function worksAtVenue(r: Real, orderId: string, filled: Decimal): Promise<boolean> {
  const record = venueRecord(r, orderId);
  return (
    record !== null &&
    (record.status === 'new' || record.status === 'partially_filled') &&
    filled.equals(record.filledQuantity) &&
    !(await r.link.pendingAtBroker(orderId))
  );
}

/** The venue's record of our order (by its venue key); null when the venue never had it. */
function venueRecord(r: Real, orderId: string): PaperOrderRecord | null {
  return r.venue.orderRecord(r.link.venueKey(orderId));
}

function expectNoUncertain(s: Snapshot, label: string): void {
  const left = [...s.orders.values()].filter((o) => UNCERTAIN_STATUSES.has(o.status));
  if (left.length > 0) {
    fail(label, `orders still uncertain: ${left.map((o) => `${o.id} ${o.status}`).join(', ')}`);
  }
}

function orderIn(s: Snapshot, id: string, label: string): OrderRow {
  return s.orders.get(id) ?? fail(label, `order ${id} not in the database`);
}

function expectStatus(s: Snapshot, id: string, expected: readonly OrderStatus[], label: string, why: string): void {
  const status = orderIn(s, id, label).status;
  if (!expected.includes(status)) {
    fail(label, `${why}: order ${id} is ${status}, expected ${expected.join(' or ')}`);
  }
}

/**
 * The gateway's filled quantity of an order equals the venue's (unless the order is still `unknown` where
 * reports need its broker order id: ProtocolLimits.reportsNeedBrokerOrderId).
 */
function expectFilledAsVenue(r: Real, s: Snapshot, id: string, label: string): void {
  const record = venueRecord(r, id);
  const row = orderIn(s, id, label);
  const filled = row.filled;
  if (harness.protocol.reportsNeedBrokerOrderId && row.status === 'unknown') {
    return;
  }
  if (record !== null && !filled.equals(record.filledQuantity)) {
    fail(label, `order ${id}: the venue filled ${record.filledQuantity}, the gateway has ${filled.toFixed()}`);
  }
}

// ---- what the model is sure of ----

/**
 * The answers the risk check may give an order, as far as entry authority goes (ARCHITECTURE.md: an
 * `unknown` order blocks opening orders in its symbol; a restart blocks the account's entries until a
 * clean pass). Nothing blocking: it must pass (no other limit is configured). Blocked: an order that
 * opens, increases or flips the position must be denied; one that reduces it is an exit, sized by the
 * risk library against the other working orders, so either answer is possible.
 */
function entryAuthority(s: Snapshot, side: OrderSide, quantity: Decimal): readonly string[] {
  const position = s.positions.get(SYMBOL) ?? new Decimal(0);
  const unknown = [...s.orders.values()].some((o) => o.symbol === SYMBOL && o.status === 'unknown');
  if (!unknown && s.blockedReason === null) {
    return ['ok'];
  }
  const exit = !position.isZero() && (side === 'sell') === position.isPositive() && quantity.lte(position.abs());
  return exit ? ['ok', 'risk.entries_blocked'] : ['risk.entries_blocked'];
}

function apiError(error: unknown): ApiError {
  if (error instanceof ApiError) {
    return error;
  }
  throw error;
}

function expectOutcome(
  label: string,
  got: { ok: true } | { ok: false; error: ApiError },
  /** `ok` and/or the error codes allowed. */
  expected: string | readonly string[],
  why: string,
): void {
  const allowed = typeof expected === 'string' ? [expected] : expected;
  const actual = got.ok ? 'ok' : got.error.code;
  if (!allowed.includes(actual)) {
    fail(
      label,
      `${why}: expected ${allowed.join(' or ')}, got ${got.ok ? 'success' : `${actual} (${got.error.detail})`}`,
    );
  }
}

// ---- commands ----

/** Faults of a request: one rule, for this command only (or the request parked at the venue). */
export type RequestVariant =
  | 'plain'
  | 'held'
  | 'ack_delay'
  | 'ack_lost'
  | 'error_after_accept'
  | 'accepted_without_id'
  | 'connection_reset'
  | 'fill_before_ack'
  | 'late_fill_after_cancel'
  | 'fill_during_pending_cancel'
  | 'cancel_rejected_filled'
  | 'replace_rejected_filled';

/** The fault a request of `target` gets for `variant` through the harness's protocol (ProtocolLimits.variants). */
function effectiveVariant(target: 'submit' | 'cancel' | 'replace', variant: RequestVariant): RequestVariant {
  return harness.protocol.variants[target]?.[variant] ?? variant;
}

/**
 * Arms the request fault of a command: where the harness's protocol carries it (a fake broker's fault, the
 * wire's), there; else as a FaultyVenue rule for this command (or the request parked at the venue).
 */
async function arm(r: Real, variant: RequestVariant, match: { orderId?: string; symbol?: string }): Promise<void> {
  if (variant === 'plain') {
    return;
  }
  if (await r.link.arm(variant, match)) {
    return;
  }
  if (variant === 'held') {
    r.venue.parkNextRequest();
    return;
  }
  const kind: FaultKind = variant;
  r.oneShot.push(
    r.venue.addFault({
      kind,
      match: {
        ...(match.orderId !== undefined ? { clientOrderId: r.link.venueKey(match.orderId) } : {}),
        ...(match.symbol !== undefined ? { symbol: match.symbol } : {}),
      },
      remaining: 1,
      ...(kind === 'ack_delay' ? { delayMs: ACK_DELAY_MS } : {}),
    }),
  );
}

async function disarm(r: Real): Promise<void> {
  for (const id of r.oneShot.splice(0)) {
    r.venue.removeFault(id);
  }
  r.venue.parkNextRequest(false);
  r.venue.fillOnNextReplace(null);
  await r.link.disarm();
}

/** Starts a command: its label in the trail. */
function begin(r: Real, command: { toString(): string }): string {
  const label = `#${r.trail.length + 1} ${command.toString()}`;
  r.trail.push(label);
  if (VERBOSE) {
    const now = performance.now();
    console.log(`  ${label}  (+${(now - r.lastMark).toFixed(0)} ms)`);
    r.lastMark = now;
  }
  return label;
}

/** Ends a command: faults of the command removed, everything it caused recorded, the invariants checked. */
async function settle(r: Real, label: string): Promise<Snapshot> {
  await disarm(r);
  await quiesce(r);
  r.snapshot = await observe(r, label);
  return r.snapshot;
}

/**
 * The order a command acts on: four times in five among the orders `prefer` picks (when there are
 * any), so that commands mostly meet orders they can act on; otherwise among all of them.
 */
function pick(m: Model, index: number, prefer?: (o: ModelOrder) => boolean): ModelOrder {
  const preferred = prefer !== undefined && index % 5 !== 0 ? m.orders.filter(prefer) : [];
  const from = preferred.length > 0 ? preferred : m.orders;
  return from[Math.floor(index / 5) % from.length]!;
}

const workingAt = (r: Real) => (o: ModelOrder) => {
  const status = venueRecord(r, o.id)?.status;
  return status === 'new' || status === 'partially_filled';
};
const doneAt = (r: Real) => (o: ModelOrder) => {
  const record = venueRecord(r, o.id);
  return (
    (record?.status === 'canceled' || record?.status === 'replaced') &&
    new Decimal(record.quantity).greaterThan(record.filledQuantity)
  );
};
const openIn = (r: Real, statuses?: readonly OrderStatus[]) => (o: ModelOrder) => {
  const status = r.snapshot.orders.get(o.id)?.status;
  return status !== undefined && (statuses === undefined ? !DONE.has(status) : statuses.includes(status));
};

abstract class Step implements fc.AsyncCommand<Model, Real> {
  check(_m: Readonly<Model>): boolean {
    return true;
  }
  abstract run(m: Model, r: Real): Promise<void>;
  abstract toString(): string;
}

abstract class OrderStep extends Step {
  override check(m: Readonly<Model>): boolean {
    return m.orders.length > 0;
  }
}

class Place extends Step {
  constructor(
    readonly side: OrderSide,
    readonly quantity: number,
    readonly ticksAway: number,
    readonly marketable: boolean,
    readonly variant: RequestVariant,
  ) {
    super();
  }

  toString(): string {
    const price = this.marketable ? 'marketable' : `${this.ticksAway}c off the touch`;
    return `place(${this.side} ${this.quantity} ${price}${this.variant === 'plain' ? '' : `, ${this.variant}`})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const quote = r.replay.getQuote(SYMBOL)!;
    const away = CENT.times(this.ticksAway);
    const limitPrice =
      this.side === 'buy'
        ? this.marketable
          ? quote.ask
          : quote.bid.minus(away)
        : this.marketable
          ? quote.bid
          : quote.ask.plus(away);
    let quantity = new Decimal(this.quantity);
    if (harness.protocol.distinctOrders) {
      // No two orders alike (ProtocolLimits.distinctOrders): the quantity is raised until it differs.
      const taken = (q: Decimal) =>
        [...r.snapshot.orders.values()].some(
          (o) =>
            o.side === this.side && o.quantity.equals(q) && o.limitPrice !== null && o.limitPrice.equals(limitPrice),
        );
      while (taken(quantity)) {
        quantity = quantity.plus(1);
      }
    }
    r.keys += 1;
    const request: PlaceOrderRequest = {
      clientOrderId: `c${r.keys}`,
      symbol: SYMBOL,
      side: this.side,
      type: 'limit',
      quantity,
      limitPrice,
      stopPrice: null,
      timeInForce: 'day',
      positionEffect: null,
      ttlMs: null,
    };
    const authority = entryAuthority(r.snapshot, this.side, request.quantity);
    const sentBefore = r.venue.receivedOrders().length;
    const variant = effectiveVariant('submit', this.variant);
    await arm(r, variant, { symbol: SYMBOL });
    let order: OrderDto | null = null;
    let error: ApiError | null = null;
    try {
      order = (await r.gen.orders.place(r.account, request)).order;
    } catch (e) {
      error = apiError(e);
    }
    await disarm(r);
    count(`place → ${order?.status ?? error?.code ?? '?'}`);
    const orderId = order?.id ?? (error?.extra.orderId as string | undefined);
    if (orderId !== undefined) {
      r.link.claim(orderId);
      m.orders.push({ id: orderId, side: this.side });
      m.places.push({ request, orderId });
    }
    if (variant === 'held' && order !== null) {
      m.parked = r.venue.parkedCount();
    }
    const s = await settle(r, label);
    expectOutcome(
      label,
      error === null ? { ok: true } : { ok: false, error },
      authority,
      `entry authority (blocked: ${r.snapshot.blockedReason ?? 'by an unknown order, or not'})`,
    );
    if (order === null) {
      return;
    }
    const protocol = harness.protocol;
    const booked: readonly OrderStatus[] = ['new', 'partially_filled', 'filled'];
    switch (variant) {
      case 'connection_reset':
        if (order.status !== 'unknown' || r.venue.receivedOrders().length !== sentBefore) {
          fail(label, `a reset submit must leave the order unknown and unsent; it is ${order.status}`);
        }
        expectStatus(s, order.id, ['unknown'], label, 'nothing came back from the venue');
        return;
      case 'held':
        expectStatus(s, order.id, ['unknown'], label, 'the venue has not acted on the submit yet');
        return;
      case 'ack_lost':
        if (protocol.lostSubmitAnswerReported) {
          expectStatus(s, order.id, booked, label, "the answer was lost, the broker's stream reported the order");
        } else if (protocol.reportsNeedBrokerOrderId) {
          expectStatus(s, order.id, ['unknown'], label, 'the answer with the order id was lost');
        } else if (venueRecord(r, order.id)?.filledQuantity === '0') {
          expectStatus(s, order.id, ['unknown'], label, 'neither the answer nor the new report came');
        }
        return;
      case 'ack_delay':
      case 'error_after_accept':
      case 'accepted_without_id':
        if (protocol.reportsNeedBrokerOrderId) {
          expectStatus(s, order.id, ['unknown'], label, 'the answer with the order id came too late or never');
          return;
        }
        // The venue acted and its `new` report (or the answer) reached the gateway.
        expectStatus(s, order.id, booked, label, 'the venue booked the order');
        return;
      case 'plain':
      case 'fill_before_ack':
        expectStatus(s, order.id, booked, label, 'the venue booked the order');
        return;
      case 'late_fill_after_cancel':
      case 'fill_during_pending_cancel':
      case 'cancel_rejected_filled':
      case 'replace_rejected_filled':
        return; // not faults of a submit
    }
  }
}

class RetryPlace extends Step {
  constructor(
    readonly index: number,
    readonly sameBody: boolean,
  ) {
    super();
  }

  override check(m: Readonly<Model>): boolean {
    return m.places.length > 0;
  }

  toString(): string {
    return `retryPlace(#${this.index}, ${this.sameBody ? 'same body' : 'different body'})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const place = m.places[this.index % m.places.length]!;
    const request = this.sameBody ? place.request : { ...place.request, quantity: place.request.quantity.plus(1) };
    const sentBefore = r.venue.receivedOrders().length;
    let outcome: { kind: string; id: string } | ApiError;
    try {
      const result = await r.gen.orders.place(r.account, request);
      outcome = { kind: result.kind, id: result.order.id };
    } catch (e) {
      outcome = apiError(e);
    }
    await settle(r, label);
    if (r.venue.receivedOrders().length !== sentBefore) {
      fail(label, 'a retried request reached the venue');
    }
    if (!this.sameBody) {
      if (!(outcome instanceof ApiError) || outcome.code !== 'idempotency.key_reused') {
        fail(
          label,
          `a reused key with another body must answer idempotency.key_reused, got ${describeOutcome(outcome)}`,
        );
      }
      return;
    }
    const replayedId = outcome instanceof ApiError ? (outcome.extra.orderId as string | undefined) : outcome.id;
    const replayed = outcome instanceof ApiError ? outcome.code.startsWith('risk.') : outcome.kind === 'replayed';
    if (!replayed || replayedId !== place.orderId) {
      fail(
        label,
        `the same request again must answer the original order ${place.orderId}, got ${describeOutcome(outcome)}`,
      );
    }
  }
}

class RetryReplace extends Step {
  constructor(
    readonly index: number,
    readonly sameBody: boolean,
  ) {
    super();
  }

  override check(m: Readonly<Model>): boolean {
    return m.replaces.length > 0;
  }

  toString(): string {
    return `retryReplace(#${this.index}, ${this.sameBody ? 'same body' : 'different body'})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const replace = m.replaces[this.index % m.replaces.length]!;
    const request = this.sameBody
      ? replace.request
      : { ...replace.request, quantity: (replace.request.quantity ?? new Decimal(1)).plus(1) };
    const sentBefore = r.venue.receivedReplaces().length;
    let outcome: { kind: string; id: string } | ApiError;
    try {
      const result = await r.gen.orders.replace(r.account, replace.orderId, request);
      outcome = { kind: result.kind, id: result.order.id };
    } catch (e) {
      outcome = apiError(e);
    }
    await settle(r, label);
    if (r.venue.receivedReplaces().length !== sentBefore) {
      fail(label, 'a retried replace reached the venue');
    }
    if (!this.sameBody) {
      if (!(outcome instanceof ApiError) || outcome.code !== 'idempotency.key_reused') {
        fail(
          label,
          `a reused key with another body must answer idempotency.key_reused, got ${describeOutcome(outcome)}`,
        );
      }
      return;
    }
    const replayedId = outcome instanceof ApiError ? (outcome.extra.orderId as string | undefined) : outcome.id;
    const replayed = outcome instanceof ApiError ? outcome.code.startsWith('risk.') : outcome.kind === 'replayed';
    if (!replayed || replayedId !== replace.replacementId) {
      fail(
        label,
        `the same replace again must answer the replacement ${replace.replacementId}, got ${describeOutcome(outcome)}`,
      );
    }
  }
}

function describeOutcome(outcome: { kind: string; id: string } | ApiError): string {
  return outcome instanceof ApiError ? `${outcome.code} (${outcome.detail})` : `${outcome.kind} ${outcome.id}`;
}

class Ack extends Step {
  override check(m: Readonly<Model>): boolean {
    return m.parked > 0;
  }

  toString(): string {
    return 'ack(parked requests reach the venue)';
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    count(`parked requests released: ${r.venue.releaseParked()}`);
    m.parked = 0;
    await settle(r, label);
  }
}

class Fill extends OrderStep {
  constructor(
    readonly index: number,
    readonly complete: boolean,
    readonly fraction: number,
  ) {
    super();
  }

  toString(): string {
    return this.complete ? `fill(#${this.index})` : `partialFill(#${this.index}, ${this.fraction.toFixed(2)})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const { id } = pick(m, this.index, workingAt(r));
    const record = venueRecord(r, id);
    if (record === null || (record.status !== 'new' && record.status !== 'partially_filled')) {
      await settle(r, label);
      return; // nothing working at the venue to fill
    }
    const leaves = new Decimal(record.quantity).minus(record.filledQuantity);
    const quantity = this.complete ? leaves : Decimal.max(leaves.times(this.fraction).floor(), 1);
    if (!this.complete && quantity.gte(leaves)) {
      await settle(r, label);
      return; // one share left: a partial fill is impossible
    }
    r.venue.forceFill(r.link.venueKey(id), quantity);
    count(this.complete ? 'venue fill' : 'venue partial fill');
    const s = await settle(r, label);
    expectFilledAsVenue(r, s, id, label);
  }
}

class LateFill extends OrderStep {
  constructor(
    readonly index: number,
    readonly fraction: number,
  ) {
    super();
  }

  toString(): string {
    return `lateFill(#${this.index}, ${this.fraction.toFixed(2)})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const { id } = pick(m, this.index, doneAt(r));
    const record = venueRecord(r, id);
    if (record === null || (record.status !== 'canceled' && record.status !== 'replaced')) {
      await settle(r, label);
      return;
    }
    const unfilled = new Decimal(record.quantity).minus(record.filledQuantity);
    if (!unfilled.greaterThan(0)) {
      await settle(r, label);
      return;
    }
    r.venue.lateFill(r.link.venueKey(id), Decimal.min(Decimal.max(unfilled.times(this.fraction).ceil(), 1), unfilled));
    count(`venue late fill after ${record.status}`);
    const s = await settle(r, label);
    expectFilledAsVenue(r, s, id, label);
  }
}

class Cancel extends OrderStep {
  constructor(
    readonly index: number,
    readonly variant: RequestVariant,
  ) {
    super();
  }

  toString(): string {
    return `cancel(#${this.index}${this.variant === 'plain' ? '' : `, ${this.variant}`})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const { id } = pick(m, this.index, openIn(r));
    const before = orderIn(r.snapshot, id, label);
    const workingAtVenue = await worksAtVenue(r, id, before.filled);
    const variant = effectiveVariant('cancel', this.variant);
    await arm(r, variant, { orderId: id });
    let result: { ok: true; order: OrderDto } | { ok: false; error: ApiError };
    try {
      result = { ok: true, order: await r.gen.orders.cancel(r.account.id, id) };
    } catch (e) {
      result = { ok: false, error: apiError(e) };
    }
    await disarm(r);
    count(`cancel ${before.status} → ${result.ok ? result.order.status : result.error.code}`);
    if (variant === 'held' && r.venue.parkedCount() > m.parked) {
      m.parked = r.venue.parkedCount();
    }
    const s = await settle(r, label);
    const status = before.status;
    if (DONE.has(status) || status === 'pending_replace') {
      expectOutcome(label, result, 'order.not_cancelable', `a cancel of a ${status} order`);
      return;
    }
    if (status === 'pending_new' || status === 'unknown' || status === 'pending_cancel') {
      expectOutcome(label, result, 'ok', `a cancel of a ${status} order is accepted (sent once it works)`);
      if (result.ok && status !== 'pending_cancel' && result.order.cancelRequestedAt === null) {
        fail(label, `a cancel of a ${status} order must be remembered (cancelRequestedAt)`);
      }
      return;
    }
    // new or partially_filled, the same at the venue: what happens is certain for some variants.
    if (!workingAtVenue) {
      return;
    }
    switch (variant) {
      case 'plain':
      case 'ack_delay':
      case 'ack_lost':
      case 'error_after_accept':
        expectStatus(s, id, ['canceled'], label, 'the venue canceled the order and reported it');
        return;
      case 'held':
      case 'connection_reset':
        expectStatus(s, id, ['pending_cancel'], label, 'the cancel has not reached the venue');
        return;
      case 'cancel_rejected_filled':
        expectOutcome(label, result, 'order.not_cancelable', 'the venue refused the cancel: the order filled');
        expectStatus(s, id, ['filled'], label, 'the order filled before the cancel');
        return;
      case 'late_fill_after_cancel':
      case 'fill_during_pending_cancel':
        expectStatus(s, id, ['canceled', 'filled'], label, 'the venue canceled the order (a fill raced it)');
        expectFilledAsVenue(r, s, id, label);
        return;
      case 'accepted_without_id':
      case 'fill_before_ack':
      case 'replace_rejected_filled':
        return; // not faults of a cancel
    }
  }
}

class CancelAll extends Step {
  toString(): string {
    return 'cancelAll()';
  }

  async run(_m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    const before = r.snapshot;
    const pending = new Set<string>();
    for (const o of before.orders.values()) {
      if (!DONE.has(o.status) && (await r.link.pendingAtBroker(o.id))) {
        pending.add(o.id);
      }
    }
    const answered = await r.gen.orders.cancelAll(r.account.id);
    count(`cancelAll of ${answered.length}`);
    const s = await settle(r, label);
    const open = [...before.orders.values()].filter((o) => !DONE.has(o.status));
    if (answered.length !== open.length) {
      fail(label, `cancelAll answered ${answered.length} orders, ${open.length} were open`);
    }
    for (const o of open) {
      const record = venueRecord(r, o.id);
      const workingAtVenue =
        record !== null &&
        (record.status === 'new' || record.status === 'partially_filled') &&
        o.filled.equals(record.filledQuantity);
      if ((o.status === 'new' || o.status === 'partially_filled') && workingAtVenue && !pending.has(o.id)) {
        expectStatus(s, o.id, ['canceled'], label, 'cancelAll cancels every working order');
      }
    }
  }
}

class Replace extends OrderStep {
  constructor(
    readonly index: number,
    readonly above: boolean,
    readonly by: number,
    readonly price: 'same' | 'moved' | 'marketable',
    readonly variant: RequestVariant,
    /** A partial fill of the order lands at the venue just before the replace does. */
    readonly race: number | null,
  ) {
    super();
  }

  toString(): string {
    const total = this.above ? `filled+${this.by}` : `filled-(${this.by} mod filled)`;
    const variant = this.variant === 'plain' ? '' : `, ${this.variant}`;
    const race = this.race === null ? '' : `, fill ${this.race.toFixed(2)} races it`;
    return `replace(#${this.index}, total ${total}, price ${this.price}${variant}${race})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    // At or below the filled quantity is meaningful only for an order with fills.
    const old = pick(m, this.index, openIn(r, this.above ? ['new', 'partially_filled'] : ['partially_filled']));
    const before = orderIn(r.snapshot, old.id, label);
    if (!this.above && before.filled.isZero()) {
      await settle(r, label);
      return; // a total of 0 or less is not a request the API accepts (quantity must be positive)
    }
    // Above: filled + by (by ≥ 1). At or below: one of filled, filled − 1, …, 1.
    const total = this.above ? before.filled.plus(this.by) : before.filled.minus(this.by % before.filled.toNumber());
    const quote = r.replay.getQuote(SYMBOL)!;
    const limitPrice =
      this.price === 'same'
        ? null
        : this.price === 'marketable'
          ? old.side === 'buy'
            ? quote.ask
            : quote.bid
          : old.side === 'buy'
            ? quote.bid.minus(CENT.times(1 + (this.by % 3)))
            : quote.ask.plus(CENT.times(1 + (this.by % 3)));
    r.keys += 1;
    const request = { clientOrderId: `c${r.keys}`, quantity: total, limitPrice, stopPrice: null };
    const workingAtVenue = await worksAtVenue(r, old.id, before.filled);

    const working = before.status === 'new' || before.status === 'partially_filled';
    const notReplaceable = !working || before.cancelRequested || !total.greaterThan(before.filled);
    const changesNothing =
      total.equals(before.quantity) && (limitPrice === null || limitPrice.equals(before.limitPrice ?? -1));
    const expected = notReplaceable
      ? 'order.not_replaceable'
      : changesNothing
        ? 'validation.failed'
        : entryAuthority(r.snapshot, old.side, total.minus(before.filled));

    const variant = effectiveVariant('replace', this.variant);
    // Where an unsure replacement is found only by matching (ProtocolLimits.distinctOrders), no fill races it:
    // it would change the quantity the broker books, and no candidate would match the replacement we asked for.
    const unsure = variant !== 'plain' && variant !== 'fill_before_ack' && variant !== 'replace_rejected_filled';
    const race = !harness.protocol.fillMayRaceReplace || (harness.protocol.distinctOrders && unsure) ? null : this.race;
    await arm(r, variant, { orderId: old.id });
    r.venue.fillOnNextReplace(race);
    let replacement: OrderDto | null = null;
    let error: ApiError | null = null;
    try {
      replacement = (await r.gen.orders.replace(r.account, old.id, request)).order;
    } catch (e) {
      error = apiError(e);
    }
    await disarm(r);
    count(`replace ${before.status} → ${replacement?.status ?? error?.code ?? '?'}`);
    const newId = replacement?.id ?? (error?.extra.orderId as string | undefined);
    if (newId !== undefined && newId !== old.id) {
      r.link.claim(newId);
      m.orders.push({ id: newId, side: old.side });
      m.replaces.push({ orderId: old.id, request, replacementId: newId });
    }
    if (variant === 'held' && replacement !== null) {
      m.parked = r.venue.parkedCount();
    }
    const s = await settle(r, label);
    const why = notReplaceable
      ? `a replace of a ${before.status} order (filled ${before.filled.toFixed()}, cancel requested: ${before.cancelRequested}) to ${total.toFixed()}`
      : 'a replace of a working order';
    expectOutcome(label, error === null ? { ok: true } : { ok: false, error }, expected, why);
    if (replacement === null) {
      return;
    }
    // What the venue booked is what the gateway works, once the venue's answer or reports are in.
    for (const id of [old.id, replacement.id]) {
      const row = orderIn(s, id, label);
      const booked = venueRecord(r, id);
      if (booked !== null && !UNCERTAIN_STATUSES.has(row.status) && !row.quantity.equals(booked.quantity)) {
        fail(label, `order ${id} (${row.status}) works ${row.quantity.toFixed()}, the venue booked ${booked.quantity}`);
      }
    }
    if (!workingAtVenue || race !== null) {
      return; // a racing fill may take the order to or past the new total: the venue then refuses
    }
    switch (variant) {
      case 'ack_delay':
      case 'error_after_accept':
      case 'accepted_without_id':
        expectStatus(s, old.id, ['replaced'], label, 'the venue replaced the order and said so');
        // Without the answer, the replacement's broker order id is not known (ProtocolLimits).
        expectStatus(
          s,
          replacement.id,
          harness.protocol.reportsNeedBrokerOrderId ? ['unknown'] : ['new', 'partially_filled', 'filled'],
          label,
          'the venue booked it',
        );
        return;
      case 'fill_before_ack':
        if (harness.protocol.replaceSettledByStream && venueRecord(r, replacement.id)?.filledQuantity === '0') {
          expectStatus(s, old.id, ['replaced'], label, 'the venue replaced the order and said so');
          expectStatus(s, replacement.id, ['unknown'], label, "the replacement's new report is held until it fills");
          return;
        }
        expectStatus(s, old.id, ['replaced'], label, 'the venue replaced the order and said so');
        expectStatus(s, replacement.id, ['new', 'partially_filled', 'filled'], label, 'the venue booked it');
        return;
      case 'plain':
        expectStatus(s, old.id, ['replaced'], label, 'the venue replaced the order and said so');
        expectStatus(s, replacement.id, ['new', 'partially_filled', 'filled'], label, 'the venue booked it');
        return;
      case 'ack_lost':
        expectStatus(s, old.id, ['replaced'], label, 'the venue replaced the order and reported it');
        return;
      case 'held':
      case 'connection_reset':
        expectStatus(s, old.id, ['pending_replace'], label, 'the replace has not reached the venue');
        expectStatus(s, replacement.id, ['unknown'], label, 'the replace has not reached the venue');
        return;
      case 'replace_rejected_filled':
        expectStatus(s, old.id, ['filled'], label, 'the order filled before the replace');
        expectStatus(s, replacement.id, ['rejected'], label, 'the venue refused the replace');
        return;
      case 'late_fill_after_cancel':
      case 'fill_during_pending_cancel':
      case 'cancel_rejected_filled':
        return; // not faults of a replace
    }
  }
}

class Duplicate extends OrderStep {
  constructor(
    readonly mode: 'fault' | 'reemit',
    readonly index: number,
    readonly count: number,
  ) {
    super();
  }

  toString(): string {
    return this.mode === 'fault'
      ? `duplicateReports(#${this.index}, next ${this.count})`
      : `reemitReport(${this.index})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    if (this.mode === 'fault') {
      // Stays in force until used up: every report of the order is delivered twice.
      r.link.duplicate(pick(m, this.index, openIn(r)).id, this.count);
    } else {
      r.link.reemit(this.index);
    }
    await settle(r, label);
  }
}

type Downtime =
  { kind: 'fill'; index: number; complete: boolean } | { kind: 'lateFill'; index: number } | { kind: 'ack' };
type Advance = 'none' | 'grace' | 'past';
const ADVANCE_MS = (): Record<Advance, number> => ({ none: 0, grace: GRACE_MS + 50, past: MISSING_AFTER_MS + 1 });

class Restart extends Step {
  constructor(
    readonly downtime: readonly Downtime[],
    readonly advance: Advance,
  ) {
    super();
  }

  toString(): string {
    const events = this.downtime.map((d) =>
      d.kind === 'ack'
        ? 'ack'
        : d.kind === 'fill'
          ? `${d.complete ? 'fill' : 'partialFill'} #${d.index}`
          : `lateFill #${d.index}`,
    );
    return `restart(down: [${events.join(', ')}], clock +${this.advance})`;
  }

  async run(m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    await r.gen.stop();
    for (const d of this.downtime) {
      // The venue goes on while the gateway is down; its reports reach no one.
      if (d.kind === 'ack') {
        r.venue.releaseParked();
        m.parked = 0;
        continue;
      }
      if (m.orders.length === 0) {
        continue;
      }
      const { id } = pick(m, d.index, d.kind === 'fill' ? workingAt(r) : doneAt(r));
      const record = venueRecord(r, id);
      if (record === null) {
        continue;
      }
      const unfilled = new Decimal(record.quantity).minus(record.filledQuantity);
      const working = record.status === 'new' || record.status === 'partially_filled';
      if (d.kind === 'fill' && working) {
        r.venue.forceFill(r.link.venueKey(id), d.complete ? unfilled : Decimal.max(unfilled.dividedBy(2).floor(), 1));
        count('venue fill while the gateway is down');
      } else if (d.kind === 'lateFill' && (record.status === 'canceled' || record.status === 'replaced')) {
        if (unfilled.greaterThan(0)) {
          r.venue.lateFill(r.link.venueKey(id), unfilled);
          count('venue late fill while the gateway is down');
        }
      }
    }
    r.clock.advance(ADVANCE_MS()[this.advance]);
    count(`restart, clock +${this.advance}`);
    r.gen = await Generation.start(r);
    // The sweep timer's next tick, once what the start-up pass set off (a requested cancel) is done.
    await quiesce(r);
    await r.gen.reconciler.sweep();
    const s = await settle(r, label);
    // The start-up account pass brings every order the venue has to the venue's state.
    await expectFillsMatchVenue(r, s, label);
    if (this.advance === 'past') {
      expectNoUncertain(s, label);
      if (s.blockedReason !== null) {
        fail(label, `entries still blocked after a clean start-up pass: ${s.blockedReason}`);
      }
    }
  }
}

class Reconcile extends Step {
  constructor(
    readonly advance: Advance,
    readonly mode: 'sweep' | 'account' | 'both',
  ) {
    super();
  }

  toString(): string {
    return `reconcile(${this.mode}, clock +${this.advance})`;
  }

  async run(_m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    r.clock.advance(ADVANCE_MS()[this.advance]);
    if (this.mode !== 'account') {
      await r.gen.reconciler.sweep();
    }
    if (this.mode !== 'sweep') {
      await r.gen.reconciler.reconcileAccount(r.account.id);
    }
    const s = await settle(r, label);
    if (this.advance === 'past') {
      expectNoUncertain(s, label);
    }
    if (this.mode !== 'sweep') {
      await expectFillsMatchVenue(r, s, label);
    }
  }
}

class Market extends Step {
  constructor(readonly ms: number) {
    super();
  }

  toString(): string {
    return `market(+${this.ms} ms)`;
  }

  async run(_m: Model, r: Real): Promise<void> {
    const label = begin(r, this);
    r.replay.advanceBy(this.ms); // resting orders fill on the recorded prints and quotes
    await settle(r, label);
  }
}

/** Settles everything, then compares the gateway with the venue. */
async function finish(r: Real): Promise<void> {
  const label = 'end of sequence';
  r.trail.push(label);
  r.venue.clearFaults();
  r.venue.releaseParked();
  await quiesce(r);
  // Past the in-flight window: a sweep and an account pass; once more if something is still uncertain.
  for (let round = 0; round < 2; round++) {
    r.clock.advance(MISSING_AFTER_MS + 1);
    await r.gen.reconciler.sweep();
    await r.gen.reconciler.reconcileAccount(r.account.id);
    await quiesce(r);
    const left: { n: number }[] = await shared.db.dataSource.query(
      `SELECT count(*)::int AS n FROM orders WHERE account_id = $1 AND status = ANY($2)`,
      [r.account.id, [...UNCERTAIN_STATUSES]],
    );
    if (left[0]!.n === 0) {
      break;
    }
  }
  const s = await observe(r, label);
  r.snapshot = s;
  expectNoUncertain(s, label);
  await expectFillsMatchVenue(r, s, label);
  for (const o of s.orders.values()) {
    const record = venueRecord(r, o.id);
    if (record === null) {
      if (o.status !== 'denied' && o.status !== 'rejected') {
        fail(label, `order ${o.id} is ${o.status}, but the venue never had it`);
      }
      continue;
    }
    // A late fill completing a replaced order: the venue calls it filled, the transition table keeps it
    // `replaced` (the quantity belongs to the old order). Both are documented; either is the truth.
    const sameStatus =
      o.status === record.status ||
      (o.status === 'replaced' && record.status === 'filled' && (record.reason ?? '').startsWith('replaced by'));
    if (!sameStatus || !o.filled.equals(record.filledQuantity) || !o.quantity.equals(record.quantity)) {
      fail(
        label,
        `order ${o.id} is ${o.status} ${o.filled.toFixed()}/${o.quantity.toFixed()}, the venue has it ${record.status} ${record.filledQuantity}/${record.quantity}`,
      );
    }
  }
}

// ---- arbitraries ----

const index = fc.nat({ max: 999 });
const side = fc.constantFrom<OrderSide>('buy', 'sell');
const rarely = (tenths: number) => fc.integer({ min: 0, max: 9 }).map((n) => n < tenths);
/** About 40 % of requests carry a fault. */
const variantOf = (faults: readonly RequestVariant[]) =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant<RequestVariant>('plain') },
    { weight: 2, arbitrary: fc.constantFrom(...faults) },
  );
const advance = fc.constantFrom<Advance>('none', 'grace', 'past', 'past');

const placeArb = fc
  .tuple(
    side,
    fc.integer({ min: 1, max: 20 }),
    fc.integer({ min: 0, max: 5 }),
    rarely(1),
    variantOf([
      'held',
      'ack_delay',
      'ack_lost',
      'error_after_accept',
      'accepted_without_id',
      'connection_reset',
      'fill_before_ack',
    ]),
  )
  .map(([s, q, t, mk, v]) => new Place(s, q, t, mk, v));
const fillArb = fc
  .tuple(index, fc.boolean(), fc.double({ min: 0.1, max: 0.9, noNaN: true }))
  .map(([i, complete, f]) => new Fill(i, complete, f));
const lateFillArb = fc.tuple(index, fc.double({ min: 0.1, max: 1, noNaN: true })).map(([i, f]) => new LateFill(i, f));
const cancelArb = fc
  .tuple(
    index,
    variantOf([
      'held',
      'ack_delay',
      'ack_lost',
      'error_after_accept',
      'connection_reset',
      'late_fill_after_cancel',
      'fill_during_pending_cancel',
      'cancel_rejected_filled',
    ]),
  )
  .map(([i, v]): Step => new Cancel(i, v));
const cancelAllArb = fc.constant(new CancelAll());
const replaceArb = fc
  .tuple(
    index,
    rarely(8),
    fc.integer({ min: 0, max: 8 }),
    fc.constantFrom<'same' | 'moved' | 'marketable'>('same', 'moved', 'moved', 'marketable'),
    variantOf([
      'held',
      'ack_delay',
      'ack_lost',
      'error_after_accept',
      'accepted_without_id',
      'connection_reset',
      'fill_before_ack',
      'replace_rejected_filled',
    ]),
    fc.oneof(
      { weight: 3, arbitrary: fc.constant(null) },
      { weight: 1, arbitrary: fc.double({ min: 0.1, max: 0.9, noNaN: true }) },
    ),
  )
  .map(([i, above, by, price, v, race]) => new Replace(i, above, above ? Math.max(by, 1) : by, price, v, race));
const duplicateArb = fc
  .tuple(fc.constantFrom<'fault' | 'reemit'>('fault', 'reemit'), index, fc.integer({ min: 1, max: 4 }))
  .map(([mode, i, n]) => new Duplicate(mode, i, n));
const downtimeArb = fc.oneof(
  fc.tuple(index, fc.boolean()).map(([i, complete]): Downtime => ({ kind: 'fill', index: i, complete })),
  index.map((i): Downtime => ({ kind: 'lateFill', index: i })),
  fc.constant<Downtime>({ kind: 'ack' }),
);
const restartArb = fc
  .tuple(fc.array(downtimeArb, { maxLength: 3 }), advance)
  .map(([events, a]) => new Restart(events, a));
const reconcileArb = fc
  .tuple(advance, fc.constantFrom<'sweep' | 'account' | 'both'>('sweep', 'account', 'both'))
  .map(([a, mode]) => new Reconcile(a, mode));
const marketArb = fc.integer({ min: 200, max: 5_000 }).map((ms) => new Market(ms));
const retryArb = fc.oneof(
  fc.tuple(index, rarely(7)).map(([i, same]) => new RetryPlace(i, same)),
  fc.tuple(index, rarely(7)).map(([i, same]) => new RetryReplace(i, same)),
);
const ackArb = fc.constant(new Ack());

/** Repeated entries weigh a command: fc.commands picks uniformly among them. */
const COMMANDS: fc.Arbitrary<fc.AsyncCommand<Model, Real>>[] = [
  placeArb,
  placeArb,
  placeArb,
  placeArb,
  fillArb,
  fillArb,
  fillArb,
  cancelArb,
  cancelArb,
  cancelAllArb,
  replaceArb,
  replaceArb,
  ackArb,
  lateFillArb,
  duplicateArb,
  restartArb,
  reconcileArb,
  reconcileArb,
  marketArb,
  retryArb,
];

// ---- the run ----

/** One fc.check of the model: `runs` random sequences, or the one that `seed`, `path` and `replayPath` replay. */
interface ModelRun {
  readonly runs: number;
  readonly seed?: number | undefined;
  readonly path?: string | undefined;
  readonly replayPath?: string | undefined;
}

/**
 * Counterexamples the model found, replayed on every run: each was a gateway bug, fixed (the comment
 * says which). They replay on a clock that starts later than when found (each sequence starts a day on),
 * which none of them depends on.
 */
const KNOWN_COUNTEREXAMPLES: readonly (ModelRun & { readonly why: string })[] = [
  {
    why:
      'a replace reconciliation gave up on, then a cancel, then the venue acts on the replace: the order stayed ' +
      'pending_cancel (the transition table refused pending_cancel → replaced)',
    runs: 1,
    seed: 1074620171,
    path: '7:3:1:3:4:6:5:6:5:5:5:7:7:9:9',
    replayPath: 'AAACAAAmA8:qK',
  },
  {
    why:
      'on Schwab, a replace reset before it reached the broker: the replacement stayed unknown for good (nothing ' +
      'to match; now rejected once the old order is shown not replaced after the in-flight window)',
    runs: 1,
    seed: -1244107993,
    path: '133:2:5:6:9:5:5:6:5:6:7:7:7:9:9',
    replayPath: 'BBC/o:a',
  },
  {
    why:
      'on paper, a held replace that reconciliation rejected as never received, then acknowledged: restated at ' +
      'the quantity asked, not the one the venue booked after a racing fill',
    runs: 1,
    seed: 951062150,
    path: '174:2:2:4:4:3:3:4:5:4:4:4:6:6:7:6:8:8',
    replayPath: 'MAAA0:V',
  },
  {
    why:
      'on Alpaca, a replacement the broker refused (its old order filled) while a cancel of it was on its way: ' +
      'pending_cancel, which a rejection could not leave, so reconciliation could never settle it',
    runs: 1,
    seed: 1666256845,
    path: '434:2:2:10:11:10:9:8:8:8:9:8:8:9:9:9:10:11:13:13:12:12:12:12:12:12:12',
    replayPath: 'AAAgBCB//U:qO',
  },
];

async function checkModel(run: ModelRun): Promise<void> {
  const started = Date.now();
  let sequences = 0;
  let commands = 0;
  /** The first failure as it happened (shrinking a flaky one could end on an unrelated counterexample). */
  let firstFailure: string | undefined;
  const property = fc.asyncProperty(
    fc.limitShrink(
      fc.commands(COMMANDS, {
        maxCommands: MAX_COMMANDS,
        size: 'max',
        ...(run.replayPath ? { replayPath: run.replayPath } : {}),
      }),
      400,
    ),
    async (cmds) => {
      const opening = performance.now();
      const r = await openSequence();
      sequences += 1;
      logLines.length = 0;
      if (VERBOSE) {
        console.log(
          `sequence ${sequences} (account ${r.account.id}), opened in ${(performance.now() - opening).toFixed(0)} ms`,
        );
      }
      try {
        await fc.asyncModelRun(() => ({ model: { orders: [], places: [], replaces: [], parked: 0 }, real: r }), cmds);
        begin(r, 'finish');
        await finish(r);
        commands += r.trail.length - 2;
        if (VERBOSE) {
          console.log(`  finished in ${(performance.now() - r.lastMark).toFixed(0)} ms`);
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        const context = [
          message,
          `account ${r.account.id}; commands run:`,
          ...r.trail.map((t) => `  ${t}`),
          'last gateway warnings/errors:',
          ...logLines.slice(-Number(process.env.MODEL_LOG_LINES ?? 15)).map((l) => `  ${l.trim()}`),
        ].join('\n');
        firstFailure ??= context;
        throw new InvariantError(context, { cause: error });
      } finally {
        await closeSequence(r);
      }
    },
  );
  const details = await fc.check(property, {
    numRuns: run.runs,
    ...(run.seed !== undefined ? { seed: run.seed } : {}),
    ...(run.path !== undefined ? { path: run.path, endOnFailure: true } : {}),
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (details.failed) {
    const report = fc.defaultReportMessage(details) ?? 'property failed';
    const replayPath = /replayPath="([^"]*)"/.exec(report)?.[1];
    const error =
      details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance);
    throw new Error(
      [
        report,
        '',
        error,
        '',
        ...(firstFailure !== undefined && firstFailure !== error
          ? ['The first failure, before shrinking:', firstFailure, '']
          : []),
        'Replay this failure with:',
        `  MODEL_SEED=${details.seed} MODEL_PATH='${details.counterexamplePath ?? ''}'` +
          (replayPath ? ` MODEL_REPLAY_PATH='${replayPath}'` : '') +
          ` npx vitest run ${harness.specFile}`,
      ].join('\n'),
    );
  }
  const lines = [...coverage.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `  ${k}: ${n}`);
  console.log(
    [
      `order lifecycle model (${harness.name}): ${details.numRuns} sequences (${sequences} run), ${commands} commands, seed ${details.seed}, ${seconds} s`,
      'exercised (transitions from the event log, command outcomes, venue faults that fired):',
      ...lines,
    ].join('\n'),
  );
}

/**
 * The model's tests against `venue` (one entry spec per harness, so vitest runs them in parallel workers): the
 * random sequences (MODEL_RUNS, else the harness's default; or the one MODEL_SEED/MODEL_PATH replays), then
 * the known counterexamples.
 */
export function describeOrderLifecycleModel(venue: VenueHarness): void {
  const runs = RUNS_OVERRIDE ?? venue.defaultRuns;
  harness = venue;
  SUBMIT_TIMEOUT_MS = venue.submitTimeoutMs;
  GRACE_MS = SUBMIT_TIMEOUT_MS + 1_000;
  ACK_DELAY_MS = SUBMIT_TIMEOUT_MS + 20;
  beforeAll(setUpShared, 60_000);
  afterAll(tearDownShared);

  describe(`order lifecycle model (real PostgreSQL, Redis and gateway services; FaultyVenue, ${venue.name})`, () => {
    it(
      `keeps every invariant over ${PATH === undefined ? runs : 'the replayed'} random sequences of up to ${MAX_COMMANDS} commands`,
      () => checkModel({ runs, seed: SEED, path: PATH, replayPath: REPLAY_PATH }),
      60 * 60_000,
    );

    it.each(KNOWN_COUNTEREXAMPLES)(
      'keeps every invariant on the known counterexample of seed $seed: $why',
      (run) => checkModel(run),
      60_000,
    );
  });
}
