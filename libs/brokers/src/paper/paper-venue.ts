import { Decimal } from '@gateway/oms';
import type {
  CancelOrderCommand,
  CancelResult,
  ExecutionClient,
  ExecutionReportListener,
  PositionReport,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import type { FillReport, OrderStatusReport } from '../reports.js';
import type { MarketReplay } from './market-replay.js';
import type { EngineOrder } from './matching-engine.js';
import { PaperExchange, type PaperExchangeConfig, toPaperRecord } from './paper-exchange.js';
import type { PaperFillListing, PaperOrderRecord } from './paper-order-record.js';
import { paperPositions, positionReportFromListing } from './paper-positions.js';
import {
  type ActivityTracker,
  type ArrivalHook,
  type FaultModel,
  type LatencyModel,
  type SchedulingModel,
  type VenueAnswer,
  fixedLatency,
} from './venue-models.js';

/**
 * Configuration of a PaperVenue. Defaults: `ackLatencyMs` 5 (a fixed latency), no faults, in-memory
 * store, system clock, errors to console.error.
 */
export interface PaperVenueConfig extends Pick<PaperExchangeConfig, 'store' | 'clock' | 'onError'> {
  /** Wall-clock ms between a request and the venue's answer (submit, cancel and replace); see latencyModel. */
  readonly ackLatencyMs?: number;
  /** How long the venue takes to answer; default fixedLatency(ackLatencyMs). */
  readonly latencyModel?: LatencyModel;
  /** How the venue misbehaves; default noFaults (the fault tests use the rule model of `@gateway/brokers/testing`). */
  readonly faultModel?: FaultModel;
  /** The venue's timers; default timerScheduling (setTimeout). */
  readonly scheduling?: SchedulingModel;
  /** Told of every request that reaches the venue (see PaperExchangeConfig.onArrive); default none. */
  readonly onArrive?: ArrivalHook;
  /** Told of every submit, cancel and replace call: begin() when it is made, end() once it has settled; default none. */
  readonly activity?: ActivityTracker;
}

function statusReport(order: EngineOrder): OrderStatusReport {
  return {
    clientOrderId: order.clientOrderId,
    brokerOrderId: order.brokerOrderId,
    symbol: order.symbol,
    side: order.side,
    type: order.type,
    quantity: order.quantity,
    limitPrice: order.limitPrice,
    status: order.status,
    filledQuantity: order.filledQuantity,
    averageFillPrice: order.averageFillPrice,
    createdAt: order.createdAt,
    raw: toPaperRecord(order),
  };
}

/**
 * The paper venue as an ExecutionClient, in process: requests go to its PaperExchange (the book, the
 * matching engines, the latency and fault models, the report stream; see paper-exchange.ts) and its
 * answers come back as a broker's would, after the latency. An answer fault of the fault model becomes
 * what an HTTP client would conclude: `ack_lost` never answers (only the caller's abort settles it, as
 * `unknown`), `error_after_accept`, `accepted_without_id` and `connection_reset` answer `unknown`.
 *
 * Faults, latency, timers and what observes the venue are injected models (PaperVenueConfig), never
 * subclass overrides.
 */
export class PaperVenue implements ExecutionClient {
  readonly venue = 'paper';
  readonly supportsClientOrderId = true;
  /** The exchange behind this client: the book, the store and the report stream. */
  readonly exchange: PaperExchange;
  private readonly activity: ActivityTracker | undefined;

  constructor(replay: MarketReplay, config: PaperVenueConfig = {}) {
    this.exchange = new PaperExchange(replay, {
      latency: config.latencyModel ?? fixedLatency(config.ackLatencyMs ?? 5),
      ...(config.faultModel === undefined ? {} : { faults: config.faultModel }),
      ...(config.store === undefined ? {} : { store: config.store }),
      ...(config.clock === undefined ? {} : { clock: config.clock }),
      ...(config.onError === undefined ? {} : { onError: config.onError }),
      ...(config.scheduling === undefined ? {} : { scheduling: config.scheduling }),
      ...(config.onArrive === undefined ? {} : { onArrive: config.onArrive }),
    });
    this.activity = config.activity;
  }

  // ---- ExecutionClient ----

  /**
   * Submits an order. After the ack latency: `accepted` with its broker order id (and a `new` report,
   * then an immediate match against the current quote), or `rejected` for a duplicate client order id
   * (as Alpaca does), a symbol without market data, or an invalid order. An abort before the answer
   * resolves `unknown` (the order may still be placed, as at a real broker); an abort before sending
   * resolves `rejected` and nothing is received.
   */
  submitOrder(command: SubmitOrderCommand, signal?: AbortSignal): Promise<SubmitResult> {
    if (signal?.aborted) {
      return this.tracked(Promise.resolve({ kind: 'rejected', reason: 'aborted before sending', raw: null }));
    }
    return this.roundTrip<SubmitResult>(
      signal,
      (reason) => ({ kind: 'unknown', reason }),
      (answer) => this.exchange.submit(command, answer),
    );
  }

  /**
   * Cancels a working order (found by broker order id, else by client order id). After the ack latency:
   * `accepted`, then a `canceled` report; `rejected` when the order is unknown, already filled or canceled.
   */
  cancelOrder(command: CancelOrderCommand, signal?: AbortSignal): Promise<CancelResult> {
    if (signal?.aborted) {
      return this.tracked(Promise.resolve({ kind: 'rejected', reason: 'aborted before sending', raw: null }));
    }
    return this.roundTrip<CancelResult>(
      signal,
      (reason) => ({ kind: 'unknown', reason }),
      (answer) => this.exchange.cancel(command, answer),
    );
  }

  /**
   * Replaces a working order (found by broker order id, else by client order id; the client order id must
   * match). After the ack latency: `accepted` with the replacement's broker order id and booked quantity
   * (the new total minus what the old order has filled), then a `replaced` report of the old order and a
   * `new` report of the replacement, which is matched right after the answer like a submit. `rejected`
   * when the order is unknown or not working (`order already filled`...), the new client order id is
   * known (`duplicate client order id`), the new total does not exceed the filled quantity, or the prices
   * are invalid for the order type (a null price keeps the old order's). Aborts as for submitOrder.
   */
  replaceOrder(command: ReplaceOrderCommand, signal?: AbortSignal): Promise<ReplaceResult> {
    if (signal?.aborted) {
      return this.tracked(Promise.resolve({ kind: 'rejected', reason: 'aborted before sending', raw: null }));
    }
    return this.roundTrip<ReplaceResult>(
      signal,
      (reason) => ({ kind: 'unknown', reason }),
      (answer) => this.exchange.replace(command, answer),
    );
  }

  getOrderByClientOrderId(clientOrderId: string): Promise<OrderStatusReport | null> {
    const order = this.exchange.order(clientOrderId);
    return Promise.resolve(order === undefined ? null : statusReport(order));
  }

  /** Orders created at or after `sinceMs` on the venue's clock, oldest first. */
  listOrders(sinceMs: number): Promise<OrderStatusReport[]> {
    return Promise.resolve(this.exchange.orders(sinceMs).map(statusReport));
  }

  /**
   * Fills that happened at or after `sinceMs` on the venue's clock (`reportedAt`), in the order they
   * happened. Their `executedAt` is the recorded market time, which is years in the past.
   */
  listFills(sinceMs: number): Promise<FillReport[]> {
    return Promise.resolve(
      this.exchange.fillRecords(sinceMs).map((listing) => ({
        brokerExecutionId: listing.brokerExecutionId,
        quantity: new Decimal(listing.quantity),
        price: new Decimal(listing.price),
        executedAt: listing.executedAt,
        clientOrderId: listing.clientOrderId,
        brokerOrderId: listing.brokerOrderId,
        symbol: listing.symbol,
        side: listing.side,
        raw: listing,
      })),
    );
  }

  /**
   * The venue's open positions, from every fill it has booked (paperPositions): those of every account
   * it serves together, since the venue has no accounts.
   */
  positions(): Promise<PositionReport[]> {
    return Promise.resolve(
      paperPositions(this.exchange.fillRecords(Number.NEGATIVE_INFINITY)).map(positionReportFromListing),
    );
  }

  onExecutionReport(listener: ExecutionReportListener): () => void {
    return this.exchange.onExecutionReport(listener);
  }

  // ---- venue state ----

  /** Every SubmitOrderCommand that reached the venue (duplicates and rejected ones included), in order. */
  receivedOrders(): readonly SubmitOrderCommand[] {
    return this.exchange.receivedOrders();
  }

  /** Every ReplaceOrderCommand that reached the venue (rejected ones included), in order. */
  receivedReplaces(): readonly ReplaceOrderCommand[] {
    return this.exchange.receivedReplaces();
  }

  /** The venue's record of one order (plain JSON, with its fills), by client order id; null when unknown. */
  orderRecord(clientOrderId: string): PaperOrderRecord | null {
    return this.exchange.orderRecord(clientOrderId);
  }

  /** The venue's records of the orders created at or after `sinceMs` on its clock, oldest first. */
  orderRecords(sinceMs: number): PaperOrderRecord[] {
    return this.exchange.orderRecords(sinceMs);
  }

  /** Fills that happened at or after `sinceMs` on the venue's clock (`reportedAt`), in order, as plain JSON. */
  fillRecords(sinceMs: number): PaperFillListing[] {
    return this.exchange.fillRecords(sinceMs);
  }

  /** Loads the book from the store (after a restart); see PaperExchange.restore. */
  restore(): Promise<number> {
    return this.exchange.restore();
  }

  /** Resolves once every save so far has been handed to the store (failures go to onError). */
  flush(): Promise<void> {
    return this.exchange.flush();
  }

  /** Stops listening to the replay. Answers already scheduled are still delivered. */
  close(): void {
    this.exchange.close();
  }

  // ---- the round trip ----

  /** `call`, counted by the activity tracker until it has settled. */
  private tracked<R>(call: Promise<R>): Promise<R> {
    const activity = this.activity;
    if (activity === undefined) {
      return call;
    }
    activity.begin();
    return call.finally(() => activity.end());
  }

  /**
   * One request/response round trip, the caller's side: `send` hands the request to the exchange, whose
   * answer settles the promise (an answer fault as an HTTP client would see it). An abort answers
   * `unknown` at once; the venue may still act on the request, as a real broker would.
   */
  private roundTrip<R>(
    signal: AbortSignal | undefined,
    unknown: (reason: string) => R,
    send: (answer: (outcome: VenueAnswer<R>) => void) => void,
  ): Promise<R> {
    const answered = new Promise<R>((resolve) => {
      let settled = false;
      const settle = (result: R): void => {
        if (!settled) {
          settled = true;
          signal?.removeEventListener('abort', onAbort);
          resolve(result);
        }
      };
      const onAbort = (): void => settle(unknown('aborted while waiting for the venue'));
      signal?.addEventListener('abort', onAbort, { once: true });
      send((outcome) => {
        switch (outcome.fault) {
          case null:
            settle(outcome.result);
            return;
          case 'ack_lost':
            return; // no answer, ever: only the caller's abort settles it
          case 'error_after_accept':
            settle(unknown('venue answered a server error (HTTP 500)'));
            return;
          case 'accepted_without_id':
            settle(unknown('venue answered success without an order id'));
            return;
          case 'connection_reset':
            settle(unknown('connection reset by the venue'));
            return;
        }
      });
    });
    return this.tracked(answered);
  }
}
