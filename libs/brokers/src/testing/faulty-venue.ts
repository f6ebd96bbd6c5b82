import { randomUUID } from 'node:crypto';
import { type Clock, DECIMAL_PATTERN, Decimal, systemClock } from '@gateway/oms';
import type {
  CancelOrderCommand,
  CancelResult,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import type { MarketReplay } from '../paper/market-replay.js';
import type { PaperOrderRecord } from '../paper/paper-order-record.js';
import type { PaperVenueConfig } from '../paper/paper-venue.js';
import {
  type FaultContext,
  type FaultModel,
  type HandledRequest,
  type RequestFault,
  type VenueAnswer,
  type VenueRequest,
  fixedLatency,
  uniformLatency,
} from '../paper/venue-models.js';
import { TestPaperVenue } from './test-paper-venue.js';

/**
 * A way real brokers misbehave. What each kind acts on (FAULT_TARGETS):
 * - Answer faults, on a submit, cancel or replace (`accepted_without_id`: submit and replace only):
 *   `ack_delay`, `ack_lost`, `error_after_accept`, `accepted_without_id`, `connection_reset`. At most one
 *   fires per request (the first matching rule). `error_after_accept` and `accepted_without_id` replace
 *   the venue's answer whatever it was.
 * - Venue faults, at the moment the venue acts: `fill_before_ack` (submit, replace: the replacement's
 *   `new` report), `late_fill_after_cancel`, `fill_during_pending_cancel`, `cancel_rejected_filled` (cancel
 *   of a working order), `replace_rejected_filled` (replace of a working order). At most one per request.
 * - Report faults, on every execution report: `duplicate_reports`.
 */
export type FaultKind =
  /** The venue acts on the request only after `delayMs` (default 10 000, past the gateway's timeout), and answers then. */
  | 'ack_delay'
  /** The venue acts on the request but the answer never comes, and the order's `new` report is not delivered. */
  | 'ack_lost'
  /** The venue acts, then answers a server error (HTTP 500). */
  | 'error_after_accept'
  /** The venue acts, then answers success without an order id. */
  | 'accepted_without_id'
  /** The request never reaches the venue (connection reset before it is read): nothing happens there. */
  | 'connection_reset'
  /** Every report of the matched order is delivered twice (`remaining` counts duplicated reports). */
  | 'duplicate_reports'
  /** The order's `new` report is held back and delivered right after its first fill report (or before any other report of it). */
  | 'fill_before_ack'
  /** The cancel is confirmed (`canceled` report), then (right after it, or `delayMs` later) a fill of `quantity` (default: all that was left). */
  | 'late_fill_after_cancel'
  /** After the cancel's answer and before the `canceled` report, a fill of `quantity` (default: half of leaves, at least one unit). */
  | 'fill_during_pending_cancel'
  /** On a cancel, the order fills completely first, and the cancel is rejected: "order already filled". */
  | 'cancel_rejected_filled'
  /** On a replace, the order fills completely first, and the replace is rejected: "order already filled". */
  | 'replace_rejected_filled';

/** What a fault can fire on: a request of the gateway, or a report of the venue. */
export type FaultTarget = 'submit' | 'cancel' | 'replace' | 'report';

/** Which requests (or reports) each fault kind fires on. */
export const FAULT_TARGETS: Readonly<Record<FaultKind, readonly FaultTarget[]>> = {
  ack_delay: ['submit', 'cancel', 'replace'],
  ack_lost: ['submit', 'cancel', 'replace'],
  error_after_accept: ['submit', 'cancel', 'replace'],
  accepted_without_id: ['submit', 'replace'],
  connection_reset: ['submit', 'cancel', 'replace'],
  duplicate_reports: ['report'],
  fill_before_ack: ['submit', 'replace'],
  late_fill_after_cancel: ['cancel'],
  fill_during_pending_cancel: ['cancel'],
  cancel_rejected_filled: ['cancel'],
  replace_rejected_filled: ['replace'],
};

export const FAULT_KINDS = Object.keys(FAULT_TARGETS) as readonly FaultKind[];

/**
 * One switchable fault. It fires on a request (or report) of the targets of its kind that matches
 * `match` (every given field must match; a replace matches on its old or its new client order id; a cancel
 * or replace on the symbol of the order it is about), with probability `rate` (0..1, default 1), at most
 * `remaining` times (default: unlimited; an exhausted rule is removed). `delayMs`: `ack_delay`,
 * `late_fill_after_cancel`. `quantity` (decimal string): `late_fill_after_cancel`, `fill_during_pending_cancel`,
 * clamped to what the order has not filled.
 */
export interface FaultRule {
  readonly kind: FaultKind;
  readonly match?: { readonly clientOrderId?: string; readonly symbol?: string };
  readonly rate?: number;
  readonly remaining?: number;
  readonly delayMs?: number;
  readonly quantity?: string;
}

/** A rule in force, with its id and what is left of `remaining`. */
export interface ActiveFault extends FaultRule {
  readonly id: string;
}

/** One firing of a rule, for tests. `clientOrderId`: the request's (for a replace, the old order's) or the report's. */
export interface FiredFault {
  readonly ruleId: string;
  readonly kind: FaultKind;
  readonly target: FaultTarget;
  readonly clientOrderId: string;
  /** Epoch ms on the venue's clock. */
  readonly at: number;
}

/** Configuration of a FaultyVenue: a PaperVenue's (without its models), plus latency, the random source and the rules. */
export interface FaultyVenueConfig extends Omit<PaperVenueConfig, 'latencyModel' | 'faultModel'> {
  /** A random extra delay (wall-clock ms, uniform in [minMs, maxMs]) before the venue acts on each request. */
  readonly latency?: { readonly minMs: number; readonly maxMs: number };
  /** Random numbers in [0, 1) for `rate` and `latency`; default Math.random (seedable: seededRandom). */
  readonly random?: () => number;
  /** Rules in force from the start. */
  readonly faults?: readonly FaultRule[];
}

/** Default `ack_delay`: past the gateway's default broker timeout (BROKER_SUBMIT_TIMEOUT_MS, 5 s). */
export const DEFAULT_ACK_DELAY_MS = 10_000;

const ANSWER_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'ack_delay',
  'ack_lost',
  'error_after_accept',
  'accepted_without_id',
  'connection_reset',
]);
const VENUE_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>([
  'fill_before_ack',
  'late_fill_after_cancel',
  'fill_during_pending_cancel',
  'cancel_rejected_filled',
  'replace_rejected_filled',
]);
const REPORT_KINDS: ReadonlySet<FaultKind> = new Set<FaultKind>(['duplicate_reports']);

