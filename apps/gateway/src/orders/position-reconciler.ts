import {
  type Clock,
  comparePositions,
  confirmedDifferences,
  explainDifference,
  type PositionDifference,
  toDecimalString,
  UNCERTAIN_STATUSES,
} from '@gateway/oms';
import type { ExecutionClient, FillReport, PositionReport } from '@gateway/brokers';
import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { AccountRepository } from '../accounts/account.repository.js';
import type { Account } from '../accounts/account.js';
import { ApiError } from '../common/api-error.js';
import { isUuid } from '../common/ids.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { GatewayMetrics } from '../health/metrics.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { CLOCK } from '../market/market.tokens.js';
import { PositionRepository } from './persistence/position.repository.js';
import {
  type PositionFinding,
  ReconciliationBreakRepository,
  type ReconciliationBreak,
} from './persistence/reconciliation-break.repository.js';

/**
 * How recently an uncertain order must have changed for a difference in its symbol to wait for it: one
 * uncertain for longer is stuck (the order half of the pass alerts on it), and the difference is judged.
 */
const IN_FLIGHT_MS = 5 * 60_000;

/** How long the pass waits before it reads both sides again to confirm a difference (a fill in flight). */
const CONFIRM_AFTER_MS = 250;

/** What a position pass did: skipped (no client here, or one without `positions()`), or its breaks. */
export type PositionPassResult =
  | { readonly kind: 'skipped'; readonly reason: string }
  | {
      readonly kind: 'passed';
      /** Every break the pass saw (still there: open or acknowledged), opened now or before. */
      readonly breaks: readonly ReconciliationBreak[];
      readonly opened: readonly ReconciliationBreak[];
      readonly resolved: readonly ReconciliationBreak[];
    };

/**
 * Position reconciliation (README, "Reconciliation"; docs/reconciliation.md): the second half of the
 * account pass, run by ReconciliationJobs right after the order half (OrderReconciler.reconcileAccount),
 * which has brought in every fill the broker lists for our orders in the look-back window (applied once,
 * by execution id, marked `source: reconciliation` with the broker's payload). Then:
 * 1. the broker's positions (`ExecutionClient.positions()`) and ours (the `positions` table, signed) are
 *    compared (`comparePositions`); a difference is read again CONFIRM_AFTER_MS later and kept only if
 *    it held still (`confirmedDifferences`: a fill between the two reads is not a break);
 * 2. each remaining difference is a break, recorded with both quantities, the broker's record and the
 *    broker executions of the symbol we never applied (the broker's fill list in the look-back window,
 *    less our executions), kept as the evidence that may explain it;
 * 3. a new break raises the `position_break` alert (a warn log line) and blocks entries in the symbol on
 *    the account (`risk.position_break`; exits stay possible) until a pass no longer finds it (resolved)
 *    or risk staff acknowledge it; the `gateway_position_breaks` gauge counts the open ones.
 * A broker-scoped client (the paper venues) serves every account of its broker with one book and no
 * accounts: its positions are compared with the sum of those accounts' (of the account's environment),
 * and a difference, which cannot be put down to one of them, is a break of each account whose pass finds it.
 */
@Injectable()
export class PositionReconciler implements OnApplicationBootstrap {
  private readonly lookbackMs: number;

  constructor(
    private readonly breaks: ReconciliationBreakRepository,
    private readonly positions: PositionRepository,
    private readonly accounts: AccountRepository,
    private readonly brokers: AccountBrokers,
    private readonly metrics: GatewayMetrics,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.lookbackMs = config.reconcileLookbackMs;
  }

  async onApplicationBootstrap(): Promise<void> {
    await this.refreshGauge();
  }

  /** The position half of run `runId` of the account's pass. Rejects when the broker does not answer. */
  async reconcile(accountId: string, runId: string): Promise<PositionPassResult> {
    const account = await this.accounts.findById(accountId);
    if (!account || !this.brokers.serves(account.broker, account.environment)) {
      return { kind: 'skipped', reason: 'its broker is not served here' };
    }
    const client = await this.brokers.clientFor(account);
    if (!client.positions) {
      return { kind: 'skipped', reason: `broker ${account.broker} reports no positions` };
    }
    const scope = await this.scopeOf(account);
    const first = await this.differences(client, scope);
    let found: { differences: PositionDifference[]; reports: PositionReport[] } = { differences: [], reports: [] };
    if (first.differences.length > 0) {
      await new Promise((resolve) => setTimeout(resolve, CONFIRM_AFTER_MS));
      const again = await this.differences(client, scope);
      found = { differences: confirmedDifferences(first.differences, again.differences), reports: again.reports };
    }
    // A difference in a symbol with an order still uncertain is not judged now: its fills may be at the
    // broker before the gateway can put them down to it (the order's answer, or a match, still to come).
    // Its current break, if any, stays; the next pass, once the order is settled, decides.
    const undecided = await this.breaks.symbolsInFlight(
      scope,
      found.differences.map((d) => d.symbol),
      [...UNCERTAIN_STATUSES],
      this.clock.now() - IN_FLIGHT_MS,
    );
    if (undecided.size > 0) {
      this.logger.info(
        { accountId, symbols: [...undecided] },
        'position difference left for the next pass: orders in the symbol are still uncertain',
      );
    }
    const findings = await this.findings(
      client,
      found.differences.filter((d) => !undecided.has(d.symbol)),
      found.reports,
    );
    const recorded = await this.breaks.recordPositionPass(
      { accountId, runId, venue: client.venue, environment: account.environment, at: this.clock.now() },
      findings,
      undecided,
    );
    for (const b of recorded.opened) {
      this.logger.warn(
        {
          alert: 'position_break',
          accountId,
          venue: b.venue,
          symbol: b.symbol,
          ours: toDecimalString(b.ours),
          broker: toDecimalString(b.broker),
          breakId: b.id,
          executions: b.executions.length,
        },
        "position break: our position differs from the broker's; entries in the symbol are blocked until a clean pass or an acknowledgement",
      );
    }
    for (const b of recorded.resolved) {
      this.logger.info({ accountId, symbol: b.symbol, breakId: b.id, was: b.status }, 'position break resolved');
    }
    if (recorded.opened.length > 0 || recorded.resolved.length > 0) {
      await this.refreshGauge();
    }
    return { kind: 'passed', breaks: recorded.seen, opened: recorded.opened, resolved: recorded.resolved };
  }

