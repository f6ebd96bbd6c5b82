import { randomUUID } from 'node:crypto';
import { type Clock, Decimal, systemClock, toDecimalString } from '@gateway/oms';
import type {
  CancelOrderCommand,
  CancelResult,
  ExecutionReportListener,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import type { Quote } from '../market-data.js';
import type { ExecType, ExecutionReport } from '../reports.js';
import type { MarketReplay } from './market-replay.js';
import {
  type EngineEvent,
  type EngineFill,
  type EngineOrder,
  type MarketState,
  MatchingEngine,
  isWorking,
  leavesOf,
  validateOrder,
} from './matching-engine.js';
import type { PaperFillListing, PaperFillRecord, PaperOrderRecord } from './paper-order-record.js';
import { InMemoryPaperVenueStore, type PaperVenueStore } from './paper-venue-store.js';
import type { TradePrint } from './trade-print.js';
import {
  type ArrivalHook,
  type FaultContext,
  type FaultModel,
  type HandledRequest,
  type LatencyModel,
  type SchedulingModel,
  type VenueAnswer,
  type VenueRequest,
  fixedLatency,
  noFaults,
  timerScheduling,
} from './venue-models.js';

/**
 * Configuration of a PaperExchange. Defaults: 5 ms latency, no faults, in-memory store, system clock,
 * setTimeout, errors to console.error.
 */
export interface PaperExchangeConfig {
  /** How long the exchange takes to act on a request and answer (default fixedLatency(5)). */
  readonly latency?: LatencyModel;
  /** How it misbehaves (default noFaults). */
  readonly faults?: FaultModel;
  readonly store?: PaperVenueStore;
  /** The exchange's own clock (epoch ms): order `createdAt`, report `transactTime`, the `sinceMs` filters. */
  readonly clock?: Clock;
  /** Receives store errors, errors thrown by report listeners and bugs while handling a request; it goes on. */
  readonly onError?: (error: unknown) => void;
  /** The exchange's timers (default timerScheduling: setTimeout). */
  readonly scheduling?: SchedulingModel;
  /** Told of every request that reaches the exchange, right after it is counted and before it is scheduled. */
  readonly onArrive?: ArrivalHook;
}

export interface PaperReportPayload {
  readonly venue: 'paper';
  readonly event: 'new' | 'fill' | 'canceled' | 'replaced';
  /** The order after the event, without its fills. */
  readonly order: Omit<PaperOrderRecord, 'fills'>;
  readonly fill?: PaperFillRecord;
  /** On a `replaced` event: the order that replaced this one. */
  readonly replacement?: { readonly brokerOrderId: string; readonly clientOrderId: string };
}

const ZERO = new Decimal(0);

function toFillRecord(fill: EngineFill): PaperFillRecord {
  return {
    brokerExecutionId: fill.brokerExecutionId,
    quantity: toDecimalString(fill.quantity),
    price: toDecimalString(fill.price),
    executedAt: fill.executedAt,
    reportedAt: fill.reportedAt,
    liquidity: fill.liquidity,
  };
}

function orderView(order: EngineOrder): Omit<PaperOrderRecord, 'fills'> {
  const { fills: _fills, ...view } = toPaperRecord(order);
  return view;
}

/** The paper record (plain JSON) of an order's state. */
export function toPaperRecord(order: EngineOrder): PaperOrderRecord {
  return {
    brokerOrderId: order.brokerOrderId,
    clientOrderId: order.clientOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    timeInForce: order.timeInForce,
    quantity: toDecimalString(order.quantity),
    limitPrice: order.limitPrice === null ? null : toDecimalString(order.limitPrice),
    stopPrice: order.stopPrice === null ? null : toDecimalString(order.stopPrice),
    status: order.status,
    filledQuantity: toDecimalString(order.filledQuantity),
    averageFillPrice: order.averageFillPrice === null ? null : toDecimalString(order.averageFillPrice),
    triggered: order.triggered,
    resting: order.resting,
    reason: order.reason,
    createdAt: order.createdAt,
    updatedAt: order.updatedAt,
    fills: order.fills.map(toFillRecord),
  };
}

function fromRecord(record: PaperOrderRecord): EngineOrder {
  const decimalOrNull = (text: string | null): Decimal | null => (text === null ? null : new Decimal(text));
  return {
    brokerOrderId: record.brokerOrderId,
    clientOrderId: record.clientOrderId,
    symbol: record.symbol,
    side: record.side,
    type: record.type,
    timeInForce: record.timeInForce,
    quantity: new Decimal(record.quantity),
    limitPrice: decimalOrNull(record.limitPrice),
    stopPrice: decimalOrNull(record.stopPrice),
    createdAt: record.createdAt,
    status: record.status,
    filledQuantity: new Decimal(record.filledQuantity),
    averageFillPrice: decimalOrNull(record.averageFillPrice),
    filledNotional: record.fills.reduce((sum, f) => sum.plus(new Decimal(f.quantity).times(f.price)), ZERO),
    triggered: record.triggered,
    resting: record.resting,
    reason: record.reason,
    updatedAt: record.updatedAt,
    fills: record.fills.map((f) => ({
      brokerExecutionId: f.brokerExecutionId,
      quantity: new Decimal(f.quantity),
      price: new Decimal(f.price),
      executedAt: f.executedAt,
      reportedAt: f.reportedAt,
      liquidity: f.liquidity,
    })),
  };
}

function unknownResult(reason: string): { readonly kind: 'unknown'; readonly reason: string } {
  return { kind: 'unknown', reason };
}

/**
 * The paper exchange (`venue: 'paper'`): one MatchingEngine per symbol fed by a MarketReplay (prices
 * only from the recorded data or the order's own limit), the order store (indexes, fills log,
 * persistence to a PaperVenueStore), the execution-report stream, and the request pipeline: a request
 * arrives (its fault decided by the FaultModel), the exchange acts on it after the LatencyModel's delay
 * (a timer), answers, then carries on (matching the new order). Reports are delivered synchronously to
 * listeners, through the FaultModel's report stage. Transports (the in-process PaperVenue, the HTTP
 * fake broker) call submit/cancel/replace (or the receive* promises) and realise answer faults themselves.
 */
export class PaperExchange implements FaultContext {
  readonly venue = 'paper';
  private readonly latency: LatencyModel;
  private readonly faults: FaultModel;
  private readonly clock: Clock;
  private readonly errorSink: (error: unknown) => void;
  private readonly scheduling: SchedulingModel;
  private readonly onArrive: ArrivalHook | undefined;
  private readonly store: PaperVenueStore;
  private readonly ordersById = new Map<string, EngineOrder>();
  private readonly ordersByClientId = new Map<string, EngineOrder>();
  /** One matching engine per symbol. */
  private readonly engines = new Map<string, MatchingEngine>();
  private readonly fillLog: { readonly order: EngineOrder; readonly fill: PaperFillRecord }[] = [];
  private readonly received: SubmitOrderCommand[] = [];
  private readonly receivedReplaceCommands: ReplaceOrderCommand[] = [];
  private readonly listeners = new Set<ExecutionReportListener>();
  private readonly unsubscribe: (() => void)[];
  private saving: Promise<void> = Promise.resolve();

  constructor(
    private readonly replay: MarketReplay,
    config: PaperExchangeConfig = {},
  ) {
    this.latency = config.latency ?? fixedLatency(5);
    this.faults = config.faults ?? noFaults;
    this.store = config.store ?? new InMemoryPaperVenueStore();
    this.clock = config.clock ?? systemClock;
    this.errorSink = config.onError ?? ((error) => console.error('[paper-venue]', error));
    this.scheduling = config.scheduling ?? timerScheduling;
    this.onArrive = config.onArrive;
    this.unsubscribe = [replay.onQuote((q) => this.onQuote(q)), replay.onTrade((t) => this.onTrade(t))];
  }

  // ---- requests ----

  /** A submit: `deliver` gets the answer (or the answer fault) once the exchange acted. */
  submit(command: SubmitOrderCommand, deliver: (answer: VenueAnswer<SubmitResult>) => void): void {
    this.dispatch<SubmitResult>({ kind: 'submit', command }, unknownResult, () => this.handleSubmit(command), deliver);
  }

  /** A cancel (see submit). */
  cancel(command: CancelOrderCommand, deliver: (answer: VenueAnswer<CancelResult>) => void): void {
    this.dispatch<CancelResult>({ kind: 'cancel', command }, unknownResult, () => this.handleCancel(command), deliver);
  }

  /** A replace (see submit). */
  replace(command: ReplaceOrderCommand, deliver: (answer: VenueAnswer<ReplaceResult>) => void): void {
    this.dispatch<ReplaceResult>(
      { kind: 'replace', command },
      unknownResult,
      () => this.handleReplace(command),
      deliver,
    );
  }

  /** A submit as a transport delivers it: resolves with the answer or the answer fault, once the exchange acted. */
  receiveSubmit(command: SubmitOrderCommand): Promise<VenueAnswer<SubmitResult>> {
    return new Promise((resolve) => this.submit(command, resolve));
  }

  /** A cancel as a transport delivers it (see receiveSubmit). */
  receiveCancel(command: CancelOrderCommand): Promise<VenueAnswer<CancelResult>> {
    return new Promise((resolve) => this.cancel(command, resolve));
  }

  /** A replace as a transport delivers it (see receiveSubmit). */
  receiveReplace(command: ReplaceOrderCommand): Promise<VenueAnswer<ReplaceResult>> {
    return new Promise((resolve) => this.replace(command, resolve));
  }

  // ---- the report stream ----

  onExecutionReport(listener: ExecutionReportListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Sends a report to the listeners through the fault model's report stage (it may hold, drop or repeat it). */
  publish(report: ExecutionReport): void {
    this.faults.onReport(report, (r) => this.deliver(r));
  }

  // ---- for fault models ----

  now(): number {
    return this.clock.now();
  }

  onError(error: unknown): void {
    this.errorSink(error);
  }

  /** Runs `action` after `delayMs` wall-clock ms, on the exchange's scheduler. */
  schedule(delayMs: number, action: () => void): void {
    this.scheduling.schedule(delayMs, action, null);
  }

  // ---- state ----

  /** An order's state now (read-only), by client order id. */
  order(clientOrderId: string): EngineOrder | undefined {
    return this.ordersByClientId.get(clientOrderId);
  }

  /** The orders created at or after `sinceMs` on the exchange's clock, oldest first. */
  orders(sinceMs: number): EngineOrder[] {
    return [...this.ordersById.values()].filter((o) => o.createdAt >= sinceMs);
  }

  /** Every SubmitOrderCommand that reached the venue (duplicates and rejected ones included), in order. */
  receivedOrders(): readonly SubmitOrderCommand[] {
    return [...this.received];
  }

  /** Every ReplaceOrderCommand that reached the venue (rejected ones included), in order. */
  receivedReplaces(): readonly ReplaceOrderCommand[] {
    return [...this.receivedReplaceCommands];
  }

  /** The venue's record of one order (plain JSON, with its fills), by client order id; null when unknown. */
  orderRecord(clientOrderId: string): PaperOrderRecord | null {
    const order = this.ordersByClientId.get(clientOrderId);
    return order === undefined ? null : toPaperRecord(order);
  }

  /** The venue's records of the orders created at or after `sinceMs` on its clock, oldest first. */
  orderRecords(sinceMs: number): PaperOrderRecord[] {
    return [...this.ordersById.values()].filter((o) => o.createdAt >= sinceMs).map(toPaperRecord);
  }

  /** Fills that happened at or after `sinceMs` on the venue's clock (`reportedAt`), in order, as plain JSON. */
  fillRecords(sinceMs: number): PaperFillListing[] {
    return this.fillLog
      .filter(({ fill }) => fill.reportedAt >= sinceMs)
      .map(({ order, fill }) => ({
        ...fill,
        clientOrderId: order.clientOrderId,
        brokerOrderId: order.brokerOrderId,
        symbol: order.symbol,
        side: order.side,
      }));
  }

  /**
   * A fill out of the market data (for fault models and TestPaperVenue): fills `quantity` of a working
   * order now, through the normal fill path (a `trade` report, the fills log, persistence). `price` defaults to the order's limit price, else the current quote's
   * ask (buy) or bid (sell). Throws Error for an unknown or no longer working order, a non-positive
   * quantity, a quantity above what is left (never clamped: a test asking for an overfill is wrong), or
   * when no price is given and none is available.
   */
  forceFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void {
    const order = this.hookTarget('forceFill', clientOrderId, quantity);
    if (!isWorking(order)) {
      throw new Error(`forceFill: order ${clientOrderId} is ${order.status}, not working (use lateFill)`);
    }
    this.fillNow(order, quantity, price);
  }

  /**
   * A late fill (for fault models and TestPaperVenue): a fill that raced a cancel or replace at the
   * exchange and arrives after it. Applies `quantity` to an order that is no longer working (`canceled` or `replaced`): the filled quantity
   * grows, the status becomes `filled` when complete and stays otherwise, a `trade` report (leaves 0) is
   * emitted and the fill is listed by listFills. `price` defaults as for forceFill. Throws Error for an
   * unknown order, a working or already filled order, a non-positive quantity, or a quantity above what
   * the order has not filled (never clamped).
   */
  lateFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void {
    const order = this.hookTarget('lateFill', clientOrderId, quantity);
    if (order.status !== 'canceled' && order.status !== 'replaced') {
      throw new Error(`lateFill: order ${clientOrderId} is ${order.status}, not canceled or replaced`);
    }
    this.fillNow(order, quantity, price);
  }

  /**
   * Loads the book from the store (after a restart): every order, with the working ones back in matching
   * (a restored order may take once more from the current quote). Returns the number of orders loaded.
   * Throws Error when the venue has already received an order.
   */
  async restore(): Promise<number> {
    if (this.received.length > 0 || this.receivedReplaceCommands.length > 0 || this.ordersById.size > 0) {
      throw new Error('PaperVenue.restore() must run before the venue receives any order');
    }
    const records = [...(await this.store.load())].sort((a, b) => a.createdAt - b.createdAt);
    for (const record of records) {
      const engine = this.engineFor(record.symbol);
      engine.restore(fromRecord(record));
      const order = this.index(engine, record.brokerOrderId);
      for (const fill of record.fills) {
        this.fillLog.push({ order, fill: { ...fill } });
      }
    }
    this.fillLog.sort((a, b) => a.fill.reportedAt - b.fill.reportedAt);
    return records.length;
  }

  /** Resolves once every save so far has been handed to the store (failures go to onError). */
  flush(): Promise<void> {
    return this.saving;
  }

  /** Stops listening to the replay. Answers already scheduled are still delivered. */
  close(): void {
    for (const off of this.unsubscribe) {
      off();
    }
  }
  // ---- the request pipeline ----

  /**
   * One request, the exchange's side: the fault model decides its fault; unless the connection is
   * reset, it arrives (counted), and after the latency the exchange acts on it, answers through
   * `deliver` and carries on (`after`).
   */
  private dispatch<R>(
    request: VenueRequest,
    unknown: (reason: string) => R,
    handle: () => HandledRequest<R>,
    deliver: (answer: VenueAnswer<R>) => void,
  ): void {
    const fault = this.faults.onRequest(request, this);
    if (fault?.kind === 'connection_reset') {
      deliver({ fault: 'connection_reset', result: null });
      return;
    }
    this.arrive(request);
    const ack = fault?.kind === 'ack_delay' ? fault.delayMs : this.latency.ackMs(request);
    const delayMs = ack + this.latency.extraMs(request);
    this.scheduling.schedule(
      delayMs,
      () => {
        const kind = fault?.kind;
        const handled = this.faults.act(request, () => this.act(unknown, handle), this, kind === 'ack_lost');
        if (kind === 'ack_lost' || kind === 'error_after_accept' || kind === 'accepted_without_id') {
          deliver({ fault: kind, result: handled.result });
        } else {
          deliver({ fault: null, result: handled.result }); // ack_delay acted late; the answer is normal
        }
        this.carryOn(handled);
      },
      request,
    );
  }

  /** A request reaching the exchange: submits and replaces are counted (receivedOrders, receivedReplaces). */
  private arrive(request: VenueRequest): void {
    switch (request.kind) {
      case 'submit':
        this.received.push(request.command);
        break;
      case 'replace':
        this.receivedReplaceCommands.push(request.command);
        break;
      case 'cancel':
        break;
    }
    this.onArrive?.(request, this);
  }

  /** Runs a request handler; a bug while handling answers `unknown` and goes to onError. */
  private act<R>(unknown: (reason: string) => R, handle: () => HandledRequest<R>): HandledRequest<R> {
    try {
      return handle();
    } catch (error) {
      this.onError(error);
      return { result: unknown('paper venue internal error') };
    }
  }

  /** Runs what the venue does after answering; a bug goes to onError. */
  private carryOn(handled: HandledRequest<unknown>): void {
    try {
      handled.after?.();
    } catch (error) {
      this.onError(error);
    }
  }

  /**
   * The venue's record of the order a cancel or replace is about: by broker order id, else by client order
   * id (null when unknown). The client order id is not checked here.
   */
  lookupOrder(brokerOrderId: string, clientOrderId: string): PaperOrderRecord | null {
    const order = this.ordersById.get(brokerOrderId) ?? this.ordersByClientId.get(clientOrderId);
    return order === undefined ? null : toPaperRecord(order);
  }

  /** The venue receiving a submit: validate, book the order, report `new`; match right after the answer. */
  private handleSubmit(command: SubmitOrderCommand): HandledRequest<SubmitResult> {
    const reject = (reason: string): HandledRequest<SubmitResult> => ({
      result: { kind: 'rejected', reason, raw: { status: 'rejected', clientOrderId: command.clientOrderId, reason } },
    });
    if (this.ordersByClientId.has(command.clientOrderId)) {
      return reject('duplicate client order id');
    }
    if (this.replay.instrument(command.symbol) === undefined) {
      return reject(`unknown symbol: no market data for ${JSON.stringify(command.symbol)}`);
    }
    const invalid = validateOrder(command);
    if (invalid !== null) {
      return reject(invalid);
    }
    const order = this.book(command);
    return {
      // raw: the venue's record of the new order as it answered (what the HTTP fake answers with).
      result: { kind: 'accepted', brokerOrderId: order.brokerOrderId, raw: orderView(order) },
      after: () => this.activate(order),
    };
  }

  /** The venue receiving a cancel: answer, then cancel the order. */
  private handleCancel(command: CancelOrderCommand): HandledRequest<CancelResult> {
    const reject = (reason: string): HandledRequest<CancelResult> => ({
      result: {
        kind: 'rejected',
        reason,
        raw: { status: 'cancel_rejected', clientOrderId: command.clientOrderId, reason },
      },
    });
    const order = this.ordersById.get(command.brokerOrderId) ?? this.ordersByClientId.get(command.clientOrderId);
    if (order === undefined) {
      return reject('order not found');
    }
    if (order.clientOrderId !== command.clientOrderId) {
      return reject('client order id does not match the order');
    }
    if (!isWorking(order)) {
      return reject(`order already ${order.status}`);
    }
    return {
      result: { kind: 'accepted', raw: { status: 'pending_cancel', brokerOrderId: order.brokerOrderId } },
      after: () => {
        this.apply(this.engineFor(order.symbol).cancel(order.brokerOrderId, 'canceled by client', this.clock.now()));
      },
    };
  }

  /**
   * The venue receiving a replace: check, end the old order `replaced`, book the replacement (reports
   * `replaced` then `new`), answer; match the replacement right after the answer.
   */
  private handleReplace(command: ReplaceOrderCommand): HandledRequest<ReplaceResult> {
    const reject = (reason: string): HandledRequest<ReplaceResult> => ({
      result: {
        kind: 'rejected',
        reason,
        raw: { status: 'replace_rejected', clientOrderId: command.clientOrderId, reason },
      },
    });
    const old = this.ordersById.get(command.brokerOrderId) ?? this.ordersByClientId.get(command.clientOrderId);
    if (old === undefined) {
      return reject('order not found');
    }
    if (old.clientOrderId !== command.clientOrderId) {
      return reject('client order id does not match the order');
    }
    if (!isWorking(old)) {
      return reject(`order already ${old.status}`);
    }
    if (this.ordersByClientId.has(command.newClientOrderId)) {
      return reject('duplicate client order id');
    }
    if (!command.quantity.isFinite()) {
      return reject('quantity must be positive');
    }
    // FIX OrderQty on a replace is the chain's new total: the replacement works what is left of it.
    const quantity = command.quantity.minus(old.filledQuantity);
    if (!quantity.greaterThan(0)) {
      return reject('new quantity does not exceed the filled quantity');
    }
    const replacement: SubmitOrderCommand = {
      clientOrderId: command.newClientOrderId,
      symbol: old.symbol,
      side: old.side,
      type: old.type,
      timeInForce: old.timeInForce,
      quantity,
      limitPrice: command.limitPrice ?? old.limitPrice,
      stopPrice: command.stopPrice ?? old.stopPrice,
    };
    const invalid = validateOrder(replacement);
    if (invalid !== null) {
      return reject(invalid);
    }
    const brokerOrderId = randomUUID();
    const engine = this.engineFor(old.symbol);
    const events = engine.replace(old.brokerOrderId, { ...replacement, brokerOrderId }, this.clock.now());
    const order = this.index(engine, brokerOrderId);
    this.apply(events);
    return {
      result: {
        kind: 'accepted',
        brokerOrderId: order.brokerOrderId,
        quantity: order.quantity,
        raw: { ...orderView(order), replacesBrokerOrderId: old.brokerOrderId },
      },
      after: () => this.activate(order),
    };
  }

  // ---- booking, matching and out-of-band fills ----

  /** The matching engine of a symbol (created on first use). */
  private engineFor(symbol: string): MatchingEngine {
    let engine = this.engines.get(symbol);
    if (engine === undefined) {
      engine = new MatchingEngine({ symbol });
      this.engines.set(symbol, engine);
    }
    return engine;
  }

  /** What the engine of `symbol` is told about the time and the market now. */
  private market(symbol: string): MarketState {
    const now = this.clock.now();
    return {
      now,
      quote: this.replay.getQuote(symbol),
      lastTrade: this.replay.lastTrade(symbol),
      recordedAt: this.replay.recordedEpochMs(symbol) ?? now,
      hasTrades: (this.replay.instrument(symbol)?.tradeSource ?? null) !== null,
    };
  }

  /** Indexes an order the engine has just booked (by broker and client order id). */
  private index(engine: MatchingEngine, brokerOrderId: string): EngineOrder {
    const order = engine.order(brokerOrderId)!;
    this.ordersById.set(order.brokerOrderId, order);
    this.ordersByClientId.set(order.clientOrderId, order);
    return order;
  }

  /** Books a validated order as `new` (indexed, in the book, persisted, `new` reported). */
  private book(command: SubmitOrderCommand, brokerOrderId: string = randomUUID()): EngineOrder {
    const engine = this.engineFor(command.symbol);
    const events = engine.submit({ ...command, brokerOrderId }, this.clock.now());
    const order = this.index(engine, brokerOrderId);
    this.apply(events);
    return order;
  }

  /** The order's arrival, after the answer: matched at once (a stop only if it triggers now); applies IOC/FOK. */
  private activate(order: EngineOrder): void {
    this.apply(this.engineFor(order.symbol).activate(order.brokerOrderId, this.market(order.symbol)));
  }

  private onQuote(quote: Quote): void {
    this.apply(this.engineFor(quote.symbol).onQuote(quote, this.market(quote.symbol)));
  }

  private onTrade(trade: TradePrint): void {
    const engine = this.engines.get(trade.symbol);
    if (engine !== undefined && trade.lastSaleEligible) {
      this.apply(engine.onTrade(trade, this.market(trade.symbol)));
    }
  }

  /** The order an out-of-band fill acts on, with its quantity checked against what the order has not filled. */
  private hookTarget(hook: string, clientOrderId: string, quantity: Decimal): EngineOrder {
    const order = this.ordersByClientId.get(clientOrderId);
    if (order === undefined) {
      throw new Error(`${hook}: unknown order ${JSON.stringify(clientOrderId)}`);
    }
    if (!quantity.isFinite() || !quantity.greaterThan(0)) {
      throw new Error(`${hook}: quantity must be positive, got ${quantity.toString()}`);
    }
    const unfilled = order.quantity.minus(order.filledQuantity);
    if (quantity.greaterThan(unfilled)) {
      throw new Error(
        `${hook}: ${quantity.toFixed()} would overfill order ${clientOrderId} (${unfilled.toFixed()} not filled)`,
      );
    }
    return order;
  }

  /** A test-hook fill: at `price`, else the order's limit, else the current quote's ask (buy) or bid (sell). */
  private fillNow(order: EngineOrder, quantity: Decimal, price: Decimal | undefined): void {
    const market = this.market(order.symbol);
    const quoted = market.quote === undefined ? undefined : order.side === 'buy' ? market.quote.ask : market.quote.bid;
    const at = price ?? order.limitPrice ?? (quoted?.greaterThan(0) ? quoted : undefined);
    if (at === undefined || !at.isFinite() || !at.greaterThan(0)) {
      throw new Error(`no positive price to fill order ${order.clientOrderId} at`);
    }
    const own = order.limitPrice !== null && at.equals(order.limitPrice);
    this.apply(
      this.engineFor(order.symbol).fill(
        order.brokerOrderId,
        quantity,
        at,
        own ? 'maker' : 'taker',
        market.recordedAt,
        market.now,
      ),
    );
  }

  /** Carries out what the engine did: persists every change and reports `new`, fills, cancels and replaces. */
  private apply(events: readonly EngineEvent[]): void {
    for (const event of events) {
      const order = event.order;
      this.persist(order);
      switch (event.kind) {
        case 'accepted':
          this.publish(this.report(order, 'new', {}));
          break;
        case 'filled': {
          const fill = toFillRecord(event.fill);
          this.fillLog.push({ order: this.ordersById.get(order.brokerOrderId) ?? order, fill });
          this.publish(
            this.report(order, 'trade', {
              execution: {
                brokerExecutionId: fill.brokerExecutionId,
                quantity: event.fill.quantity,
                price: event.fill.price,
                executedAt: fill.executedAt,
              },
              fill,
            }),
          );
          break;
        }
        case 'canceled':
          this.publish(this.report(order, 'canceled', { reason: event.reason }));
          break;
        case 'replaced':
          this.publish(this.report(order, 'replaced', { replacement: event.by }));
          break;
        case 'triggered':
        case 'rested':
          break;
      }
    }
  }

  // ---- reports and persistence ----

  private report(
    order: EngineOrder,
    execType: 'new' | 'trade' | 'canceled' | 'replaced',
    extra: {
      execution?: ExecutionReport['execution'];
      fill?: PaperFillRecord;
      reason?: string;
      replacement?: PaperReportPayload['replacement'];
    },
  ): ExecutionReport {
    const event: PaperReportPayload['event'] = execType === 'trade' ? 'fill' : execType;
    const raw: PaperReportPayload = {
      venue: 'paper',
      event,
      order: orderView(order),
      ...(extra.fill ? { fill: { ...extra.fill } } : {}),
      ...(extra.replacement ? { replacement: { ...extra.replacement } } : {}),
    };
    return {
      venue: this.venue,
      execType: execType satisfies ExecType,
      clientOrderId: order.clientOrderId,
      brokerOrderId: order.brokerOrderId,
      symbol: order.symbol,
      side: order.side,
      cumulativeQuantity: order.filledQuantity,
      leavesQuantity: leavesOf(order),
      ...(extra.execution ? { execution: extra.execution } : {}),
      ...(extra.reason !== undefined ? { reason: extra.reason } : {}),
      transactTime: this.clock.now(),
      raw,
    };
  }

  /** Delivers an execution report to every listener (a throwing listener goes to onError). */
  private deliver(report: ExecutionReport): void {
    for (const listener of this.listeners) {
      try {
        listener(report);
      } catch (error) {
        this.onError(error);
      }
    }
  }

  /** Saves a snapshot of the order; saves run one at a time, in order; a failure goes to onError. */
  private persist(order: EngineOrder): void {
    const record = toPaperRecord(order);
    this.saving = this.saving.then(() => this.store.save(record)).catch((error: unknown) => this.onError(error));
  }
}