/** What a rule is matched against. */
interface Subject {
  readonly target: FaultTarget;
  readonly clientOrderIds: readonly string[];
  readonly symbol: string | null;
}

interface RuleState {
  readonly id: string;
  readonly rule: FaultRule;
  remaining: number | null;
}

/** A small seedable PRNG (mulberry32) for reproducible fault rates and latencies; not for anything secret. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Checks a rule; throws RangeError naming the bad field. */
export function checkFaultRule(rule: FaultRule): void {
  if (!(rule.kind in FAULT_TARGETS)) {
    throw new RangeError(`unknown fault kind ${JSON.stringify(rule.kind)}`);
  }
  if (rule.rate !== undefined && !(rule.rate >= 0 && rule.rate <= 1)) {
    throw new RangeError(`fault rate must be within 0..1, got ${rule.rate}`);
  }
  if (rule.remaining !== undefined && !(Number.isInteger(rule.remaining) && rule.remaining > 0)) {
    throw new RangeError(`fault remaining must be a positive integer, got ${rule.remaining}`);
  }
  if (rule.delayMs !== undefined && !(Number.isFinite(rule.delayMs) && rule.delayMs >= 0)) {
    throw new RangeError(`fault delayMs must be ≥ 0, got ${rule.delayMs}`);
  }
  if (rule.quantity !== undefined && !(DECIMAL_PATTERN.test(rule.quantity) && new Decimal(rule.quantity).gt(0))) {
    throw new RangeError(`fault quantity must be a positive decimal string, got ${JSON.stringify(rule.quantity)}`);
  }
}

