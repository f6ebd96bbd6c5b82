import {
  Decimal,
  OPEN_STATUSES,
  REFUSED_STATUSES,
  type OrderSide,
  type OrderStatus,
  type OrderType,
  type PositionEffect,
} from '@gateway/oms';
import type { RecentOrder } from '@gateway/risk';
import { Injectable } from '@nestjs/common';
import type { AccountScope } from '../persistence/account-scope.js';

/** An order of the account in an open status (`OPEN_STATUSES`), as the exposure checks read it. */
export interface OpenOrder {
  readonly id: string;
  readonly status: OrderStatus;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly type: OrderType;
  readonly quantity: Decimal;
  readonly filledQuantity: Decimal;
  readonly limitPrice: Decimal | null;
  readonly stopPrice: Decimal | null;
  readonly positionEffect: PositionEffect | null;
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
  position_effect: PositionEffect | null;
  created_at: Date;
}

interface PositionRow {
  symbol: string;
  quantity: string;
  average_price: string;
  realized_pnl: string;
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

const ORDER_COLUMNS = `id, status, symbol, side, type, quantity, filled_quantity, limit_price, stop_price,
  position_effect, created_at`;

const toOpenOrder = (r: OrderRow): OpenOrder => ({
  id: r.id,
  status: r.status,
  symbol: r.symbol,
  side: r.side,
  type: r.type,
  quantity: new Decimal(r.quantity),
  filledQuantity: new Decimal(r.filled_quantity),
  limitPrice: dec(r.limit_price),
  stopPrice: dec(r.stop_price),
  positionEffect: r.position_effect,
});

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
  /** Every order of the account that is or may be working. */
  async openOrders(scope: AccountScope): Promise<OpenOrder[]> {
    const rows = await scope.manager.query<OrderRow[]>(
      `SELECT ${ORDER_COLUMNS} FROM orders WHERE account_id = $1 AND status = ANY($2)`,
      [scope.account.id, OPEN],
    );
    return rows.map(toOpenOrder);
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
