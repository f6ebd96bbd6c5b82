import {
  Decimal,
  OPEN_STATUSES,
  REFUSED_STATUSES,
  type OrderSide,
  type OrderStatus,
  type OrderType,
} from '@gateway/oms';
import type { RecentOrder, TradingState, WorkingExposure } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import type { GlobalTradingState } from '../accounts/trading-state.js';
import type { AccountScope } from '../persistence/account-scope.js';
import { type LockedRead, readIn } from '../persistence/locked-reads.js';

/**
 * The account's orders in an open status (`OPEN_STATUSES`) summed as the exposure checks read them
 * (`WorkingExposure` without the multiplier, which the caller knows from the symbol), and the first
 * `unknown` order in one symbol.
 */
export interface WorkingOrderSums {
  readonly sums: readonly Omit<WorkingExposure, 'multiplier'>[];
  /** The id of the oldest `unknown` order in the symbol asked for, null when there is none. */
  readonly unknownOrderId: string | null;
}

/** An order placed since some time, for the duplicate check. */
export interface PlacedOrder extends RecentOrder {
  readonly id: string;
}

/** A position of the account, from confirmed fills. */
export interface HeldPosition {
  readonly symbol: string;
  /** Signed: long > 0, short < 0. */
  readonly quantity: Decimal;
  readonly averagePrice: Decimal;
  readonly realizedPnl: Decimal;
  /** The trading day `realizedPnl` last changed in (`YYYY-MM-DD`), and its value at that day's start. */
  readonly tradingDay: string | null;
  readonly dayStartRealizedPnl: Decimal;
}

interface OrderRow {
  id: string;
  status: OrderStatus;
  symbol: string;
  side: OrderSide;
  type: OrderType;
  quantity: string;
  filled_quantity: string;
  limit_price: string | null;
  stop_price: string | null;
  created_at: Date;
}

/** One row of `WORKING_SUMS`: the sums are null on the one row of an account without open orders. */
interface WorkingSumRow {
  unknown_order_id: string | null;
  symbol: string | null;
  side: OrderSide | null;
  stop_price: string | null;
  order_count: number | null;
  leaves_quantity: string | null;
  closing_quantity: string | null;
  limit_notional: string | null;
  market_quantity: string | null;
}

interface PositionRow {
  symbol: string;
  quantity: string;
  average_price: string;
  realized_pnl: string;
  /** A `date`: `YYYY-MM-DD` text, as the gateway's connections parse it (GATEWAY_PG_TYPES in data-source.ts). */
  trading_day: string | null;
  day_start_realized_pnl: string;
}

const OPEN = [...OPEN_STATUSES];
/**
 * Orders the broker refused or the gateway denied: no duplicate to protect against, their retry is
 * legitimate (duplicate-order.check.ts).
 */
const REFUSED = [...REFUSED_STATUSES];

const dec = (v: string | null): Decimal | null => (v === null ? null : new Decimal(v));

const ORDER_COLUMNS = `id, status, symbol, side, type, quantity, filled_quantity, limit_price, stop_price, created_at`;

/**
 * The open orders of account $1 summed (`working_exposure`, kept by a trigger on `orders`: one row per
 * symbol, side and stop price, whatever the number of orders), less order $2 when it is open. With, on
 * every row, the oldest `unknown` order of the account in symbol $3 (order $2 included). One row with
 * null sums when nothing is open. $4: the open statuses.
 */
const WORKING_SUMS = `
  SELECT u.unknown_order_id, w.symbol, w.side, nullif(w.stop_price, 0) AS stop_price, w.order_count,
         w.leaves_quantity, w.closing_quantity, w.limit_notional, w.market_quantity
    FROM (SELECT (SELECT id FROM orders WHERE account_id = $1 AND symbol = $3 AND status = 'unknown'
                   ORDER BY created_at, id LIMIT 1) AS unknown_order_id) u
    LEFT JOIN (
      SELECT symbol, side, stop_price, sum(order_count)::int AS order_count,
             sum(leaves_quantity) AS leaves_quantity, sum(closing_quantity) AS closing_quantity,
             sum(limit_notional) AS limit_notional, sum(market_quantity) AS market_quantity
        FROM (SELECT symbol, side, stop_price, order_count, leaves_quantity, closing_quantity, limit_notional,
                     market_quantity
                FROM working_exposure WHERE account_id = $1
              UNION ALL
              SELECT symbol, side, CASE WHEN limit_price IS NULL THEN coalesce(stop_price, 0) ELSE 0 END, -1,
                     -leaves, CASE WHEN position_effect = 'close' THEN -leaves ELSE 0 END,
                     coalesce(-leaves * limit_price, 0),
                     CASE WHEN limit_price IS NULL AND stop_price IS NULL THEN -leaves ELSE 0 END
                FROM (SELECT *, greatest(quantity - filled_quantity, 0) AS leaves
                        FROM orders WHERE id = $2 AND account_id = $1 AND status = ANY($4)) r) s
       GROUP BY symbol, side, stop_price
      HAVING sum(order_count) > 0
    ) w ON true
   ORDER BY w.symbol, w.side, w.stop_price`;