function isWorking(record: PaperOrderRecord | null): record is PaperOrderRecord {
  return record !== null && (record.status === 'new' || record.status === 'partially_filled');
}

function unfilled(record: PaperOrderRecord): Decimal {
  return new Decimal(record.quantity).minus(record.filledQuantity);
}

/** Half of `leaves` in whole units, at least one unit (all of `leaves` when it is less than one). */
function halfOf(leaves: Decimal): Decimal {
  return leaves.lessThanOrEqualTo(1) ? leaves : Decimal.max(leaves.dividedBy(2).floor(), 1);
}

/**
 * The rule-driven FaultModel (see FaultKind and FaultRule): rules are put in force and removed at any
 * time, each firing is recorded. Draws its `rate`s from `random`.
 */
export class RuleFaultModel implements FaultModel {
  private readonly rules = new Map<string, RuleState>();
  private readonly fired: FiredFault[] = [];
  /** Client order ids whose `new` report is dropped (ack_lost) or held (fill_before_ack) when it comes. */
  private readonly dropNew = new Set<string>();
  private readonly holdNew = new Set<string>();
  private readonly held = new Map<string, ExecutionReport>();
  /** `random`: for the `rate`s; `clock`: the venue's, for the time of each firing. */
  constructor(
    private readonly random: () => number = Math.random,
    private readonly clock: Clock = systemClock,
    rules: readonly FaultRule[] = [],
  ) {
    for (const rule of rules) {
      this.addFault(rule);
    }
  }

  // ---- fault control ----

  /** Puts a rule in force; returns its id. Throws RangeError for an invalid rule. */
  addFault(rule: FaultRule): string {
    checkFaultRule(rule);
    const id = randomUUID();
    this.rules.set(id, { id, rule: { ...rule }, remaining: rule.remaining ?? null });
    return id;
  }

  /** Removes a rule; false when there is none with that id. */
  removeFault(id: string): boolean {
    return this.rules.delete(id);
  }

  clearFaults(): void {
    this.rules.clear();
  }

  /** The rules in force, oldest first, with what is left of their `remaining`. */
  faults(): ActiveFault[] {
    return [...this.rules.values()].map(({ id, rule, remaining }) => ({
      ...rule,
      ...(remaining === null ? {} : { remaining }),
      id,
    }));
  }

  /** Every firing so far, in order. */
  firedFaults(): readonly FiredFault[] {
    return [...this.fired];
  }

  // ---- FaultModel ----

  onRequest(request: VenueRequest, venue: FaultContext): RequestFault | null {
    const rule = this.pick(ANSWER_KINDS, this.subject(request, venue));
    const kind = rule?.kind;
    if (kind === 'ack_delay') {
      return { kind, delayMs: rule?.delayMs ?? DEFAULT_ACK_DELAY_MS };
    }
    if (
      kind === 'ack_lost' ||
      kind === 'error_after_accept' ||
      kind === 'accepted_without_id' ||
      kind === 'connection_reset'
    ) {
      return { kind };
    }
    return null;
  }

