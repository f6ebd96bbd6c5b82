import { randomUUID } from 'node:crypto';
import { Decimal, type OrderType, applyFill, parseInstrument, priceFieldsFor } from '@gateway/oms';
import type { SubmitOrderCommand } from '../execution-client.js';
import type { Quote } from '../market-data.js';
import type { PaperOrderStatus } from './paper-order-record.js';
import type { TradePrint } from './trade-print.js';

/*
 * What lives where in the paper venue (libs/brokers/src/paper):
 * - matching-engine.ts (this file): the pure per-symbol matching engine: the book of one symbol's
 *   orders, matching against quotes and trade prints, the fill rules, stop triggers. No I/O, no timers,
 *   no clock: the time and the market come in as arguments, what happened goes out as EngineEvents.
 *   Any fake broker can drive it with its own wire protocol.
 * - paper-exchange.ts: the exchange around the engines: one engine per symbol fed by the MarketReplay,
 *   the order store (indexes, fills log, persistence), the execution-report stream, the request
 *   pipeline with its LatencyModel and FaultModel (venue-models.ts), and the out-of-band fills (fault models, test hooks).
 * - paper-venue.ts: the ExecutionClient adapter over the exchange (aborts, answers, status reports).
 * - libs/brokers/src/testing: the rule-driven fault model and the FaultyVenue (`@gateway/brokers/testing`).
 * The design follows NautilusTrader's backtest exchange and matching engine
 * (crates/backtest/src/exchange.rs, crates/execution/src/matching_engine/engine.rs).
 */

/** An order as it enters the engine (validated: see validateOrder). */
export interface EngineOrderInit extends SubmitOrderCommand {
  readonly brokerOrderId: string;
}

/** One fill of an order. */
export interface EngineFill {
  /** Unique per fill, the de-duplication key (FIX ExecID). */
  readonly brokerExecutionId: string;
  readonly quantity: Decimal;
  readonly price: Decimal;
  /** Epoch ms of the recorded market time of the data event that caused the fill. */
  readonly executedAt: number;
  /** Epoch ms on the venue's clock when the fill happened. */
  readonly reportedAt: number;
  /** `taker`: against the displayed quote at its price; `maker`: a resting limit order at its own price. */
  readonly liquidity: 'taker' | 'maker';
}

/** An order's state in the engine. The engine's own orders are mutable; callers see them read-only. */
export interface EngineOrder extends EngineOrderInit {
  readonly createdAt: number;
  readonly status: PaperOrderStatus;
  readonly filledQuantity: Decimal;
  readonly averageFillPrice: Decimal | null;
  /** Σ quantity × price of the fills, unrounded, so the average stays the exact rounded VWAP. */
  readonly filledNotional: Decimal;
  /** Stop / stop-limit: whether the stop has been triggered (it then works as market / limit). */
  readonly triggered: boolean;
  /** Limit orders: whether the order rests on the book, so that it fills at its own limit price. */
  readonly resting: boolean;
  readonly reason: string | null;
  readonly updatedAt: number;
  readonly fills: readonly EngineFill[];
}

/**
 * What the engine is told at each call: the time and the symbol's market. The engine has no clock and
 * reads no data of its own.
 */
export interface MarketState {
  /** The venue's clock, epoch ms: `updatedAt`, a fill's `reportedAt`. */
  readonly now: number;
  /** The symbol's current quote, if any. */
  readonly quote: Quote | undefined;
  /** The symbol's last last-sale-eligible trade print, if any. */
  readonly lastTrade: TradePrint | undefined;
  /** Epoch ms of the recorded market time now: a fill's `executedAt` when no print caused it. */
  readonly recordedAt: number;
  /** Whether the symbol has trade data: stops trigger on trade prints, else on the quote. */
  readonly hasTrades: boolean;
}

/**
 * What one call changed, in order; `order` is the order's state right after the change (a snapshot).
 * - `accepted`: booked as `new` (a submit, or a replacement);
 * - `triggered`: a stop reached its stop price (it now works as a market or limit order);
 * - `rested`: a limit order now rests on the book at its limit price;
 * - `filled`: a fill (the order is `partially_filled` or `filled`, or stays `canceled`/`replaced` after a late fill);
 * - `canceled`: canceled, with the reason (the client, IOC, FOK);
 * - `replaced`: ended `replaced` by the order `by`.
 */
