import type { CancelOrderCommand, ReplaceOrderCommand, SubmitOrderCommand } from '../execution-client.js';
import type { Decimal } from '@gateway/oms';
import type { ExecutionReport } from '../reports.js';
import type { PaperOrderRecord } from './paper-order-record.js';

/*
 * The models the paper exchange is built with (paper-exchange.ts): how long it takes to act on a
 * request (LatencyModel) and how it misbehaves (FaultModel). Production uses a fixed latency and no
 * faults; the rule-driven fault model of the fault tests is in libs/brokers/src/testing.
 */

/** One request as it reaches the venue (what latency and fault models look at). */
export type VenueRequest =
  | { readonly kind: 'submit'; readonly command: SubmitOrderCommand }
  | { readonly kind: 'cancel'; readonly command: CancelOrderCommand }
  | { readonly kind: 'replace'; readonly command: ReplaceOrderCommand };

/** What the venue does with one request: the answer, and what happens at the venue right after it. */
export interface HandledRequest<R> {
  readonly result: R;
  readonly after?: () => void;
}

/** How long the venue takes, wall-clock ms, between a request reaching it and acting on it (and answering). */
export interface LatencyModel {
  /** The venue's acknowledgement latency for this request. */
  ackMs(request: VenueRequest): number;
  /** Extra delay on top of the acknowledgement (or of an `ack_delay` fault's delay): a slow network. */
  extraMs(request: VenueRequest): number;
}

/** A fixed acknowledgement latency, nothing extra. Throws RangeError for a negative or non-finite value. */
export function fixedLatency(ackMs: number): LatencyModel {
  if (!Number.isFinite(ackMs) || ackMs < 0) {
    throw new RangeError(`PaperVenue: ackLatencyMs must be ≥ 0, got ${ackMs}`);
  }
  return { ackMs: () => ackMs, extraMs: () => 0 };
}

/**
 * A fixed acknowledgement latency plus a random extra delay, uniform in [minMs, maxMs] (whole ms), drawn
 * from `random` once per request. Throws RangeError unless 0 ≤ minMs ≤ maxMs.
 */
export function uniformLatency(
  ackMs: number,
  extra: { readonly minMs: number; readonly maxMs: number },
  random: () => number,
): LatencyModel {
  fixedLatency(ackMs); // checks ackMs
  const { minMs, maxMs } = extra;
  if (!(minMs >= 0 && maxMs >= minMs)) {
    throw new RangeError(`FaultyVenue: latency needs 0 ≤ minMs ≤ maxMs, got ${minMs}..${maxMs}`);
  }
  return { ackMs: () => ackMs, extraMs: () => Math.floor(minMs + random() * (maxMs - minMs)) };
}

/**
 * The venue's timers: every wall-clock delay of the venue goes through it. `request` is the request whose
 * handling the timer is (the venue acting on it after its latency), null for any other timer (a fault
 * model's). The model-based test holds a request's handling until it says (ParkingScheduling of
 * `@gateway/brokers/testing`).
 */
export interface SchedulingModel {
  /** Runs `action` after `delayMs` wall-clock ms (or whenever the model decides). */
  schedule(delayMs: number, action: () => void, request: VenueRequest | null): void;
}

/** The production scheduling: setTimeout. */
export const timerScheduling: SchedulingModel = {
  schedule: (delayMs, action) => {
    setTimeout(action, delayMs);
  },
};

/**
 * Told of every request that reaches the venue, right after it is counted and before the venue schedules
 * acting on it; it may act on the venue (`venue`), as a fault model may. Default: nothing.
 */
export type ArrivalHook = (request: VenueRequest, venue: FaultContext) => void;

/** Work in flight, for a test that waits until the venue has gone quiet: begin() when it starts, end() when it is done. */
export interface ActivityTracker {
  begin(): void;
  end(): void;
}

/** The answer faults a transport must realise itself (HTTP: no answer, a 500, a 200 without id, a reset). */
export type AnswerFault = 'ack_lost' | 'error_after_accept' | 'accepted_without_id' | 'connection_reset';

/**
 * The venue's answer to one request as a transport sees it: the result, or an answer fault that replaces
 * it (with the result the venue reached, null for `connection_reset` where it never saw the request).
 */
export type VenueAnswer<R> =
  { readonly fault: null; readonly result: R } | { readonly fault: AnswerFault; readonly result: R | null };

/** What a fault model decides for a request before it reaches the venue. */
export type RequestFault =
  | { readonly kind: AnswerFault }
  /** The venue acts (and answers) only after `delayMs` instead of its acknowledgement latency. */
  | { readonly kind: 'ack_delay'; readonly delayMs: number };

/** What a fault model may do at the venue (the exchange gives itself). */
export interface FaultContext {
  /** The venue's clock, epoch ms. */
  now(): number;
  /** The venue's record of the order a cancel or replace is about: by broker order id, else client order id. */
  lookupOrder(brokerOrderId: string, clientOrderId: string): PaperOrderRecord | null;
  /** The venue's record of an order by client order id; null when unknown. */
  orderRecord(clientOrderId: string): PaperOrderRecord | null;
  /** Fills a working order now (see PaperExchange.forceFill). */
  forceFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void;
  /** Fills a canceled or replaced order now (see PaperExchange.lateFill). */
  lateFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void;
  /** Runs `action` after `delayMs` wall-clock ms, on the venue's scheduler. */
  schedule(delayMs: number, action: () => void): void;
  /** Where errors go. */
  onError(error: unknown): void;
}

/**
 * How the venue misbehaves, the way real brokers do. The exchange asks it at three points of every
 * request and report; every method may simply pass through (noFaults).
 */
export interface FaultModel {
  /** Before the request reaches the venue: an answer fault, a late acknowledgement, or null. */
  onRequest(request: VenueRequest, venue: FaultContext): RequestFault | null;
  /**
   * The venue acting on the request: `act` runs the venue's own handling; the model may act on the
   * book before it and wrap what happens after the answer. `answerLost`: the answer will never arrive.
   */
  act<R>(
    request: VenueRequest,
    act: () => HandledRequest<R>,
    venue: FaultContext,
    answerLost: boolean,
  ): HandledRequest<R>;
  /** An execution report on its way to the listeners: `emit` delivers it (the model may hold, drop or repeat it). */
  onReport(report: ExecutionReport, emit: (report: ExecutionReport) => void): void;
}

/** The production fault model: none. */
export const noFaults: FaultModel = {
  onRequest: () => null,
  act: (_request, act) => act(),
  onReport: (report, emit) => emit(report),
};
