import { Decimal } from '@gateway/oms';
import type { AlpacaLogger, StreamConnector, StreamSocket } from '../alpaca/alpaca-client.js';
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
import { SchwabUnknownStatusError, schwabOurStatus } from './schwab-status.js';
import { SchwabMarketDataFeed } from './schwab-market-data.js';
import { fromSchwabSymbol, toSchwabSymbol } from './schwab-symbol.js';

/** How the adapter logs (pino's `(object, message)` shape). Never handed a secret. */
export type SchwabLogger = AlpacaLogger;

export interface SchwabClientConfig {
  /** The broker's name in this deployment: the `venue` of orders, executions and reports (`schwab`). */
  readonly venue: string;
  /** Trader API base, e.g. `https://api.schwabapi.com/trader/v1`. */
  readonly baseUrl: string;
  /** The streamer's URL; null: the one `GET /userPreference` names (`streamerInfo[0].streamerSocketUrl`). */
  readonly streamerUrl?: string | null;
  /** The account's OAuth access token (Bearer), from the vault. */
  readonly accessToken: string;
  /** The Schwab account number this client trades (the account's brokerAccountId); null: the only one. */
  readonly accountNumber: string | null;
  readonly connect: StreamConnector;
  readonly logger: SchwabLogger;
  /** The gateway account this client serves (logs only). */
  readonly accountId?: string;
  /**
   * Schwab order id → our order id, kept by the adapter across the clients of one account (a refreshed token
   * retires the client and builds another: what it learnt must survive).
   */
  readonly orderIds?: Map<string, string>;
  /** Our order id for a Schwab order id not in `orderIds` (the gateway's orders table), or null. */
  readonly resolveOrderId?: (brokerOrderId: string) => Promise<string | null>;
  /** No message and no heartbeat for this long, ms: the stream is taken for stalled and reconnected; default 30 000. */
  readonly streamStallMs?: number;
  /** First reconnect delay, ms (doubling to maxReconnectDelayMs); default 250. */
  readonly reconnectDelayMs?: number;
  readonly maxReconnectDelayMs?: number;
  /** How long each lookup and heal request may take, ms; default 5000. */
  readonly requestTimeoutMs?: number;
  /** How long the quote feed waits for a symbol's first quote after subscribing it, ms; default 1500. */
  readonly firstQuoteWaitMs?: number;
  readonly fetch?: typeof fetch;
}

/** Schwab refused the token (HTTP 401 on the accounts, or the streamer's LOGIN `code 3`), or has no such account. */
export class SchwabAuthError extends Error {
  override name = 'SchwabAuthError';
}

/** Schwab's Order, the fields the adapter reads (PROTOCOLS.md A3). Numbers are JSON numbers (doubles). */
interface SchwabOrder {
  readonly orderId: number | string;
  readonly status: string;
  readonly orderType: string;
  readonly duration?: string;
  readonly session?: string;
  readonly quantity: number | string;
  readonly filledQuantity?: number | string;
  readonly price?: number | string;
  readonly stopPrice?: number | string;
  readonly enteredTime: string;
  readonly orderLegCollection?: readonly {
    readonly instruction: string;
    readonly quantity?: number | string;
    readonly instrument: { readonly symbol: string; readonly assetType: string };
  }[];
  readonly orderActivityCollection?: readonly {
    readonly activityType?: string;
    readonly activityId?: number | string;
    readonly executionType?: string;
    readonly quantity?: number | string;
    readonly executionLegs?: readonly {
      readonly quantity: number | string;
      readonly price: number | string;
      readonly time: string;
    }[];
  }[];
  /** The orders that replace this one (spec, Order `replacingOrderCollection`): the fake sends `{orderId, status}`. */
  readonly replacingOrderCollection?: readonly { readonly orderId?: number | string }[];
}

interface SchwabFill {
  readonly brokerExecutionId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
  readonly executedAt: number;
  readonly cumulativeQuantity: Decimal;
}

/** `…/accounts/{hash}/orders/{orderId}` (schwab-py `utils.py::extract_order_id`). */
const LOCATION = /\/accounts\/([^/]+)\/orders\/(\d+)$/;
/** How far back the fill listing looks for the orders whose executions it reads (a GTC order fills days later). */
const FILL_ORDER_LOOKBACK_MS = 7 * 24 * 3_600_000;
const TIFS: Readonly<Record<string, string>> = {
  day: 'DAY',
  gtc: 'GOOD_TILL_CANCEL',
  ioc: 'IMMEDIATE_OR_CANCEL',
  fok: 'FILL_OR_KILL',
};
const TYPES: Readonly<Record<string, string>> = {
  market: 'MARKET',
  limit: 'LIMIT',
  stop: 'STOP',
  stop_limit: 'STOP_LIMIT',
};
const OUR_TYPES: Readonly<Record<string, OrderStatusReport['type']>> = {
  MARKET: 'market',
  LIMIT: 'limit',
  STOP: 'stop',
  STOP_LIMIT: 'stop_limit',
};