/**
 * What an intent's checks read after the account lock, in one statement: the global trading state, the
 * oldest `unknown` order of account $1 in symbol $3, the working sums of WORKING_SUMS ($2: the order left
 * out; $4: the open statuses), and the positions (all, or only symbol $5 unless $6). Decimals as text.
 */
const INTENT_READS = `
  SELECT (SELECT json_build_object('state', state, 'reason', reason, 'changed_by', changed_by,
                 'changed_at', floor(extract(epoch FROM changed_at) * 1000)::bigint)
            FROM global_trading_state WHERE singleton) AS global,
         (SELECT id FROM orders WHERE account_id = $1 AND symbol = $3 AND status = 'unknown'
           ORDER BY created_at, id LIMIT 1) AS unknown_order_id,
         (SELECT coalesce(json_agg(json_build_object('symbol', symbol, 'side', side,
                   'stop_price', nullif(stop_price, 0)::text, 'order_count', order_count,
                   'leaves_quantity', leaves_quantity::text, 'closing_quantity', closing_quantity::text,
                   'limit_notional', limit_notional::text, 'market_quantity', market_quantity::text)
                 ORDER BY symbol, side, stop_price), '[]')
            FROM (SELECT symbol, side, stop_price, sum(order_count)::int AS order_count,
                         sum(leaves_quantity) AS leaves_quantity, sum(closing_quantity) AS closing_quantity,
                         sum(limit_notional) AS limit_notional, sum(market_quantity) AS market_quantity
                    FROM (SELECT symbol, side, stop_price, order_count, leaves_quantity, closing_quantity,
                                 limit_notional, market_quantity
                            FROM working_exposure WHERE account_id = $1
                          UNION ALL
                          SELECT symbol, side, CASE WHEN limit_price IS NULL THEN coalesce(stop_price, 0) ELSE 0 END,
                                 -1, -leaves, CASE WHEN position_effect = 'close' THEN -leaves ELSE 0 END,
                                 coalesce(-leaves * limit_price, 0),
                                 CASE WHEN limit_price IS NULL AND stop_price IS NULL THEN -leaves ELSE 0 END
                            FROM (SELECT *, greatest(quantity - filled_quantity, 0) AS leaves
                                    FROM orders WHERE id = $2 AND account_id = $1 AND status = ANY($4)) r) s
                   GROUP BY symbol, side, stop_price
                  HAVING sum(order_count) > 0) w) AS sums,
         (SELECT coalesce(json_agg(json_build_object('symbol', symbol, 'quantity', quantity::text,
                   'average_price', average_price::text, 'realized_pnl', realized_pnl::text,
                   'trading_day', trading_day::text, 'day_start_realized_pnl', day_start_realized_pnl::text)
                 ORDER BY symbol), '[]')
            FROM positions WHERE account_id = $1 AND ($6 OR symbol = $5)) AS positions`;

interface IntentReadsRow {
  global: { state: TradingState; reason: string | null; changed_by: string | null; changed_at: number } | null;
  unknown_order_id: string | null;
  sums: {
    symbol: string;
    side: OrderSide;
    stop_price: string | null;
    order_count: number;
    leaves_quantity: string;
    closing_quantity: string;
    limit_notional: string;
    market_quantity: string;
  }[];
  positions: PositionRow[];
}

/** What an intent's checks read under the account lock (`RiskContextRepository.intentReads`). */
export interface IntentReads extends WorkingOrderSums {
  readonly global: GlobalTradingState;
  readonly positions: readonly HeldPosition[];
}

const toPlacedOrder = (r: OrderRow): PlacedOrder => ({
  id: r.id,
  symbol: r.symbol,
  side: r.side,
  type: r.type,
  quantity: new Decimal(r.quantity),
  limitPrice: dec(r.limit_price),
  stopPrice: dec(r.stop_price),
  createdAt: r.created_at.getTime(),
});

const toPosition = (r: PositionRow): HeldPosition => ({
  symbol: r.symbol,
  quantity: new Decimal(r.quantity),
  averagePrice: new Decimal(r.average_price),
  realizedPnl: new Decimal(r.realized_pnl),
  tradingDay: r.trading_day,
  dayStartRealizedPnl: new Decimal(r.day_start_realized_pnl),
});

/**
 * What the risk checks read of an account's orders, positions and executions (SQL), in the caller's
 * account transaction: the pre-trade context and the loss-limit lock of a limits change. Read only:
 * the orders' repositories own these tables.
 */