  /**
   * Risk staff's acknowledgement of an open break (`POST …/reconciliation/breaks/{id}/acknowledge`): the
   * break is kept, with who, why and when, and stops blocking entries in its symbol; a later pass that finds
   * the same difference leaves it acknowledged, one that finds another opens a new break. 404 for a break
   * not of this account, 409 for one no longer open.
   */
  async acknowledge(accountId: string, breakId: string, by: string, reason: string): Promise<ReconciliationBreak> {
    const outcome = isUuid(breakId)
      ? await this.breaks.acknowledge(accountId, breakId, { by, reason, at: this.clock.now() })
      : ({ kind: 'not_found' } as const);
    switch (outcome.kind) {
      case 'not_found':
        throw new ApiError(
          404,
          'reconciliation.break_not_found',
          'Break not found',
          `No reconciliation break ${breakId} in this account.`,
        );
      case 'not_open':
        throw new ApiError(
          409,
          'reconciliation.break_not_open',
          'Break not open',
          `Break ${breakId} is ${outcome.break.status}: only an open break can be acknowledged.`,
          { breakStatus: outcome.break.status },
        );
      case 'acknowledged':
        this.logger.warn(
          { accountId, breakId, symbol: outcome.break.symbol, by },
          'position break acknowledged by risk staff: entries in the symbol allowed again',
        );
        await this.refreshGauge();
        return outcome.break;
    }
  }

  /** Sets `gateway_position_breaks{venue,environment}` from the open breaks of every account. */
  async refreshGauge(): Promise<void> {
    try {
      const counts = await this.breaks.openCounts();
      this.metrics.positionBreaks.reset();
      for (const c of counts) {
        this.metrics.positionBreaks.set({ venue: c.venue, environment: c.environment }, c.count);
      }
    } catch (error) {
      this.logger.warn({ err: error }, 'the position breaks gauge could not be read; it is set on the next pass');
    }
  }

  /** The accounts whose positions the client's answer covers: the account, or all of a broker-scoped client's. */
  private async scopeOf(account: Account): Promise<string[]> {
    if (!this.brokers.isBrokerScoped(account)) {
      return [account.id];
    }
    const all = await this.accounts.onBroker(account.broker);
    return all.filter((a) => a.environment === account.environment).map((a) => a.id);
  }

  private async differences(
    client: ExecutionClient,
    scope: readonly string[],
  ): Promise<{ differences: PositionDifference[]; reports: PositionReport[] }> {
    const reports = await client.positions!();
    return { differences: comparePositions(await this.positions.quantities(scope), reports), reports };
  }

  /** Each difference with its evidence: the broker's record, and its executions in the symbol we lack. */
  private async findings(
    client: ExecutionClient,
    differences: readonly PositionDifference[],
    reports: readonly PositionReport[],
  ): Promise<PositionFinding[]> {
    if (differences.length === 0) {
      return [];
    }
    const symbols = new Set(differences.map((d) => d.symbol));
    const fills = (await client.listFills(this.clock.now() - this.lookbackMs)).filter((f) => symbols.has(f.symbol));
    const recorded = await this.breaks.recordedExecutionIds(
      client.venue,
      fills.map((f) => f.brokerExecutionId),
    );
    const unapplied = fills.filter((f) => !recorded.has(f.brokerExecutionId));
    return differences.map((d) => {
      const { executions, explainsAll } = explainDifference<FillReport>(d, unapplied);
      return {
        symbol: d.symbol,
        ours: d.ours,
        broker: d.broker,
        executions: executions.map((e) => ({
          brokerExecutionId: e.brokerExecutionId,
          brokerOrderId: e.brokerOrderId,
          clientOrderId: e.clientOrderId,
          side: e.side,
          quantity: toDecimalString(e.quantity),
          price: toDecimalString(e.price),
          executedAt: new Date(e.executedAt).toISOString(),
          explainsAll,
          raw: e.raw,
        })),
        brokerPayload: reports.filter((r) => r.symbol === d.symbol).map((r) => r.raw),
      };
    });
  }
}
