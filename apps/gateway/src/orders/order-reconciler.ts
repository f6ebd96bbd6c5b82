import { randomUUID } from 'node:crypto';
import {
  type BrokerFillEvidence,
  type Clock,
  Decimal,
  matchBrokerOrder,
  type Order,
  type OrderEvent,
  reconcileOrder,
  type ReconciliationAction,
  UNCERTAIN_STATUSES,
} from '@gateway/oms';
import type { ExecutionClient, ExecutionReport, OrderStatusReport } from '@gateway/brokers';
import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import { isUuid } from '../common/ids.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { AccountRepository } from '../accounts/account.repository.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { CLOCK } from '../market/market.tokens.js';
import { SendHeldCancel } from './after-commit/send-held-cancel.handler.js';
import { ExecutionReportProcessor } from './execution-report.processor.js';
import { type AccountTransaction, OrderLedger } from './order-ledger.js';
import { ExecutionRepository } from './persistence/execution.repository.js';
import { IdempotencyKeyRepository } from './persistence/idempotency-key.repository.js';
import { OrderRepository } from './persistence/order.repository.js';
import { RestartBlockRepository } from './persistence/restart-block.repository.js';

const UNCERTAIN = [...UNCERTAIN_STATUSES];
/** Prefix of the account block set at start-up, cleared by the first clean pass. */
export const RESTART_BLOCK = 'restart:';
const SWEEP_INTERVAL_MS = 1_000;
/** Orders looked at per sweep, of each kind (due, held cancels). */
const SWEEP_BATCH = 200;
/** Allowed difference between our clock and a broker's when matching orders by time. */
const CLOCK_SKEW_MS = 2_000;
const MAX_BACKOFF_MS = 60_000;

/** Where the account passes run, when not in this process (ReconciliationJobs). */
export interface AccountPassScheduler {
  /** Has the start-up pass of each account run, on whichever instance (resolves once it is scheduled). */
  startup(accountIds: readonly string[]): Promise<void>;
  /** Of `accountIds`, those whose pass started at or after `since` (epoch ms) and ran, on any instance. */
  passedSince(accountIds: readonly string[], since: number): Promise<string[]>;
}

/**
 * Settles uncertain orders (`pending_new`, `pending_cancel`, `pending_replace`, `unknown`) from broker
 * evidence (ARCHITECTURE.md steps 4–5), using the pure `reconcileOrder` of libs/oms:
 * - at start-up every account with uncertain orders has its entries blocked (`entriesBlockedReason`
 *   `restart: …`) until a pass finds none left;
 * - a sweep each second looks at orders uncertain for longer than the submit timeout plus a margin (so
 *   a submission still in flight on another instance is left to it), and at orders a broker report could
 *   not be applied to (`needs_reconciliation`), with a per-order back-off for the ones no evidence
 *   settles, which stay as they are and raise an alert;
 * - the broker's "no such order" proves an order was never received only once it has been uncertain for
 *   RECONCILE_MISSING_AFTER_MS: until then a late request may still arrive, and the order waits;
 * - at a broker without lookup by our id, an unmatched `unknown` replacement whose old order the broker
 *   lists as anything but replaced (after the same window) was never created: `rejected`, and the old
 *   order is settled right after from its own evidence (docs/brokers/schwab.md);
 * - a cancel asked for before the ack (`cancelRequestedAt`) is sent as soon as the order is working,
 *   on the event that makes it so (SendHeldCancel, after the commit of the pass or report that records
 *   it), and by the sweep should that event be missed.
 * Scheduling: the account pass runs where an AccountPassScheduler puts it (ReconciliationJobs: repeatable
 * BullMQ jobs per account, at start-up, every RECONCILE_INTERVAL_MS and on demand, one instance at a time
 * per account), or in this process when none is attached (specs). The 1-s sweep of uncertain orders stays
 * an in-process timer on every instance, by choice: its latency matters (an `unknown` order blocks
 * entries until settled) and it must go on while Redis is down. It is safe on N instances: each order is
 * settled under the account lock from a fresh read, and what evidence adds is de-duplicated (execution
 * ids, the transition table), so two instances looking at the same order cost a broker lookup, not a
 * double fill. Position reconciliation follows each account pass (PositionReconciler, in ReconciliationJobs).
 */