export type EngineEvent =
  | { readonly kind: 'accepted'; readonly order: EngineOrder }
  | { readonly kind: 'triggered'; readonly order: EngineOrder }
  | { readonly kind: 'rested'; readonly order: EngineOrder }
  | { readonly kind: 'filled'; readonly order: EngineOrder; readonly fill: EngineFill }
  | { readonly kind: 'canceled'; readonly order: EngineOrder; readonly reason: string }
  | {
      readonly kind: 'replaced';
      readonly order: EngineOrder;
      readonly by: { readonly brokerOrderId: string; readonly clientOrderId: string };
    };

export interface MatchingEngineConfig {
  readonly symbol: string;
  /** Execution ids of the fills; default crypto.randomUUID. */
  readonly newExecutionId?: () => string;
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** One order in the book, mutable, with decimals. */
interface BookOrder extends Mutable<Omit<EngineOrder, 'fills'>> {
  fills: EngineFill[];
  /** Side version of the last quote this order took liquidity from (each quote update offers once per order). */
  offerVersionUsed: number;
}

/** The engine's view of the symbol's quote: a side's version changes only when its price or size changes. */
interface SideVersions {
  quote: Quote;
  askVersion: number;
  bidVersion: number;
}

interface Offer {
  readonly price: Decimal;
  readonly size: Decimal;
  readonly version: number;
}

const ZERO = new Decimal(0);

/** Why an order cannot be booked (quantity, prices for its type); null when it can. */
export function validateOrder(order: {
  readonly symbol: string;
  readonly type: OrderType;
  readonly quantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
}): string | null {
  if (!order.quantity.isFinite() || !order.quantity.greaterThan(0)) {
    return 'quantity must be positive';
  }
  if (parseInstrument(order.symbol)?.kind === 'option' && !order.quantity.isInteger()) {
    return 'option quantity must be a whole number of contracts';
  }
  const needs = priceFieldsFor(order.type);
  if (needs.limit !== (order.limitPrice !== null)) {
    return needs.limit
      ? `limit price required for a ${order.type} order`
      : `no limit price allowed for a ${order.type} order`;
  }
  if (needs.stop !== (order.stopPrice !== null)) {
    return needs.stop
      ? `stop price required for a ${order.type} order`
      : `no stop price allowed for a ${order.type} order`;
  }
  for (const price of [order.limitPrice, order.stopPrice]) {
    if (price !== null && (!price.isFinite() || !price.greaterThan(0))) {
      return 'prices must be positive';
    }
  }
  return null;
}

export function isWorking(order: Pick<EngineOrder, 'status'>): boolean {
  return order.status === 'new' || order.status === 'partially_filled';
}

/** What the order has left to fill while it works; zero once it is done. */
export function leavesOf(order: Pick<EngineOrder, 'status' | 'quantity' | 'filledQuantity'>): Decimal {
  return isWorking(order) ? Decimal.max(order.quantity.minus(order.filledQuantity), 0) : ZERO;
}

function isStopType(order: BookOrder): boolean {
  return order.type === 'stop' || order.type === 'stop_limit';
}

/** The limit the order works with now: its limit price for limit and (triggered) stop-limit, none for market and stop. */
function workingLimit(order: BookOrder): Decimal | null {
  return order.type === 'limit' || order.type === 'stop_limit' ? order.limitPrice : null;
}

/** Whether a print or quote at `price` reaches the stop: buy stops at or above, sell stops at or below. */
function reachesStop(order: BookOrder, price: Decimal): boolean {
  const stop = order.stopPrice;
  return stop !== null && (order.side === 'buy' ? price.greaterThanOrEqualTo(stop) : price.lessThanOrEqualTo(stop));
}

function quoteReachesStop(order: BookOrder, quote: Quote): boolean {
  const price = order.side === 'buy' ? quote.ask : quote.bid;
  return price.greaterThan(0) && reachesStop(order, price);
}

function marketable(order: BookOrder, price: Decimal): boolean {
  const limit = workingLimit(order);
  return limit === null || (order.side === 'buy' ? limit.greaterThanOrEqualTo(price) : limit.lessThanOrEqualTo(price));
}

function snapshot(order: BookOrder): EngineOrder {
  const { offerVersionUsed: _offerVersionUsed, ...state } = order;
  return { ...state, fills: [...order.fills] };
}

/**
 * The matching engine of one symbol. Prices come only from the market data given to it or from the
 * order's own limit price. Every call returns what it changed (EngineEvent), in order.
 *
 * Matching (per order; liquidity is not shared between orders, and queue position is not modelled):
 * - Taker: a market order, or a limit order marketable on arrival (buy limit ≥ ask, sell limit ≤ bid),
 *   fills at the ask (bid) up to the displayed size. A day/gtc remainder takes again from each later
 *   quote update while marketable, at that quote's price: a quote update offers its displayed size once
 *   per order, and a side whose price and size did not change is not a new offer.
 * - Maker: a limit order that was not marketable at some point rests at its limit price. It fills at its
 *   limit price when a last-sale-eligible trade prints at or through it (up to the trade's size), or when
 *   a later quote update reaches it (ask ≤ buy limit, bid ≥ sell limit; up to the displayed size).
 * - IOC: takes what the current quote offers, the remainder is canceled. FOK: fills whole from the
 *   current quote or is canceled whole. (Both are applied when the order becomes active: on arrival, or
 *   when its stop triggers.)
 * - Stop / stop-limit: triggered by a trade at or through the stop (buy ≥ stop, sell ≤ stop); for an
 *   instrument without trade data, by the quote (ask ≥ stop for a buy, a non-zero bid ≤ stop for a sell).
 *   An arriving stop is checked against the last trade (or the quote) at once. Once triggered it works as
 *   a market / limit order arriving at that moment.
 * - Orders never expire: a day order stays working until filled or canceled.
 * - Replace: the old order ends `replaced` and the replacement is booked `new`; it is activated like a submit.
 *
 * A venue answering before it matches (as the paper venue does) calls `submit` (booking) and, after
 * its answer, `activate` (matching on arrival).
 */
export class MatchingEngine {
  readonly symbol: string;
  private readonly newExecutionId: () => string;
  /** Every order of the symbol, working or done. */
  private readonly orders = new Map<string, BookOrder>();
  /** Working orders, in time priority. */
  private readonly working = new Map<string, BookOrder>();
  private sides: SideVersions | null = null;

