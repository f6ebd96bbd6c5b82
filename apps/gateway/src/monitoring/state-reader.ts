import { contractMultiplier, Decimal, OPEN_STATUSES, type OrderStatus, toDecimalString } from '@gateway/oms';
import { Inject, Injectable } from '@nestjs/common';
import type { Account } from '../accounts/account.js';
import { AccountRepository } from '../accounts/account.repository.js';
import { effectiveTradingState, type GlobalTradingState } from '../accounts/trading-state.js';
import { TradingStateRepository } from '../accounts/trading-state.repository.js';
import { BROKER_REAUTH_BLOCK } from '../broker-connections/broker-connection.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { JobQueues } from '../jobs/job-queues.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { RESTART_BLOCK } from '../orders/order-reconciler.js';
import { ReconciliationBreakRepository } from '../orders/persistence/reconciliation-break.repository.js';
import { OrderQueries } from '../orders/order-queries.service.js';
import { OrderMessages } from '../risk/order-messages.js';
import type { AccountFigures, EntryGate, ExecutionFigures, RecentOrder, StateSnapshot } from './snapshot.js';

/** Accounts a snapshot carries at most (by name), and orders read per account. */
const MAX_ACCOUNTS = 50;
const RECENT_ORDERS = 100;
/** Orders shown per account in the snapshot (the blotter). */
const BLOTTER = 15;
/** The execution figures' window, and the orders-per-second window inside it. */
const EXECUTION_WINDOW_MS = 60_000;
const RATE_WINDOW_MS = 10_000;

/**
 * Reads the database state a snapshot carries, through the modules' facades: the accounts and the
 * global trading state (accounts/), their entry gates (the account's own block, its broker's
 * connection, unknown orders, open position breaks, the OTR ceiling), positions and the newest orders (OrderQueries), the
 * order-to-trade ratio (OrderMessages), the broker connections (OAuth) and the job queues. One read at a
 * time (the publisher never starts another while one runs); a gate's `since` is when this instance
 * first saw it, except for trading states, which carry their own time.
 */
@Injectable()
export class StateReader {
  private readonly firstSeen = new Map<string, number>();

