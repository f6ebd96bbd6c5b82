import { OPEN_STATUSES, type Order, ORDER_STATUSES, UNCERTAIN_STATUSES, WORKING_STATUSES } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource, In, IsNull, LessThan, MoreThanOrEqual, Not } from 'typeorm';
import { isUuid } from '../../common/ids.js';
import { OrderEntity } from '../../database/entities.js';
import { toDomainOrder, toOrderEntityFields } from '../order.mapper.js';
import type { AccountScope } from '../../persistence/account-scope.js';
import { type LockedRead, readIn } from '../../persistence/locked-reads.js';
import { writeIn } from '../../persistence/write-batch.js';

/** Every column of `orders` an `Order` is made of, named as `OrderEntity`'s properties (toDomainOrder). */
const ORDER_COLUMNS = `id, account_id AS "accountId", client_order_id AS "clientOrderId", environment, symbol, side, type,
  time_in_force AS "timeInForce", position_effect AS "positionEffect", quantity, limit_price AS "limitPrice",
  stop_price AS "stopPrice", status, filled_quantity AS "filledQuantity", average_fill_price AS "averageFillPrice",
  filled_notional AS "filledNotional", broker_order_id AS "brokerOrderId", reject_reason_code AS "rejectReasonCode",
  reject_reason_message AS "rejectReasonMessage", replaces_order_id AS "replacesOrderId",
  replaced_by_order_id AS "replacedByOrderId", ttl_ms AS "ttlMs", cancel_requested_at AS "cancelRequestedAt",
  created_at AS "createdAt", updated_at AS "updatedAt", last_seq AS "lastSeq"`;

const FIND_IN_ACCOUNT = `SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1 AND account_id = $2`;

const INSERT = `
  INSERT INTO orders (id, account_id, client_order_id, environment, venue, symbol, side, type, time_in_force,
    position_effect, quantity, limit_price, stop_price, ttl_ms, overfilled, needs_reconciliation,
    accepted_trading_state, intent_mid, created_at, status, filled_quantity, average_fill_price, filled_notional,
    broker_order_id, reject_reason_code, reject_reason_message, replaces_order_id, replaced_by_order_id,
    cancel_requested_at, updated_at, last_seq)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, false, false, $15, $16, $17, $18, $19, $20,
    $21, $22, $23, $24, $25, $26, $27, $28, $29)`;

const SAVE = `
  UPDATE orders SET status = $3, quantity = $4, filled_quantity = $5, average_fill_price = $6, filled_notional = $7,
    broker_order_id = $8, reject_reason_code = $9, reject_reason_message = $10, replaces_order_id = $11,
    replaced_by_order_id = $12, cancel_requested_at = $13, updated_at = $14, last_seq = $15
  WHERE id = $1 AND account_id = $2`;

/** The parameters after the first two ($1 id, $2 account) of SAVE, and the same fields of INSERT. */
function stateParams(o: Order): unknown[] {
  const f = toOrderEntityFields(o);
  return [
    f.status,
    f.quantity,
    f.filledQuantity,
    f.averageFillPrice,
    f.filledNotional,
    f.brokerOrderId,
    f.rejectReasonCode,
    f.rejectReasonMessage,
    f.replacesOrderId,
    f.replacedByOrderId,
    f.cancelRequestedAt,
    f.updatedAt,
    f.lastSeq,
  ];
}

const OPEN = [...OPEN_STATUSES];
const UNCERTAIN = [...UNCERTAIN_STATUSES];
const WORKING = [...WORKING_STATUSES];
const CLOSED = ORDER_STATUSES.filter((s) => !OPEN_STATUSES.has(s));
/** A time-to-live deadline is armed on an open order with no cancel already sent (README, `ttlMs`). */
const TTL_ARMED = OPEN.filter((s) => s !== 'pending_cancel');

/** An order's id with its account. */
export interface OrderRef {
  readonly id: string;
  readonly accountId: string;
}

export interface OrderPage {
  readonly orders: Order[];
  /** The cursor of the following page (the last id of this one), null on the last page. */
  readonly next: string | null;
}

export interface OrderListFilter {
  readonly status: 'open' | 'closed' | 'all';
  readonly symbol?: string | undefined;
  readonly limit: number;
  /** Cursor: the last order id of the previous page (ids are UUIDv7, so they sort by creation). */
  readonly after?: string | undefined;
}

/**
 * The orders table. Writes take the account transaction (`AccountScope`); reads of committed state
 * (no lock) take the account id. The order path's statements (find, insert, save in the account
 * transaction, and `findCommittedById`) are plain SQL, the writes held in the transaction's WriteBatch;
 * the rest use TypeORM's entity API. Rows are mapped to the domain `Order` by order.mapper.ts, and no
 * entity leaves this class.
 */
