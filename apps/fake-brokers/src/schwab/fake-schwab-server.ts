import { randomBytes, randomInt, randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ExecutionReport, type MarketReplay, type PaperVenue } from '@gateway/brokers';
import { Decimal, type OrderSide, type OrderType, type TimeInForce, parseInstrument } from '@gateway/oms';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeAll, listenOn, readJson, str } from '../fake-broker-http.js';
import { type FaultTiming, faultTiming, replayTestRoute, StreamSwitches } from '../fake-broker-test-routes.js';

/*
 * A fake Charles Schwab Trader API for tests, speaking Schwab's own wire protocol as
 * ../shared/brokers/PROTOCOLS.md (A2–A5) and README.md describe it, over a PaperVenue that fills against the
 * real market data replay (the engine the paper venue and the fake Alpaca use, imported, not copied). One fake
 * is one Schwab login (one app) with one brokerage account. Everything lives in this process's memory.
 *
 * REST under `/trader/v1` (header `Authorization: Bearer <access token>`, checked by `isAccessTokenValid`;
 * wrong or missing: 401 ServiceError). Errors are Schwab's ServiceError `{"message":…,"errors":[…]}`.
 * - `GET /accounts/accountNumbers` → `[{accountNumber, hashValue}]`; every other account route takes the hash.
 * - `GET /accounts/{hash}?fields=positions` → `{securitiesAccount:{…,positions,currentBalances…},aggregatedBalance}`.
 * - `POST /accounts/{hash}/orders` (Schwab's order JSON, equities and single-leg options) → **201, empty body**,
 *   the id only in `Location: …/accounts/{hash}/orders/{orderId}`, and `Schwab-Client-CorrelId`; no client
 *   order id field exists. 400 for a bad order.
 * - `GET /accounts/{hash}/orders?fromEnteredTime&toEnteredTime[&maxResults][&status]`: both times required
 *   (400 otherwise), at most a year apart.
 * - `GET /accounts/{hash}/orders/{id}` (404), `DELETE` → 200 empty (400 when not cancelable), `PUT` replaces:
 *   the old order ends `REPLACED`, a new order (new id, 201 + `Location`) takes its place.
 * - `GET /userPreference` → `streamerInfo` with the streamer's URL (`ws://…/ws`) and the client ids.
 * - Order rate limit per app: place, cancel and replace count; over `orderRateLimitPerMinute` in a rolling
 *   minute (default 120) → 429 (body unverified: a ServiceError).
 * Statuses: the venue's state reads as ACCEPTED (before the venue's ack), WORKING, FILLED, CANCELED,
 * REPLACED, EXPIRED, REJECTED, PENDING_CANCEL (a cancel the venue has not confirmed), PENDING_REPLACE (a PUT the
 * venue has not acted on yet).
 *
 * Streamer `GET /ws` (WebSocket, text frames, PDF §1–§7): `ADMIN/LOGIN` with the access token
 * (`code 3` "Login Denied." otherwise), `ACCT_ACTIVITY/SUBS` (content items `{seq,key,"1":account,"2":type,
 * "3":JSON string}`, types OrderCreated, OrderAccepted, ExecutionCreated, OrderFillCompleted, CancelAccepted,
 * OrderUROutCompleted, OrderRejected), `LEVELONE_EQUITIES` / `LEVELONE_OPTIONS` `SUBS` / `ADD` / `UNSUBS` (the
 * replay's quotes, numbered fields, delivery "Change": a key's first item after its SUBS or ADD carries every
 * field, later ones only those that changed; the quote time, field 34 / 38, is epoch ms on the wall clock, the
 * replayed quote's age kept: now − the replay's age of it, so a paused replay's quotes keep their age, and the
 * time is sent again once it moved by QUOTE_TIME_RESEND_MS), `{"notify":[{"heartbeat":"<ms>"}]}` every
 * `heartbeatMs`.
 *
 * Test control (no auth), under `/test/`: `POST /test/faults` `{kind, match?:{symbol?}, remaining?, delay_ms?,
 * max_delay_ms?, seed?}`
 * (kinds: FakeSchwabFaultKind), `DELETE /test/faults`, `GET /test/received` (every order request that reached
 * the fake, no header), `POST /test/fill` `{orderId, quantity, price?}`, `POST /test/stream`
 * `{down?: boolean, stall?: boolean}` (down: connections dropped and new ones refused; stall: sockets stay open
 * and silent, no data, no heartbeat), `POST /test/rate-limit` `{perMinute}`, `POST /test/orders` `{…order}`
 * (an order entered at Schwab by someone else, e.g. on its website: answered `{orderId}`), `GET /test/orders`
 * (every order as Schwab shows it), `POST /test/quotes` `{symbol, bid?, ask?, last?, ageMs?}` (Schwab's quote of
 * the symbol differs from the replay's: the given prices, decimal strings, and a quote `ageMs` old for as long as
 * it stands; what is not given is the replay's), `DELETE /test/quotes` (back to the replay's),
 * `GET /test/replay`, `POST /test/replay/step` `{to}`.
 */

/**
 * The faults a test can switch on (each matched by symbol, if given, and used up after `remaining` times):
 * - `ack_lost`: the order (or cancel, replace) is done, then the connection is reset: no answer, no Location;
 * - `delay`: done, and the answer waits `delay_ms`;
 * - `error_after_accept`: done, then 500 ServiceError;
 * - `duplicate_stream`: every ACCT_ACTIVITY message is sent twice;
 * - `reorder_stream`: a message is held back and sent after the next one;
 * - `late_fill`: after a cancel is confirmed, what was left fills (`delay_ms` later);
 * - `cancel_refused`, `replace_refused`: the DELETE / PUT answers 400 and nothing changes;
 * - `refusal_lost`: an order request Schwab refuses (a 4xx: nothing changes) gets no answer, the connection
 *   reset instead (matched by the symbol of the order it names);
 * - `unknown_status`: the matched orders show a status Schwab does not document (`"HELD_FOR_REVIEW_X"`);
 * - `random_delay`: done, and the answer waits a random time, uniform in [`delay_ms`, `max_delay_ms`] whole ms,
 *   drawn from a source seeded with `seed` (Math.random without).
 */
export type FakeSchwabFaultKind =
  | 'ack_lost'
  | 'delay'
  | 'error_after_accept'
  | 'duplicate_stream'
  | 'reorder_stream'
  | 'late_fill'
  | 'cancel_refused'
  | 'replace_refused'
  | 'refusal_lost'
  | 'unknown_status'
  | 'random_delay';
const FAULT_KINDS: readonly FakeSchwabFaultKind[] = [
  'ack_lost',
  'delay',
  'error_after_accept',
  'duplicate_stream',
  'reorder_stream',
  'late_fill',
  'cancel_refused',
  'replace_refused',
  'refusal_lost',
  'unknown_status',
  'random_delay',
];

