import { randomUUID } from 'node:crypto';
import { DECIMAL_PATTERN, Decimal } from '@gateway/oms';
import type {
  CancelOrderCommand,
  CancelResult,
  ReplaceOrderCommand,
  ReplaceResult,
  SubmitOrderCommand,
  SubmitResult,
} from '../execution-client.js';
import type { ExecutionReport } from '../reports.js';
import type { MarketReplay } from './market-replay.js';
import type { PaperOrderRecord } from './paper-order-record.js';
import { type HandledRequest, PaperVenue, type PaperVenueConfig, type VenueRequest } from './paper-venue.js';

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

/** The answer faults a transport must realise itself (the HTTP server: no answer, a 500, a 200 without id, a reset). */
export type AnswerFault = 'ack_lost' | 'error_after_accept' | 'accepted_without_id' | 'connection_reset';

/**
 * The venue's answer to one request as a transport sees it: the result, or an answer fault that replaces
 * it (with the result the venue reached, null for `connection_reset` where it never saw the request).
 */
export type VenueAnswer<R> =
  { readonly fault: null; readonly result: R } | { readonly fault: AnswerFault; readonly result: R | null };

/** Configuration of a FaultyVenue: a PaperVenue's, plus latency and the random source. */
export interface FaultyVenueConfig extends PaperVenueConfig {
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
 * A PaperVenue that misbehaves on demand, the way real brokers do (see FaultKind). In process, an answer
 * fault gives what an HTTP client would conclude: `ack_lost` never answers (only the caller's abort
 * settles it, as `unknown`), `error_after_accept`, `accepted_without_id` and `connection_reset` answer
 * `unknown`; after `connection_reset` the request is not in receivedOrders()/receivedReplaces().
 * A transport (the HTTP fake broker) calls receiveSubmit/receiveCancel/receiveReplace instead and
 * realises the answer fault itself.
 */
export class FaultyVenue extends PaperVenue {
  private readonly rules = new Map<string, RuleState>();
  private readonly fired: FiredFault[] = [];
  private readonly random: () => number;
  private readonly latency: { readonly minMs: number; readonly maxMs: number } | null;
  /** Client order ids whose `new` report is dropped (ack_lost) or held (fill_before_ack) when it comes. */
  private readonly dropNew = new Set<string>();
  private readonly holdNew = new Set<string>();
  private readonly held = new Map<string, ExecutionReport>();

  constructor(replay: MarketReplay, config: FaultyVenueConfig = {}) {
    super(replay, config);
    this.random = config.random ?? Math.random;
    const latency = config.latency ?? null;
    if (latency !== null && !(latency.minMs >= 0 && latency.maxMs >= latency.minMs)) {
      throw new RangeError(`FaultyVenue: latency needs 0 ≤ minMs ≤ maxMs, got ${latency.minMs}..${latency.maxMs}`);
    }
    this.latency = latency;
    for (const rule of config.faults ?? []) {
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

  // ---- for a transport ----

  /** A submit as a transport delivers it: resolves with the answer or the answer fault, once the venue acted. */
  receiveSubmit(command: SubmitOrderCommand): Promise<VenueAnswer<SubmitResult>> {
    return new Promise((resolve) =>
      this.dispatch<SubmitResult>(
        { kind: 'submit', command },
        (reason) => ({ kind: 'unknown', reason }),
        () => this.handleSubmit(command),
        resolve,
      ),
    );
  }

  /** A cancel as a transport delivers it (see receiveSubmit). */
  receiveCancel(command: CancelOrderCommand): Promise<VenueAnswer<CancelResult>> {
    return new Promise((resolve) =>
      this.dispatch<CancelResult>(
        { kind: 'cancel', command },
        (reason) => ({ kind: 'unknown', reason }),
        () => this.handleCancel(command),
        resolve,
      ),
    );
  }

  /** A replace as a transport delivers it (see receiveSubmit). */
  receiveReplace(command: ReplaceOrderCommand): Promise<VenueAnswer<ReplaceResult>> {
    return new Promise((resolve) =>
      this.dispatch<ReplaceResult>(
        { kind: 'replace', command },
        (reason) => ({ kind: 'unknown', reason }),
        () => this.handleReplace(command),
        resolve,
      ),
    );
  }

  // ---- overridden steps ----

  /** In process: the answer fault becomes what an HTTP client would conclude. */
  protected override exchange<R>(
    request: VenueRequest,
    unknown: (reason: string) => R,
    handle: () => HandledRequest<R>,
    answer: (result: R) => void,
  ): void {
    this.dispatch(request, unknown, handle, (outcome) => {
      switch (outcome.fault) {
        case null:
          answer(outcome.result);
          return;
        case 'ack_lost':
          return; // no answer, ever: only the caller's abort settles it
        case 'error_after_accept':
          answer(unknown('venue answered a server error (HTTP 500)'));
          return;
        case 'accepted_without_id':
          answer(unknown('venue answered success without an order id'));
          return;
        case 'connection_reset':
          answer(unknown('connection reset by the venue'));
          return;
      }
    });
  }

  /** Applies `fill_before_ack`, `ack_lost` (the `new` report) and `duplicate_reports`. */
  protected override emitReport(report: ExecutionReport): void {
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
        this.deliver(report);
        this.deliver(held);
        return;
      }
      this.deliver(held); // never lost: an order ending without a fill gets its `new` first
    }
    this.deliver(report);
  }