  /** The venue acting on a request, with the venue fault that fires on it (picked now, on the book as it is). */
  act<R>(
    request: VenueRequest,
    act: () => HandledRequest<R>,
    venue: FaultContext,
    answerLost: boolean,
  ): HandledRequest<R> {
    const subject = this.subject(request, venue);
    const target =
      request.kind === 'cancel' || request.kind === 'replace'
        ? venue.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)
        : null;
    const live = isWorking(target) && target.clientOrderId === request.command.clientOrderId ? target : null;
    const rule = this.pick(VENUE_KINDS, subject, (kind) =>
      kind === 'fill_before_ack' ? true : live !== null && FAULT_TARGETS[kind].includes(request.kind),
    );
    const newId =
      request.kind === 'submit'
        ? request.command.clientOrderId
        : request.kind === 'replace'
          ? request.command.newClientOrderId
          : null;
    if (newId !== null && answerLost) {
      this.dropNew.add(newId);
    }
    if (newId !== null && rule?.kind === 'fill_before_ack') {
      this.holdNew.add(newId);
    }
    if (live !== null && (rule?.kind === 'cancel_rejected_filled' || rule?.kind === 'replace_rejected_filled')) {
      try {
        venue.forceFill(live.clientOrderId, unfilled(live));
      } catch (error) {
        venue.onError(error); // no price to fill at: the request goes on unfaulted
      }
    }
    const handled = act();
    if (newId !== null) {
      // Marks not consumed by a `new` report (the request was rejected) must not hit a later order.
      this.dropNew.delete(newId);
      this.holdNew.delete(newId);
    }
    const after = handled.after;
    if (live === null || after === undefined) {
      return handled;
    }
    const quantityFor = (leaves: Decimal): Decimal =>
      rule?.quantity === undefined ? leaves : Decimal.min(new Decimal(rule.quantity), leaves);
    if (rule?.kind === 'fill_during_pending_cancel') {
      return {
        result: handled.result,
        after: () => {
          const now = venue.lookupOrder(live.brokerOrderId, live.clientOrderId);
          if (isWorking(now)) {
            const leaves = unfilled(now);
            venue.forceFill(now.clientOrderId, rule.quantity === undefined ? halfOf(leaves) : quantityFor(leaves));
          }
          after();
        },
      };
    }
    if (rule?.kind === 'late_fill_after_cancel') {
      return {
        result: handled.result,
        after: () => {
          const before = venue.lookupOrder(live.brokerOrderId, live.clientOrderId);
          after();
          const now = venue.lookupOrder(live.brokerOrderId, live.clientOrderId);
          if (before === null || now?.status !== 'canceled') {
            return;
          }
          const quantity = quantityFor(unfilled(before));
          const lateFill = (): void => {
            try {
              venue.lateFill(now.clientOrderId, quantity);
            } catch (error) {
              venue.onError(error);
            }
          };
          if (rule.delayMs === undefined || rule.delayMs === 0) {
            lateFill(); // right after the `canceled` report
          } else {
            venue.schedule(rule.delayMs, lateFill);
          }
        },
      };
    }
    return handled;
  }

  /** Applies `fill_before_ack`, `ack_lost` (the `new` report) and `duplicate_reports`. */
  onReport(report: ExecutionReport, emit: (report: ExecutionReport) => void): void {
    const id = report.clientOrderId;
    if (report.execType === 'new') {
      if (this.dropNew.delete(id)) {
        return;
      }
      if (this.holdNew.delete(id)) {
        this.held.set(id, report);
        return;
      }
    }
    const held = this.held.get(id);
    if (held !== undefined) {
      this.held.delete(id);
      if (report.execType === 'trade') {
        this.deliver(report, emit);
        this.deliver(held, emit);
        return;
      }
      this.deliver(held, emit); // never lost: an order ending without a fill gets its `new` first
    }
    this.deliver(report, emit);
  }

  // ---- machinery ----

  /** Delivers a report, twice when a `duplicate_reports` rule fires on it. */
  private deliver(report: ExecutionReport, emit: (report: ExecutionReport) => void): void {
    emit(report);
    const subject: Subject = { target: 'report', clientOrderIds: [report.clientOrderId], symbol: report.symbol };
    if (this.pick(REPORT_KINDS, subject) !== null) {
      emit(report);
    }
  }

  private subject(request: VenueRequest, venue: FaultContext): Subject {
    switch (request.kind) {
      case 'submit':
        return { target: 'submit', clientOrderIds: [request.command.clientOrderId], symbol: request.command.symbol };
      case 'cancel':
        return {
          target: 'cancel',
          clientOrderIds: [request.command.clientOrderId],
          symbol: venue.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)?.symbol ?? null,
        };
      case 'replace':
        return {
          target: 'replace',
          clientOrderIds: [request.command.clientOrderId, request.command.newClientOrderId],
          symbol: venue.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)?.symbol ?? null,
        };
    }
  }

  /**
   * The first rule of `kinds` that fires on `subject`: its kind targets it, it matches, it is `eligible`
   * (the venue fault can act: the order is working) and it wins its `rate` draw. Records the firing.
   */
  private pick(
    kinds: ReadonlySet<FaultKind>,
    subject: Subject,
    eligible: (kind: FaultKind) => boolean = () => true,
  ): FaultRule | null {
    for (const state of this.rules.values()) {
      const { rule } = state;
      if (!kinds.has(rule.kind) || !FAULT_TARGETS[rule.kind].includes(subject.target)) {
        continue;
      }
      const match = rule.match;
      if (match?.clientOrderId !== undefined && !subject.clientOrderIds.includes(match.clientOrderId)) {
        continue;
      }
      if (match?.symbol !== undefined && match.symbol !== subject.symbol) {
        continue;
      }
      if (!eligible(rule.kind) || (rule.rate !== undefined && !(this.random() < rule.rate))) {
        continue;
      }
      if (state.remaining !== null) {
        state.remaining -= 1;
        if (state.remaining <= 0) {
          this.rules.delete(state.id);
        }
      }
      this.fired.push({
        ruleId: state.id,
        kind: rule.kind,
        target: subject.target,
        clientOrderId: subject.clientOrderIds[0] ?? '',
        at: this.clock.now(),
      });
      return rule;
    }
    return null;
  }
}