@Injectable()
export class OrderRepository {
  constructor(private readonly dataSource: DataSource) {}

  // ---- in the account transaction ----

  async find(scope: AccountScope, orderId: string): Promise<Order | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const [row] = await readIn<OrderEntity>(scope, this.findRead(scope.account.id, orderId));
    return row ? toDomainOrder(row) : null;
  }

  /** `find`'s read, to send with the account's lock (LockedRead); `orderId` must be a UUID. */
  findRead(accountId: string, orderId: string): LockedRead {
    return { sql: FIND_IN_ACCOUNT, params: [orderId, accountId] };
  }

  /**
   * Inserts a new order. `venue`: where it goes; `acceptedTradingState`: the account's effective
   * trading state it was accepted in (the kill switch cancels what was accepted before a halt).
   */
  async insert(
    scope: AccountScope,
    order: Order,
    placement: {
      readonly venue: string;
      readonly acceptedTradingState: string | null;
      readonly intentMid?: string | null;
    },
  ): Promise<void> {
    await writeIn(scope, {
      sql: INSERT,
      params: [
        order.id,
        order.accountId,
        order.clientOrderId,
        order.environment,
        placement.venue,
        order.symbol,
        order.side,
        order.type,
        order.timeInForce,
        order.positionEffect,
        order.quantity.toFixed(),
        order.limitPrice?.toFixed() ?? null,
        order.stopPrice?.toFixed() ?? null,
        order.ttlMs,
        placement.acceptedTradingState,
        placement.intentMid ?? null,
        new Date(order.createdAt),
        ...stateParams(order).slice(0, 1),
        ...stateParams(order).slice(2),
      ],
      key: `orders:${order.id}`,
    });
  }

  /** The mid at intent (decimal string, or null) of each of the account's orders among `orderIds`. */
  async intentMids(accountId: string, orderIds: readonly string[]): Promise<Map<string, string | null>> {
    if (orderIds.length === 0) {
      return new Map();
    }
    const rows = await this.dataSource.manager.find(OrderEntity, {
      select: { id: true, intentMid: true },
      where: { accountId, id: In([...orderIds]) },
    });
    return new Map(rows.map((r) => [r.id, r.intentMid]));
  }

  /** Saves the fields an event changes (see applyOrderEvent of libs/oms). */
  async save(scope: AccountScope, order: Order): Promise<void> {
    await writeIn(scope, {
      sql: SAVE,
      params: [order.id, scope.account.id, ...stateParams(order)],
      key: `orders:${order.id}`,
      supersedes: true,
    });
  }

  /** Flags an order that an execution would have overfilled (the execution is kept as evidence). */
  async markOverfilled(scope: AccountScope, orderId: string): Promise<void> {
    await scope.manager.update(OrderEntity, { id: orderId, accountId: scope.account.id }, { overfilled: true });
  }

  /** Whether a broker report could not be applied to the order (left to reconciliation). */
  async needsReconciliation(scope: AccountScope, orderId: string): Promise<boolean> {
    return scope.manager.exists(OrderEntity, {
      where: { id: orderId, accountId: scope.account.id, needsReconciliation: true },
    });
  }

  async clearNeedsReconciliation(scope: AccountScope, orderId: string): Promise<void> {
    await scope.manager.update(
      OrderEntity,
      { id: orderId, accountId: scope.account.id },
      { needsReconciliation: false },
    );
  }

  // ---- committed state, no lock ----

  async findCommitted(accountId: string, orderId: string): Promise<Order | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const row = await this.dataSource.manager.findOne(OrderEntity, { where: { id: orderId, accountId } });
    return row ? toDomainOrder(row) : null;
  }

  async findByClientOrderId(accountId: string, clientOrderId: string): Promise<Order | null> {
    const row = await this.dataSource.manager.findOne(OrderEntity, { where: { accountId, clientOrderId } });
    return row ? toDomainOrder(row) : null;
  }

  /**
   * The committed order with this id, whichever its account (its `accountId` names it), or null for an
   * id we never issued. One statement outside any transaction: it may be older than what the account's
   * lock holder is about to commit, never newer.
   */
  async findCommittedById(orderId: string): Promise<Order | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const [row] = await this.dataSource.query<OrderEntity[]>(`SELECT ${ORDER_COLUMNS} FROM orders WHERE id = $1`, [
      orderId,
    ]);
    return row ? toDomainOrder(row) : null;
  }

  /** Flags an order so that the reconciliation sweep settles it from the broker's records. */
  async flagForReconciliation(orderId: string): Promise<void> {
    if (isUuid(orderId)) {
      await this.dataSource.manager.update(OrderEntity, { id: orderId }, { needsReconciliation: true });
    }
  }

  /** Newest first, `limit` per page. */
  async list(accountId: string, filter: OrderListFilter): Promise<OrderPage> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: {
        accountId,
        ...(filter.status === 'open' ? { status: In(OPEN) } : {}),
        ...(filter.status === 'closed' ? { status: In(CLOSED) } : {}),
        ...(filter.symbol ? { symbol: filter.symbol } : {}),
        ...(filter.after ? { id: LessThan(filter.after) } : {}),
      },
      order: { id: 'DESC' },
      take: filter.limit + 1,
    });
    const page = rows.slice(0, filter.limit);
    return {
      orders: page.map(toDomainOrder),
      next: rows.length > filter.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  /** Ids of the account's orders in an open status, oldest first. */
  async openIds(accountId: string): Promise<string[]> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: { accountId, status: In(OPEN) },
      select: { id: true },
      order: { id: 'ASC' },
    });
    return rows.map((r) => r.id);
  }

  /** Every uncertain order (`pending_new`, `pending_cancel`, `pending_replace`, `unknown`). */
  async uncertain(): Promise<OrderRef[]> {
    return this.dataSource.manager.find(OrderEntity, {
      where: { status: In(UNCERTAIN) },
      select: { id: true, accountId: true },
    });
  }

  /** How many of `ids` are still uncertain. */
  async countUncertain(ids: readonly string[]): Promise<number> {
    if (ids.length === 0) {
      return 0;
    }
    return this.dataSource.manager.count(OrderEntity, { where: { id: In([...ids]), status: In(UNCERTAIN) } });
  }

  /** Accounts with an order changed since `since` (epoch ms) or uncertain. */
  async accountsChangedSince(since: number): Promise<string[]> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: [{ updatedAt: MoreThanOrEqual(new Date(since)) }, { status: In(UNCERTAIN) }],
      select: { accountId: true },
    });
    return [...new Set(rows.map((r) => r.accountId))];
  }

  /** Uncertain or flagged orders unchanged since `before` (epoch ms), least recently changed first. */
  async dueForReconciliation(before: number, limit: number): Promise<OrderRef[]> {
    const stale = LessThan(new Date(before));
    return this.dataSource.manager.find(OrderEntity, {
      where: [
        { status: In(UNCERTAIN), updatedAt: stale },
        { needsReconciliation: true, updatedAt: stale },
      ],
      select: { id: true, accountId: true },
      order: { updatedAt: 'ASC' },
      take: limit,
    });
  }

  /** Working orders with a cancel held since before their acknowledgement: it can be sent now. */
  async withHeldCancel(limit: number): Promise<OrderRef[]> {
    return this.dataSource.manager.find(OrderEntity, {
      where: { cancelRequestedAt: Not(IsNull()), status: In(WORKING) },
      select: { id: true, accountId: true },
      take: limit,
    });
  }

  /** Broker order ids the account's orders already have (a broker order matches at most one of ours). */
  async claimedBrokerOrderIds(accountId: string): Promise<Set<string>> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: { accountId, brokerOrderId: Not(IsNull()) },
      select: { id: true, brokerOrderId: true },
    });
    return new Set(rows.flatMap((r) => (r.brokerOrderId === null ? [] : [r.brokerOrderId])));
  }

  /** The account's orders among `ids`, and its uncertain ones, in id order. */
  async idsOrUncertain(accountId: string, ids: readonly string[]): Promise<string[]> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: [...(ids.length > 0 ? [{ accountId, id: In([...ids]) }] : []), { accountId, status: In(UNCERTAIN) }],
      select: { id: true },
      order: { id: 'ASC' },
    });
    return rows.map((r) => r.id);
  }

  /** Orders with a time-to-live that is still to be enforced, with their deadlines (epoch ms). */
  async ttlDeadlines(): Promise<(OrderRef & { readonly deadline: number })[]> {
    const rows = await this.dataSource.manager.find(OrderEntity, {
      where: { ttlMs: Not(IsNull()), status: In(TTL_ARMED) },
      select: { id: true, accountId: true, createdAt: true, ttlMs: true },
    });
    return rows.map((o) => ({ id: o.id, accountId: o.accountId, deadline: o.createdAt.getTime() + (o.ttlMs ?? 0) }));
  }
}