@Injectable()
export class OrderReconciler implements OnApplicationBootstrap, OnModuleDestroy {
  private timer: NodeJS.Timeout | undefined;
  private passScheduler: AccountPassScheduler | null = null;
  private startedAt = 0;
  private sweeping: Promise<void> | null = null;
  private readonly backoff = new Map<string, { until: number; delay: number }>();
  private readonly graceMs: number;
  private readonly missingAfterMs: number;
  private readonly lookbackMs: number;
  /** Accounts this instance has run the account pass for since it started (the restart block waits for it). */
  private readonly passedAccounts = new Set<string>();
  private startupPass: Promise<void> = Promise.resolve();
  /** Orders uncertain when this instance started, by account: the restart block waits for these only. */
  private readonly restartUncertain = new Map<string, Set<string>>();
  private readonly instanceId = randomUUID().slice(0, 8);

  constructor(
    private readonly ledger: OrderLedger,
    private readonly orderRepository: OrderRepository,
    private readonly executions: ExecutionRepository,
    private readonly idempotencyKeys: IdempotencyKeyRepository,
    private readonly restartBlocks: RestartBlockRepository,
    private readonly reports: ExecutionReportProcessor,
    private readonly heldCancels: SendHeldCancel,
    private readonly metrics: GatewayMetrics,
    private readonly brokers: AccountBrokers,
    private readonly accounts: AccountRepository,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.graceMs = config.brokerSubmitTimeoutMs + 1_000;
    this.missingAfterMs = Math.max(config.reconcileMissingAfterMs, this.graceMs);
    this.lookbackMs = config.reconcileLookbackMs;
  }

  /** Runs the account passes through `scheduler` from now on (before the application starts). */
  schedulePassesWith(scheduler: AccountPassScheduler): void {
    this.passScheduler = scheduler;
  }