/** Schwab's `2021-01-01T12:01:00+0000` (and ISO forms) as epoch ms; NaN when it is not a time. */
export function parseSchwabTime(text: string | undefined): number {
  return text === undefined ? Number.NaN : Date.parse(text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
}

/** `yyyy-MM-dd'T'HH:mm:ss.SSSZ` as the order list's query wants it (PROTOCOLS.md A3). */
const queryTime = (ms: number) => new Date(ms).toISOString();

const dec = (value: number | string | undefined | null): Decimal =>
  new Decimal(value === undefined || value === null || value === '' ? 0 : String(value));

/** The fill's identity, the same from the stream's re-read, the heal pass and the fill listing. */
export const schwabExecutionId = (orderId: string, activityId: string) => `${orderId}:${activityId}`;

/**
 * Schwab's instruction for an order (PROTOCOLS.md A3): equities BUY / SELL; options BUY_TO_OPEN, SELL_TO_OPEN,
 * BUY_TO_CLOSE, SELL_TO_CLOSE from the order's positionEffect, else from the position (`position`: signed
 * contracts held). A close larger than the position, or an open against an opposite position, would flip it:
 * refused (`null`), the order is to be split.
 */
export function schwabInstruction(
  assetType: 'EQUITY' | 'OPTION',
  side: 'buy' | 'sell',
  quantity: Decimal,
  positionEffect: 'open' | 'close' | null,
  position: Decimal | null,
): string | null {
  if (assetType === 'EQUITY') {
    return side === 'buy' ? 'BUY' : 'SELL';
  }
  const prefix = side === 'buy' ? 'BUY' : 'SELL';
  const opposite = position === null ? new Decimal(0) : side === 'buy' ? position.negated() : position;
  const effect = positionEffect ?? (opposite.gt(0) ? 'close' : 'open');
  if (effect === 'close') {
    return position === null || quantity.lte(opposite) ? `${prefix}_TO_CLOSE` : null;
  }
  return opposite.gt(0) && positionEffect === null ? null : `${prefix}_TO_OPEN`;
}

/**
 * The Charles Schwab Trader API as an ExecutionClient, for one account (the registry builds one per account
 * with its OAuth access token). REST with fetch, the streamer's ACCT_ACTIVITY on the StreamConnector, and on the
 * same connection the account's quotes (`marketData`, SchwabMarketDataFeed: LEVELONE_EQUITIES / _OPTIONS).
 * Schwab has no client order id (`supportsClientOrderId: false`):
 * - Submit: `POST /accounts/{hash}/orders` → 201 with the id only in `Location`. A 4xx is `rejected` (nothing
 *   placed); a timeout, a lost answer, a 5xx or a 201 without a Location is `unknown` and is never resent:
 *   the reconciler settles it by matching the order list (matchBrokerOrder of libs/oms).
 * - Replace: `PUT …/orders/{id}` with the whole order (its instruction and instrument read from the old
 *   order), 201 + the new order's Location; the old one ends REPLACED.
 * - The stream's ACCT_ACTIVITY messages only name an order: the client re-reads it and reports what changed
 *   (fills by `orderId:activityId`, each once; the terminal status once). Duplicated or reordered messages are
 *   harmless (the re-read is the truth). A dropped stream, or one silent (no data, no heartbeat) for
 *   `streamStallMs`, is reported `connected: false`, reconnected with a back-off, and healed (the orders since
 *   before the last applied event re-read) before `connected: true`.
 * - Statuses through SCHWAB_ORDER_STATUSES; one it does not settle → alert `schwab_status_unknown`, and the
 *   order is not reported (lookups throw SchwabUnknownStatusError, so nothing is matched around it).
 */
export class SchwabClient implements ExecutionClient {
  readonly venue: string;
  readonly supportsClientOrderId = false;
  /** Schwab's quotes (LEVELONE_EQUITIES / LEVELONE_OPTIONS) on this client's streamer connection. */
  readonly marketData: SchwabMarketDataFeed;
  private nextRequestId = 3;
  private readonly fetchImpl: typeof fetch;
  private readonly listeners: BrokerListeners;
  private readonly orderIds: Map<string, string>;
  private readonly seenFills = new Set<string>();
  private readonly lastStatus = new Map<string, ExecType>();
  /** Orders the stream named before we knew whose they are: re-read once the id is learnt. */
  private readonly unmapped = new Set<string>();
  /** One re-read per order at a time, in order. */
  private readonly refreshing = new Map<string, Promise<void>>();
  private hash: string | null = null;
  private streamer: {
    url: string;
    customerId: string;
    correlId: string;
    channel: string;
    functionId: string;
  } | null = null;
  private socket: StreamSocket | null = null;
  private readonly stream: StreamLifecycle;
  private stallTimer: ReturnType<typeof setInterval> | null = null;
  private lastMessageAt = 0;
  private lastAppliedAt = Date.now();
  private readonly stallMs: number;

  constructor(private readonly config: SchwabClientConfig) {
    this.venue = config.venue;
    this.listeners = new BrokerListeners(config.venue, config.logger);
    this.fetchImpl = config.fetch ?? fetch;
    this.stream = new StreamLifecycle({
      initialDelayMs: config.reconnectDelayMs ?? 250,
      maxDelayMs: config.maxReconnectDelayMs ?? 5_000,
      name: 'schwab streamer',
      listeners: this.listeners,
      open: () => this.open(),
      authError: () => new SchwabAuthError("schwab refused the account's access token on the streamer"),
    });
    this.orderIds = config.orderIds ?? new Map<string, string>();
    this.stallMs = config.streamStallMs ?? 30_000;
    this.marketData = new SchwabMarketDataFeed({
      venue: config.venue,
      logger: config.logger,
      ...(config.firstQuoteWaitMs === undefined ? {} : { firstQuoteWaitMs: config.firstQuoteWaitMs }),
    });
  }

  /**
   * Finds the account's hash (`GET /accounts/accountNumbers`) and the streamer (`GET /userPreference`), then
   * connects the stream. Resolves once ACCT_ACTIVITY is subscribed or the first attempt failed for a reason
   * that may pass (then it reconnects in the background, reported disconnected); rejects with SchwabAuthError
   * when Schwab refuses the token or has no such account.
   */
  async start(): Promise<void> {
    const numbers = await this.request('GET', '/accounts/accountNumbers', undefined, this.timeout());
    if (numbers.status === 401 || numbers.status === 403) {
      throw new SchwabAuthError(
        `schwab refused the account's access token (HTTP ${numbers.status}: ${describe(numbers.body)})`,
      );
    }
    if (numbers.status !== 200 || !Array.isArray(numbers.body)) {
      throw new Error(`schwab answered ${numbers.status} to the account numbers: ${describe(numbers.body)}`);
    }
    const accounts = numbers.body as { accountNumber?: string; hashValue?: string }[];
    const wanted = this.config.accountNumber;
    const account =
      wanted === null
        ? accounts.length === 1
          ? accounts[0]
          : undefined
        : accounts.find((a) => a.accountNumber === wanted);
    if (!account?.hashValue) {
      throw new SchwabAuthError(
        wanted === null
          ? `the Schwab login has ${accounts.length} accounts: set the account's brokerAccountId to the one to trade`
          : `the Schwab login has no account ${wanted}`,
      );
    }
    this.hash = account.hashValue;
    const prefs = await this.request('GET', '/userPreference', undefined, this.timeout());
    const info = (prefs.body as { streamerInfo?: Record<string, string>[] } | null)?.streamerInfo?.[0];
    if (prefs.status !== 200 || !info) {
      throw new Error(`schwab answered ${prefs.status} to the user preferences: ${describe(prefs.body)}`);
    }
    this.streamer = {
      url: this.config.streamerUrl ?? info['streamerSocketUrl'] ?? '',
      customerId: info['schwabClientCustomerId'] ?? '',
      correlId: info['schwabClientCorrelId'] ?? '',
      channel: info['schwabClientChannel'] ?? '',
      functionId: info['schwabClientFunctionId'] ?? '',
    };
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
    this.marketData.detach();
    return Promise.resolve();
  }

  // ---- ExecutionClient ----

  async submitOrder(command: SubmitOrderCommand, signal?: AbortSignal): Promise<SubmitResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const instrument = toSchwabSymbol(command.symbol);
    if (instrument === null) {
      return { kind: 'rejected', reason: `schwab cannot trade the symbol ${command.symbol}`, raw: null };
    }
    let position: Decimal | null = null;
    if (instrument.assetType === 'OPTION' && !command.positionEffect) {
      try {
        const held = (await this.positions(signal)).find((p) => p.symbol === instrument.symbol);
        position = held?.quantity ?? new Decimal(0);
      } catch (error) {
        return {
          kind: 'rejected',
          reason: `the option order needs open or close, and schwab's positions could not be read: ${errorText(error)}`,
          raw: null,
        };
      }
    }
    const instruction = schwabInstruction(
      instrument.assetType,
      command.side,
      command.quantity,
      command.positionEffect ?? null,
      position,
    );
    if (instruction === null) {
      return {
        kind: 'rejected',
        reason: `the order would flip the ${position?.toString() ?? ''} position in ${command.symbol}: split it into a close and an open`,
        raw: null,
      };
    }
    const body = this.orderBody(command, instrument, instruction, command.quantity);
    let answer: HttpAnswer;
    try {
      answer = await this.request('POST', `/accounts/${this.accountPath()}/orders`, body, signal);
    } catch (error) {
      return { kind: 'unknown', reason: `no answer from schwab: ${errorText(error)}` };
    }
    if (answer.status === 201) {
      const id = this.orderIdIn(answer.location);
      if (id === null) {
        return { kind: 'unknown', reason: 'schwab answered 201 without the order id in Location' };
      }
      this.learn(id, command.clientOrderId);
      return { kind: 'accepted', brokerOrderId: id, raw: { location: answer.location } };
    }
    if (answer.status >= 500) {
      return { kind: 'unknown', reason: `schwab answered ${answer.status}: ${describe(answer.body)}` };
    }
    return { kind: 'rejected', reason: `schwab ${answer.status}: ${describe(answer.body)}`, raw: answer.body };
  }

  async cancelOrder(command: CancelOrderCommand, signal?: AbortSignal): Promise<CancelResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    if (!/^\d+$/.test(command.brokerOrderId)) {
      return { kind: 'rejected', reason: 'the order has no schwab order id', raw: null };
    }
    return cancelOutcome(
      'schwab',
      () =>
        this.request('DELETE', `/accounts/${this.accountPath()}/orders/${command.brokerOrderId}`, undefined, signal),
      describe,
    );
  }

  /**
   * `PUT …/orders/{id}`: the whole new order, with the old order's instruction, instrument, type, duration and
   * session (read first), `quantity` the new total (unverified whether Schwab counts it from the old order's
   * fills: the fake books total minus filled, as the paper venue does).
   */
  async replaceOrder(command: ReplaceOrderCommand, signal?: AbortSignal): Promise<ReplaceResult> {
    if (signal?.aborted) {
      return { kind: 'rejected', reason: 'aborted before sending', raw: null };
    }
    const path = `/accounts/${this.accountPath()}/orders/${command.brokerOrderId}`;
    let old: SchwabOrder;
    try {
      const read = await this.request('GET', path, undefined, signal ?? this.timeout());
      if (read.status !== 200) {
        return {
          kind: 'rejected',
          reason: `schwab ${read.status} reading the order to replace: ${describe(read.body)}`,
          raw: read.body,
        };
      }
      old = read.body as SchwabOrder;
    } catch (error) {
      return { kind: 'rejected', reason: `the order to replace could not be read: ${errorText(error)}`, raw: null };
    }
    const leg = old.orderLegCollection?.[0];
    if (!leg) {
      return { kind: 'rejected', reason: 'the schwab order has no leg to replace', raw: old };
    }
    const type = OUR_TYPES[old.orderType] ?? 'limit';
    const body = {
      orderType: old.orderType,
      session: old.session ?? 'NORMAL',
      duration: old.duration ?? 'DAY',
      orderStrategyType: 'SINGLE',
      ...(command.limitPrice !== null
        ? { price: command.limitPrice.toString() }
        : old.price !== undefined && (type === 'limit' || type === 'stop_limit')
          ? { price: String(old.price) }
          : {}),
      ...(command.stopPrice !== null
        ? { stopPrice: command.stopPrice.toString() }
        : old.stopPrice !== undefined && (type === 'stop' || type === 'stop_limit')
          ? { stopPrice: String(old.stopPrice) }
          : {}),
      orderLegCollection: [
        {
          instruction: leg.instruction,
          quantity: Number(command.quantity.toString()),
          instrument: { symbol: leg.instrument.symbol, assetType: leg.instrument.assetType },
        },
      ],
    };
    let answer: HttpAnswer;
    try {
      answer = await this.request('PUT', path, body, signal);
    } catch (error) {
      return { kind: 'unknown', reason: `no answer from schwab: ${errorText(error)}` };
    }
    if (answer.status === 201) {
      const id = this.orderIdIn(answer.location);
      if (id === null) {
        return { kind: 'unknown', reason: 'schwab answered 201 without the new order id in Location' };
      }
      this.learn(id, command.newClientOrderId);
      return {
        kind: 'accepted',
        brokerOrderId: id,
        quantity: await this.bookedQuantity(id, Decimal.max(command.quantity.minus(dec(old.filledQuantity)), 0)),
        raw: { location: answer.location },
      };
    }
    if (answer.status >= 500) {
      return { kind: 'unknown', reason: `schwab answered ${answer.status}: ${describe(answer.body)}` };
    }
    return { kind: 'rejected', reason: `schwab ${answer.status}: ${describe(answer.body)}`, raw: answer.body };
  }

  /**
   * What a replacement works, as Schwab booked it (its `quantity`, read back): the old order may have filled
   * between our read of it and the PUT, and then `estimate` (the new total minus the fills we read) is too
   * much. `estimate` when the read fails (the stream's re-read and reconciliation correct it later).
   */
  private async bookedQuantity(brokerOrderId: string, estimate: Decimal): Promise<Decimal> {
    try {
      const read = await this.request(
        'GET',
        `/accounts/${this.accountPath()}/orders/${brokerOrderId}`,
        undefined,
        this.timeout(),
      );
      const quantity = (read.body as SchwabOrder | null)?.quantity;
      return read.status === 200 && quantity !== undefined ? dec(quantity) : estimate;
    } catch {
      return estimate;
    }
  }

  /** Schwab cannot look orders up by our id: the order under the Schwab id we learnt for it, else null. */
  async getOrderByClientOrderId(clientOrderId: string): Promise<OrderStatusReport | null> {
    for (const [id, ours] of this.orderIds) {
      if (ours === clientOrderId) {
        const answer = await this.request(
          'GET',
          `/accounts/${this.accountPath()}/orders/${id}`,
          undefined,
          this.timeout(),
        );
        if (answer.status === 404) {
          return null;
        }
        if (answer.status !== 200) {
          throw new Error(`schwab answered ${answer.status} to an order lookup: ${describe(answer.body)}`);
        }
        return this.statusReport(answer.body as SchwabOrder, clientOrderId);
      }
    }
    return null;
  }

  /**
   * Orders entered at or after `sinceMs`, each with our id when it is known (else `''`: not ours, or not yet
   * matched). Throws SchwabUnknownStatusError when one has a status the table does not settle, so that a
   * match never picks around an order whose state nobody knows.
   */
  async listOrders(sinceMs: number): Promise<OrderStatusReport[]> {
    const orders = await this.ordersSince(sinceMs);
    const reports: OrderStatusReport[] = [];
    for (const order of orders) {
      reports.push(this.statusReport(order, (await this.ourId(String(order.orderId))) ?? ''));
    }
    return reports;
  }

  /** Executions at or after `sinceMs`, from the orders entered up to seven days before it. */
  async listFills(sinceMs: number): Promise<FillReport[]> {
    const fills: FillReport[] = [];
    for (const order of await this.ordersSince(sinceMs - FILL_ORDER_LOOKBACK_MS)) {
      const id = String(order.orderId);
      const symbol = this.symbolOf(order);
      const side = this.sideOf(order);
      const clientOrderId = (await this.ourId(id)) ?? '';
      for (const fill of this.fillsOf(order)) {
        if (fill.executedAt >= sinceMs && symbol !== null && side !== null) {
          fills.push({ ...fill, clientOrderId, brokerOrderId: id, symbol, side, raw: order });
        }
      }
    }
    return fills;
  }

  /**
   * `GET /accounts/{hash}` (PROTOCOLS.md A2): `currentBalances.cashBalance`, `buyingPower` (else
   * `cashAvailableForTrading`) and `liquidationValue` (else `equity`), doubles read as decimals.
   */
  async balances(signal?: AbortSignal): Promise<BalanceReport> {
    const answer = await this.request('GET', `/accounts/${this.accountPath()}`, undefined, signal ?? this.timeout());
    if (answer.status !== 200) {
      throw new Error(`schwab answered ${answer.status} to the account: ${describe(answer.body)}`);
    }
    const balances = (answer.body as { securitiesAccount?: { currentBalances?: Record<string, unknown> } })
      ?.securitiesAccount?.currentBalances;
    const field = (...names: string[]): Decimal => {
      for (const name of names) {
        const value = balances?.[name];
        if (typeof value === 'number' && Number.isFinite(value)) {
          return new Decimal(String(value));
        }
      }
      throw new Error(`schwab's account has no ${names.join(' or ')} in currentBalances`);
    };
    return {
      cash: field('cashBalance'),
      buyingPower: field('buyingPower', 'cashAvailableForTrading'),
      equity: field('liquidationValue', 'equity'),
      currency: 'USD',
      asOf: Date.now(),
    };
  }

  /** `GET /accounts/{hash}?fields=positions`: `longQuantity − shortQuantity` per instrument, our symbology. */
  async positions(signal?: AbortSignal): Promise<PositionReport[]> {
    const answer = await this.request(
      'GET',
      `/accounts/${this.accountPath()}?fields=positions`,
      undefined,
      signal ?? this.timeout(),
    );
    if (answer.status !== 200) {
      throw new Error(`schwab answered ${answer.status} to the positions: ${describe(answer.body)}`);
    }
    const list = (answer.body as { securitiesAccount?: { positions?: Record<string, unknown>[] } })?.securitiesAccount
      ?.positions;
    const reports: PositionReport[] = [];
    for (const p of list ?? []) {
      const instrument = (p['instrument'] ?? {}) as { symbol?: string };
      const symbol = typeof instrument.symbol === 'string' ? fromSchwabSymbol(instrument.symbol) : null;
      if (symbol === null) {
        this.config.logger.warn(
          { venue: this.venue, symbol: instrument.symbol },
          'schwab position in a symbol we do not read: left out',
        );
        continue;
      }
      const quantity = dec(p['longQuantity'] as number).minus(dec(p['shortQuantity'] as number));
      if (quantity.isZero()) {
        continue;
      }
      const average = p['averagePrice'];
      reports.push({
        symbol,
        quantity,
        averagePrice: typeof average === 'number' ? new Decimal(String(average)) : null,
        raw: p,
      });
    }
    return reports;
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.listeners.onExecutionReport(listener);
  }

  onConnectionChange(listener: ConnectionListener): () => void {
    return this.listeners.onConnectionChange(listener, this.stream.downNotice());
  }

  /** Whether the stream is subscribed now and the last heal pass was clean. */
  isConnected(): boolean {
    return this.stream.connected;
  }

  // ---- orders ----

  private orderBody(
    command: SubmitOrderCommand,
    instrument: { symbol: string; assetType: 'EQUITY' | 'OPTION' },
    instruction: string,
    quantity: Decimal,
  ): Record<string, unknown> {
    // Prices as strings, as schwab-py sends them (floats deprecated there); quantity a whole number.
    return {
      orderType: TYPES[command.type],
      session: 'NORMAL',
      duration: TIFS[command.timeInForce],
      orderStrategyType: 'SINGLE',
      ...(command.limitPrice === null ? {} : { price: command.limitPrice.toString() }),
      ...(command.stopPrice === null ? {} : { stopPrice: command.stopPrice.toString() }),
      orderLegCollection: [{ instruction, quantity: Number(quantity.toString()), instrument }],
    };
  }

  private orderIdIn(location: string | null): string | null {
    const match = location === null ? null : LOCATION.exec(location.replace(/\?.*$/, ''));
    return match ? match[2]! : null;
  }

  private learn(brokerOrderId: string, clientOrderId: string): void {
    this.orderIds.set(brokerOrderId, clientOrderId);
    bounded(this.orderIds);
    if (this.unmapped.delete(brokerOrderId)) {
      this.refresh(brokerOrderId);
    }
  }

  private async ourId(brokerOrderId: string): Promise<string | null> {
    const known = this.orderIds.get(brokerOrderId);
    if (known !== undefined) {
      return known;
    }
    const resolved = (await this.config.resolveOrderId?.(brokerOrderId).catch(() => null)) ?? null;
    if (resolved !== null) {
      this.orderIds.set(brokerOrderId, resolved);
      bounded(this.orderIds);
    }
    return resolved;
  }

  private symbolOf(order: SchwabOrder): string | null {
    const symbol = order.orderLegCollection?.[0]?.instrument.symbol;
    return symbol === undefined ? null : fromSchwabSymbol(symbol);
  }

  private sideOf(order: SchwabOrder): 'buy' | 'sell' | null {
    const instruction = order.orderLegCollection?.[0]?.instruction ?? '';
    return instruction.startsWith('BUY') ? 'buy' : instruction.startsWith('SELL') ? 'sell' : null;
  }

  /** The order's executions (orderActivityCollection, EXECUTION), oldest first, with the cumulative quantity. */
  private fillsOf(order: SchwabOrder): SchwabFill[] {
    const fills: SchwabFill[] = [];
    let cumulative = new Decimal(0);
    let n = 0;
    for (const activity of order.orderActivityCollection ?? []) {
      n += 1;
      if (activity.activityType !== undefined && activity.activityType !== 'EXECUTION') {
        continue;
      }
      for (const [i, leg] of (activity.executionLegs ?? []).entries()) {
        const quantity = dec(leg.quantity);
        cumulative = cumulative.plus(quantity);
        const activityId = activity.activityId === undefined ? `n${n}` : String(activity.activityId);
        fills.push({
          brokerExecutionId: schwabExecutionId(String(order.orderId), i === 0 ? activityId : `${activityId}.${i}`),
          quantity,
          price: dec(leg.price),
          executedAt: parseSchwabTime(leg.time) || Date.now(),
          cumulativeQuantity: cumulative,
        });
      }
    }
    return fills;
  }

  private statusReport(order: SchwabOrder, clientOrderId: string): OrderStatusReport {
    const filled = dec(order.filledQuantity);
    const status = schwabOurStatus(order.status, filled);
    const symbol = this.symbolOf(order);
    const side = this.sideOf(order);
    if (status === null || symbol === null || side === null) {
      this.alertStatus(order);
      throw new SchwabUnknownStatusError(order.status, String(order.orderId));
    }
    const fills = this.fillsOf(order);
    const notional = fills.reduce((sum, f) => sum.plus(f.quantity.times(f.price)), new Decimal(0));
    const replacedBy = order.replacingOrderCollection?.[0]?.orderId;
    return {
      clientOrderId,
      brokerOrderId: String(order.orderId),
      symbol,
      side,
      type: OUR_TYPES[order.orderType] ?? 'limit',
      quantity: dec(order.quantity),
      limitPrice: order.price === undefined ? null : dec(order.price),
      status,
      filledQuantity: filled,
      averageFillPrice: filled.gt(0) ? notional.dividedBy(filled) : null,
      createdAt: parseSchwabTime(order.enteredTime),
      ...(order.status === 'PENDING_REPLACE' ? { replacePending: true } : {}),
      ...(replacedBy !== undefined ? { replacedByBrokerOrderId: String(replacedBy) } : {}),
      raw: order,
    };
  }

  private alertStatus(order: SchwabOrder): void {
    this.config.logger.error(
      { alert: 'schwab_status_unknown', venue: this.venue, brokerOrderId: String(order.orderId), status: order.status },
      'schwab order status not in the status table: the order is treated as unknown',
    );
  }

  /** Orders entered from `sinceMs` to a minute from now (both bounds are required by Schwab). */
  private async ordersSince(sinceMs: number): Promise<SchwabOrder[]> {
    const now = Date.now();
    const from = Math.max(sinceMs, now - 364 * 24 * 3_600_000);
    const query = `fromEnteredTime=${encodeURIComponent(queryTime(from))}&toEnteredTime=${encodeURIComponent(queryTime(now + 60_000))}&maxResults=3000`;
    const answer = await this.request(
      'GET',
      `/accounts/${this.accountPath()}/orders?${query}`,
      undefined,
      this.timeout(),
    );
    if (answer.status !== 200 || !Array.isArray(answer.body)) {
      throw new Error(`schwab answered ${answer.status} to the order list: ${describe(answer.body)}`);
    }
    return answer.body as SchwabOrder[];
  }

  /** Re-reads one order (the stream named it) and reports what changed; one at a time per order. */
  private refresh(brokerOrderId: string): void {
    const previous = this.refreshing.get(brokerOrderId) ?? Promise.resolve();
    const next = previous
      .then(async () => {
        const answer = await this.request(
          'GET',
          `/accounts/${this.accountPath()}/orders/${brokerOrderId}`,
          undefined,
          this.timeout(),
        );
        if (answer.status !== 200) {
          throw new Error(`schwab answered ${answer.status} to the order ${brokerOrderId}`);
        }
        await this.apply(answer.body as SchwabOrder, { source: 'schwab_stream' });
      })
      .catch((error: unknown) => {
        // The next heal pass, or the reconciler, reads it again.
        this.config.logger.warn(
          { err: error, venue: this.venue, brokerOrderId, accountId: this.config.accountId },
          'schwab: re-reading an order the stream named failed',
        );
      })
      .finally(() => {
        if (this.refreshing.get(brokerOrderId) === next) {
          this.refreshing.delete(brokerOrderId);
        }
      });
    this.refreshing.set(brokerOrderId, next);
  }

  /** Reports what is new about one Schwab order: fills not yet reported, then its terminal status once. */
  private async apply(order: SchwabOrder, source: Record<string, unknown>): Promise<void> {
    const id = String(order.orderId);
    const clientOrderId = await this.ourId(id);
    if (clientOrderId === null) {
      this.unmapped.add(id);
      bounded(this.unmapped);
      return; // not ours, or its 201 is still on the way (learn() re-reads it then)
    }
    const symbol = this.symbolOf(order);
    const side = this.sideOf(order);
    const filled = dec(order.filledQuantity);
    const status = schwabOurStatus(order.status, filled);
    if (status === null || symbol === null || side === null) {
      this.alertStatus(order);
      return;
    }
    this.lastAppliedAt = Math.max(this.lastAppliedAt, Date.now());
    const quantity = dec(order.quantity);
    const base = { venue: this.venue, clientOrderId, brokerOrderId: id, symbol, side };
    const fills = this.fillsOf(order).filter((f) => !this.seenFills.has(f.brokerExecutionId));
    if (!this.lastStatus.has(id) && fills.length === 0 && (status === 'new' || status === 'partially_filled')) {
      this.lastStatus.set(id, 'new');
      this.listeners.emit({
        ...base,
        execType: 'new',
        cumulativeQuantity: filled,
        leavesQuantity: Decimal.max(quantity.minus(filled), 0),
        transactTime: parseSchwabTime(order.enteredTime) || Date.now(),
        raw: { ...source, order },
      });
    }
    for (const fill of fills) {
      this.seenFills.add(fill.brokerExecutionId);
      bounded(this.seenFills);
      this.lastStatus.set(id, this.lastStatus.get(id) ?? 'new');
      this.listeners.emit({
        ...base,
        execType: 'trade',
        cumulativeQuantity: fill.cumulativeQuantity,
        leavesQuantity: Decimal.max(quantity.minus(fill.cumulativeQuantity), 0),
        execution: {
          brokerExecutionId: fill.brokerExecutionId,
          quantity: fill.quantity,
          price: fill.price,
          executedAt: fill.executedAt,
        },
        transactTime: fill.executedAt,
        raw: { ...source, order },
      });
    }
    bounded(this.lastStatus);
    const terminal: ExecType | null =
      status === 'canceled' || status === 'expired' || status === 'replaced' || status === 'rejected' ? status : null;
    if (terminal !== null && this.lastStatus.get(id) !== terminal) {
      this.lastStatus.set(id, terminal);
      this.listeners.emit({
        ...base,
        execType: terminal,
        cumulativeQuantity: filled,
        leavesQuantity: new Decimal(0),
        ...(terminal === 'replaced' ? {} : { reason: `schwab: ${order.status}` }),
        transactTime: Date.now(),
        raw: { ...source, order },
      });
    }
  }

  // ---- stream ----

  private send(socket: StreamSocket, requestid: string, service: string, command: string, parameters: object): void {
    const s = this.streamer!;
    socket.send(
      JSON.stringify({
        requests: [
          {
            service,
            command,
            requestid,
            SchwabClientCustomerId: s.customerId,
            SchwabClientCorrelId: s.correlId,
            parameters,
          },
        ],
      }),
    );
  }

  private open(): void {
    if (this.stream.closed || this.streamer === null) {
      return;
    }
    let gone = false;
    this.lastMessageAt = Date.now();
    const socket = this.config.connect(this.streamer.url, {
      onOpen: () => {
        this.lastMessageAt = Date.now();
        this.send(socket, '1', 'ADMIN', 'LOGIN', {
          Authorization: this.config.accessToken,
          SchwabClientChannel: this.streamer!.channel,
          SchwabClientFunctionId: this.streamer!.functionId,
        });
      },
      onMessage: (text) => {
        if (socket !== this.socket) {
          return;
        }
        this.lastMessageAt = Date.now();
        this.onStreamMessage(socket, text);
      },
      onClose: (reason) => {
        if (gone) {
          return;
        }
        gone = true;
        if (socket === this.socket) {
          this.onStreamClosed(this.stream.authRefused ? 'schwab refused the access token on the streamer' : reason);
        }
      },
    });
    this.socket = socket;
  }

  private onStreamMessage(socket: StreamSocket, text: string): void {
    let message: { response?: unknown; data?: unknown; notify?: unknown };
    try {
      message = JSON.parse(text) as typeof message;
    } catch {
      this.config.logger.warn({ venue: this.venue }, 'schwab streamer: a frame that is not JSON was ignored');
      return;
    }
    for (const response of Array.isArray(message.response) ? (message.response as Record<string, unknown>[]) : []) {
      const code = (response['content'] as { code?: unknown } | undefined)?.code;
      if (response['service'] === 'ADMIN' && response['command'] === 'LOGIN') {
        if (code === 0) {
          this.send(socket, '2', 'ACCT_ACTIVITY', 'SUBS', {
            keys: this.streamer!.correlId || 'Account Activity',
            fields: '0,1,2,3',
          });
          // The quotes share the one connection Schwab allows per user (PDF §1.2).
          this.marketData.attach((r) => {
            if (socket === this.socket) {
              this.send(socket, String(this.nextRequestId++), r.service, r.command, r.parameters);
            }
          });
        } else {
          this.stream.authRefused = code === 3;
          socket.close();
        }
      } else if (response['service'] === 'ACCT_ACTIVITY' && response['command'] === 'SUBS') {
        if (code === 0) {
          void this.onSubscribed(socket);
        } else {
          socket.close();
        }
      } else if (response['service'] === 'LEVELONE_EQUITIES' || response['service'] === 'LEVELONE_OPTIONS') {
        const content = response['content'] as { msg?: unknown } | undefined;
        this.marketData.onResponse(String(response['service']), String(response['command']), code, content?.msg);
      }
    }
    for (const data of Array.isArray(message.data) ? (message.data as Record<string, unknown>[]) : []) {
      if (!Array.isArray(data['content'])) {
        continue;
      }
      if (data['service'] === 'LEVELONE_EQUITIES' || data['service'] === 'LEVELONE_OPTIONS') {
        this.marketData.onData(data['service'], data['content'] as unknown[]);
        continue;
      }
      if (data['service'] !== 'ACCT_ACTIVITY') {
        continue;
      }
      for (const item of data['content'] as Record<string, unknown>[]) {
        const id = orderIdOfActivity(item['3']);
        if (id !== null) {
          this.refresh(id);
        }
      }
    }
  }

  private async onSubscribed(socket: StreamSocket): Promise<void> {
    await this.stream.listening(
      () => this.heal(),
      (error) => {
        this.config.logger.warn(
          { err: error, venue: this.venue, accountId: this.config.accountId },
          'schwab heal pass after a reconnect failed: the stream is dropped and tried again',
        );
        socket.close();
      },
      () => socket === this.socket,
    );
  }

  private checkStall(): void {
    if (this.stream.closed || this.socket === null) {
      return;
    }
    const silent = Date.now() - this.lastMessageAt;
    if (silent > this.stallMs) {
      const socket = this.socket;
      this.config.logger.error(
        { alert: 'schwab_stream_stalled', venue: this.venue, accountId: this.config.accountId, silentMs: silent },
        'schwab streamer silent (no data, no heartbeat): reconnecting',
      );
      this.onStreamClosed(
        `stalled: no message or heartbeat for ${silent} ms (BROKER_<NAME>_STREAM_STALL_MS ${this.stallMs})`,
      );
      socket.close();
    }
  }

  private onStreamClosed(reason: string): void {
    this.socket = null;
    this.marketData.detach();
    this.stream.closedStream(reason);
  }

  /** After a reconnect: every order entered since well before the last applied event, re-read and applied. */
  private async heal(): Promise<void> {
    const since =
      Math.min(this.lastAppliedAt, this.stream.disconnectedAt ?? this.lastAppliedAt) - FILL_ORDER_LOOKBACK_MS;
    for (const order of [...(await this.ordersSince(since))].reverse()) {
      await this.apply(order, { source: 'schwab_heal' });
    }
    this.lastAppliedAt = Date.now();
  }

  // ---- REST ----

  private accountPath(): string {
    if (this.hash === null) {
      throw new Error('SchwabClient: start() first');
    }
    return encodeURIComponent(this.hash);
  }

  private async request(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<HttpAnswer> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.config.accessToken}`,
      accept: 'application/json',
    };
    return requestJson(this.fetchImpl, this.config.baseUrl, { method, path, headers, body, signal });
  }

  private timeout(): AbortSignal {
    return AbortSignal.timeout(this.config.requestTimeoutMs ?? 5_000);
  }
}

/** The order an ACCT_ACTIVITY item names: field `"3"`, a JSON string with `SchwabOrderID` (PROTOCOLS.md A4). */
function orderIdOfActivity(field: unknown): string | null {
  if (typeof field !== 'string') {
    return null;
  }
  try {
    const payload = JSON.parse(field) as { SchwabOrderID?: unknown };
    const id = payload.SchwabOrderID;
    return (typeof id === 'string' || typeof id === 'number') && /^\d+$/.test(String(id)) ? String(id) : null;
  } catch {
    return null; // error text, or not JSON
  }
}

/** Schwab's ServiceError `{message, errors}` as one line (never a header or token). */
function describe(body: unknown): string {
  if (body && typeof body === 'object' && 'message' in body) {
    const b = body as { message?: unknown; errors?: unknown };
    const errors = Array.isArray(b.errors) ? b.errors.filter((e) => typeof e === 'string') : [];
    return [String(b.message), ...errors].join(': ');
  }
  return typeof body === 'string' ? body.slice(0, 200) : JSON.stringify(body);
}
