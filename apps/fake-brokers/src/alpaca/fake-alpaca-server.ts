import { randomUUID } from 'node:crypto';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { type ExecutionReport, type MarketReplay, type PaperVenue } from '@gateway/brokers';
import {
  DECIMAL_PATTERN,
  Decimal,
  type OrderSide,
  type OrderType,
  type TimeInForce,
  parseInstrument,
} from '@gateway/oms';
import { type WebSocket, WebSocketServer } from 'ws';
import { closeAll, listenOn, readJson, sameSecret, str } from '../fake-broker-http.js';
import { type FaultTiming, faultTiming, replayTestRoute, StreamSwitches } from '../fake-broker-test-routes.js';

/*
 * A fake Alpaca Trading API (v2) for tests, speaking Alpaca's own wire protocol as
 * ../shared/brokers/PROTOCOLS.md (B1–B3) and README.md describe it, over a PaperVenue that fills against
 * the real market data replay (the same engine as the paper venue, imported, not copied). One fake is one
 * Alpaca account with one key pair. Everything lives in this process's memory.
 *
 * REST (headers `APCA-API-KEY-ID` + `APCA-API-SECRET-KEY`; wrong or missing: 401 `{"message":"unauthorized."}`):
 * - `POST /v2/orders` → 200 Order; 403 `{"code":40310000,"message":"insufficient buying power"}`;
 *   422 `{"code":40010001,…}` for bad parameters, an unknown symbol and a client_order_id already used
 *   (also after a cancel: "client_order_id must be unique").
 * - `GET /v2/orders?status=open|closed|all&limit(≤500)&after&until&direction` (default open, 50, desc);
 *   `DELETE /v2/orders` → 207 `[{id,status,body}]`.
 * - `GET /v2/orders/{id}` (404), `PATCH /v2/orders/{id}` → 200 with the NEW order (new id, `replaces`, `qty` the
 *   PATCH's: the new order's own quantity, filled from zero; the old order keeps its fills); the old
 *   one goes `pending_replace` and the venue acts `replaceDelayMs` later: `replaced` (old) and `new` (new) on
 *   the stream, or, when the old order filled first, `rejected` (new) and `order_replace_rejected` (old),
 *   the old order staying as it is. 422 while the order is `pending_new`, `pending_cancel`, `pending_replace`
 *   or done. `DELETE /v2/orders/{id}` → 204, 422 `{"code":42210000,"message":"order is not cancelable"}`.
 * - `GET /v2/orders:by_client_order_id?client_order_id=` (404 `{"code":40410000,"message":"order not found"}`).
 * - `GET /v2/positions`, `GET /v2/account`, `GET /v2/account/activities/FILL?after&direction&page_size&page_token`
 *   (the trade activity of alpaca-docs `content/api-references/accounts/account-activities.md`).
 * - 429 `{"code":42910000,"message":"rate limit exceeded"}` when the `rate_limit` fault is on (body unverified).
 * Options are named by their OCC symbol without padding (`SPXW210104C03700000`; a padded one is "not found"),
 * move cash by premium × 100, and show `asset_class: "us_option"`. Every fill also costs Alpaca's regulatory
 * fees (`alpacaFees`, unrounded); `equity` is cash plus the positions' market value at the replay's mid.
 * Stream `GET /stream` (WebSocket): `authenticate` then `listen` to `trade_updates`; every message is sent as a
 * binary frame, as paper does; no sequence numbers, no replay (a message sent while a client is away is lost).
 *
 * Test control (no auth), under `/test/`: `POST /test/faults` `{kind, match?:{client_order_id?,symbol?},
 * remaining?, delay_ms?, max_delay_ms?, seed?}` (kinds: FakeAlpacaFaultKind), `DELETE /test/faults`, `GET /test/received` (every
 * order request that reached the fake, no header), `POST /test/fill` `{client_order_id, qty, price?}` (a fill
 * now, through the venue; with `silent: true` its `trade_updates` message is held back, as a stream that lost
 * it would, until `POST /test/held/release` sends every held message), `POST /test/positions`
 * `{symbol, qty, avg_entry_price?}` (the position set by hand, as a broker's correction or a trade outside the
 * API would: no order, no fill activity, no stream message), `POST /test/stream` `{down?: boolean, stall?:
 * boolean}` (down: every stream connection is dropped and new ones refused until up; stall: every socket, new
 * ones too, stays open but sends nothing, what it would have sent lost, and answers no Ping), `GET /test/replay`,
 * `POST /test/replay/step` `{to}`.
 */

/**
 * The faults a test can switch on:
 * - `ack_lost`: the order (or cancel, replace) is accepted, but the HTTP answer is dropped (socket destroyed);
 * - `error_after_accept`: accepted, then 500 `{"code":50010000,"message":"internal server error"}`;
 * - `duplicate_stream`: every stream message is sent twice;
 * - `late_fill`: after a cancel is confirmed, a fill of what was left arrives (`delay_ms` later, default 0);
 * - `replace_refused`: on a replace, the old order fills completely first, so the replacement is refused on
 *   the stream after the PATCH succeeded;
 * - `rate_limit`: requests answer 429;
 * - `unknown_status`: the matched orders show a status Alpaca does not document (`"under_review_x"`), as a new
 *   one might appear (the rule is not used up);
 * - `random_delay`: the order (or cancel, replace) is done, and the answer waits a random time, uniform in
 *   [`delay_ms`, `max_delay_ms`] whole ms, drawn from a source seeded with `seed` (Math.random without).
 */