  constructor(config: MatchingEngineConfig) {
    this.symbol = config.symbol;
    this.newExecutionId = config.newExecutionId ?? (() => randomUUID());
  }

  /** The order's state now (read-only, live), by broker order id. */
  order(brokerOrderId: string): EngineOrder | undefined {
    return this.orders.get(brokerOrderId);
  }

  /** Books a validated order as `new`, without matching it (see activate). */
  submit(init: EngineOrderInit, now: number): EngineEvent[] {
    const order = this.book(init, now);
    return [{ kind: 'accepted', order: snapshot(order) }];
  }

  /**
   * Puts back an order as it was (after a restart); a working one is back in matching and may take
   * once more from the current quote.
   */
  restore(state: EngineOrder): void {
    const order: BookOrder = { ...state, fills: [...state.fills], offerVersionUsed: -1 };
    this.orders.set(order.brokerOrderId, order);
    if (isWorking(order)) {
      this.working.set(order.brokerOrderId, order);
    }
  }

  /** The order's arrival, after the answer: matched at once (a stop only if it triggers now); applies IOC/FOK. */
  activate(brokerOrderId: string, market: MarketState): EngineEvent[] {
    const events: EngineEvent[] = [];
    const order = this.orders.get(brokerOrderId);
    if (order !== undefined) {
      this.activateOrder(order, market, events);
    }
    return events;
  }

  /** Cancels a working order (nothing when it is not working). */
  cancel(brokerOrderId: string, reason: string, now: number): EngineEvent[] {
    const events: EngineEvent[] = [];
    const order = this.orders.get(brokerOrderId);
    if (order !== undefined && isWorking(order)) {
      this.cancelOrder(order, reason, now, events);
    }
    return events;
  }

  /**
   * Replaces a working order: it ends `replaced` and `replacement` (validated, booked for what is left
   * of the new total) is booked `new`. The replacement is matched by a later `activate`.
   */
  replace(brokerOrderId: string, replacement: EngineOrderInit, now: number): EngineEvent[] {
    const old = this.orders.get(brokerOrderId);
    if (old === undefined || !isWorking(old)) {
      return [];
    }
    old.status = 'replaced';
    old.reason = `replaced by ${replacement.clientOrderId}`;
    old.updatedAt = now;
    this.working.delete(old.brokerOrderId);
    const by = { brokerOrderId: replacement.brokerOrderId, clientOrderId: replacement.clientOrderId };
    const replaced: EngineEvent = { kind: 'replaced', order: snapshot(old), by };
    const order = this.book(replacement, now);
    return [replaced, { kind: 'accepted', order: snapshot(order) }];
  }