  // ---- machinery ----

  /** The venue's side of one request with the faults applied; `deliver` gets the answer once the venue acted. */
  private dispatch<R>(
    request: VenueRequest,
    unknown: (reason: string) => R,
    handle: () => HandledRequest<R>,
    deliver: (answer: VenueAnswer<R>) => void,
  ): void {
    const answerRule = this.pick(ANSWER_KINDS, this.subject(request));
    if (answerRule?.kind === 'connection_reset') {
      deliver({ fault: 'connection_reset', result: null });
      return;
    }
    this.arrive(request);
    const base = answerRule?.kind === 'ack_delay' ? (answerRule.delayMs ?? DEFAULT_ACK_DELAY_MS) : this.ackLatencyMs;
    this.schedule(base + this.extraLatency(), () => {
      const handled = this.actWithFaults(request, unknown, handle, answerRule?.kind === 'ack_lost');
      const kind = answerRule?.kind;
      if (kind === 'ack_lost' || kind === 'error_after_accept' || kind === 'accepted_without_id') {
        deliver({ fault: kind, result: handled.result });
      } else {
        deliver({ fault: null, result: handled.result }); // ack_delay acted late; the answer is normal
      }
      this.carryOn(handled);
    });
  }

  /** The venue acting on a request, with the venue fault that fires on it (picked now, on the book as it is). */
  private actWithFaults<R>(
    request: VenueRequest,
    unknown: (reason: string) => R,
    handle: () => HandledRequest<R>,
    lostAnswer: boolean,
  ): HandledRequest<R> {
    const subject = this.subject(request);
    const target =
      request.kind === 'cancel' || request.kind === 'replace'
        ? this.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)
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
    if (newId !== null && lostAnswer) {
      this.dropNew.add(newId);
    }
    if (newId !== null && rule?.kind === 'fill_before_ack') {
      this.holdNew.add(newId);
    }
    if (live !== null && (rule?.kind === 'cancel_rejected_filled' || rule?.kind === 'replace_rejected_filled')) {
      try {
        this.forceFill(live.clientOrderId, unfilled(live));
      } catch (error) {
        this.onError(error); // no price to fill at: the request goes on unfaulted
      }
    }
    const handled = this.act(unknown, handle);
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
          const now = this.lookupOrder(live.brokerOrderId, live.clientOrderId);
          if (isWorking(now)) {
            const leaves = unfilled(now);
            this.forceFill(now.clientOrderId, rule.quantity === undefined ? halfOf(leaves) : quantityFor(leaves));
          }
          after();
        },
      };
    }
    if (rule?.kind === 'late_fill_after_cancel') {
      return {
        result: handled.result,
        after: () => {
          const before = this.lookupOrder(live.brokerOrderId, live.clientOrderId);
          after();
          const now = this.lookupOrder(live.brokerOrderId, live.clientOrderId);
          if (before === null || now?.status !== 'canceled') {
            return;
          }
          const quantity = quantityFor(unfilled(before));
          const lateFill = (): void => {
            try {
              this.lateFill(now.clientOrderId, quantity);
            } catch (error) {
              this.onError(error);
            }
          };
          if (rule.delayMs === undefined || rule.delayMs === 0) {
            lateFill(); // right after the `canceled` report
          } else {
            this.schedule(rule.delayMs, lateFill);
          }
        },
      };
    }
    return handled;
  }

  /** Delivers a report to the listeners, twice when a `duplicate_reports` rule fires on it. */
  private deliver(report: ExecutionReport): void {
    super.emitReport(report);
    const subject: Subject = { target: 'report', clientOrderIds: [report.clientOrderId], symbol: report.symbol };
    if (this.pick(REPORT_KINDS, subject) !== null) {
      super.emitReport(report);
    }
  }

  private subject(request: VenueRequest): Subject {
    switch (request.kind) {
      case 'submit':
        return { target: 'submit', clientOrderIds: [request.command.clientOrderId], symbol: request.command.symbol };
      case 'cancel':
        return {
          target: 'cancel',
          clientOrderIds: [request.command.clientOrderId],
          symbol: this.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)?.symbol ?? null,
        };
      case 'replace':
        return {
          target: 'replace',
          clientOrderIds: [request.command.clientOrderId, request.command.newClientOrderId],
          symbol: this.lookupOrder(request.command.brokerOrderId, request.command.clientOrderId)?.symbol ?? null,
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

  private extraLatency(): number {
    if (this.latency === null) {
      return 0;
    }
    const { minMs, maxMs } = this.latency;
    return Math.floor(minMs + this.random() * (maxMs - minMs));
  }
}