export type FakeAlpacaFaultKind =
  | 'ack_lost'
  | 'error_after_accept'
  | 'duplicate_stream'
  | 'late_fill'
  | 'replace_refused'
  | 'rate_limit'
  | 'unknown_status'
  | 'random_delay';
const FAULT_KINDS: readonly FakeAlpacaFaultKind[] = [
  'ack_lost',
  'error_after_accept',
  'duplicate_stream',
  'late_fill',
  'replace_refused',
  'rate_limit',
  'unknown_status',
  'random_delay',
];

interface FaultRule extends FaultTiming {
  readonly kind: FakeAlpacaFaultKind;
  readonly clientOrderId: string | null;
  readonly symbol: string | null;
}

export interface FakeAlpacaOptions {
  readonly venue: PaperVenue;
  readonly replay?: MarketReplay;
  readonly keyId: string;
  readonly secretKey: string;
  /** Cash and buying power at the start, USD; default 1 000 000. */
  readonly cash?: string;
  /** How long after a PATCH the venue acts on the replace, ms; default 20. */
  readonly replaceDelayMs?: number;
  readonly host?: string;
  readonly port?: number;
}

/** An order request that reached the fake (method, path, JSON body; never a header). */
export interface ReceivedRequest {
  readonly at: number;
  readonly method: string;
  readonly path: string;
  readonly body: unknown;
  readonly status: number;
}

interface FakeOrder {
  readonly id: string;
  readonly clientOrderId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly timeInForce: TimeInForce;
  qty: string;
  readonly limitPrice: string | null;
  readonly stopPrice: string | null;
  readonly createdAt: number;
  updatedAt: number;
  readonly replaces: string | null;
  replacedBy: string | null;
  /** The replacement a PATCH created, until the venue has acted on it. */
  replacing: string | null;
  /** A status the fake holds itself (a replacement not yet acted on, a refused replacement). */
  own: 'pending_new' | 'rejected' | null;
  pendingReplace: boolean;
  filledAt: number | null;
  canceledAt: number | null;
  replacedAt: number | null;
  expiredAt: number | null;
  failedAt: number | null;
}

interface FillActivity {
  readonly id: string;
  readonly activity_type: 'FILL';
  readonly transaction_time: string;
  readonly type: 'fill' | 'partial_fill';
  readonly price: string;
  readonly qty: string;
  readonly side: OrderSide;
  readonly symbol: string;
  readonly leaves_qty: string;
  readonly order_id: string;
  readonly cum_qty: string;
  readonly order_status: string;
}

class AlpacaError extends Error {
  constructor(
    readonly status: number,
    readonly body: Record<string, unknown>,
  ) {
    super(String(body['message']));
  }
}

const unprocessable = (message: string) => new AlpacaError(422, { code: 40010001, message });
const notFound = () => new AlpacaError(404, { code: 40410000, message: 'order not found' });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());
const OPEN = new Set(['new', 'partially_filled', 'pending_new', 'accepted', 'pending_cancel', 'pending_replace']);
const ORDER_TYPES = new Set(['market', 'limit', 'stop', 'stop_limit']);
const TIFS = new Set(['day', 'gtc', 'ioc', 'fok']);

function activityId(at: number): string {
  // `20210510100104650::<uuid>`: the activity ids of the alpaca-docs sample (time to the millisecond).
  return `${new Date(at).toISOString().replace(/[-:TZ.]/g, '')}::${randomUUID()}`;
}

/** The fake Alpaca server (see the file comment). */
export class FakeAlpacaServer {
  private readonly server: Server;
  // Pings are answered by hand (onStream), so that a stalled stream can leave them unanswered.
  private readonly wss = new WebSocketServer({ noServer: true, autoPong: false });
  private readonly orders = new Map<string, FakeOrder>();
  private readonly byClientId = new Map<string, string>();
  private readonly activities: FillActivity[] = [];
  private readonly positions = new Map<string, { qty: Decimal; cost: Decimal }>();
  private readonly listeners = new Set<WebSocket>();
  private readonly sockets = new Set<WebSocket>();
  private readonly receivedLog: ReceivedRequest[] = [];
  private faults: FaultRule[] = [];
  /** Fills asked for with `silent: true` not yet made, by client order id: their stream message is held. */
  private readonly silentFills = new Map<string, number>();
  /** Stream messages held back (silent fills), in order, until `POST /test/held/release`. */
  private held: Record<string, unknown>[] = [];
  private readonly stream = new StreamSwitches();
  private cash: Decimal;
  private readonly replaceDelayMs: number;
  private readonly unsubscribe: () => void;
  url = '';

  constructor(private readonly options: FakeAlpacaOptions) {
    this.cash = new Decimal(options.cash ?? '1000000');
    this.replaceDelayMs = options.replaceDelayMs ?? 20;
    this.server = createServer((req, res) => {
      void this.handle(req, res);
    });
    this.server.on('upgrade', (req, socket, head) => this.upgrade(req, socket, head));
    this.unsubscribe = options.venue.onExecutionReport((report) => this.onVenueReport(report));
  }

  async listen(): Promise<void> {
    this.url = await listenOn(this.server, this.options.port ?? 0, this.options.host ?? '127.0.0.1');
  }

  /** The stream's URL (`ws://…/stream`). */
  get streamUrl(): string {
    return `${this.url.replace(/^http/, 'ws')}/stream`;
  }