interface FaultRule extends FaultTiming {
  readonly kind: FakeSchwabFaultKind;
  readonly symbol: string | null;
}

export interface FakeSchwabOptions {
  readonly venue: PaperVenue;
  readonly replay?: MarketReplay;
  /** Whether an access token is good now (the fake OAuth server's `isAccessTokenValid`). */
  readonly isAccessTokenValid: (token: string) => boolean;
  /** The account's number (default `12345678`); its hash is random per fake. */
  readonly accountNumber?: string;
  /** Cash at the start, USD; default 1 000 000. */
  readonly cash?: string;
  /** Place, cancel and replace requests allowed per rolling minute for the app; default 120. */
  readonly orderRateLimitPerMinute?: number;
  /** Streamer heartbeat period, ms; default 10 000 (unverified). */
  readonly heartbeatMs?: number;
  /** How often subscribed LEVELONE quotes are sent when they changed, ms; default 250. */
  readonly quoteIntervalMs?: number;
  readonly host?: string;
  readonly port?: number;
}

/** An order request that reached the fake (method, path, JSON body, the status answered; never a header). */
export interface ReceivedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
}

const EQUITY_INSTRUCTIONS = new Set(['BUY', 'SELL', 'SELL_SHORT', 'BUY_TO_COVER']);
const OPTION_INSTRUCTIONS = new Set(['BUY_TO_OPEN', 'SELL_TO_OPEN', 'BUY_TO_CLOSE', 'SELL_TO_CLOSE']);
const ORDER_TYPES: Readonly<Record<string, OrderType>> = {
  MARKET: 'market',
  LIMIT: 'limit',
  STOP: 'stop',
  STOP_LIMIT: 'stop_limit',
};
const DURATIONS: Readonly<Record<string, TimeInForce>> = {
  DAY: 'day',
  GOOD_TILL_CANCEL: 'gtc',
  FILL_OR_KILL: 'fok',
  IMMEDIATE_OR_CANCEL: 'ioc',
};
const YEAR_MS = 366 * 24 * 3_600_000;
/** A quote whose prices did not change is sent again (its time field alone) once its time moved this much, ms. */
const QUOTE_TIME_RESEND_MS = 1_000;

/** A test's override of Schwab's quote of one symbol (`POST /test/quotes`). */
interface QuoteOverride {
  readonly bid?: Decimal;
  readonly ask?: Decimal;
  readonly last?: Decimal;
  readonly ageMs?: number;
}

interface FakeExecution {
  readonly activityId: number;
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly remaining: Decimal;
  readonly time: number;
}

interface FakeOrder {
  /** A replacement the venue has not taken yet: not listed, not found (it exists only if the replace succeeds). */
  unlisted?: boolean;
  readonly orderId: number;
  readonly symbol: string;
  readonly assetType: 'EQUITY' | 'OPTION';
  readonly instruction: string;
  readonly side: OrderSide;
  readonly orderType: string;
  readonly duration: string;
  readonly session: string;
  quantity: Decimal;
  readonly price: string | null;
  readonly stopPrice: string | null;
  readonly enteredTime: number;
  closeTime: number | null;
  /** A status the fake holds itself: REPLACED / REJECTED / PENDING_CANCEL, else the venue's. */
  own: 'REPLACED' | 'REJECTED' | 'EXPIRED' | null;
  cancelRequested: boolean;
  /** A PUT of it is being carried out (the venue has not acted yet): Schwab's PENDING_REPLACE. */
  replacing?: boolean;
  replacedBy: number | null;
  readonly executions: FakeExecution[];
}

class SchwabError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors: readonly string[] = [],
  ) {
    super(message);
  }
}

const badRequest = (message: string, ...errors: string[]) => new SchwabError(400, message, errors);