  constructor(
    private readonly accounts: AccountRepository,
    private readonly tradingStates: TradingStateRepository,
    private readonly brokers: AccountBrokers,
    private readonly orders: OrderQueries,
    private readonly messages: OrderMessages,
    private readonly jobs: JobQueues,
    private readonly breaks: ReconciliationBreakRepository,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  async read(now: number): Promise<StateSnapshot> {
    const [global, list, jobs] = await Promise.all([
      this.tradingStates.global(),
      this.accounts.list(this.config.environments),
      this.jobs.status().then(
        (queues) =>
          queues.map(({ name, waiting, active, delayed, failed }) => ({ name, waiting, active, delayed, failed })),
        () => null,
      ),
    ]);
    const shown = list.slice(0, MAX_ACCOUNTS);
    const [connections, sources] = await Promise.all([
      this.accounts.brokerConnections(shown.map((a) => a.id)),
      this.tradingStates.latestSources(shown.map((a) => a.id)),
    ]);
    const accounts: AccountFigures[] = [];
    const seen = new Set<string>();
    for (const account of shown) {
      accounts.push(
        await this.account(
          account,
          global,
          connections.get(account.id) ?? null,
          sources.accounts.get(account.id) ?? null,
          now,
          seen,
        ),
      );
    }
    for (const key of this.firstSeen.keys()) {
      if (!seen.has(key)) {
        this.firstSeen.delete(key);
      }
    }
    return {
      at: now,
      global: {
        state: global.state,
        source: sources.global,
        reason: global.reason,
        changedBy: global.changedBy,
        changedAt: global.changedAt.getTime(),
      },
      accounts,
      jobs,
    };
  }

  private async account(
    a: Account,
    global: GlobalTradingState,
    connection: {
      status: NonNullable<AccountFigures['connection']>['status'];
      accessExpiresAt: string | null;
      refreshExpiresAt: string | null;
    } | null,
    source: string | null,
    now: number,
    seen: Set<string>,
  ): Promise<AccountFigures> {
    const [positions, page, otr] = await Promise.all([
      this.orders.positions(a.id),
      this.orders.list(a.id, { status: 'all', limit: RECENT_ORDERS }),
      this.messages.orderToTrade(a.id).catch(() => null),
    ]);
    // The mid at intent of the orders with a fill (the net expected value of the Execution panel).
    const mids = await this.orders.intentMids(
      a.id,
      page.orders.filter((o) => o.averageFillPrice !== null).map((o) => o.id),
    );
    const timelines = await this.orders.statusTimelines(
      a.id,
      page.orders.slice(0, BLOTTER).map((o) => o.id),
    );
    const orders: RecentOrder[] = page.orders.map((o) => ({
      id: o.id,
      clientOrderId: o.clientOrderId,
      symbol: o.symbol.trim(),
      side: o.side,
      type: o.type,
      quantity: o.quantity,
      filledQuantity: o.filledQuantity,
      limitPrice: o.limitPrice,
      averageFillPrice: o.averageFillPrice,
      intentMid: mids.get(o.id) ?? null,
      status: o.status,
      createdAt: Date.parse(o.createdAt),
      updatedAt: Date.parse(o.updatedAt),
      timeline: timelines.get(o.id)?.map((t) => ({ status: t.status, at: t.at.getTime() })),
    }));
    const effective = effectiveTradingState(a, global);
    const gates: EntryGate[] = [];
    const gate = (code: EntryGate['code'], reason: string, since?: number) => {
      const key = `${a.id}|${code}|${reason}`;
      seen.add(key);
      const first = this.firstSeen.get(key) ?? since ?? now;
      this.firstSeen.set(key, first);
      gates.push({ code, reason, since: since ?? first });
    };
    if (effective.state !== 'active') {
      const globalWins = effective.reason?.startsWith('globally') ?? false;
      const at = globalWins ? global.changedAt.getTime() : (a.tradingStateChangedAt?.getTime() ?? now);
      // The account's own `reducing` set by the RTT lockdown is its own gate: entries come back when the
      // venue's round trips do (or risk staff lift it), not when someone re-arms.
      const lockdown = !globalWins && effective.state === 'reducing' && source === 'lockdown';
      gate(
        effective.state === 'halted' ? 'trading_halted' : lockdown ? 'lockdown' : 'trading_reducing',
        effective.reason ?? effective.state,
        at,
      );
    }
    if (a.entriesBlockedReason !== null) {
      const code = a.entriesBlockedReason.startsWith(RESTART_BLOCK)
        ? 'restart_not_reconciled'
        : a.entriesBlockedReason.startsWith(BROKER_REAUTH_BLOCK)
          ? 'reauth_required'
          : 'blocked';
      gate(code, a.entriesBlockedReason);
    }
    const brokerBlock = this.brokers.entriesBlockedReason(a);
    if (brokerBlock !== null) {
      gate('broker_disconnected', brokerBlock);
    }
    const unknown = orders.filter((o) => o.status === 'unknown');
    if (unknown.length > 0) {
      gate(
        'unknown_orders',
        `${unknown.length} order(s) unknown until reconciliation settles them (entries in ${[...new Set(unknown.map((o) => o.symbol))].join(', ')} refused)`,
      );
    }
    for (const b of await this.breaks.openPositionBreaks(a.id)) {
      gate(
        'position_break',
        `position break in ${b.symbol}: ours ${toDecimalString(b.ours)}, the broker's ${toDecimalString(b.broker)} (entries in ${b.symbol} refused)`,
        b.foundAt,
      );
    }
    if (otr?.ceiling && Number(otr.ratio) >= Number(otr.ceiling)) {
      gate('otr_ceiling', `order-to-trade ratio ${otr.ratio} at its ceiling ${otr.ceiling}`);
    }
    return {
      id: a.id,
      name: a.name,
      broker: a.broker,
      environment: a.environment,
      own: {
        state: a.tradingState,
        source: a.tradingStateChangedAt === null ? null : source,
        reason: a.tradingStateReason,
        changedBy: a.tradingStateChangedBy,
        changedAt: a.tradingStateChangedAt?.getTime() ?? null,
      },
      effective: { state: effective.state, reason: effective.reason },
      gates,
      connection: connection && {
        status: connection.status,
        accessExpiresAt: connection.accessExpiresAt ? Date.parse(connection.accessExpiresAt) : null,
        refreshExpiresAt: connection.refreshExpiresAt ? Date.parse(connection.refreshExpiresAt) : null,
      },
      positions: positions.map(({ symbol, quantity, averagePrice, realizedPnl, unrealizedPnl }) => ({
        symbol: symbol.trim(),
        quantity,
        averagePrice,
        realizedPnl,
        unrealizedPnl,
      })),
      recentOrders: orders.slice(0, BLOTTER),
      execution: executionFigures(orders, now, otr && { ratio: otr.ratio, ceiling: otr.ceiling }),
    };
  }
}

/** The Execution panel's figures of an account from its newest orders (see ExecutionFigures). */
export function executionFigures(
  orders: readonly RecentOrder[],
  now: number,
  orderToTrade: ExecutionFigures['orderToTrade'],
): ExecutionFigures {
  const sent = orders.filter((o) => o.createdAt >= now - EXECUTION_WINDOW_MS && o.status !== 'denied');
  const filled = sent.filter((o) => Number(o.filledQuantity) > 0).length;
  const canceled = sent.filter((o) => o.status === 'canceled' || o.status === 'expired').length;
  const recent = orders.filter((o) => o.createdAt >= now - RATE_WINDOW_MS && o.status !== 'denied').length;
  // Net expected value: Σ side × (mid at intent − average fill price) × filled quantity × multiplier, side
  // +1 for a buy and −1 for a sell (positive: bought under the mid or sold over it).
  let value = new Decimal(0);
  let valued = 0;
  let unvalued = 0;
  for (const o of sent) {
    if (Number(o.filledQuantity) <= 0 || !o.averageFillPrice) {
      continue;
    }
    if (!o.intentMid) {
      unvalued += 1;
      continue;
    }
    const edge = new Decimal(o.intentMid).minus(o.averageFillPrice).times(o.side === 'buy' ? 1 : -1);
    value = value.plus(edge.times(o.filledQuantity).times(contractMultiplier(o.symbol)));
    valued += 1;
  }
  return {
    windowMs: EXECUTION_WINDOW_MS,
    orders: sent.length,
    fillRate: sent.length === 0 ? null : filled / sent.length,
    cancelRate: sent.length === 0 ? null : canceled / sent.length,
    ordersPerSecond: recent / (RATE_WINDOW_MS / 1_000),
    working: orders.filter((o) => OPEN_STATUSES.has(o.status as OrderStatus)).length,
    orderToTrade,
    netExpectedValue: valued === 0 ? null : value.toFixed(2),
    filledValued: valued,
    filledUnvalued: unvalued,
  };
}