  async close(): Promise<void> {
    this.unsubscribe();
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
        return this.testRoute(method, url, body, res);
      }
      if (!this.authorized(req)) {
        return send(res, 401, { message: 'unauthorized.' });
      }
      if (this.takeFault('rate_limit', null, null)) {
        return send(res, 429, { code: 42910000, message: 'rate limit exceeded' });
      }
      await this.route(method, url, body, req, res);
    } catch (error) {
      if (error instanceof AlpacaError) {
        this.record(method, url.pathname, body, error.status);
        return send(res, error.status, error.body);
      }
      if (error instanceof SyntaxError) {
        return send(res, 400, { code: 40010000, message: 'request body format is invalid' });
      }
      send(res, 500, { code: 50010000, message: 'internal server error' });
    }
  }

  private authorized(req: IncomingMessage): boolean {
    return (
      same(req.headers['apca-api-key-id'], this.options.keyId) &&
      same(req.headers['apca-api-secret-key'], this.options.secretKey)
    );
  }

  private async route(method: string, url: URL, body: unknown, req: IncomingMessage, res: ServerResponse) {
    const path = url.pathname;
    if (path === '/v2/orders' && method === 'POST') {
      return this.placeOrder(body, req, res);
    }
    if (path === '/v2/orders' && method === 'GET') {
      return send(res, 200, this.listOrders(url));
    }
    if (path === '/v2/orders' && method === 'DELETE') {
      return this.cancelAll(res);
    }
    if (path === '/v2/orders:by_client_order_id' && method === 'GET') {
      const id = this.byClientId.get(url.searchParams.get('client_order_id') ?? '');
      if (id === undefined) {
        throw notFound();
      }
      return send(res, 200, this.view(this.orders.get(id)!));
    }
    const match = /^\/v2\/orders\/([^/]+)$/.exec(path);
    if (match) {
      const order = this.orders.get(decodeURIComponent(match[1]!));
      if (!order) {
        throw notFound();
      }
      if (method === 'GET') {
        return send(res, 200, this.view(order));
      }
      if (method === 'DELETE') {
        return this.cancelOne(order, req, res);
      }
      if (method === 'PATCH') {
        return this.replace(order, body, req, res);
      }
    }
    if (path === '/v2/positions' && method === 'GET') {
      return send(res, 200, this.positionsView());
    }
    if (path === '/v2/account' && method === 'GET') {
      return send(res, 200, this.accountView());
    }
    if (path === '/v2/account/activities/FILL' && method === 'GET') {
      return send(res, 200, this.listActivities(url));
    }
    send(res, 404, { code: 40410000, message: 'endpoint not found' });
  }

  private async placeOrder(body: unknown, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const b = (body ?? {}) as Record<string, unknown>;
    const symbol = str(b['symbol']);
    const side = str(b['side']);
    const type = str(b['type']) ?? 'market';
    const tif = str(b['time_in_force']);
    const qty = str(b['qty']);
    const limitPrice = str(b['limit_price']);
    const stopPrice = str(b['stop_price']);
    const clientOrderId = str(b['client_order_id']) ?? randomUUID();
    if (!symbol || (side !== 'buy' && side !== 'sell') || !ORDER_TYPES.has(type) || !tif || !TIFS.has(tif)) {
      throw unprocessable('invalid order: symbol, side, type and time_in_force are required');
    }
    if (!qty || !DECIMAL_PATTERN.test(qty) || !new Decimal(qty).gt(0)) {
      throw unprocessable('qty must be > 0');
    }
    const needsLimit = type === 'limit' || type === 'stop_limit';
    const needsStop = type === 'stop' || type === 'stop_limit';
    if (needsLimit !== (limitPrice !== null) || needsStop !== (stopPrice !== null)) {
      throw unprocessable(`invalid prices for a ${type} order`);
    }
    if (clientOrderId.length > 128) {
      throw unprocessable('client_order_id must be no more than 128 characters');
    }
    if (this.byClientId.has(clientOrderId)) {
      throw unprocessable('client_order_id must be unique');
    }
    // An option is named by its OCC symbol without padding (`SPXW210104C03700000`); the venue, by the padded one.
    const venueSymbol = ourSymbol(symbol);
    const quote = symbol.includes(' ') ? undefined : this.options.replay?.getQuote(venueSymbol);
    if ((this.options.replay || symbol.includes(' ')) && !quote) {
      throw unprocessable(`asset "${symbol}" not found`);
    }
    if (side === 'buy') {
      const price = limitPrice !== null ? new Decimal(limitPrice) : (quote?.ask ?? new Decimal(0));
      if (price.times(qty).times(multiplierOf(symbol)).gt(this.buyingPower())) {
        throw new AlpacaError(403, { code: 40310000, message: 'insufficient buying power' });
      }
    }
    const now = Date.now();
    const order: FakeOrder = {
      id: randomUUID(),
      clientOrderId,
      symbol,
      side,
      type: type as OrderType,
      timeInForce: tif as TimeInForce,
      qty,
      limitPrice,
      stopPrice,
      createdAt: now,
      updatedAt: now,
      replaces: null,
      replacedBy: null,
      replacing: null,
      own: null,
      pendingReplace: false,
      filledAt: null,
      canceledAt: null,
      replacedAt: null,
      expiredAt: null,
      failedAt: null,
    };
    this.orders.set(order.id, order);
    this.byClientId.set(clientOrderId, order.id);
    const result = await this.options.venue.submitOrder({
      clientOrderId,
      symbol: venueSymbol,
      side,
      type: order.type,
      timeInForce: order.timeInForce,
      quantity: new Decimal(qty),
      limitPrice: limitPrice === null ? null : new Decimal(limitPrice),
      stopPrice: stopPrice === null ? null : new Decimal(stopPrice),
    });
    if (result.kind !== 'accepted') {
      order.own = 'rejected';
      order.failedAt = Date.now();
      throw unprocessable(result.reason);
    }
    this.answer(req, res, 'POST', '/v2/orders', body, 200, this.view(order), clientOrderId, symbol);
  }

  /** Answers an order request, unless a fault drops the answer (ack_lost) or turns it into a 500. */
  private answer(
    req: IncomingMessage,
    res: ServerResponse,
    method: string,
    path: string,
    body: unknown,
    status: number,
    payload: unknown,
    clientOrderId: string,
    symbol: string,
  ): void {
    this.record(method, path, body, status);
    if (this.takeFault('ack_lost', clientOrderId, symbol)) {
      req.socket.destroy();
      return;
    }
    const reply = () => {
      if (this.takeFault('error_after_accept', clientOrderId, symbol)) {
        send(res, 500, { code: 50010000, message: 'internal server error' });
        return;
      }
      send(res, status, payload);
    };
    const delay = this.takeFaultRule('random_delay', clientOrderId, symbol);
    if (delay) {
      setTimeout(reply, delay.delayMs + Math.floor(delay.random() * (delay.maxDelayMs - delay.delayMs + 1)));
      return;
    }
    reply();
  }

  private async cancelOne(order: FakeOrder, req: IncomingMessage, res: ServerResponse): Promise<void> {
    const status = this.statusOf(order);
    if (status !== 'new' && status !== 'partially_filled') {
      throw new AlpacaError(422, { code: 42210000, message: 'order is not cancelable' });
    }
    const result = await this.options.venue.cancelOrder({
      clientOrderId: order.clientOrderId,
      brokerOrderId: this.venueId(order),
    });
    if (result.kind !== 'accepted') {
      throw new AlpacaError(422, { code: 42210000, message: `order is not cancelable: ${result.reason}` });
    }
    const late = this.takeFaultRule('late_fill', order.clientOrderId, order.symbol);
    if (late) {
      setTimeout(() => this.lateFill(order), late.delayMs);
    }
    this.answer(req, res, 'DELETE', `/v2/orders/${order.id}`, null, 204, undefined, order.clientOrderId, order.symbol);
  }

  private lateFill(order: FakeOrder): void {
    const record = this.options.venue.orderRecord(order.clientOrderId);
    if (!record) {
      return;
    }
    const left = new Decimal(record.quantity).minus(record.filledQuantity);
    if (left.gt(0)) {
      try {
        this.options.venue.exchange.lateFill(order.clientOrderId, left);
      } catch {
        // No price to fill at: nothing happens.
      }
    }
  }

  private async cancelAll(res: ServerResponse): Promise<void> {
    const results: { id: string; status: number; body: unknown }[] = [];
    for (const order of this.orders.values()) {
      const status = this.statusOf(order);
      if (!OPEN.has(status)) {
        continue;
      }
      if (status !== 'new' && status !== 'partially_filled') {
        results.push({ id: order.id, status: 500, body: { code: 50010000, message: 'order is not cancelable' } });
        continue;
      }
      const result = await this.options.venue.cancelOrder({
        clientOrderId: order.clientOrderId,
        brokerOrderId: this.venueId(order),
      });
      results.push(
        result.kind === 'accepted'
          ? { id: order.id, status: 200, body: this.view(order) }
          : { id: order.id, status: 500, body: { code: 50010000, message: 'order is not cancelable' } },
      );
    }
    this.record('DELETE', '/v2/orders', null, 207);
    send(res, 207, results);
  }

  private replace(order: FakeOrder, body: unknown, req: IncomingMessage, res: ServerResponse): void {
    const b = (body ?? {}) as Record<string, unknown>;
    const status = this.statusOf(order);
    if (status !== 'new' && status !== 'partially_filled') {
      throw unprocessable(`order is not replaceable while ${status}`);
    }
    // Alpaca's `qty` is the new order's own quantity ("number of shares to trade"; absent: the old order's,
    // "the other attributes remain the same"), filled from zero, while the old order keeps its fills
    // (docs/brokers/alpaca.md, "Replace").
    const qty = str(b['qty']) ?? order.qty;
    const limitPrice = str(b['limit_price']) ?? order.limitPrice;
    const stopPrice = str(b['stop_price']) ?? order.stopPrice;
    if (!DECIMAL_PATTERN.test(qty) || !new Decimal(qty).gt(0)) {
      throw unprocessable('qty must be > 0');
    }
    const clientOrderId = str(b['client_order_id']) ?? randomUUID();
    if (this.byClientId.has(clientOrderId)) {
      throw unprocessable('client_order_id must be unique');
    }
    const now = Date.now();
    const next: FakeOrder = {
      ...order,
      id: randomUUID(),
      clientOrderId,
      qty,
      limitPrice,
      stopPrice,
      createdAt: now,
      updatedAt: now,
      replaces: order.id,
      replacedBy: null,
      replacing: null,
      own: 'pending_new',
      pendingReplace: false,
      filledAt: null,
      canceledAt: null,
      replacedAt: null,
      expiredAt: null,
      failedAt: null,
    };
    this.orders.set(next.id, next);
    this.byClientId.set(clientOrderId, next.id);
    order.pendingReplace = true;
    order.replacing = next.id;
    order.updatedAt = now;
    const refused = this.takeFault('replace_refused', order.clientOrderId, order.symbol);
    setTimeout(() => void this.actOnReplace(order, next, qty, refused), this.replaceDelayMs);
    this.answer(
      req,
      res,
      'PATCH',
      `/v2/orders/${order.id}`,
      body,
      200,
      this.view(next),
      order.clientOrderId,
      order.symbol,
    );
  }

  /**
   * The venue acts on a PATCH: it books the new order for its own `qty` (the venue's total is that plus
   * what the old order has filled by now), less a fill of the old order racing the replace at the venue
   * itself; the new order's `qty` is then what the venue booked. Refused when the old order filled first.
   */
  private async actOnReplace(order: FakeOrder, next: FakeOrder, qty: string, refused: boolean): Promise<void> {
    if (refused) {
      const record = this.options.venue.orderRecord(order.clientOrderId);
      const left = record ? new Decimal(record.quantity).minus(record.filledQuantity) : new Decimal(0);
      if (left.gt(0)) {
        try {
          this.options.venue.exchange.forceFill(order.clientOrderId, left);
        } catch {
          // No price: the replace goes through below.
        }
      }
    }
    const filled = this.options.venue.orderRecord(order.clientOrderId)?.filledQuantity ?? '0';
    const result = await this.options.venue.replaceOrder({
      clientOrderId: order.clientOrderId,
      brokerOrderId: this.venueId(order),
      newClientOrderId: next.clientOrderId,
      quantity: new Decimal(qty).plus(filled),
      limitPrice: next.limitPrice === null ? null : new Decimal(next.limitPrice),
      stopPrice: next.stopPrice === null ? null : new Decimal(next.stopPrice),
    });
    order.pendingReplace = false;
    order.replacing = null;
    if (result.kind === 'accepted') {
      next.qty = result.quantity.toString();
      order.replacedBy = next.id;
      return; // the venue's `replaced` and `new` reports go out on the stream
    }
    const now = Date.now();
    next.own = 'rejected';
    next.failedAt = now;
    next.updatedAt = now;
    order.updatedAt = now;
    this.broadcast({ event: 'rejected', timestamp: iso(now), order: this.view(next) });
    this.broadcast({ event: 'order_replace_rejected', timestamp: iso(now), order: this.view(order) });
  }

  private listOrders(url: URL): unknown[] {
    const status = url.searchParams.get('status') ?? 'open';
    const limit = Math.min(Number(url.searchParams.get('limit') ?? '50') || 50, 500);
    const after = url.searchParams.get('after');
    const until = url.searchParams.get('until');
    const direction = url.searchParams.get('direction') ?? 'desc';
    const afterMs = after === null ? -Infinity : Date.parse(after);
    const untilMs = until === null ? Infinity : Date.parse(until);
    let list = [...this.orders.values()].filter((o) => {
      const open = OPEN.has(this.statusOf(o));
      return (status === 'all' || (status === 'open') === open) && o.createdAt > afterMs && o.createdAt < untilMs;
    });
    list.sort((a, b) => a.createdAt - b.createdAt);
    if (direction === 'desc') {
      list = list.reverse();
    }
    return list.slice(0, limit).map((o) => this.view(o));
  }

  private listActivities(url: URL): FillActivity[] {
    const after = url.searchParams.get('after');
    const afterMs = after === null ? -Infinity : Date.parse(after);
    const direction = url.searchParams.get('direction') ?? 'desc';
    const pageSize = Math.min(Number(url.searchParams.get('page_size') ?? '100') || 100, 100);
    const token = url.searchParams.get('page_token');
    let list = this.activities.filter((a) => Date.parse(a.transaction_time) > afterMs);
    if (direction === 'desc') {
      list = [...list].reverse();
    }
    if (token !== null) {
      const at = list.findIndex((a) => a.id === token);
      list = at < 0 ? list : list.slice(at + 1);
    }
    return list.slice(0, pageSize);
  }

  // ---- venue → Alpaca ----

  private onVenueReport(report: ExecutionReport): void {
    const id = this.byClientId.get(report.clientOrderId);
    const order = id === undefined ? undefined : this.orders.get(id);
    if (!order) {
      return;
    }
    const now = Date.now();
    order.updatedAt = now;
    switch (report.execType) {
      case 'new':
        if (order.own === 'pending_new') {
          order.own = null;
        }
        if (report.cumulativeQuantity.plus(report.leavesQuantity).gt(0)) {
          order.qty = report.cumulativeQuantity.plus(report.leavesQuantity).toString();
        }
        this.broadcast({ event: 'new', timestamp: iso(now), order: this.view(order) });
        return;
      case 'trade': {
        const execution = report.execution!;
        const done = report.leavesQuantity.isZero();
        // Alpaca's clock: the fill's wall time (the venue's executedAt is the recorded market time, years back).
        if (done) {
          order.filledAt = now;
        }
        const position = this.applyFill(order.symbol, order.side, execution.quantity, execution.price);
        const view = this.view(order);
        this.activities.push({
          id: activityId(now),
          activity_type: 'FILL',
          transaction_time: iso(now)!,
          type: done ? 'fill' : 'partial_fill',
          price: execution.price.toString(),
          qty: execution.quantity.toString(),
          side: order.side,
          symbol: order.symbol,
          leaves_qty: report.leavesQuantity.toString(),
          order_id: order.id,
          cum_qty: report.cumulativeQuantity.toString(),
          order_status: view['status'] as string,
        });
        const silent = this.silentFills.get(order.clientOrderId) ?? 0;
        if (silent > 0) {
          this.silentFills.set(order.clientOrderId, silent - 1);
        }
        const message = {
          event: done ? 'fill' : 'partial_fill',
          execution_id: execution.brokerExecutionId,
          timestamp: iso(now),
          price: execution.price.toString(),
          qty: execution.quantity.toString(),
          position_qty: position.toString(),
          order: view,
        };
        if (silent > 0) {
          this.held.push(message);
        } else {
          this.broadcast(message);
        }
        return;
      }
      case 'canceled':
        order.canceledAt = now;
        this.broadcast({ event: 'canceled', timestamp: iso(now), order: this.view(order) });
        return;
      case 'expired':
        order.expiredAt = now;
        this.broadcast({ event: 'expired', timestamp: iso(now), order: this.view(order) });
        return;
      case 'rejected':
        order.own = 'rejected';
        order.failedAt = now;
        this.broadcast({ event: 'rejected', timestamp: iso(now), order: this.view(order) });
        return;
      case 'replaced': {
        order.replacedAt = now;
        order.pendingReplace = false;
        order.replacedBy = order.replacing ?? order.replacedBy;
        this.broadcast({ event: 'replaced', timestamp: iso(now), order: this.view(order) });
        return;
      }
      case 'pending_cancel':
        this.broadcast({ event: 'pending_cancel', timestamp: iso(now), order: this.view(order) });
        return;
    }
  }

  private applyFill(symbol: string, side: OrderSide, qty: Decimal, price: Decimal): Decimal {
    const p = this.positions.get(symbol) ?? { qty: new Decimal(0), cost: new Decimal(0) };
    const signed = side === 'buy' ? qty : qty.negated();
    const next = p.qty.plus(signed);
    if (p.qty.isZero() || p.qty.isNegative() === signed.isNegative()) {
      p.cost = p.cost.plus(price.times(qty));
    } else if (next.isZero() || next.isNegative() !== p.qty.isNegative()) {
      p.cost = price.times(next.abs()); // closed, or flipped: the new side's cost
    } else {
      p.cost = p.cost.times(next.abs()).dividedBy(p.qty.abs());
    }
    p.qty = next;
    this.positions.set(symbol, p);
    const money = price.times(qty).times(multiplierOf(symbol));
    this.cash = (side === 'buy' ? this.cash.minus(money) : this.cash.plus(money)).minus(
      alpacaFees(symbol, side, qty, price),
    );
    return next;
  }

  private buyingPower(): Decimal {
    return Decimal.max(this.cash, 0);
  }

  private statusOf(order: FakeOrder): string {
    const odd = this.faults.some(
      (f) =>
        f.kind === 'unknown_status' &&
        (f.clientOrderId === null || f.clientOrderId === order.clientOrderId) &&
        (f.symbol === null || f.symbol === order.symbol),
    );
    if (odd) {
      return 'under_review_x';
    }
    if (order.own !== null) {
      return order.own;
    }
    if (order.pendingReplace) {
      return 'pending_replace';
    }
    return this.options.venue.orderRecord(order.clientOrderId)?.status ?? 'pending_new';
  }

  private venueId(order: FakeOrder): string {
    return this.options.venue.orderRecord(order.clientOrderId)?.brokerOrderId ?? '';
  }

  /** The Order entity (alpaca-docs `data/webapi/entities/order-v2.yaml`): decimals as strings. */
  private view(order: FakeOrder): Record<string, unknown> {
    const record = this.options.venue.orderRecord(order.clientOrderId);
    return {
      id: order.id,
      client_order_id: order.clientOrderId,
      created_at: iso(order.createdAt),
      updated_at: iso(order.updatedAt),
      submitted_at: iso(order.createdAt),
      filled_at: iso(order.filledAt),
      expired_at: iso(order.expiredAt),
      canceled_at: iso(order.canceledAt),
      failed_at: iso(order.failedAt),
      replaced_at: iso(order.replacedAt),
      replaced_by: order.replacedBy,
      replaces: order.replaces,
      asset_id: null,
      symbol: order.symbol,
      asset_class: multiplierOf(order.symbol).eq(1) ? 'us_equity' : 'us_option',
      notional: null,
      qty: order.qty,
      filled_qty: record?.filledQuantity ?? '0',
      filled_avg_price: record?.averageFillPrice ?? null,
      order_class: '',
      order_type: order.type,
      type: order.type,
      side: order.side,
      time_in_force: order.timeInForce,
      limit_price: order.limitPrice,
      stop_price: order.stopPrice,
      status: this.statusOf(order),
      extended_hours: false,
      legs: null,
      trail_percent: null,
      trail_price: null,
      hwm: null,
    };
  }

  private positionsView(): unknown[] {
    return [...this.positions.entries()]
      .filter(([, p]) => !p.qty.isZero())
      .map(([symbol, p]) => {
        const current = this.options.replay?.getQuote(ourSymbol(symbol));
        const mid = current ? current.bid.plus(current.ask).dividedBy(2) : null;
        const avg = p.cost.dividedBy(p.qty.abs());
        // Values of the whole position: the contract multiplier (100 for an option) applied; prices per share.
        const multiplier = multiplierOf(symbol);
        const cost = p.cost.times(multiplier);
        const signedCost = p.qty.isNegative() ? cost.negated() : cost;
        const marketValue = mid === null ? signedCost : mid.times(p.qty).times(multiplier);
        return {
          asset_id: null,
          symbol,
          exchange: 'ARCA',
          asset_class: multiplier.eq(1) ? 'us_equity' : 'us_option',
          avg_entry_price: avg.toString(),
          qty: p.qty.toString(),
          qty_available: p.qty.toString(),
          side: p.qty.isNegative() ? 'short' : 'long',
          market_value: marketValue.toString(),
          cost_basis: signedCost.toString(),
          unrealized_pl: marketValue.minus(signedCost).toString(),
          current_price: mid?.toString() ?? null,
        };
      });
  }

  private accountView(): Record<string, unknown> {
    // Equity is cash plus the positions' market value (long_market_value + short_market_value, per alpaca-docs).
    const values = (this.positionsView() as { market_value: string }[]).map((p) => new Decimal(p.market_value));
    const long = values.filter((v) => v.gt(0)).reduce((a, v) => a.plus(v), new Decimal(0));
    const short = values.filter((v) => v.lt(0)).reduce((a, v) => a.plus(v), new Decimal(0));
    const equity = this.cash.plus(long).plus(short);
    return {
      id: 'fake-alpaca-account',
      account_number: 'PA000000FAKE',
      status: 'ACTIVE',
      currency: 'USD',
      cash: this.cash.toString(),
      buying_power: this.buyingPower().toString(),
      regt_buying_power: this.buyingPower().toString(),
      daytrading_buying_power: '0',
      non_marginable_buying_power: this.buyingPower().toString(),
      equity: equity.toString(),
      last_equity: equity.toString(),
      portfolio_value: equity.toString(),
      long_market_value: long.toString(),
      short_market_value: short.toString(),
      multiplier: '1',
      pattern_day_trader: false,
      trading_blocked: false,
      shorting_enabled: false,
      daytrade_count: 0,
    };
  }

  // ---- stream ----

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (new URL(req.url ?? '/', 'http://fake').pathname !== '/stream' || this.stream.down) {
      socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onStream(ws));
  }

  private onStream(ws: WebSocket): void {
    this.sockets.add(ws);
    let authorized = false;
    ws.on('close', () => {
      this.sockets.delete(ws);
      this.listeners.delete(ws);
    });
    ws.on('ping', (data) => {
      if (!this.stream.stalled) {
        ws.pong(data); // RFC 6455 §5.5.2, as Alpaca's server (and ws's autoPong) does
      }
    });
    ws.on('message', (data) => {
      let message: { action?: unknown; data?: Record<string, unknown> };
      try {
        const bytes = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
        message = JSON.parse(bytes.toString('utf8')) as typeof message;
      } catch {
        return;
      }
      if (message.action === 'authenticate') {
        authorized =
          same(message.data?.['key_id'] as string | undefined, this.options.keyId) &&
          same(message.data?.['secret_key'] as string | undefined, this.options.secretKey);
        this.sendTo(ws, {
          stream: 'authorization',
          data: { status: authorized ? 'authorized' : 'unauthorized', action: 'authenticate' },
        });
        return;
      }
      if (message.action === 'listen') {
        if (!authorized) {
          this.sendTo(ws, { stream: 'authorization', data: { status: 'unauthorized', action: 'listen' } });
          return;
        }
        const streams = Array.isArray(message.data?.['streams']) ? (message.data['streams'] as unknown[]) : [];
        if (streams.includes('trade_updates')) {
          this.listeners.add(ws);
        } else {
          this.listeners.delete(ws);
        }
        this.sendTo(ws, { stream: 'listening', data: { streams: streams.filter((s) => s === 'trade_updates') } });
      }
    });
  }

  private sendTo(ws: WebSocket, message: unknown): void {
    if (this.stream.stalled) {
      return; // a stalled stream loses what it would have sent
    }
    ws.send(Buffer.from(JSON.stringify(message)), { binary: true });
  }

  private broadcast(data: Record<string, unknown>): void {
    const order = data['order'] as { client_order_id: string; symbol: string };
    const times = this.takeFault('duplicate_stream', order.client_order_id, order.symbol) ? 2 : 1;
    for (const ws of this.listeners) {
      for (let i = 0; i < times; i++) {
        this.sendTo(ws, { stream: 'trade_updates', data });
      }
    }
  }

  // ---- faults and test routes ----

  private takeFault(kind: FakeAlpacaFaultKind, clientOrderId: string | null, symbol: string | null): boolean {
    return this.takeFaultRule(kind, clientOrderId, symbol) !== null;
  }

  private takeFaultRule(kind: FakeAlpacaFaultKind, clientOrderId: string | null, symbol: string | null) {
    const rule = this.faults.find(
      (f) =>
        f.kind === kind &&
        (f.clientOrderId === null || f.clientOrderId === clientOrderId) &&
        (f.symbol === null || f.symbol === symbol),
    );
    if (!rule) {
      return null;
    }
    if (rule.remaining !== null && --rule.remaining <= 0) {
      this.faults = this.faults.filter((f) => f !== rule);
    }
    return rule;
  }

  private record(method: string, path: string, body: unknown, status: number): void {
    if (path.startsWith('/v2/orders') && method !== 'GET') {
      this.receivedLog.push({ at: Date.now(), method, path, body, status });
    }
  }

  private testRoute(method: string, url: URL, body: unknown, res: ServerResponse): void {
    const b = (body ?? {}) as Record<string, unknown>;
    const path = url.pathname;
    if (path === '/test/faults' && method === 'POST') {
      const kind = b['kind'] as FakeAlpacaFaultKind;
      if (!FAULT_KINDS.includes(kind)) {
        return send(res, 400, { message: `kind must be one of ${FAULT_KINDS.join(', ')}` });
      }
      const match = (b['match'] ?? {}) as Record<string, unknown>;
      this.faults.push({
        kind,
        clientOrderId: str(match['client_order_id']),
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
      const coid = str(b['client_order_id']) ?? '';
      const qty = str(b['qty']);
      const price = str(b['price']);
      const silent = b['silent'] === true;
      if (silent) {
        this.silentFills.set(coid, (this.silentFills.get(coid) ?? 0) + 1);
      }
      try {
        this.options.venue.exchange.forceFill(
          coid,
          new Decimal(qty ?? '0'),
          price === null ? undefined : new Decimal(price),
        );
      } catch (error) {
        if (silent) {
          this.silentFills.set(coid, (this.silentFills.get(coid) ?? 1) - 1);
        }
        return send(res, 422, { message: (error as Error).message });
      }
      return send(res, 200, { filled: true, silent });
    }
    if (path === '/test/held/release' && method === 'POST') {
      const held = this.held;
      this.held = [];
      held.forEach((data) => this.broadcast(data));
      return send(res, 200, { released: held.length });
    }
    if (path === '/test/positions' && method === 'POST') {
      const symbol = str(b['symbol']);
      const qty = str(b['qty']);
      const avg = str(b['avg_entry_price']);
      if (
        symbol === null ||
        qty === null ||
        !DECIMAL_PATTERN.test(qty) ||
        (avg !== null && !DECIMAL_PATTERN.test(avg))
      ) {
        return send(res, 400, { message: 'symbol and a decimal qty are required (avg_entry_price: a decimal)' });
      }
      const before = this.positions.get(symbol);
      const next = new Decimal(qty);
      const price =
        avg !== null
          ? new Decimal(avg)
          : before && !before.qty.isZero()
            ? before.cost.dividedBy(before.qty.abs())
            : new Decimal(0);
      this.positions.set(symbol, { qty: next, cost: price.times(next.abs()) });
      return send(res, 200, { symbol, qty: next.toString() });
    }
    if (path === '/test/stream' && method === 'POST') {
      return send(res, 200, this.stream.set(b, this.sockets));
    }
    const replayed = replayTestRoute(method, path, b, this.options.replay);
    if (replayed !== undefined) {
      return send(res, 200, replayed);
    }
    send(res, 404, { message: 'no such test route' });
  }
}

function same(given: string | string[] | undefined, expected: string): boolean {
  if (typeof given !== 'string') {
    return false;
  }
  return sameSecret(given, expected);
}

function send(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) {
    return;
  }
  if (body === undefined) {
    res.writeHead(status).end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=UTF-8' }).end(text);
}

/** Our symbol of Alpaca's: the padded OSI symbol of an option (the venue's and the replay's), a ticker as it is. */
function ourSymbol(symbol: string): string {
  return parseInstrument(symbol)?.symbol ?? symbol;
}

/** Shares per unit: 100 for an option contract, 1 for a share. */
function multiplierOf(symbol: string): Decimal {
  return parseInstrument(symbol)?.multiplier ?? new Decimal(1);
}

/**
 * Alpaca's rates (docs.alpaca.markets/docs/regulatory-fees, "effective rates"), USD. Alpaca charges no
 * commission on equities or options; these regulatory fees are passed on.
 */
export const ALPACA_FEE_RATES = {
  /** SEC Transaction Fee (REG), per USD of principal, sells only (equities and options). */
  sec: new Decimal('0.0000278'),
  /** FINRA TAF per share sold, at most `tafMax` per trade. */
  taf: new Decimal('0.000166'),
  tafMax: new Decimal('8.30'),
  /** FINRA Options TAF per contract sold. */
  optionsTaf: new Decimal('0.00279'),
  /** Options Regulatory Fee per contract, buys and sells. */
  orf: new Decimal('0.02685'),
  /** OCC clearing fee per contract, buys and sells, at most `occMax` per trade. */
  occ: new Decimal('0.02'),
  occMax: new Decimal('55'),
  /** CAT fee per executed equivalent share (an option contract is 100), buys and sells. */
  cat: new Decimal('0.000046'),
} as const;

/**
 * The fees of one fill as the fake charges them, USD, unrounded: Alpaca accrues them intraday and deducts the
 * pending amounts from the balances at once, rounding up only the day's total at its end (the page above);
 * the fake has no end of day, so it never rounds. `price` per share (an option's premium).
 */
export function alpacaFees(symbol: string, side: OrderSide, qty: Decimal, price: Decimal): Decimal {
  const r = ALPACA_FEE_RATES;
  const multiplier = multiplierOf(symbol);
  const principal = qty.times(price).times(multiplier);
  const sells = side === 'sell';
  let fees = qty
    .times(multiplier)
    .times(r.cat)
    .plus(sells ? principal.times(r.sec) : 0);
  if (multiplier.eq(1)) {
    fees = fees.plus(sells ? Decimal.min(qty.times(r.taf), r.tafMax) : 0);
  } else {
    fees = fees
      .plus(qty.times(r.orf))
      .plus(Decimal.min(qty.times(r.occ), r.occMax))
      .plus(sells ? qty.times(r.optionsTaf) : 0);
  }
  return fees;
}

/** Builds and starts a fake Alpaca server on `options.port` (default any free port). */
export async function startFakeAlpaca(options: FakeAlpacaOptions): Promise<FakeAlpacaServer> {
  const server = new FakeAlpacaServer(options);
  await server.listen();
  return server;
}