  /**
   * A fill that does not come from matching (a venue's own decision, a test): `quantity` at `price`,
   * also of an order that is no longer working (a late fill: a canceled or replaced order keeps its
   * status unless the fill completes it). The caller checks the quantity against what is unfilled.
   */
  fill(
    brokerOrderId: string,
    quantity: Decimal,
    price: Decimal,
    liquidity: EngineFill['liquidity'],
    executedAt: number,
    now: number,
  ): EngineEvent[] {
    const events: EngineEvent[] = [];
    const order = this.orders.get(brokerOrderId);
    if (order !== undefined) {
      this.fillOrder(order, quantity, price, liquidity, executedAt, now, events);
    }
    return events;
  }

  /** A quote update: stops it triggers (without trade data), takers and resting orders it reaches. */
  onQuote(quote: Quote, market: MarketState): EngineEvent[] {
    const events: EngineEvent[] = [];
    this.track(quote);
    for (const order of this.working.values()) {
      if (isStopType(order) && !order.triggered) {
        if (!market.hasTrades && quoteReachesStop(order, quote)) {
          this.trigger(order, market.now, events);
          this.activateOrder(order, market, events);
        }
        continue;
      }
      const offer = this.offer(order, quote);
      if (offer === null || offer.version === order.offerVersionUsed) {
        continue;
      }
      if (marketable(order, offer.price)) {
        this.take(order, offer, market, events);
      } else {
        this.rest(order, market.now, events);
      }
    }
    return events;
  }

  /** A trade print: stops it triggers, resting limits it prints at or through (up to its size). */
  onTrade(trade: TradePrint, market: MarketState): EngineEvent[] {
    const events: EngineEvent[] = [];
    if (!trade.lastSaleEligible) {
      return events;
    }
    for (const order of this.working.values()) {
      if (isStopType(order) && !order.triggered) {
        if (reachesStop(order, trade.price)) {
          this.trigger(order, market.now, events);
          this.activateOrder(order, market, events);
        }
        continue;
      }
      const limit = workingLimit(order);
      if (!order.resting || limit === null) {
        continue;
      }
      const through =
        order.side === 'buy' ? trade.price.lessThanOrEqualTo(limit) : trade.price.greaterThanOrEqualTo(limit);
      if (through) {
        this.fillOrder(order, Decimal.min(leavesOf(order), trade.size), limit, 'maker', trade.ts, market.now, events);
      }
    }
    return events;
  }

  // ---- matching ----

  private book(init: EngineOrderInit, now: number): BookOrder {
    const order: BookOrder = {
      brokerOrderId: init.brokerOrderId,
      clientOrderId: init.clientOrderId,
      symbol: init.symbol,
      side: init.side,
      type: init.type,
      timeInForce: init.timeInForce,
      quantity: init.quantity,
      limitPrice: init.limitPrice,
      stopPrice: init.stopPrice,
      createdAt: now,
      status: 'new',
      filledQuantity: ZERO,
      averageFillPrice: null,
      filledNotional: ZERO,
      triggered: false,
      resting: false,
      reason: null,
      updatedAt: now,
      fills: [],
      offerVersionUsed: -1,
    };
    this.orders.set(order.brokerOrderId, order);
    this.working.set(order.brokerOrderId, order);
    return order;
  }

  /** Tracks quote updates: a side's version moves only when its price or displayed size changes. */
  private track(quote: Quote): SideVersions {
    const known = this.sides;
    if (known === null) {
      const fresh = { quote, askVersion: 0, bidVersion: 0 };
      this.sides = fresh;
      return fresh;
    }
    if (!known.quote.ask.equals(quote.ask) || !known.quote.askSize.equals(quote.askSize)) {
      known.askVersion++;
    }
    if (!known.quote.bid.equals(quote.bid) || !known.quote.bidSize.equals(quote.bidSize)) {
      known.bidVersion++;
    }
    known.quote = quote;
    return known;
  }

  /** What the quote offers to this order's side; null when that side is empty (price or size 0). */
  private offer(order: BookOrder, quote: Quote): Offer | null {
    const versions = this.sides ?? this.track(quote);
    const [price, size, version] =
      order.side === 'buy'
        ? [quote.ask, quote.askSize, versions.askVersion]
        : [quote.bid, quote.bidSize, versions.bidVersion];
    return price.greaterThan(0) && size.greaterThan(0) ? { price, size, version } : null;
  }

