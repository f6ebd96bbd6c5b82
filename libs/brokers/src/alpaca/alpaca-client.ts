import { Decimal, parseInstrument } from '@gateway/oms';
import type {
  BalanceReport,
  CancelOrderCommand,
  CancelResult,
  ConnectionListener,
  ExecutionClient,
  ExecutionReportListener,
  PositionReport,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import { bounded, BrokerListeners, cancelOutcome, errorText, type HttpAnswer, requestJson } from '../broker-http.js';
import { StreamLifecycle } from '../stream-heal.js';
import type { ExecType, FillReport, OrderStatusReport } from '../reports.js';
import { AlpacaUnknownStatusError, ourStatus } from './alpaca-status.js';

/**
 * The WebSocket the adapter's `trade_updates` stream runs on, as a port (libs use no IO client: the gateway
 * hands in one built on `ws`). `open` connects to `url`; the handlers are called with the frames' payloads
 * as text (binary frames decoded as UTF-8, as Alpaca's paper stream needs), on every Pong frame (`onPong`),
 * and once on close. `ping` sends an RFC 6455 Ping control frame (§5.5.2: the peer must answer a Pong); a
 * socket without it gets no stall detection.
 */
export interface StreamSocket {
  send(text: string): void;
  close(): void;
  ping?(): void;
}
export type StreamConnector = (
  url: string,
  handlers: {
    readonly onOpen: () => void;
    readonly onMessage: (text: string) => void;
    readonly onClose: (reason: string) => void;
    readonly onPong?: () => void;
  },
) => StreamSocket;

/** How the adapter logs (pino's `(object, message)` shape). Never handed a secret. */
export interface AlpacaLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** An account's Alpaca credentials: an API key pair, or an OAuth access token (Alpaca Connect). */
export type AlpacaCredentials =
  | { readonly kind: 'api_key'; readonly keyId: string; readonly secret: string }
  | { readonly kind: 'oauth'; readonly accessToken: string };

export interface AlpacaClientConfig {
  /** The broker's name in this deployment: the `venue` of orders, executions and reports (`alpaca`). */
  readonly venue: string;
  /** REST base, e.g. `https://paper-api.alpaca.markets` (no trailing `/v2`). */
  readonly baseUrl: string;
  /** The stream, e.g. `wss://paper-api.alpaca.markets/stream`. */
  readonly streamUrl: string;
  readonly credentials: AlpacaCredentials;
  readonly connect: StreamConnector;
  readonly logger: AlpacaLogger;
  /** The account this client serves (logs only). */
  readonly accountId?: string;
  /** First reconnect delay, ms (doubling to maxReconnectDelayMs); default 250. */
  readonly reconnectDelayMs?: number;
  readonly maxReconnectDelayMs?: number;
  /** How long a lookup after a 5xx, and each heal request, may take, ms; default 5000. */
  readonly requestTimeoutMs?: number;
  /** How often a replace's outcome is polled while it waits for the stream, ms; default 250. */
  readonly replacePollMs?: number;
  /**
   * No frame and no Pong for this long, ms: the stream is taken for stalled, dropped and healed like a drop;
   * default 30 000. The client pings every fifth of it (`trade_updates` has no heartbeat messages, so a quiet
   * account is legitimately silent; a Pong proves the socket alive).
   */
  readonly streamStallMs?: number;
  readonly fetch?: typeof fetch;
}

/** The account's keys were refused by Alpaca (HTTP 401/403 on the account, or the stream's `unauthorized`). */
export class AlpacaAuthError extends Error {
  override name = 'AlpacaAuthError';
}

/** Alpaca's Order entity, the fields the adapter reads (alpaca-docs `data/webapi/entities/order-v2.yaml`). */
interface AlpacaOrder {
  readonly id: string;
  readonly client_order_id: string;
  readonly created_at: string;
  readonly updated_at?: string | null;
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly type: 'market' | 'limit' | 'stop' | 'stop_limit';
  readonly qty: string | null;
  readonly filled_qty: string;
  readonly filled_avg_price: string | null;
  readonly limit_price: string | null;
  readonly status: string;
}

/** A trade activity (alpaca-docs `content/api-references/accounts/account-activities.md`). */
interface FillActivity {
  readonly id: string;
  readonly transaction_time: string;
  readonly price: string;
  readonly qty: string;
  readonly side: 'buy' | 'sell';
  readonly symbol: string;
  readonly leaves_qty: string;
  readonly order_id: string;
  readonly cum_qty: string;
}

interface TradeUpdate {
  readonly event: string;
  readonly execution_id?: string;
  readonly order: AlpacaOrder;
  readonly price?: string;
  readonly qty?: string;
  readonly timestamp?: string;
}

/** A replace waiting for the stream to say whether Alpaca really replaced the order. */
interface ReplaceWaiter {
  readonly oldClientOrderId: string;
  readonly newClientOrderId: string;
  settle(outcome: { accepted: true; order: AlpacaOrder } | { accepted: false; reason: string }): void;
}

const canonical = (value: string | null | undefined) => new Decimal(value || '0').toString();

/**
 * Alpaca's spelling of one of our symbols: an option as its OCC symbol without the root's padding
 * (`SPXW210104C03700000`: the contract symbols of `/v2/options/contracts`, docs.alpaca.markets "Options
 * Trading"), a ticker as it is.
 */
export const toAlpacaSymbol = (symbol: string) => {
  const instrument = parseInstrument(symbol);
  return instrument?.kind === 'option' ? instrument.symbol.replace(/ /g, '') : symbol;
};
/** Our spelling of an Alpaca symbol: the padded OSI symbol of an option, a ticker as it is. */
export const fromAlpacaSymbol = (symbol: string) => parseInstrument(symbol)?.symbol ?? symbol;

/**
 * The fill's identity, the same from every source: the Alpaca order id and the order's cumulative
 * filled quantity after the fill (the stream's `order.filled_qty`, the trade activity's `cum_qty`). The
 * stream's `execution_id` is not in the trade activities (their relation is undocumented), so it cannot
 * be the key that stream, heal pass and reconciliation agree on; it is kept in the raw payload.
 */
export const alpacaExecutionId = (orderId: string, cumulativeQuantity: string) =>
  `${orderId}:${canonical(cumulativeQuantity)}`;

/** Stream events that carry no state change of ours (the order's REST status says it; see docs/brokers/alpaca.md). */
const INFORMATIONAL_EVENTS = new Set([
  'pending_new',
  'accepted',
  'pending_cancel',
  'pending_replace',
  'stopped',
  'calculated',
  'suspended',
  'done_for_day',
  'restated',
  'held',
  'order_cancel_rejected',
  'order_replace_rejected',
]);
const STATUS_EVENTS: Readonly<Record<string, ExecType>> = {
  new: 'new',
  canceled: 'canceled',
  expired: 'expired',
  rejected: 'rejected',
  replaced: 'replaced',
};

function statusEventOf(name: string): ExecType | undefined {
  return Object.prototype.hasOwnProperty.call(STATUS_EVENTS, name) ? STATUS_EVENTS[name] : undefined;
}

/**
 * The Alpaca Trading API (v2) as an ExecutionClient, for one account (ExecutionClient; the registry
 * builds one per account with its credentials). REST with fetch, `trade_updates` on the StreamConnector.
 *
 * - Submit: `POST /v2/orders` with `client_order_id` = our order id. 200 → accepted; 403/422/401/429 →
 *   rejected (nothing was placed) except 422 "client_order_id must be unique", which means the order is
 *   there: it is looked up. A timeout, a lost answer or a 5xx → `unknown`; after a 5xx the order is looked
 *   up once by `GET /v2/orders:by_client_order_id` (found: accepted); never resent.
 * - Replace: `PATCH /v2/orders/{id}` returns the new order, but that is not yet a replace (Alpaca refuses
 *   it on the stream when the old order filled first): the answer waits for the stream (or a poll of the
 *   new order) to say `new`/`replaced` (accepted) or `rejected`/`order_replace_rejected` (rejected, the
 *   old order left as Alpaca has it); no verdict before the caller's abort → `unknown`.
 * - Fills come from `trade_updates`, each applied once (alpacaExecutionId, duplicates dropped). When the
 *   stream drops, or stalls (no frame and no Pong to its Pings for `streamStallMs`: alert
 *   `alpaca_stream_stalled`), the client reports `connected: false`, reconnects with a back-off, and heals
 *   before it reports `connected: true`: the fill activities and the orders since the last applied are listed
 *   and what the stream missed is reported (the gateway then runs its reconnect reconciliation before it lets
 *   entries through again).
 * - Statuses through ALPACA_ORDER_STATUSES; one it does not know → alert `alpaca_status_unknown` and the
 *   order is unknown (AlpacaUnknownStatusError for lookups, `unknown` for a submit).
 */
export class AlpacaClient implements ExecutionClient {
  readonly venue: string;
  readonly supportsClientOrderId = true;
  private readonly fetchImpl: typeof fetch;
  private readonly listeners: BrokerListeners;
  private readonly waiters = new Set<ReplaceWaiter>();
  /**
   * Fill ids already reported (alpacaExecutionId) and stream messages already seen, each the newest MEMORY:
   * one forgotten and seen again is reported again, and the gateway drops it by its execution id.
   */
  private readonly seenFills = new Set<string>();
  private readonly seenMessages = new Set<string>();
  /** Alpaca order id → our client order id, and the last status reported per Alpaca order. */
  private readonly clientIds = new Map<string, string>();
  private readonly lastStatus = new Map<string, string>();
  private socket: StreamSocket | null = null;
  private readonly stream: StreamLifecycle;
  /** Epoch ms of the last event applied (stream or heal); the heal pass lists from a bit before it. */
  private lastAppliedAt = Date.now();
  /** The open socket's last sign of life (open, any frame, a Pong), epoch ms; null while none is open. */
  private aliveAt: number | null = null;
  /** Gives the open socket up as stalled (its close then reports the reason). */
  private giveUpStalled: ((reason: string) => void) | null = null;
  private stallTimer: ReturnType<typeof setInterval> | null = null;
  private readonly stallMs: number;

  constructor(private readonly config: AlpacaClientConfig) {
    this.venue = config.venue;
    this.listeners = new BrokerListeners(config.venue, config.logger);
    this.fetchImpl = config.fetch ?? fetch;
    this.stallMs = config.streamStallMs ?? 30_000;
    this.stream = new StreamLifecycle({
      initialDelayMs: config.reconnectDelayMs ?? 250,
      maxDelayMs: config.maxReconnectDelayMs ?? 5_000,
      name: 'alpaca trade_updates stream',
      listeners: this.listeners,
      open: () => this.open(),
      authError: () => new AlpacaAuthError("alpaca refused the account's credentials on the trade_updates stream"),
    });
  }

  /**
   * Connects the stream. Resolves once it listens to `trade_updates` or the first attempt failed for a
   * reason that may pass (the client then reconnects in the background and reports itself disconnected);
   * rejects with AlpacaAuthError when Alpaca refuses the credentials (on the stream or `GET /v2/account`).
   */
  async start(): Promise<void> {
    const account = await this.request('GET', '/v2/account', undefined, this.timeout()).catch(() => null);
    if (account && (account.status === 401 || account.status === 403)) {
      throw new AlpacaAuthError(
        `alpaca refused the account's credentials (HTTP ${account.status}: ${describe(account.body)})`,
      );
    }
    if (this.stallTimer) {
      clearInterval(this.stallTimer); // a second start() must not leave the first timer running
    }
    this.stallTimer = setInterval(() => this.checkStall(), Math.max(50, Math.floor(this.stallMs / 5)));
    this.stallTimer.unref?.();
    await this.stream.firstConnect();
  }

  close(): Promise<void> {
    this.stream.close();
    if (this.stallTimer) {
      clearInterval(this.stallTimer);
    }
    this.socket?.close();
    this.socket = null;
    for (const waiter of this.waiters) {
      waiter.settle({ accepted: false, reason: 'client closed' });
    }
    return Promise.resolve();
  }

  // ---- ExecutionClient ----

  async submitOrder(command: SubmitOrderCommand, signal?: AbortSignal): Promise<SubmitResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const body = {
      symbol: toAlpacaSymbol(command.symbol),
      qty: command.quantity.toString(),
      side: command.side,
      type: command.type,
      time_in_force: command.timeInForce,
      ...(command.limitPrice === null ? {} : { limit_price: command.limitPrice.toString() }),
      ...(command.stopPrice === null ? {} : { stop_price: command.stopPrice.toString() }),
      client_order_id: command.clientOrderId,
    };
    let answer: HttpAnswer;
    try {
      answer = await this.request('POST', '/v2/orders', body, signal);
    } catch (error) {
      return { kind: 'unknown', reason: `no answer from alpaca: ${errorText(error)}` };
    }
    if (answer.status === 200) {
      return this.acceptedOrder(answer.body);
    }
    if (answer.status === 422 && /client_order_id must be unique/i.test(describe(answer.body))) {
      // The id is ours and we never resend: the order Alpaca has under it is this one.
      const found = await this.lookup(command.clientOrderId, signal);
      return found ?? { kind: 'unknown', reason: `alpaca says the client order id is taken: ${describe(answer.body)}` };
    }
    if (answer.status >= 500) {
      const found = await this.lookup(command.clientOrderId, signal);
      return found ?? { kind: 'unknown', reason: `alpaca answered ${answer.status}: ${describe(answer.body)}` };
    }
    return { kind: 'rejected', reason: `alpaca ${answer.status}: ${describe(answer.body)}`, raw: answer.body };
  }

  async cancelOrder(command: CancelOrderCommand, signal?: AbortSignal): Promise<CancelResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const id = command.brokerOrderId || (await this.idOf(command.clientOrderId));
    if (!id) {
      return { kind: 'rejected', reason: 'alpaca has no such order', raw: null };
    }
    return cancelOutcome(
      'alpaca',
      () => this.request('DELETE', `/v2/orders/${encodeURIComponent(id)}`, undefined, signal),
      describe,
    );
  }

  async replaceOrder(command: ReplaceOrderCommand, signal?: AbortSignal): Promise<ReplaceResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    // Alpaca's `qty` is the new order's own quantity, its fills counted from zero; the old order keeps its
    // fills (docs/brokers/alpaca.md, "Replace"): so what is left of the new total, never the total itself.
    const body = {
      qty: command.quantity.minus(command.filledQuantity ?? 0).toString(),
      ...(command.limitPrice === null ? {} : { limit_price: command.limitPrice.toString() }),
      ...(command.stopPrice === null ? {} : { stop_price: command.stopPrice.toString() }),
      client_order_id: command.newClientOrderId,
    };
    // Waiting from before the PATCH: the stream may tell the outcome before the PATCH's answer arrives.
    let settle!: ReplaceWaiter['settle'];
    const verdict = new Promise<Parameters<ReplaceWaiter['settle']>[0]>((resolve) => (settle = resolve));
    const waiter: ReplaceWaiter = {
      oldClientOrderId: command.clientOrderId,
      newClientOrderId: command.newClientOrderId,
      settle: (outcome) => settle(outcome),
    };
    this.waiters.add(waiter);
    try {
      let answer: HttpAnswer;
      try {
        answer = await this.request('PATCH', `/v2/orders/${encodeURIComponent(command.brokerOrderId)}`, body, signal);
      } catch (error) {
        return { kind: 'unknown', reason: `no answer from alpaca: ${errorText(error)}` };
      }
      if (answer.status >= 500) {
        return { kind: 'unknown', reason: `alpaca answered ${answer.status}: ${describe(answer.body)}` };
      }
      if (answer.status !== 200) {
        return { kind: 'rejected', reason: `alpaca ${answer.status}: ${describe(answer.body)}`, raw: answer.body };
      }
      const created = answer.body as AlpacaOrder;
      this.remember(created);
      const outcome = await this.awaitReplace(created, verdict, signal);
      if (outcome === null) {
        return { kind: 'unknown', reason: 'alpaca took the replace; whether it replaced the order is not known yet' };
      }
      if (!outcome.accepted) {
        return { kind: 'rejected', reason: outcome.reason, raw: answer.body };
      }
      return {
        kind: 'accepted',
        brokerOrderId: outcome.order.id,
        quantity: new Decimal(outcome.order.qty ?? created.qty ?? '0'),
        raw: outcome.order,
      };
    } finally {
      this.waiters.delete(waiter);
    }
  }

  async getOrderByClientOrderId(clientOrderId: string): Promise<OrderStatusReport | null> {
    const answer = await this.request(
      'GET',
      `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`,
      undefined,
      this.timeout(),
    );
    if (answer.status === 404) {
      return null;
    }
    if (answer.status !== 200) {
      throw new Error(`alpaca answered ${answer.status} to an order lookup: ${describe(answer.body)}`);
    }
    return this.statusReport(answer.body as AlpacaOrder);
  }

  async listOrders(sinceMs: number): Promise<OrderStatusReport[]> {
    const orders = await this.ordersSince(sinceMs);
    const reports: OrderStatusReport[] = [];
    for (const order of orders) {
      try {
        reports.push(this.statusReport(order));
      } catch (error) {
        if (!(error instanceof AlpacaUnknownStatusError)) {
          throw error;
        }
        // Left out: the reconciler then looks it up by id, and that lookup leaves it unresolved.
      }
    }
    return reports;
  }

  async listFills(sinceMs: number): Promise<FillReport[]> {
    const fills: FillReport[] = [];
    for (const activity of await this.activitiesSince(sinceMs)) {
      const clientOrderId = await this.idToClientId(activity.order_id);
      if (clientOrderId === null) {
        continue;
      }
      fills.push({
        brokerExecutionId: alpacaExecutionId(activity.order_id, activity.cum_qty),
        quantity: new Decimal(activity.qty),
        price: new Decimal(activity.price),
        executedAt: Date.parse(activity.transaction_time),
        clientOrderId,
        brokerOrderId: activity.order_id,
        symbol: fromAlpacaSymbol(activity.symbol),
        side: activity.side,
        raw: activity,
      });
    }
    return fills;
  }

  /**
   * `GET /v2/account` (alpaca-docs `content/api-references/trading-api/account.md`): `cash`,
   * `buying_power`, `equity` and `currency` as Alpaca reports them (decimal strings). Alpaca's account
   * carries no time of its figures, so `asOf` is when its answer arrived. Rejects on any answer that is
   * not a 200 with those fields (the reason names the status, never a credential).
   */
  async balances(signal?: AbortSignal): Promise<BalanceReport> {
    const answer = await this.request('GET', '/v2/account', undefined, signal ?? this.timeout());
    const body = answer.body as Record<string, unknown> | null;
    const field = (name: string): Decimal => {
      const value = body?.[name];
      if (typeof value !== 'string' || !/^-?\d+(\.\d+)?$/.test(value)) {
        throw new Error(`alpaca's account has no decimal ${name} (HTTP ${answer.status}: ${describe(answer.body)})`);
      }
      return new Decimal(value);
    };
    if (answer.status !== 200) {
      throw new Error(`alpaca answered ${answer.status} to the account: ${describe(answer.body)}`);
    }
    return {
      cash: field('cash'),
      buyingPower: field('buying_power'),
      equity: field('equity'),
      currency: typeof body?.currency === 'string' ? body.currency : 'USD',
      asOf: Date.now(),
    };
  }

  /**
   * `GET /v2/positions` (alpaca-docs `content/api-references/trading-api/positions.md`): every open
   * position, `qty` signed as Alpaca writes it (negative for a short; `side` says the same), at
   * `avg_entry_price`. Rejects on any answer that is not a 200 list of positions with decimal `qty`
   * (the reason names the status, never a credential).
   */
  async positions(signal?: AbortSignal): Promise<PositionReport[]> {
    const answer = await this.request('GET', '/v2/positions', undefined, signal ?? this.timeout());
    if (answer.status !== 200 || !Array.isArray(answer.body)) {
      throw new Error(`alpaca answered ${answer.status} to the positions: ${describe(answer.body)}`);
    }
    return (answer.body as unknown[]).map((item) => {
      const p = (item ?? {}) as Record<string, unknown>;
      const qty = p['qty'];
      if (typeof p['symbol'] !== 'string' || typeof qty !== 'string' || !/^-?\d+(\.\d+)?$/.test(qty)) {
        throw new Error(`alpaca answered a position without a symbol or a decimal qty: ${describe(item)}`);
      }
      const magnitude = new Decimal(qty).abs();
      const avg = p['avg_entry_price'];
      return {
        symbol: fromAlpacaSymbol(p['symbol']),
        // `side` decides the sign, whichever way `qty` is written.
        quantity: p['side'] === 'short' ? magnitude.negated() : new Decimal(qty),
        averagePrice: typeof avg === 'string' && /^\d+(\.\d+)?$/.test(avg) ? new Decimal(avg) : null,
        raw: item,
      };
    });
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.listeners.onExecutionReport(listener);
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    return this.listeners.onConnectionChange(listener, this.stream.downNotice());
  }

  /** Whether the stream listens now and the last heal pass was clean. */
  isConnected(): boolean {
    return this.stream.connected;
  }

  // ---- REST ----

  private async request(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<HttpAnswer> {
    const credentials = this.config.credentials;
    const headers: Record<string, string> =
      credentials.kind === 'api_key'
        ? { 'APCA-API-KEY-ID': credentials.keyId, 'APCA-API-SECRET-KEY': credentials.secret }
        : { Authorization: `Bearer ${credentials.accessToken}` };
    return requestJson(this.fetchImpl, this.config.baseUrl, { method, path, headers, body, signal });
  }

  private timeout(): AbortSignal {
    return AbortSignal.timeout(this.config.requestTimeoutMs ?? 5_000);
  }

  /** After a 5xx or a taken id: the order Alpaca has under our id, as a submit's answer, or null. */
  private async lookup(clientOrderId: string, signal?: AbortSignal): Promise<SubmitResult | null> {
    if (signal?.aborted) {
      return null;
    }
    try {
      const answer = await this.request(
        'GET',
        `/v2/orders:by_client_order_id?client_order_id=${encodeURIComponent(clientOrderId)}`,
        undefined,
        signal ? AbortSignal.any([signal, this.timeout()]) : this.timeout(),
      );
      return answer.status === 200 ? this.acceptedOrder(answer.body) : null;
    } catch {
      return null;
    }
  }

  private acceptedOrder(body: unknown): SubmitResult {
    const order = body as AlpacaOrder | null;
    if (!order || typeof order.id !== 'string' || order.id === '') {
      return { kind: 'unknown', reason: 'alpaca answered without an order id' };
    }
    this.remember(order);
    if (ourStatus(order.status, order.qty ?? '0', order.filled_qty) === null) {
      this.alertStatus(order);
      return {
        kind: 'unknown',
        reason: `alpaca order status ${JSON.stringify(order.status)} is not in the status table`,
      };
    }
    if (order.status === 'rejected') {
      return { kind: 'rejected', reason: 'alpaca rejected the order', raw: order };
    }
    return { kind: 'accepted', brokerOrderId: order.id, raw: order };
  }

  private statusReport(order: AlpacaOrder): OrderStatusReport {
    this.remember(order);
    const status = ourStatus(order.status, order.qty ?? '0', order.filled_qty);
    if (status === null) {
      this.alertStatus(order);
      throw new AlpacaUnknownStatusError(order.status, order.id);
    }
    return {
      clientOrderId: order.client_order_id,
      brokerOrderId: order.id,
      symbol: fromAlpacaSymbol(order.symbol),
      side: order.side,
      type: order.type,
      quantity: new Decimal(order.qty ?? '0'),
      limitPrice: order.limit_price === null ? null : new Decimal(order.limit_price),
      status,
      filledQuantity: new Decimal(order.filled_qty || '0'),
      averageFillPrice: order.filled_avg_price === null ? null : new Decimal(order.filled_avg_price),
      createdAt: Date.parse(order.created_at),
      raw: order,
    };
  }

  private alertStatus(order: AlpacaOrder): void {
    this.config.logger.error(
      { alert: 'alpaca_status_unknown', venue: this.venue, brokerOrderId: order.id, status: order.status },
      'alpaca order status not in the status table: the order is treated as unknown',
    );
  }

  /** Orders submitted after `sinceMs`, oldest first, every page (`after` is exclusive: Alpaca's). */
  private async ordersSince(sinceMs: number): Promise<AlpacaOrder[]> {
    const all = new Map<string, AlpacaOrder>();
    let after = new Date(sinceMs - 1).toISOString();
    for (;;) {
      const answer = await this.request(
        'GET',
        `/v2/orders?status=all&direction=asc&limit=500&after=${encodeURIComponent(after)}`,
        undefined,
        this.timeout(),
      );
      if (answer.status !== 200 || !Array.isArray(answer.body)) {
        throw new Error(`alpaca answered ${answer.status} to the order list: ${describe(answer.body)}`);
      }
      const page = answer.body as AlpacaOrder[];
      for (const order of page) {
        all.set(order.id, order);
        this.remember(order);
      }
      if (page.length < 500) {
        return [...all.values()];
      }
      after = page[page.length - 1]!.created_at;
    }
  }

  /** Fill activities after `sinceMs`, oldest first, every page. */
  private async activitiesSince(sinceMs: number): Promise<FillActivity[]> {
    const all: FillActivity[] = [];
    let token: string | null = null;
    for (;;) {
      const query: string = `after=${encodeURIComponent(new Date(sinceMs - 1).toISOString())}&direction=asc&page_size=100${token ? `&page_token=${encodeURIComponent(token)}` : ''}`;
      const answer = await this.request('GET', `/v2/account/activities/FILL?${query}`, undefined, this.timeout());
      if (answer.status !== 200 || !Array.isArray(answer.body)) {
        throw new Error(`alpaca answered ${answer.status} to the fill activities: ${describe(answer.body)}`);
      }
      const page = answer.body as FillActivity[];
      all.push(...page);
      if (page.length < 100) {
        return all;
      }
      token = page[page.length - 1]!.id;
    }
  }

  private remember(order: AlpacaOrder): void {
    if (order && typeof order.id === 'string' && typeof order.client_order_id === 'string') {
      this.clientIds.set(order.id, order.client_order_id);
      bounded(this.clientIds);
    }
  }

  private async idToClientId(orderId: string): Promise<string | null> {
    const known = this.clientIds.get(orderId);
    if (known !== undefined) {
      return known;
    }
    const answer = await this.request('GET', `/v2/orders/${encodeURIComponent(orderId)}`, undefined, this.timeout());
    if (answer.status !== 200) {
      return null;
    }
    this.remember(answer.body as AlpacaOrder);
    return (answer.body as AlpacaOrder).client_order_id;
  }

  private async idOf(clientOrderId: string): Promise<string | null> {
    for (const [id, coid] of this.clientIds) {
      if (coid === clientOrderId) {
        return id;
      }
    }
    const found = await this.getOrderByClientOrderId(clientOrderId).catch(() => null);
    return found?.brokerOrderId ?? null;
  }

  /**
   * The replace's verdict: from the stream (waiter), or from polling the new order (a refused one shows
   * `rejected`; one that works or filled shows that). Null when the caller's signal aborts first.
   */
  private async awaitReplace(
    created: AlpacaOrder,
    verdict: Promise<Parameters<ReplaceWaiter['settle']>[0]>,
    signal?: AbortSignal,
  ): Promise<Parameters<ReplaceWaiter['settle']>[0] | null> {
    const pollMs = this.config.replacePollMs ?? 250;
    let done = false;
    const aborted = new Promise<null>((resolve) => {
      if (signal?.aborted) {
        resolve(null);
      }
      signal?.addEventListener('abort', () => resolve(null), { once: true });
    });
    const poll = (async () => {
      while (!done) {
        await new Promise((r) => setTimeout(r, pollMs));
        if (done || signal?.aborted) {
          return new Promise<never>(() => {});
        }
        const answer = await this.request(
          'GET',
          `/v2/orders/${encodeURIComponent(created.id)}`,
          undefined,
          this.timeout(),
        ).catch(() => null);
        const order = answer?.status === 200 ? (answer.body as AlpacaOrder) : null;
        if (order?.status === 'rejected') {
          return { accepted: false as const, reason: 'alpaca refused the replace (the replacement was rejected)' };
        }
        if (
          order &&
          ['new', 'partially_filled', 'filled', 'canceled', 'expired', 'done_for_day'].includes(order.status)
        ) {
          return { accepted: true as const, order };
        }
      }
      return new Promise<never>(() => {});
    })();
    try {
      return await Promise.race([verdict, aborted, poll]);
    } finally {
      done = true;
    }
  }

  // ---- stream ----

  private open(): void {
    if (this.stream.closed) {
      return;
    }
    let authorized = false;
    let gone = false;
    let listening = false;
    let stalled: string | null = null;
    const alive = () => {
      if (!gone) {
        this.aliveAt = Date.now();
      }
    };
    const socket = this.config.connect(this.config.streamUrl, {
      // Until it listens, only Alpaca's answers count: a socket that pongs but never authorizes is stalled too.
      onPong: () => {
        if (listening) {
          alive();
        }
      },
      onOpen: () => {
        alive();
        const credentials = this.config.credentials;
        socket.send(
          JSON.stringify({
            action: 'authenticate',
            data:
              credentials.kind === 'api_key'
                ? { key_id: credentials.keyId, secret_key: credentials.secret }
                : { oauth_token: credentials.accessToken },
          }),
        );
      },
      onMessage: (text) => {
        alive();
        let message: { stream?: unknown; data?: Record<string, unknown> };
        try {
          message = JSON.parse(text) as typeof message;
        } catch {
          this.config.logger.warn({ venue: this.venue }, 'alpaca stream: a frame that is not JSON was ignored');
          return;
        }
        if (message.stream === 'authorization') {
          if (message.data?.['status'] === 'authorized') {
            authorized = true;
            socket.send(JSON.stringify({ action: 'listen', data: { streams: ['trade_updates'] } }));
          } else {
            this.stream.authRefused = true;
            socket.close();
          }
          return;
        }
        if (message.stream === 'listening') {
          const streams = message.data?.['streams'];
          if (authorized && Array.isArray(streams) && streams.includes('trade_updates')) {
            listening = true;
            void this.onListening();
          }
          return;
        }
        if (message.stream === 'trade_updates' && message.data) {
          this.onTradeUpdate(message.data as unknown as TradeUpdate);
        }
      },
      onClose: (reason) => {
        if (gone) {
          return;
        }
        gone = true;
        if (this.socket === socket) {
          this.aliveAt = null;
          this.giveUpStalled = null;
        }
        this.onStreamClosed(
          this.stream.authRefused ? 'alpaca refused the account credentials on the stream' : (stalled ?? reason),
        );
      },
    });
    this.socket = socket;
    this.giveUpStalled = (reason) => {
      stalled = reason;
      socket.close();
    };
  }

  /**
   * Every fifth of `streamStallMs`: a socket silent (no frame, no Pong) for longer than that is given up as
   * stalled (alert `alpaca_stream_stalled`; its close reports it down and the reconnect heals); else a Ping.
   */
  private checkStall(): void {
    const socket = this.socket;
    if (this.stream.closed || socket === null || this.aliveAt === null || socket.ping === undefined) {
      return;
    }
    const silent = Date.now() - this.aliveAt;
    if (silent > this.stallMs) {
      this.config.logger.error(
        { alert: 'alpaca_stream_stalled', venue: this.venue, accountId: this.config.accountId, silentMs: silent },
        'alpaca trade_updates stream silent (no frame, no pong): reconnecting',
      );
      const giveUp = this.giveUpStalled;
      // Given up once: no second alert while the socket takes its time to close.
      this.aliveAt = null;
      this.giveUpStalled = null;
      giveUp?.(`stalled: no frame and no pong for ${silent} ms (BROKER_<NAME>_STREAM_STALL_MS ${this.stallMs})`);
      return;
    }
    socket.ping();
  }

  private async onListening(): Promise<void> {
    await this.stream.listening(
      () => this.heal(),
      (error) => {
        this.config.logger.warn(
          { err: error, venue: this.venue, accountId: this.config.accountId },
          'alpaca heal pass after a reconnect failed: the stream is dropped and tried again',
        );
        this.socket?.close();
      },
    );
  }

  private onStreamClosed(reason: string): void {
    this.socket = null;
    this.stream.closedStream(reason);
  }

  /**
   * After a reconnect: what the stream missed (it has no sequence numbers and no replay), from the fill
   * activities and the orders since a little before the last applied event, reported once each.
   */
  private async heal(): Promise<void> {
    const since = Math.min(this.lastAppliedAt, this.stream.disconnectedAt ?? this.lastAppliedAt) - 5_000;
    const [activities, orders] = await Promise.all([this.activitiesSince(since), this.ordersSince(since - 3_600_000)]);
    const byId = new Map(orders.map((o) => [o.id, o]));
    for (const activity of activities) {
      const id = alpacaExecutionId(activity.order_id, activity.cum_qty);
      if (this.seenFills.has(id)) {
        continue;
      }
      const clientOrderId =
        byId.get(activity.order_id)?.client_order_id ?? (await this.idToClientId(activity.order_id));
      if (clientOrderId === null) {
        continue;
      }
      this.seenFills.add(id);
      bounded(this.seenFills);
      this.listeners.emit({
        venue: this.venue,
        execType: 'trade',
        clientOrderId,
        brokerOrderId: activity.order_id,
        symbol: fromAlpacaSymbol(activity.symbol),
        side: activity.side,
        cumulativeQuantity: new Decimal(activity.cum_qty),
        leavesQuantity: new Decimal(activity.leaves_qty),
        execution: {
          brokerExecutionId: id,
          quantity: new Decimal(activity.qty),
          price: new Decimal(activity.price),
          executedAt: Date.parse(activity.transaction_time),
        },
        transactTime: Date.parse(activity.transaction_time),
        raw: { source: 'alpaca_heal', activity },
      });
    }
    for (const order of orders) {
      const event = statusEventOf(order.status);
      if (event === undefined || this.lastStatus.get(order.id) === event) {
        continue;
      }
      if (event === 'new' && this.lastStatus.has(order.id)) {
        continue; // only an ack we never saw
      }
      this.statusEvent(event, order, { source: 'alpaca_heal', order });
    }
    this.lastAppliedAt = Date.now();
  }

  private onTradeUpdate(update: TradeUpdate): void {
    const order = update.order;
    if (!order || typeof order.id !== 'string') {
      this.config.logger.warn({ venue: this.venue }, 'alpaca stream: a trade update without an order was ignored');
      return;
    }
    const key = `${update.event}|${order.id}|${order.updated_at ?? ''}|${order.filled_qty}|${update.execution_id ?? ''}`;
    if (this.seenMessages.has(key)) {
      return; // the same message again
    }
    this.seenMessages.add(key);
    bounded(this.seenMessages);
    this.remember(order);
    this.lastAppliedAt = Math.max(this.lastAppliedAt, Date.now());
    this.settleWaiters(update);
    if (update.event === 'fill' || update.event === 'partial_fill') {
      this.fillEvent(update);
      return;
    }
    const execType = statusEventOf(update.event);
    if (execType !== undefined) {
      this.statusEvent(execType, order, update);
      return;
    }
    if (!INFORMATIONAL_EVENTS.has(update.event)) {
      this.config.logger.error(
        { alert: 'alpaca_event_unknown', venue: this.venue, event: update.event, brokerOrderId: order.id },
        'alpaca trade update of an unknown event: ignored, reconciliation settles the order',
      );
    }
  }

  private settleWaiters(update: TradeUpdate): void {
    const coid = update.order.client_order_id;
    for (const waiter of this.waiters) {
      if (coid === waiter.newClientOrderId) {
        if (update.event === 'rejected') {
          waiter.settle({ accepted: false, reason: 'alpaca refused the replace (the replacement was rejected)' });
        } else if (['new', 'fill', 'partial_fill', 'canceled', 'expired', 'done_for_day'].includes(update.event)) {
          waiter.settle({ accepted: true, order: update.order });
        }
      } else if (coid === waiter.oldClientOrderId && update.event === 'order_replace_rejected') {
        waiter.settle({ accepted: false, reason: 'alpaca refused the replace (order_replace_rejected)' });
      }
    }
  }

  private fillEvent(update: TradeUpdate): void {
    const order = update.order;
    const id = alpacaExecutionId(order.id, order.filled_qty);
    if (this.seenFills.has(id)) {
      return;
    }
    if (update.qty === undefined || update.price === undefined) {
      this.config.logger.error(
        { alert: 'alpaca_fill_malformed', venue: this.venue, brokerOrderId: order.id },
        'alpaca fill without qty or price: left to reconciliation',
      );
      return;
    }
    this.seenFills.add(id);
    bounded(this.seenFills);
    const at = update.timestamp ? Date.parse(update.timestamp) : Date.now();
    this.listeners.emit({
      venue: this.venue,
      execType: 'trade',
      clientOrderId: order.client_order_id,
      brokerOrderId: order.id,
      symbol: fromAlpacaSymbol(order.symbol),
      side: order.side,
      cumulativeQuantity: new Decimal(order.filled_qty),
      leavesQuantity: Decimal.max(new Decimal(order.qty ?? '0').minus(order.filled_qty), 0),
      execution: {
        brokerExecutionId: id,
        quantity: new Decimal(update.qty),
        price: new Decimal(update.price),
        executedAt: at,
      },
      transactTime: at,
      raw: update,
    });
  }

  private statusEvent(execType: ExecType, order: AlpacaOrder, raw: unknown): void {
    this.lastStatus.set(order.id, execType);
    bounded(this.lastStatus);
    const filled = new Decimal(order.filled_qty || '0');
    this.listeners.emit({
      venue: this.venue,
      execType,
      clientOrderId: order.client_order_id,
      brokerOrderId: order.id,
      symbol: fromAlpacaSymbol(order.symbol),
      side: order.side,
      cumulativeQuantity: filled,
      leavesQuantity: execType === 'new' ? Decimal.max(new Decimal(order.qty ?? '0').minus(filled), 0) : new Decimal(0),
      ...(execType === 'rejected' || execType === 'canceled' || execType === 'expired'
        ? { reason: `alpaca: ${execType}` }
        : {}),
      transactTime: Date.parse(order.updated_at ?? '') || Date.now(),
      raw,
    });
  }
}

function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) {
    const b = body as { code?: unknown; message?: unknown };
    const text = (v: unknown) => (typeof v === 'string' || typeof v === 'number' ? String(v) : JSON.stringify(v));
    return b.code === undefined ? text(b.message) : `${text(b.code)} ${text(b.message)}`;
  }
  return typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body);
}