/** Schwab's time format: `2021-01-01T12:01:00+0000` (seconds, `+0000`), PROTOCOLS.md A3. */
export function schwabTime(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+0000`;
}

/** The fake Schwab Trader API (see the file comment). */
export class FakeSchwabServer {
  private readonly server: Server;
  private readonly wss = new WebSocketServer({ noServer: true });
  private readonly orders = new Map<number, FakeOrder>();
  private readonly positions = new Map<string, { qty: Decimal; cost: Decimal; assetType: 'EQUITY' | 'OPTION' }>();
  private readonly sockets = new Set<WebSocket>();
  private readonly activityListeners = new Set<WebSocket>();
  private readonly quoteSubscriptions = new Map<WebSocket, Map<string, Set<string>>>();
  private readonly receivedLog: ReceivedRequest[] = [];
  private readonly orderRequestTimes: number[] = [];
  private faults: FaultRule[] = [];
  private readonly stream = new StreamSwitches();
  private held: { ws: WebSocket; text: string } | null = null;
  private cash: Decimal;
  // Each fake numbers from its own random start, as Schwab's ids are unique across its accounts: two fakes
  // (a restarted process, two tests on one database) never reuse an order id or an execution's activity id.
  private nextOrderId = 1_000_000_001 + randomInt(0, 2 ** 47);
  private nextActivityId = 70_000_000_001 + randomInt(0, 2 ** 47);
  private streamSeq = 0;
  private rateLimit: number;
  private readonly accountNumber: string;
  private readonly hash = randomBytes(32).toString('hex').toUpperCase();
  private readonly correlId = randomUUID();
  private readonly unsubscribe: () => void;
  private readonly timers: ReturnType<typeof setInterval>[] = [];
  /** Per socket, `service|key` → the fields last sent (delivery "Change" sends only what differs). */
  private readonly lastQuoteSent = new Map<WebSocket, Map<string, Record<string, number | null>>>();
  private readonly quoteOverrides = new Map<string, QuoteOverride>();
  url = '';

  constructor(private readonly options: FakeSchwabOptions) {
    this.cash = new Decimal(options.cash ?? '1000000');
    this.rateLimit = options.orderRateLimitPerMinute ?? 120;
    this.accountNumber = options.accountNumber ?? '12345678';
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.unsubscribe = options.venue.onExecutionReport((report) => this.onVenueReport(report));
  }

  async listen(): Promise<void> {
    this.url = await listenOn(this.server, this.options.port ?? 0, this.options.host ?? '127.0.0.1');
    this.timers.push(setInterval(() => this.heartbeat(), this.options.heartbeatMs ?? 10_000));
    this.timers.push(setInterval(() => this.sendQuotes(), this.options.quoteIntervalMs ?? 250));
    this.timers.forEach((t) => t.unref());
  }

  /** The Trader API base (`http://…/trader/v1`). */
  get baseUrl(): string {
    return `${this.url}/trader/v1`;
  }

  /** The streamer's URL (`ws://…/ws`). */
  get streamerUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/ws`;
  }

  /** The account's hash (`hashValue`). */
  get accountHash(): string {
    return this.hash;
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.timers.forEach((t) => clearInterval(t));
    await closeAll(this.server, this.wss, this.sockets);
  }

  // ---- HTTP ----

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    let body: unknown = null;
    try {
      body = await readJson(req);
      if (url.pathname.startsWith('/test/')) {
        // Awaited, so that a test route's throw answers 500 here rather than escaping as a rejection.
        await this.testRoute(method, url, body, res);
        return;
      }
      if (!url.pathname.startsWith('/trader/v1/')) {
        throw new SchwabError(404, 'Not Found');
      }
      if (!this.authorized(req)) {
        throw new SchwabError(401, 'Client not authorized', ['The access token is invalid or has expired.']);
      }
      await this.route(method, url, body, req, res);
    } catch (error) {
      if (error instanceof SchwabError) {
        this.record(method, url.pathname, body, error.status);
        if (error.status < 500 && method !== 'GET' && this.refusalLost(url, body)) {
          req.socket.destroy();
          return;
        }
        return sendError(res, error);
      }
      if (error instanceof SyntaxError) {
        return sendError(res, badRequest('Invalid JSON', 'The request body is not JSON.'));
      }
      sendError(res, new SchwabError(500, 'Internal Server Error'));
    }
  }

  private authorized(req: IncomingMessage): boolean {
    const header = req.headers['authorization'];
    const token = typeof header === 'string' && header.startsWith('Bearer ') ? header.slice(7) : '';
    return token !== '' && this.options.isAccessTokenValid(token);
  }

  private async route(method: string, url: URL, body: unknown, req: IncomingMessage, res: ServerResponse) {
    const path = url.pathname.slice('/trader/v1'.length);
    if (path === '/accounts/accountNumbers' && method === 'GET') {
      return send(res, 200, [{ accountNumber: this.accountNumber, hashValue: this.hash }]);
    }
    if (path === '/userPreference' && method === 'GET') {
      return send(res, 200, this.preferences());
    }
    const account = /^\/accounts\/([^/]+)(\/orders(?:\/(\d+))?)?$/.exec(path);
    if (!account) {
      throw new SchwabError(404, 'Not Found');
    }
    if (account[1] !== this.hash) {
      // Schwab: an account number (or hash) the token is not linked to.
      throw new SchwabError(401, 'Client not authorized', ['The account is not linked to this token.']);
    }
    if (account[2] === undefined && method === 'GET') {
      return send(res, 200, this.accountView(url.searchParams.get('fields') === 'positions'));
    }
    if (account[2] === '/orders' && method === 'POST') {
      return this.placeOrder(body, req, res);
    }
    if (account[2] === '/orders' && method === 'GET') {
      return send(res, 200, this.listOrders(url));
    }
    if (account[3] !== undefined) {
      const order = this.orders.get(Number(account[3]));
      if (!order || order.unlisted) {
        throw new SchwabError(404, 'Order not found', [`Order ${account[3]} was not found.`]);
      }
      if (method === 'GET') {
        return send(res, 200, this.view(order));
      }
      if (method === 'DELETE') {
        return this.cancelOne(order, req, res);
      }
      if (method === 'PUT') {
        return this.replace(order, body, req, res);
      }
    }
    throw new SchwabError(404, 'Not Found');
  }

  private preferences(): unknown {
    return {
      accounts: [
        { accountNumber: this.accountNumber, primaryAccount: true, type: 'BROKERAGE', displayAcctId: '...678' },
      ],
      streamerInfo: [
        {
          streamerSocketUrl: this.streamerUrl,
          schwabClientCustomerId: 'fake-customer-id',
          schwabClientCorrelId: this.correlId,
          schwabClientChannel: 'N9',
          schwabClientFunctionId: 'APIAPP',
        },
      ],
      offers: [{ level2Permissions: false, mktDataPermission: 'NP' }],
    };
  }

  /** Counts a place, cancel or replace against the app's rolling minute; 429 over the limit. */
  private countOrderRequest(): void {
    const now = Date.now();
    while (this.orderRequestTimes.length > 0 && this.orderRequestTimes[0]! <= now - 60_000) {
      this.orderRequestTimes.shift();
    }
    if (this.orderRequestTimes.length >= this.rateLimit) {
      throw new SchwabError(429, 'Too Many Requests', [
        `The app's order rate limit of ${this.rateLimit} requests per minute was exceeded.`,
      ]);
    }
    this.orderRequestTimes.push(now);
  }

  /**
   * When an order enters, epoch ms: on the venue's clock (the system clock unless the venue was given one), so
   * that a test driving the venue's time sees orders entered at that time, as the order list filters them.
   */
  private enteredNow(): number {
    return this.options.venue.exchange.now();
  }

  /** Reads Schwab's order JSON (PROTOCOLS.md A3); throws 400 ServiceError for what Schwab would refuse. */
  private parseOrder(body: unknown): Omit<FakeOrder, 'orderId' | 'enteredTime' | 'executions'> {
    const b = (body ?? {}) as Record<string, unknown>;
    const orderType = str(b['orderType']);
    const duration = str(b['duration']) ?? 'DAY';
    const session = str(b['session']) ?? 'NORMAL';
    if (str(b['orderStrategyType']) !== 'SINGLE') {
      throw badRequest('A validation error occurred while processing the request.', 'orderStrategyType must be SINGLE');
    }
    if (orderType === null || !(orderType in ORDER_TYPES)) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        `orderType ${orderType} is not supported`,
      );
    }
    if (!(duration in DURATIONS) || !['NORMAL', 'AM', 'PM', 'SEAMLESS'].includes(session)) {
      throw badRequest('A validation error occurred while processing the request.', 'invalid duration or session');
    }
    const legs = b['orderLegCollection'];
    if (!Array.isArray(legs) || legs.length !== 1) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        'exactly one order leg is required',
      );
    }
    const leg = legs[0] as Record<string, unknown>;
    const instrument = (leg['instrument'] ?? {}) as Record<string, unknown>;
    const symbol = str(instrument['symbol']);
    const assetType = str(instrument['assetType']);
    const instruction = str(leg['instruction']);
    const quantity = decimalOf(leg['quantity']);
    if (symbol === null || (assetType !== 'EQUITY' && assetType !== 'OPTION')) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        'instrument symbol and assetType are required',
      );
    }
    const parsed = parseInstrument(symbol);
    if (
      parsed === null ||
      (assetType === 'OPTION') !== (parsed.kind === 'option') ||
      (parsed.kind === 'option' && parsed.symbol !== symbol)
    ) {
      // Schwab writes option symbols padded (`SPXW  261204C05000000`).
      throw badRequest(
        'A validation error occurred while processing the request.',
        `invalid symbol ${symbol} for ${assetType}`,
      );
    }
    const instructions = assetType === 'OPTION' ? OPTION_INSTRUCTIONS : EQUITY_INSTRUCTIONS;
    if (instruction === null || !instructions.has(instruction)) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        `instruction ${instruction} is not valid for ${assetType}`,
      );
    }
    if (quantity === null || !quantity.gt(0) || !quantity.isInteger()) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        'quantity must be a positive whole number',
      );
    }
    const price = decimalOf(b['price']);
    const stopPrice = decimalOf(b['stopPrice']);
    const needsPrice = orderType === 'LIMIT' || orderType === 'STOP_LIMIT';
    const needsStop = orderType === 'STOP' || orderType === 'STOP_LIMIT';
    if (needsPrice !== (price !== null) || needsStop !== (stopPrice !== null)) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        `invalid prices for a ${orderType} order`,
      );
    }
    if (this.options.replay && !this.options.replay.getQuote(symbol)) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        `No trades are currently allowed for ${symbol}`,
      );
    }
    return {
      symbol,
      assetType,
      instruction,
      side: instruction.startsWith('BUY') ? 'buy' : 'sell',
      orderType,
      duration,
      session,
      quantity,
      price: price === null ? null : price.toString(),
      stopPrice: stopPrice === null ? null : stopPrice.toString(),
      closeTime: null,
      own: null,
      cancelRequested: false,
      replacedBy: null,
    };
  }

  /** Books an order at the venue under its Schwab id; null on success, else the venue's reason. */
  private async book(order: FakeOrder): Promise<string | null> {
    this.orders.set(order.orderId, order);
    const result = await this.options.venue.submitOrder({
      clientOrderId: String(order.orderId),
      symbol: order.symbol,
      side: order.side,
      type: ORDER_TYPES[order.orderType]!,
      timeInForce: DURATIONS[order.duration]!,
      quantity: order.quantity,
      limitPrice: order.price === null ? null : new Decimal(order.price),
      stopPrice: order.stopPrice === null ? null : new Decimal(order.stopPrice),
    });
    if (result.kind !== 'accepted') {
      order.own = 'REJECTED';
      order.closeTime = Date.now();
      return result.reason;
    }
    return null;
  }

  private async placeOrder(body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const parsed = this.parseOrder(body);
    if (parsed.side === 'buy') {
      const quote = this.options.replay?.getQuote(parsed.symbol);
      const unit = parsed.price !== null ? new Decimal(parsed.price) : (quote?.ask ?? new Decimal(0));
      const multiplier = parsed.assetType === 'OPTION' ? 100 : 1;
      if (unit.times(parsed.quantity).times(multiplier).gt(Decimal.max(this.cash, 0))) {
        throw badRequest('Order rejected', 'You do not have enough available cash/buying power for this order.');
      }
    }
    this.countOrderRequest();
    const order: FakeOrder = { ...parsed, orderId: this.nextOrderId++, enteredTime: this.enteredNow(), executions: [] };
    this.activity(order, 'OrderCreated');
    await this.book(order);
    await this.answer(req, res, 'POST', `/trader/v1/accounts/${this.hash}/orders`, body, 201, order);
  }

  /** Answers an order request (201 with Location, or 200), unless a fault resets, delays or 500s it. */
  private async answer(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    body: unknown,
    status: number,
    order: FakeOrder,
  ): Promise<void> {
    this.record(method, path, body, status);
    if (this.takeFault('ack_lost', order.symbol)) {
      req.socket.destroy();
      return;
    }
    const delay = this.takeFaultRule('delay', order.symbol);
    if (delay) {
      await new Promise((r) => setTimeout(r, delay.delayMs));
    }
    const random = this.takeFaultRule('random_delay', order.symbol);
    if (random) {
      const ms = random.delayMs + Math.floor(random.random() * (random.maxDelayMs - random.delayMs + 1));
      await new Promise((r) => setTimeout(r, ms));
    }
    if (this.takeFault('error_after_accept', order.symbol)) {
      sendError(res, new SchwabError(500, 'Internal Server Error', ['An unexpected error occurred.']));
      return;
    }
    if (res.headersSent || res.destroyed) {
      return;
    }
    const headers: Record<string, string> = { 'Schwab-Client-CorrelId': randomUUID() };
    if (status === 201) {
      headers['Location'] = `${this.baseUrl}/accounts/${this.hash}/orders/${order.orderId}`;
    }
    res.writeHead(status, headers).end();
  }

  private async cancelOne(order: FakeOrder, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const status = this.statusOf(order);
    if (!['WORKING', 'ACCEPTED'].includes(status) || this.takeFault('cancel_refused', order.symbol)) {
      throw badRequest('Order cannot be canceled', `Order ${order.orderId} is ${status} and cannot be canceled.`);
    }
    this.countOrderRequest();
    order.cancelRequested = true;
    const result = await this.options.venue.cancelOrder({
      clientOrderId: String(order.orderId),
      brokerOrderId: this.venueId(order),
    });
    if (result.kind !== 'accepted') {
      order.cancelRequested = false;
      throw badRequest('Order cannot be canceled', result.reason);
    }
    const late = this.takeFaultRule('late_fill', order.symbol);
    if (late) {
      setTimeout(() => this.lateFill(order), late.delayMs);
    }
    await this.answer(req, res, 'DELETE', `/trader/v1/accounts/${this.hash}/orders/${order.orderId}`, null, 200, order);
  }

  private lateFill(order: FakeOrder): void {
    const record = this.options.venue.orderRecord(String(order.orderId));
    if (!record) {
      return;
    }
    const left = new Decimal(record.quantity).minus(record.filledQuantity);
    if (left.gt(0)) {
      try {
        this.options.venue.exchange.lateFill(String(order.orderId), left);
      } catch {
        // No price to fill at: nothing happens.
      }
    }
  }

  /** PUT: the old order is canceled and ends REPLACED; a new order (new id) is created (PROTOCOLS.md A3). */
  private async replace(order: FakeOrder, body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const status = this.statusOf(order);
    if (!['WORKING', 'ACCEPTED'].includes(status) || this.takeFault('replace_refused', order.symbol)) {
      throw badRequest('Order cannot be replaced', `Order ${order.orderId} is ${status} and cannot be replaced.`);
    }
    const parsed = this.parseOrder(body);
    if (parsed.symbol !== order.symbol || parsed.side !== order.side) {
      throw badRequest('Order cannot be replaced', 'A replacement must keep the symbol and the side.');
    }
    const record = this.options.venue.orderRecord(String(order.orderId));
    if (record === null) {
      // ACCEPTED by Schwab, not yet at the venue: nothing to replace yet (it used to fail with a 500).
      throw badRequest('Order cannot be replaced', `Order ${order.orderId} is not working yet.`);
    }
    if (!parsed.quantity.gt(record.filledQuantity)) {
      throw badRequest('Order cannot be replaced', 'The new quantity must exceed the filled quantity.');
    }
    this.countOrderRequest();
    const next: FakeOrder = {
      ...parsed,
      orderId: this.nextOrderId++,
      enteredTime: this.enteredNow(),
      executions: [],
      unlisted: true,
    };
    this.orders.set(next.orderId, next); // the venue's reports of it, while it acts, find it
    order.replacing = true;
    let result: Awaited<ReturnType<PaperVenue['replaceOrder']>>;
    try {
      result = await this.options.venue.replaceOrder({
        clientOrderId: String(order.orderId),
        brokerOrderId: this.venueId(order),
        newClientOrderId: String(next.orderId),
        quantity: parsed.quantity,
        limitPrice: parsed.price === null ? null : new Decimal(parsed.price),
        stopPrice: parsed.stopPrice === null ? null : new Decimal(parsed.stopPrice),
      });
    } finally {
      order.replacing = false;
    }
    if (result.kind !== 'accepted') {
      this.orders.delete(next.orderId);
      throw badRequest('Order cannot be replaced', result.reason);
    }
    next.quantity = result.quantity;
    next.unlisted = false;
    order.replacedBy = next.orderId;
    this.activity(next, 'OrderCreated');
    await this.answer(req, res, 'PUT', `/trader/v1/accounts/${this.hash}/orders/${order.orderId}`, body, 201, next);
  }

  private listOrders(url: URL): unknown[] {
    const from = url.searchParams.get('fromEnteredTime');
    const to = url.searchParams.get('toEnteredTime');
    if (from === null || to === null) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        'fromEnteredTime and toEnteredTime are required',
      );
    }
    const fromMs = Date.parse(from);
    const toMs = Date.parse(to);
    if (Number.isNaN(fromMs) || Number.isNaN(toMs) || toMs < fromMs || toMs - fromMs > YEAR_MS) {
      throw badRequest(
        'A validation error occurred while processing the request.',
        "fromEnteredTime and toEnteredTime must be yyyy-MM-dd'T'HH:mm:ss.SSSZ, at most a year apart",
      );
    }
    const maxResults = Number(url.searchParams.get('maxResults') ?? '3000') || 3000;
    const status = url.searchParams.get('status');
    return [...this.orders.values()]
      .filter((o) => !o.unlisted && o.enteredTime >= fromMs && o.enteredTime <= toMs)
      .filter((o) => status === null || this.statusOf(o) === status)
      .sort((a, b) => b.enteredTime - a.enteredTime) // newest first, as Schwab lists them
      .slice(0, maxResults)
      .map((o) => this.view(o));
  }

  // ---- venue → Schwab ----

  private onVenueReport(report: ExecutionReport): void {
    const order = this.orders.get(Number(report.clientOrderId));
    if (!order) {
      return;
    }
    const now = Date.now();
    switch (report.execType) {
      case 'new':
        if (report.cumulativeQuantity.plus(report.leavesQuantity).gt(0)) {
          order.quantity = report.cumulativeQuantity.plus(report.leavesQuantity);
        }
        this.activity(order, 'OrderAccepted');
        return;
      case 'trade': {
        const execution = report.execution!;
        order.executions.push({
          activityId: this.nextActivityId++,
          quantity: execution.quantity,
          price: execution.price,
          remaining: report.leavesQuantity,
          time: now,
        });
        this.applyFill(order, execution.quantity, execution.price);
        if (report.leavesQuantity.isZero()) {
          order.closeTime = order.closeTime ?? now;
        }
        this.activity(order, report.leavesQuantity.isZero() ? 'OrderFillCompleted' : 'ExecutionCreated');
        return;
      }
      case 'canceled':
        order.closeTime = now;
        this.activity(order, 'CancelAccepted');
        this.activity(order, 'OrderUROutCompleted');
        return;
      case 'expired':
        order.own = 'EXPIRED';
        order.closeTime = now;
        this.activity(order, 'OrderUROutCompleted');
        return;
      case 'rejected':
        order.own = 'REJECTED';
        order.closeTime = now;
        this.activity(order, 'OrderRejected');
        return;
      case 'replaced':
        order.own = 'REPLACED';
        order.closeTime = now;
        this.activity(order, 'OrderUROutCompleted');
        return;
      case 'pending_cancel':
        return;
    }
  }

  private applyFill(order: FakeOrder, qty: Decimal, price: Decimal): void {
    const p = this.positions.get(order.symbol) ?? {
      qty: new Decimal(0),
      cost: new Decimal(0),
      assetType: order.assetType,
    };
    const signed = order.side === 'buy' ? qty : qty.negated();
    const next = p.qty.plus(signed);
    if (p.qty.isZero() || p.qty.isNegative() === signed.isNegative()) {
      p.cost = p.cost.plus(price.times(qty));
    } else if (next.isZero() || next.isNegative() !== p.qty.isNegative()) {
      p.cost = price.times(next.abs());
    } else {
      p.cost = p.cost.times(next.abs()).dividedBy(p.qty.abs());
    }
    p.qty = next;
    this.positions.set(order.symbol, p);
    const money = price.times(qty).times(order.assetType === 'OPTION' ? 100 : 1);
    this.cash = (order.side === 'buy' ? this.cash.minus(money) : this.cash.plus(money)).minus(
      schwabCommission(order.assetType, qty),
    );
  }

  private statusOf(order: FakeOrder): string {
    if (this.faults.some((f) => f.kind === 'unknown_status' && (f.symbol === null || f.symbol === order.symbol))) {
      return 'HELD_FOR_REVIEW_X';
    }
    if (order.own !== null) {
      return order.own;
    }
    const record = this.options.venue.orderRecord(String(order.orderId));
    switch (record?.status) {
      case undefined:
        return 'ACCEPTED';
      case 'new':
      case 'partially_filled':
        return order.cancelRequested ? 'PENDING_CANCEL' : order.replacing === true ? 'PENDING_REPLACE' : 'WORKING';
      case 'filled':
        return 'FILLED';
      case 'canceled':
        return 'CANCELED';
      case 'replaced':
        return 'REPLACED';
    }
  }

  private venueId(order: FakeOrder): string {
    return this.options.venue.orderRecord(String(order.orderId))?.brokerOrderId ?? '';
  }

  /** Schwab's Order (PROTOCOLS.md A3, the schwab-py fixture plus the spec's fields): numbers as JSON numbers. */
  private view(order: FakeOrder): Record<string, unknown> {
    const filled = order.executions.reduce((sum, e) => sum.plus(e.quantity), new Decimal(0));
    const status = this.statusOf(order);
    const open = ['WORKING', 'ACCEPTED', 'PENDING_CANCEL'].includes(status);
    return {
      session: order.session,
      duration: order.duration,
      orderType: order.orderType,
      complexOrderStrategyType: 'NONE',
      quantity: order.quantity.toNumber(),
      filledQuantity: filled.toNumber(),
      remainingQuantity: open ? order.quantity.minus(filled).toNumber() : 0,
      requestedDestination: 'AUTO',
      destinationLinkName: 'AutoRoute',
      ...(order.price === null ? {} : { price: Number(order.price) }),
      ...(order.stopPrice === null ? {} : { stopPrice: Number(order.stopPrice) }),
      orderLegCollection: [
        {
          orderLegType: order.assetType,
          legId: 1,
          instrument: {
            assetType: order.assetType,
            cusip: order.assetType === 'EQUITY' ? '78462F103' : '0SPXW.' + order.symbol.slice(6, 12),
            symbol: order.symbol,
            ...(order.assetType === 'OPTION' ? { putCall: order.symbol[12] === 'C' ? 'CALL' : 'PUT' } : {}),
          },
          instruction: order.instruction,
          positionEffect: /_TO_CLOSE$|BUY_TO_COVER/.test(order.instruction) ? 'CLOSING' : 'OPENING',
          quantity: order.quantity.toNumber(),
        },
      ],
      orderStrategyType: 'SINGLE',
      orderId: order.orderId,
      cancelable: open,
      editable: open,
      status,
      enteredTime: schwabTime(order.enteredTime),
      ...(order.closeTime === null ? {} : { closeTime: schwabTime(order.closeTime) }),
      tag: 'API_TOS:fake',
      accountNumber: Number(this.accountNumber),
      ...(order.replacedBy === null
        ? {}
        : { replacingOrderCollection: [{ orderId: order.replacedBy, status: this.statusOfId(order.replacedBy) }] }),
      ...(order.executions.length === 0
        ? {}
        : {
            orderActivityCollection: order.executions.map((e) => ({
              activityType: 'EXECUTION',
              activityId: e.activityId,
              executionType: 'FILL',
              quantity: e.quantity.toNumber(),
              orderRemainingQuantity: e.remaining.toNumber(),
              executionLegs: [
                {
                  legId: 1,
                  quantity: e.quantity.toNumber(),
                  mismarkedQuantity: 0,
                  price: e.price.toNumber(),
                  time: schwabTime(e.time),
                },
              ],
            })),
          }),
    };
  }

  private statusOfId(id: number): string {
    const order = this.orders.get(id);
    return order ? this.statusOf(order) : 'UNKNOWN';
  }

  private accountView(withPositions: boolean): Record<string, unknown> {
    let longValue = new Decimal(0);
    const positions = [...this.positions.entries()]
      .filter(([, p]) => !p.qty.isZero())
      .map(([symbol, p]) => {
        const quote = this.options.replay?.getQuote(symbol);
        const multiplier = p.assetType === 'OPTION' ? 100 : 1;
        const mid = quote ? quote.bid.plus(quote.ask).dividedBy(2) : p.cost.dividedBy(p.qty.abs());
        const marketValue = mid.times(p.qty).times(multiplier);
        longValue = longValue.plus(marketValue);
        const average = p.cost.dividedBy(p.qty.abs());
        return {
          shortQuantity: p.qty.isNegative() ? p.qty.abs().toNumber() : 0,
          averagePrice: average.toNumber(),
          currentDayProfitLoss: 0,
          currentDayProfitLossPercentage: 0,
          longQuantity: p.qty.isNegative() ? 0 : p.qty.toNumber(),
          settledLongQuantity: 0,
          settledShortQuantity: 0,
          instrument: { assetType: p.assetType, cusip: '', symbol },
          marketValue: marketValue.toNumber(),
          ...(p.qty.isNegative()
            ? { averageShortPrice: average.toNumber() }
            : { averageLongPrice: average.toNumber() }),
        };
      });
    const balances = {
      cashBalance: this.cash.toNumber(),
      cashAvailableForTrading: Decimal.max(this.cash, 0).toNumber(),
      buyingPower: Decimal.max(this.cash, 0).toNumber(),
      liquidationValue: this.cash.plus(longValue).toNumber(),
      longMarketValue: longValue.toNumber(),
      equity: this.cash.plus(longValue).toNumber(),
    };
    return {
      securitiesAccount: {
        type: 'MARGIN',
        accountNumber: this.accountNumber,
        roundTrips: 0,
        isDayTrader: false,
        isClosingOnlyRestricted: false,
        ...(withPositions ? { positions } : {}),
        initialBalances: balances,
        currentBalances: balances,
        projectedBalances: balances,
      },
      aggregatedBalance: {
        currentLiquidationValue: balances.liquidationValue,
        liquidationValue: balances.liquidationValue,
      },
    };
  }

  // ---- streamer ----

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (new URL(req.url ?? '/', 'http://fake').pathname !== '/ws' || this.stream.down) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onStream(ws));
  }

  private onStream(ws: WebSocket): void {
    this.sockets.add(ws);
    let loggedIn = false;
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.activityListeners.delete(ws);
      this.quoteSubscriptions.delete(ws);
      this.lastQuoteSent.delete(ws);
    });
    ws.on('message', (data) => {
      let message: { requests?: unknown };
      try {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        message = JSON.parse(bytes.toString('utf8')) as typeof message;
      } catch {
        return;
      }
      const requests = Array.isArray(message.requests) ? (message.requests as Record<string, unknown>[]) : [message];
      for (const request of requests as Record<string, unknown>[]) {
        const service = str(request['service']) ?? '';
        const command = str(request['command']) ?? '';
        const requestid = scalar(request['requestid']);
        const parameters = (request['parameters'] ?? {}) as Record<string, unknown>;
        const reply = (code: number, msg: string) =>
          this.sendTo(ws, {
            response: [
              {
                service,
                command,
                requestid,
                SchwabClientCorrelId: this.correlId,
                timestamp: Date.now(),
                content: { code, msg },
              },
            ],
          });
        if (service === 'ADMIN' && command === 'LOGIN') {
          const token = str(parameters['Authorization']);
          loggedIn = token !== null && this.options.isAccessTokenValid(token);
          reply(
            loggedIn ? 0 : 3,
            loggedIn ? 'server=fake-schwab;status=PN' : 'Login Denied.: token is invalid or has expired.',
          );
          continue;
        }
        if (!loggedIn) {
          reply(20, 'Connection not found');
          continue;
        }
        if (service === 'ADMIN' && command === 'LOGOUT') {
          reply(0, 'SUCCESS');
          ws.close();
          return;
        }
        if (service === 'ACCT_ACTIVITY') {
          if (command === 'SUBS') {
            this.activityListeners.add(ws);
          } else if (command === 'UNSUBS') {
            this.activityListeners.delete(ws);
          } else {
            reply(21, `${command} is not supported by ACCT_ACTIVITY`);
            continue;
          }
          reply(0, `${command} command succeeded`);
          continue;
        }
        if (service === 'LEVELONE_EQUITIES' || service === 'LEVELONE_OPTIONS') {
          const keys = (str(parameters['keys']) ?? '').split(',').filter((k) => k !== '');
          const subs = this.quoteSubscriptions.get(ws) ?? new Map<string, Set<string>>();
          const set = command === 'SUBS' ? new Set<string>() : (subs.get(service) ?? new Set<string>());
          const sent = this.lastQuoteSent.get(ws) ?? new Map<string, Record<string, number | null>>();
          this.lastQuoteSent.set(ws, sent);
          if (command === 'SUBS') {
            [...sent.keys()].filter((k) => k.startsWith(`${service}|`)).forEach((k) => sent.delete(k));
          }
          for (const key of keys) {
            // A key subscribed (again) gets every field first.
            sent.delete(`${service}|${key}`);
            if (command === 'UNSUBS') {
              set.delete(key);
            } else {
              set.add(key);
            }
          }
          subs.set(service, set);
          this.quoteSubscriptions.set(ws, subs);
          reply(0, `${command} command succeeded`);
          this.sendQuotes();
          continue;
        }
        reply(21, `unknown service ${service}`);
      }
    });
  }

  private sendTo(ws: WebSocket, message: unknown): void {
    if (this.stream.stalled) {
      return;
    }
    ws.send(JSON.stringify(message));
  }

  private heartbeat(): void {
    for (const ws of this.sockets) {
      this.sendTo(ws, { notify: [{ heartbeat: String(Date.now()) }] });
    }
  }

  /**
   * Schwab's level-one fields of `key` now: LEVELONE_EQUITIES 1 bid, 2 ask, 3 last, 4/5 sizes, 34 quote ms
   * (PDF §3.1); LEVELONE_OPTIONS 2 bid, 3 ask, 4 last, 16/17 sizes, 38 quote ms (§3.2). The replay's quote
   * with a test's override over it; null without a quote.
   */
  private levelOne(service: string, key: string, now: number): Record<string, number | null> | null {
    const replay = this.options.replay;
    const quote = replay?.getQuote(key);
    const override = this.quoteOverrides.get(key);
    const bid = override?.bid ?? quote?.bid;
    const ask = override?.ask ?? quote?.ask;
    if (bid === undefined || ask === undefined) {
      return null;
    }
    const last = override?.last ?? quote?.last ?? null;
    const age = override?.ageMs ?? (quote && replay ? replay.quoteAgeMs(quote) : 0);
    const time = now - (Number.isFinite(age) ? Math.max(0, age) : 0);
    const bidSize = quote?.bidSize.toNumber() ?? 0;
    const askSize = quote?.askSize.toNumber() ?? 0;
    return service === 'LEVELONE_EQUITIES'
      ? {
          '1': bid.toNumber(),
          '2': ask.toNumber(),
          '3': last?.toNumber() ?? null,
          '4': bidSize,
          '5': askSize,
          '34': time,
        }
      : {
          '2': bid.toNumber(),
          '3': ask.toNumber(),
          '4': last?.toNumber() ?? null,
          '16': bidSize,
          '17': askSize,
          '38': time,
        };
  }

  /** Every subscribed key's level-one item, in full after its SUBS / ADD, then only the fields that changed. */
  private sendQuotes(): void {
    const now = Date.now();
    for (const [ws, subs] of this.quoteSubscriptions) {
      const sent = this.lastQuoteSent.get(ws) ?? new Map<string, Record<string, number | null>>();
      this.lastQuoteSent.set(ws, sent);
      for (const [service, keys] of subs) {
        const timeField = service === 'LEVELONE_EQUITIES' ? '34' : '38';
        const content: Record<string, unknown>[] = [];
        for (const key of keys) {
          const fields = this.levelOne(service, key, now);
          if (fields === null) {
            continue;
          }
          const before = sent.get(`${service}|${key}`);
          if (before === undefined) {
            sent.set(`${service}|${key}`, fields);
            content.push({ key, delayed: false, ...fields });
            continue;
          }
          const changed = Object.entries(fields).filter(
            ([field, value]) => field !== timeField && before[field] !== value,
          );
          const moved = Math.abs((fields[timeField] ?? 0) - (before[timeField] ?? 0)) >= QUOTE_TIME_RESEND_MS;
          if (changed.length === 0 && !moved) {
            continue;
          }
          const change: Record<string, unknown> = { key };
          for (const [field, value] of changed) {
            change[field] = value;
            before[field] = value;
          }
          change[timeField] = fields[timeField];
          before[timeField] = fields[timeField] ?? null;
          content.push(change);
        }
        if (content.length > 0) {
          this.sendTo(ws, { data: [{ service, timestamp: now, command: 'SUBS', content }] });
        }
      }
    }
  }

  /** One ACCT_ACTIVITY message about `order` to every subscriber (faults: duplicated, held back). */
  private activity(order: FakeOrder, type: string): void {
    const payload = {
      SchwabOrderID: String(order.orderId),
      AccountNumber: this.accountNumber,
      BaseEvent: { EventType: type },
    };
    const text = JSON.stringify({
      data: [
        {
          service: 'ACCT_ACTIVITY',
          timestamp: Date.now(),
          command: 'SUBS',
          content: [
            {
              seq: this.streamSeq++,
              key: this.correlId,
              '1': this.accountNumber,
              '2': type,
              '3': JSON.stringify(payload),
            },
          ],
        },
      ],
    });
    const times = this.takeFault('duplicate_stream', order.symbol) ? 2 : 1;
    const hold = this.takeFault('reorder_stream', order.symbol);
    for (const ws of this.activityListeners) {
      if (this.stream.stalled) {
        continue;
      }
      if (hold && this.held === null) {
        this.held = { ws, text };
        continue;
      }
      for (let i = 0; i < times; i++) {
        ws.send(text);
      }
      if (this.held !== null && this.held.ws === ws && this.held.text !== text) {
        ws.send(this.held.text);
        this.held = null;
      }
    }
  }

  // ---- faults and test routes ----

  /** `refusal_lost` for a refused order request: by the symbol of the order it names (the path's, else the body's). */
  private refusalLost(url: URL, body: unknown): boolean {
    if (!/\/orders(\/\d+)?$/.test(url.pathname)) {
      return false;
    }
    const id = /\/orders\/(\d+)$/.exec(url.pathname)?.[1];
    const legs = (body as { orderLegCollection?: { instrument?: { symbol?: unknown } }[] } | null)?.orderLegCollection;
    const named = legs?.[0]?.instrument?.symbol;
    const symbol =
      id !== undefined ? (this.orders.get(Number(id))?.symbol ?? null) : typeof named === 'string' ? named : null;
    return this.takeFault('refusal_lost', symbol);
  }

  private takeFault(kind: FakeSchwabFaultKind, symbol: string | null): boolean {
    return this.takeFaultRule(kind, symbol) !== null;
  }

  private takeFaultRule(kind: FakeSchwabFaultKind, symbol: string | null): FaultRule | null {
    const rule = this.faults.find((f) => f.kind === kind && (f.symbol === null || f.symbol === symbol));
    if (!rule) {
      return null;
    }
    if (rule.remaining !== null && --rule.remaining <= 0) {
      this.faults = this.faults.filter((f) => f !== rule);
    }
    return rule;
  }

  private record(method: string, path: string, body: unknown, status: number): void {
    if (/\/orders(\/\d+)?$/.test(path) && method !== 'GET') {
      this.receivedLog.push({ at: Date.now(), method, path, body, status });
    }
  }

  private async testRoute(method: string, url: URL, body: unknown, res: ServerResponse): Promise<void> {
    const b = (body ?? {}) as Record<string, unknown>;
    const path = url.pathname;
    if (path === '/test/faults' && method === 'POST') {
      const kind = b['kind'] as FakeSchwabFaultKind;
      if (!FAULT_KINDS.includes(kind)) {
        return send(res, 400, { message: `kind must be one of ${FAULT_KINDS.join(', ')}` });
      }
      const match = (b['match'] ?? {}) as Record<string, unknown>;
      this.faults.push({
        kind,
        symbol: str(match['symbol']),
        ...faultTiming(b),
      });
      return send(res, 201, { faults: this.faults.length });
    }
    if (path === '/test/faults' && method === 'DELETE') {
      this.faults = [];
      return send(res, 200, { faults: 0 });
    }
    if (path === '/test/received' && method === 'GET') {
      return send(res, 200, this.receivedLog);
    }
    if (path === '/test/fill' && method === 'POST') {
      const id = scalar(b['orderId']);
      const price = str(b['price']);
      try {
        this.options.venue.exchange.forceFill(
          id,
          new Decimal(str(b['quantity']) ?? '0'),
          price === null ? undefined : new Decimal(price),
        );
      } catch (error) {
        return send(res, 422, { message: (error as Error).message });
      }
      return send(res, 200, { filled: true });
    }
    if (path === '/test/orders' && method === 'GET') {
      return send(
        res,
        200,
        [...this.orders.values()].map((o) => this.view(o)),
      );
    }
    if (path === '/test/orders' && method === 'POST') {
      // An order entered at Schwab outside this app (its website, another app): no trace of ours.
      try {
        const parsed = this.parseOrder(body);
        const order: FakeOrder = {
          ...parsed,
          orderId: this.nextOrderId++,
          enteredTime: this.enteredNow(),
          executions: [],
        };
        this.activity(order, 'OrderCreated');
        await this.book(order);
        return send(res, 201, { orderId: order.orderId });
      } catch (error) {
        return error instanceof SchwabError ? sendError(res, error) : send(res, 500, { message: String(error) });
      }
    }
    if (path === '/test/stream' && method === 'POST') {
      return send(res, 200, this.stream.set(b, this.sockets));
    }
    if (path === '/test/rate-limit' && method === 'POST') {
      this.rateLimit = typeof b['perMinute'] === 'number' ? b['perMinute'] : this.rateLimit;
      this.orderRequestTimes.length = 0;
      return send(res, 200, { perMinute: this.rateLimit });
    }
    if (path === '/test/account' && method === 'GET') {
      return send(res, 200, { accountNumber: this.accountNumber, hashValue: this.hash });
    }
    if (path === '/test/quotes' && method === 'POST') {
      const symbol = str(b['symbol']);
      const prices = ['bid', 'ask', 'last'].map((f) => (b[f] === undefined ? undefined : decimalOf(b[f])));
      const ageMs = b['ageMs'];
      if (symbol === null || prices.some((p) => p === null) || (ageMs !== undefined && typeof ageMs !== 'number')) {
        return send(res, 400, { message: 'symbol, and bid, ask, last as decimal strings, ageMs as a number' });
      }
      const [bid, ask, last] = prices;
      const key = parseInstrument(symbol)?.symbol ?? symbol;
      this.quoteOverrides.set(key, {
        ...(bid ? { bid } : {}),
        ...(ask ? { ask } : {}),
        ...(last ? { last } : {}),
        ...(typeof ageMs === 'number' ? { ageMs } : {}),
      });
      this.sendQuotes();
      return send(res, 200, { symbol: key, overrides: this.quoteOverrides.size });
    }
    if (path === '/test/quotes' && method === 'DELETE') {
      this.quoteOverrides.clear();
      this.sendQuotes();
      return send(res, 200, { overrides: 0 });
    }
    const replayed = replayTestRoute(method, path, b, this.options.replay);
    if (replayed !== undefined) {
      return send(res, 200, replayed);
    }
    send(res, 404, { message: 'no such test route' });
  }
}