@Injectable()
export class RiskContextRepository {
  /**
   * In one round trip: the global trading state, the working sums and the oldest `unknown` order in
   * `symbol` (as `workingOrderSums`), and the positions (as `positions`: every one with `allPositions`,
   * else only the one in `symbol`).
   */
  async intentReads(
    scope: AccountScope,
    symbol: string,
    excluding: string | null,
    allPositions: boolean,
  ): Promise<IntentReads> {
    const [row] = await readIn<IntentReadsRow>(
      scope,
      this.intentReadsRead(scope.account.id, symbol, excluding, allPositions),
    );
    if (!row?.global) {
      throw new Error('global_trading_state has no row: the migrations were not run');
    }
    const g = row.global;
    return {
      global: { state: g.state, reason: g.reason, changedBy: g.changed_by, changedAt: new Date(Number(g.changed_at)) },
      unknownOrderId: row.unknown_order_id,
      sums: row.sums.map((r) => ({
        symbol: r.symbol,
        side: r.side,
        orderCount: r.order_count,
        leavesQuantity: new Decimal(r.leaves_quantity),
        closingQuantity: new Decimal(r.closing_quantity),
        stopPrice: dec(r.stop_price),
        limitNotional: new Decimal(r.limit_notional),
        marketQuantity: new Decimal(r.market_quantity),
      })),
      positions: row.positions.map(toPosition),
    };
  }

  /** `intentReads`'s read, to send with the account's lock (LockedRead). */
  intentReadsRead(accountId: string, symbol: string, excluding: string | null, allPositions: boolean): LockedRead {
    return { sql: INTENT_READS, params: [accountId, excluding, symbol, OPEN, symbol, allPositions] };
  }

  /**
   * The account's orders that are or may be working (open statuses), but `excluding` (an order id, or
   * null), summed (`working_exposure`): the cost grows with the symbols and stop prices, not with the
   * orders. And the oldest `unknown` order in `symbol`, `excluding` or not.
   */
  async workingOrderSums(scope: AccountScope, symbol: string, excluding: string | null): Promise<WorkingOrderSums> {
    const rows = await scope.manager.query<WorkingSumRow[]>(WORKING_SUMS, [scope.account.id, excluding, symbol, OPEN]);
    const sums: Omit<WorkingExposure, 'multiplier'>[] = [];
    for (const r of rows) {
      if (r.symbol === null || r.side === null || r.order_count === null) {
        continue;
      }
      sums.push({
        symbol: r.symbol,
        side: r.side,
        orderCount: r.order_count,
        leavesQuantity: new Decimal(r.leaves_quantity ?? 0),
        closingQuantity: new Decimal(r.closing_quantity ?? 0),
        stopPrice: dec(r.stop_price),
        limitNotional: new Decimal(r.limit_notional ?? 0),
        marketQuantity: new Decimal(r.market_quantity ?? 0),
      });
    }
    return { sums, unknownOrderId: rows[0]?.unknown_order_id ?? null };
  }

  /** The account's orders created at or after `since` (epoch ms) that were not refused. */
  async placedSince(scope: AccountScope, since: number): Promise<PlacedOrder[]> {
    const rows = await scope.manager.query<OrderRow[]>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE account_id = $1 AND created_at >= $2 AND NOT (status = ANY($3))`,
      [scope.account.id, new Date(since), REFUSED],
    );
    return rows.map(toPlacedOrder);
  }

  /** The account's positions: all of them, or only the one in `symbol`. */
  async positions(scope: AccountScope, symbol?: string): Promise<HeldPosition[]> {
    const rows = await scope.manager.query<PositionRow[]>(
      `SELECT symbol, quantity, average_price, realized_pnl, trading_day, day_start_realized_pnl
         FROM positions WHERE account_id = $1 AND ($2::text IS NULL OR symbol = $2)`,
      [scope.account.id, symbol ?? null],
    );
    return rows.map(toPosition);
  }

  /** Whether the account holds a position or has an order in an open status. */
  async hasPositionOrOpenOrder(scope: AccountScope): Promise<boolean> {
    const [row] = await scope.manager.query<{ found: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM positions WHERE account_id = $1 AND quantity <> 0)
           OR EXISTS (SELECT 1 FROM orders WHERE account_id = $1 AND status = ANY($2)) AS found`,
      [scope.account.id, OPEN],
    );
    return row?.found ?? false;
  }

  /** Whether the account has any execution in the trading day (`YYYY-MM-DD`). */
  async hasExecutionsOn(scope: AccountScope, tradingDay: string): Promise<boolean> {
    const [row] = await scope.manager.query<{ found: boolean }[]>(
      `SELECT EXISTS (SELECT 1 FROM executions WHERE account_id = $1 AND trading_day = $2) AS found`,
      [scope.account.id, tradingDay],
    );
    return row?.found ?? false;
  }
}