  async onApplicationBootstrap(): Promise<void> {
    this.startedAt = this.clock.now();
    for (const { id, accountId } of await this.orderRepository.uncertain()) {
      const set = this.restartUncertain.get(accountId) ?? new Set<string>();
      this.restartUncertain.set(accountId, set.add(id));
    }
    const rows = [...this.restartUncertain.entries()];
    for (const [accountId, ids] of rows) {
      // The block names this instance: only it lifts it, once the orders uncertain at its start are settled
      // (a later start on another instance replaces the reason, and with it the set that lifts it).
      await this.restartBlocks.block(accountId, this.restartReason(ids.size), RESTART_BLOCK);
    }
    if (rows.length > 0) {
      this.logger.warn(
        { accounts: rows.length },
        'uncertain orders found at start-up: entries blocked until reconciled',
      );
    }
    this.timer = setInterval(() => void this.sweep(), SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.startupPass = this.passAllAccounts();
    void this.startupPass.then(() => this.sweep());
  }

  /**
   * The start-up account pass, over every account with an order in the look-back window or uncertain: run
   * here, or handed to the scheduler.
   */
  private async passAllAccounts(): Promise<void> {
    try {
      const accounts = await this.orderRepository.accountsChangedSince(this.clock.now() - this.lookbackMs);
      if (this.passScheduler) {
        await this.passScheduler.startup(accounts);
        return;
      }
      for (const accountId of accounts) {
        const results = await this.reconcileAccount(accountId);
        if (results.length > 0) {
          this.logger.info({ accountId, orders: results.length }, 'start-up account reconciliation');
        }
      }
    } catch (error) {
      // The sweep retries the uncertain orders; the restart block stays until an account pass succeeds.
      this.logger.error({ err: error }, 'start-up account reconciliation failed; retrying');
      setTimeout(() => void (this.startupPass = this.passAllAccounts()), SWEEP_INTERVAL_MS).unref();
    }
  }

  /** Resolves when the start-up account pass has run (tests). */
  started(): Promise<void> {
    return this.startupPass;
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    await this.sweeping;
  }

  /** One pass over the uncertain orders that are due. Never runs twice at once. */
  sweep(): Promise<void> {
    this.sweeping ??= this.pass().finally(() => {
      this.sweeping = null;
    });
    return this.sweeping;
  }

  private async pass(): Promise<void> {
    try {
      const now = this.clock.now();
      const due = await this.orderRepository.dueForReconciliation(now - this.graceMs, SWEEP_BATCH);
      const cancels = await this.orderRepository.withHeldCancel(SWEEP_BATCH);
      for (const { id, accountId } of cancels) {
        await this.heldCancels.send(accountId, id);
      }
      for (const { id, accountId } of due) {
        const wait = this.backoff.get(id);
        if (!wait || wait.until <= now) {
          // One order whose evidence cannot be applied must not stop the others.
          await this.reconcile(accountId, id).catch((error: unknown) => {
            this.backOff(id);
            void this.venueOf(accountId).then((venue) => this.metrics.unresolvedOrders.inc({ venue }));
            this.logger.error(
              { err: error, orderId: id, accountId, alert: 'order_unresolved' },
              'reconciling an order failed; it waits for its next turn',
            );
          });
        }
      }
      if (this.passScheduler && this.restartUncertain.size > 0) {
        // The account passes run on any instance: one that ran since this one started counts as its own.
        const waiting = [...this.restartUncertain.keys()].filter((a) => !this.passedAccounts.has(a));
        for (const accountId of await this.passScheduler.passedSince(waiting, this.startedAt)) {
          this.passedAccounts.add(accountId);
        }
      }
      await this.liftRestartBlocks();
    } catch (error) {
      this.logger.error({ err: error }, 'reconciliation pass failed; retrying on the next one');
    }
  }

  private restartReason(count: number): string {
    return `${RESTART_BLOCK} ${count} uncertain order(s) awaiting reconciliation (instance ${this.instanceId})`;
  }

  /**
   * Lifts this instance's restart blocks after a clean pass: its account pass ran, and every order that
   * was uncertain when it started is settled. Orders placed since (exits in flight, say) do not hold the
   * block: they are ordinary uncertain orders, blocking entries in their own symbol if `unknown`.
   */
  private async liftRestartBlocks(): Promise<void> {
    // Any instance's block on an account it has passed, with nothing uncertain left at all (its owner may
    // have seen its orders settle by reports, or be gone).
    await this.restartBlocks.liftWhereSettled([...this.passedAccounts], RESTART_BLOCK, UNCERTAIN);
    for (const [accountId, ids] of this.restartUncertain) {
      if (!this.passedAccounts.has(accountId)) {
        continue;
      }
      if ((await this.orderRepository.countUncertain([...ids])) === 0) {
        await this.restartBlocks.lift(accountId, this.restartReason(ids.size));
        this.restartUncertain.delete(accountId);
      }
    }
  }

  /** Settles one order from the broker's evidence (looked up by client order id); returns the actions taken. */
  async reconcile(accountId: string, orderId: string): Promise<ReconciliationAction[]> {
    const broker = await this.brokerOf(accountId);
    let found = broker.supportsClientOrderId
      ? await broker.getOrderByClientOrderId(orderId)
      : await this.matchAtBroker(broker, accountId, orderId);
    let replacedOrder: OrderStatusReport | null = null;
    if (!found && !broker.supportsClientOrderId) {
      const link = await this.replacementAtBroker(broker, accountId, orderId);
      found = link?.replacement ?? null;
      replacedOrder = found ? null : (link?.old ?? null);
    }
    const brokerOrder = found;
    const fills: BrokerFillEvidence[] = brokerOrder
      ? (await broker.listFills(brokerOrder.createdAt - 60_000)).filter(
          (f) => f.brokerOrderId === brokerOrder.brokerOrderId,
        )
      : [];
    const actions = await this.settle(broker, accountId, orderId, found, fills, { anyStatus: false, replacedOrder });
    if (replacedOrder && actions.some((a) => a.kind === 'reject')) {
      // The replacement was never created: the old order (still pending_replace) is settled from its own evidence.
      const old = await this.orderRepository.findCommitted(accountId, orderId);
      if (old?.replacesOrderId) {
        await this.reconcile(accountId, old.replacesOrderId);
      }
    }
    return actions;
  }

  /**
   * For an unmatched replacement at a broker without lookup by our id: the broker's record of the order it
   * was to replace (`old`, by that order's broker id, from its order list since the old order's creation) and,
   * when the broker shows that order replaced and names its replacement (Schwab's `replacingOrderCollection`),
   * that replacement: the one order our replace can have created, so it is ours unless another of our
   * orders has its id. Null when the order is no unconfirmed replacement, or the broker lists no old order.
   */
  private async replacementAtBroker(
    broker: ExecutionClient,
    accountId: string,
    orderId: string,
  ): Promise<{ old: OrderStatusReport; replacement: OrderStatusReport | null } | null> {
    const order = await this.orderRepository.findCommitted(accountId, orderId);
    if (!order || order.status !== 'unknown' || order.brokerOrderId !== null || order.replacesOrderId === null) {
      return null;
    }
    const old = await this.orderRepository.findCommitted(accountId, order.replacesOrderId);
    if (!old?.brokerOrderId) {
      return null;
    }
    const listed = await broker.listOrders(old.createdAt - CLOCK_SKEW_MS);
    const atBroker = listed.find((o) => o.brokerOrderId === old.brokerOrderId);
    if (!atBroker) {
      return null;
    }
    const next = atBroker.status === 'replaced' ? atBroker.replacedByBrokerOrderId : undefined;
    if (next === undefined || (await this.orderRepository.claimedBrokerOrderIds(accountId)).has(next)) {
      return { old: atBroker, replacement: null };
    }
    return { old: atBroker, replacement: listed.find((o) => o.brokerOrderId === next) ?? null };
  }

  /** The account's broker client (AccountBrokers: built on first use). Throws for a missing account. */
  private async brokerOf(accountId: string): Promise<ExecutionClient> {
    const account = await this.accounts.findById(accountId);
    if (!account) {
      throw new Error(`account ${accountId} not found`);
    }
    return this.brokers.clientFor(account);
  }

  /** The venue label of the account's metrics: its client's venue, else `unknown` (no client here). */
  private async venueOf(accountId: string): Promise<string> {
    return (await this.brokerOf(accountId).catch(() => null))?.venue ?? 'unknown';
  }

  /**
   * For a broker that cannot look orders up by our id: the one broker order matching ours on symbol, side,
   * quantity and price, created within the in-flight window after our intent (allowing for clock skew)
   * and not already another order's (`matchBrokerOrder`). None or several: no evidence, and an alert.
   */
  private async matchAtBroker(
    broker: ExecutionClient,
    accountId: string,
    orderId: string,
  ): Promise<OrderStatusReport | null> {
    const order = await this.orderRepository.findCommitted(accountId, orderId);
    if (!order) {
      return null;
    }
    const candidates = await broker.listOrders(order.createdAt - CLOCK_SKEW_MS);
    if (order.brokerOrderId !== null) {
      return candidates.find((o) => o.brokerOrderId === order.brokerOrderId) ?? null; // known: no guessing
    }
    const match = matchBrokerOrder(
      { ...order, createdAt: order.createdAt - CLOCK_SKEW_MS },
      candidates,
      this.missingAfterMs + CLOCK_SKEW_MS,
      await this.orderRepository.claimedBrokerOrderIds(accountId),
    );
    if (match.kind === 'ambiguous') {
      this.logger.error(
        { orderId, accountId, candidates: match.count, alert: 'order_match_ambiguous' },
        'several broker orders match an unknown order: none is taken',
      );
    }
    return match.kind === 'matched' ? (match.order as OrderStatusReport) : null;
  }

  /**
   * The account pass (start-up and on demand): every order of the account the broker reports since
   * `lookbackMs` ago is brought to the broker's state (missing fills, late fills after a cancel, a
   * cancel or fill missed while the gateway was down), and every uncertain order of the account is
   * settled as `reconcile` does. Returns the actions per order (orders without any are left out).
   */
  async reconcileAccount(accountId: string): Promise<{ orderId: string; actions: ReconciliationAction[] }[]> {
    const since = this.clock.now() - this.lookbackMs;
    const account = await this.accounts.findById(accountId);
    if (!account || !this.brokers.serves(account.broker, account.environment)) {
      // No client here to ask (its broker is not configured, or not for its environment): nothing to pass.
      this.logger.warn({ accountId, broker: account?.broker }, 'account pass skipped: its broker is not served here');
      return [];
    }
    const broker = await this.brokers.clientFor(account);
    const [brokerOrders, brokerFills] = await Promise.all([broker.listOrders(since), broker.listFills(since)]);
    const ids = brokerOrders.map((o) => o.clientOrderId).filter(isUuid);
    const ours = await this.orderRepository.idsOrUncertain(accountId, ids);
    const byId = new Map(brokerOrders.map((o) => [o.clientOrderId, o]));
    const results: { orderId: string; actions: ReconciliationAction[] }[] = [];
    for (const id of ours) {
      const found = byId.get(id);
      const actions = await (
        found
          ? this.settle(
              broker,
              accountId,
              id,
              found,
              brokerFills.filter((f) => f.clientOrderId === id),
              { anyStatus: true },
            )
          : this.reconcile(accountId, id)
      ).catch((error: unknown) => {
        this.logger.error(
          { err: error, orderId: id, accountId, alert: 'order_unresolved' },
          'reconciling an order failed',
        );
        return [{ kind: 'unresolved' as const, reason: 'reconciliation failed; see the logs' }];
      });
      const taken = actions.filter((a) => a.kind !== 'unresolved' || !found);
      if (taken.length > 0) {
        results.push({ orderId: id, actions: taken });
      }
    }
    this.passedAccounts.add(accountId);
    return results;
  }

  /**
   * Applies the broker's evidence about one order under the account lock. `anyStatus`: the account pass
   * also corrects orders we have as settled (a late fill after a cancel); otherwise only uncertain or
   * flagged orders are looked at.
   */
  private async settle(
    broker: ExecutionClient,
    accountId: string,
    orderId: string,
    found: OrderStatusReport | null,
    fills: readonly BrokerFillEvidence[],
    options: { anyStatus: boolean; replacedOrder?: OrderStatusReport | null },
  ): Promise<ReconciliationAction[]> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const order = await this.orderRepository.find(tx, orderId);
      const flagged = await this.orderRepository.needsReconciliation(tx, orderId);
      if (!order || (!options.anyStatus && !UNCERTAIN_STATUSES.has(order.status) && !flagged)) {
        return { actions: [], waiting: false };
      }
      if (order.status === 'denied') {
        return { actions: [], waiting: false };
      }
      // "Not found" or "still working" proves nothing while a request may still be on its way to the broker.
      const waiting = this.clock.now() - order.updatedAt < this.missingAfterMs;

      const actions = reconcileOrder(
        {
          status: order.status,
          brokerOrderId: order.brokerOrderId,
          appliedExecutionIds: await this.executions.recordedIds(tx, orderId, broker.venue),
        },
        {
          order: found,
          fills,
          lookupIsConclusive: broker.supportsClientOrderId && !waiting,
          requestMayBeInFlight: waiting,
          replacedOrder: options.replacedOrder ?? null,
        },
      );
      for (const action of actions) {
        await this.applyAction(broker.venue, tx, orderId, action, found);
      }
      const after = await this.orderRepository.find(tx, orderId);
      if (after && order.status === 'pending_new' && after.status !== 'pending_new') {
        await this.idempotencyKeys.complete(tx, after, this.clock.now());
      }
      if (flagged && !actions.some((a) => a.kind === 'unresolved')) {
        await this.orderRepository.clearNeedsReconciliation(tx, orderId);
      }
      return { actions, waiting };
    });
    if (!step) {
      return [];
    }
    const { actions, waiting } = step.result;
    const unresolved = actions.find((a) => a.kind === 'unresolved');
    if (unresolved && waiting) {
      // Inside the in-flight window: look again on the next sweep, no alert yet.
    } else if (unresolved) {
      this.backOff(orderId);
      this.metrics.unresolvedOrders.inc({ venue: broker.venue });
      this.logger.error(
        { orderId, accountId, reason: unresolved.reason, alert: 'order_unresolved' },
        'reconciliation could not settle an order',
      );
    } else {
      this.backoff.delete(orderId);
    }
    for (const action of actions) {
      if (!(waiting && action.kind === 'unresolved')) {
        this.metrics.reconciliationActions.inc({ action: action.kind });
      }
    }
    if (actions.some((a) => a.kind !== 'unresolved')) {
      this.logger.info({ orderId, accountId, actions: actions.map((a) => a.kind) }, 'order reconciled');
    }
    return actions;
  }

  private backOff(orderId: string): void {
    const previous = this.backoff.get(orderId)?.delay ?? SWEEP_INTERVAL_MS;
    const delay = Math.min(previous * 2, MAX_BACKOFF_MS);
    this.backoff.set(orderId, { until: this.clock.now() + delay, delay });
  }

  private async applyAction(
    venue: string,
    tx: AccountTransaction,
    orderId: string,
    action: ReconciliationAction,
    found: OrderStatusReport | null,
  ): Promise<void> {
    const order = await this.orderRepository.find(tx, orderId);
    if (!order) {
      return;
    }
    const raw = found?.raw ?? null;
    const now = this.clock.now();
    // The venue's booked quantity (a replacement's: new total minus what the old order had filled).
    const booked = found ? { cumulativeQuantity: new Decimal(0), leavesQuantity: found.quantity } : {};
    const report = (execType: ExecutionReport['execType'], extra: Partial<ExecutionReport> = {}): ExecutionReport => ({
      venue,
      execType,
      clientOrderId: order.id,
      brokerOrderId: order.brokerOrderId ?? '',
      symbol: order.symbol,
      side: order.side,
      cumulativeQuantity: order.filledQuantity,
      leavesQuantity: order.quantity.minus(order.filledQuantity),
      transactTime: now,
      raw: { source: 'reconciliation', broker: raw },
      ...extra,
    });
    switch (action.kind) {
      case 'accept':
        return this.reports.apply(tx, order, report('new', { brokerOrderId: action.brokerOrderId, ...booked }));
      case 'fill': {
        // The broker's record of the fill itself (a FillReport's `raw`), beside the order's.
        const fill = (action.fill as { raw?: unknown }).raw ?? null;
        const payload = { source: 'reconciliation', broker: raw, fill };
        return this.reports.apply(tx, order, report('trade', { execution: action.fill, ...booked, raw: payload }));
      }
      case 'cancel':
        return this.reports.apply(tx, order, report('canceled'));
      case 'expire':
        return this.reports.apply(tx, order, report('expired'));
      case 'replace':
        return this.reports.apply(tx, order, report('replaced'));
      case 'reject':
        return this.restate(tx, order, {
          kind: 'rejected',
          at: now,
          reason: { code: action.code, message: action.message },
        });
      case 'cancel_not_applied':
        return this.restate(tx, order, { kind: 'cancel_rejected', at: now });
      case 'replace_not_applied':
        return this.restate(tx, order, { kind: 'replace_rejected', at: now });
      case 'unresolved':
        return;
    }
  }

  private async restate(tx: AccountTransaction, order: Order, event: OrderEvent): Promise<void> {
    await tx.applyEvent(order, event, { brokerPayload: { source: 'reconciliation' } });
  }
}