  /** A stop checked on arrival: against the last trade, or the quote for an instrument without trades. */
  private stopReachedNow(order: BookOrder, market: MarketState): boolean {
    if (market.hasTrades) {
      return market.lastTrade !== undefined && reachesStop(order, market.lastTrade.price);
    }
    return market.quote !== undefined && quoteReachesStop(order, market.quote);
  }

  private trigger(order: BookOrder, now: number, events: EngineEvent[]): void {
    order.triggered = true;
    order.updatedAt = now;
    events.push({ kind: 'triggered', order: snapshot(order) });
  }

  private activateOrder(order: BookOrder, market: MarketState, events: EngineEvent[]): void {
    if (!isWorking(order)) {
      return;
    }
    if (isStopType(order) && !order.triggered) {
      if (!this.stopReachedNow(order, market)) {
        return;
      }
      this.trigger(order, market.now, events);
    }
    const quote = market.quote;
    const offer = quote === undefined ? null : this.offer(order, quote);
    const isMarketable = offer !== null && marketable(order, offer.price);
    switch (order.timeInForce) {
      case 'fok':
        if (offer !== null && isMarketable && offer.size.greaterThanOrEqualTo(leavesOf(order))) {
          this.fillOrder(order, leavesOf(order), offer.price, 'taker', market.recordedAt, market.now, events);
        } else {
          this.cancelOrder(
            order,
            offer === null || !isMarketable ? 'FOK: not marketable' : 'FOK: displayed size does not cover the order',
            market.now,
            events,
          );
        }
        return;
      case 'ioc':
        if (offer !== null && isMarketable) {
          this.take(order, offer, market, events);
        }
        if (isWorking(order)) {
          this.cancelOrder(
            order,
            order.filledQuantity.isZero() ? 'IOC: not marketable' : 'IOC: remainder canceled',
            market.now,
            events,
          );
        }
        return;
      case 'day':
      case 'gtc':
        if (offer !== null && isMarketable) {
          this.take(order, offer, market, events);
        } else {
          this.rest(order, market.now, events); // a limit order rests at its price; a market order waits for a quote
        }
        return;
    }
  }

  /** Takes liquidity from a quote offer at the quote's price (a resting order: at its own limit). */
  private take(order: BookOrder, offer: Offer, market: MarketState, events: EngineEvent[]): void {
    order.offerVersionUsed = offer.version;
    const limit = workingLimit(order);
    const resting = order.resting && limit !== null;
    this.fillOrder(
      order,
      Decimal.min(leavesOf(order), offer.size),
      resting ? limit : offer.price,
      resting ? 'maker' : 'taker',
      market.recordedAt,
      market.now,
      events,
    );
  }

  private rest(order: BookOrder, now: number, events: EngineEvent[]): void {
    if (!order.resting && workingLimit(order) !== null) {
      order.resting = true;
      order.updatedAt = now;
      events.push({ kind: 'rested', order: snapshot(order) });
    }
  }

  private fillOrder(
    order: BookOrder,
    quantity: Decimal,
    price: Decimal,
    liquidity: EngineFill['liquidity'],
    executedAt: number,
    now: number,
    events: EngineEvent[],
  ): void {
    if (!quantity.greaterThan(0)) {
      return;
    }
    const result = applyFill(order, quantity, price);
    const fill: EngineFill = {
      brokerExecutionId: this.newExecutionId(),
      quantity,
      price,
      executedAt,
      reportedAt: now,
      liquidity,
    };
    order.filledQuantity = result.filledQuantity;
    order.averageFillPrice = result.averageFillPrice;
    order.filledNotional = result.filledNotional;
    // A late fill leaves a canceled or replaced order as it is unless it completes it.
    order.status = result.complete ? 'filled' : isWorking(order) ? 'partially_filled' : order.status;
    order.updatedAt = now;
    order.fills.push(fill);
    if (result.complete) {
      this.working.delete(order.brokerOrderId);
    }
    events.push({ kind: 'filled', order: snapshot(order), fill });
  }

  private cancelOrder(order: BookOrder, reason: string, now: number, events: EngineEvent[]): void {
    order.status = 'canceled';
    order.reason = reason;
    order.updatedAt = now;
    this.working.delete(order.brokerOrderId);
    events.push({ kind: 'canceled', order: snapshot(order), reason });
  }
}