/**
 * A PaperVenue that misbehaves on demand, the way real brokers do (see FaultKind): a PaperVenue built
 * with a RuleFaultModel and, when `latency` is given, a random extra latency, sharing one random source.
 * In process, an answer fault gives what an HTTP client would conclude (see PaperVenue); after
 * `connection_reset` the request is not in receivedOrders()/receivedReplaces(). A transport (the HTTP
 * fake broker) calls receiveSubmit/receiveCancel/receiveReplace instead and realises the answer fault itself.
 */
export class FaultyVenue extends TestPaperVenue {
  /** The rules in force and their firings. */
  readonly faultModel: RuleFaultModel;

  constructor(replay: MarketReplay, config: FaultyVenueConfig = {}) {
    const random = config.random ?? Math.random;
    const faultModel = new RuleFaultModel(random, config.clock ?? systemClock);
    const ackMs = config.ackLatencyMs ?? 5;
    super(replay, {
      ...config,
      latencyModel: config.latency === undefined ? fixedLatency(ackMs) : uniformLatency(ackMs, config.latency, random),
      faultModel,
    });
    this.faultModel = faultModel;
    for (const rule of config.faults ?? []) {
      this.addFault(rule);
    }
  }

  // ---- fault control ----

  /** Puts a rule in force; returns its id. Throws RangeError for an invalid rule. */
  addFault(rule: FaultRule): string {
    return this.faultModel.addFault(rule);
  }

  /** Removes a rule; false when there is none with that id. */
  removeFault(id: string): boolean {
    return this.faultModel.removeFault(id);
  }

  clearFaults(): void {
    this.faultModel.clearFaults();
  }

  /** The rules in force, oldest first, with what is left of their `remaining`. */
  faults(): ActiveFault[] {
    return this.faultModel.faults();
  }

  /** Every firing so far, in order. */
  firedFaults(): readonly FiredFault[] {
    return this.faultModel.firedFaults();
  }

  // ---- for a transport ----

  /** A submit as a transport delivers it: resolves with the answer or the answer fault, once the venue acted. */
  receiveSubmit(command: SubmitOrderCommand): Promise<VenueAnswer<SubmitResult>> {
    return this.exchange.receiveSubmit(command);
  }

  /** A cancel as a transport delivers it (see receiveSubmit). */
  receiveCancel(command: CancelOrderCommand): Promise<VenueAnswer<CancelResult>> {
    return this.exchange.receiveCancel(command);
  }

  /** A replace as a transport delivers it (see receiveSubmit). */
  receiveReplace(command: ReplaceOrderCommand): Promise<VenueAnswer<ReplaceResult>> {
    return this.exchange.receiveReplace(command);
  }
}