function scalar(value: unknown): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

/** A JSON number or decimal string (Schwab's spec: doubles; schwab-py sends strings), as a Decimal. */
function decimalOf(value: unknown): Decimal | null {
  if (typeof value === 'number' && Number.isFinite(value)) {
    return new Decimal(String(value));
  }
  if (typeof value === 'string' && /^\d+(\.\d+)?$/.test(value)) {
    return new Decimal(value);
  }
  return null;
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    return;
  }
  res
    .writeHead(status, { 'content-type': 'application/json', 'Schwab-Client-CorrelId': randomUUID() })
    .end(JSON.stringify(body));
}

function sendError(res: ServerResponse, error: SchwabError): void {
  send(res, error.status, { message: error.message, errors: error.errors });
}

/**
 * Schwab's commission per option contract, USD, buys and sells (schwab.com/pricing: "$0 online listed stock
 * and ETF trades", options "$0.65 per contract"; unverified by our sources, which list no fees). The fake
 * charges nothing else: no exchange or regulatory fee on sells (chosen; docs/brokers/schwab.md, "The fake").
 */
export const SCHWAB_OPTION_COMMISSION = new Decimal('0.65');

/** The fake's commission on one fill, USD: `SCHWAB_OPTION_COMMISSION` per option contract, nothing on shares. */
export function schwabCommission(assetType: 'EQUITY' | 'OPTION', quantity: Decimal): Decimal {
  return assetType === 'OPTION' ? quantity.times(SCHWAB_OPTION_COMMISSION) : new Decimal(0);
}

/** Builds and starts a fake Schwab server on `options.port` (default any free port). */
export async function startFakeSchwab(options: FakeSchwabOptions): Promise<FakeSchwabServer> {
  const server = new FakeSchwabServer(options);
  await server.listen();
  return server;
}

export { sameSecret } from '../fake-broker-http.js';
