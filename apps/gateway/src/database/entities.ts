import { Column, Entity, PrimaryColumn } from 'typeorm';

/**
 * Persistence shapes (TypeORM entities). Domain types live in @gateway/oms; the mapping between the two
 * is in orders/order.mapper.ts. Decimal columns are `numeric` and arrive as strings; `bigint` too.
 * The schema itself is owned by the hand-written migrations in /migrations (never `synchronize`).
 */
const timestamptz = { type: 'timestamptz' } as const;

@Entity({ name: 'accounts' })
export class AccountEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('text') name!: string;
  @Column('text') environment!: 'paper' | 'live';
  @Column('text') broker!: string;
  /** The account's number at its broker; null when not given. */
  @Column('text', { name: 'broker_account_id', nullable: true }) brokerAccountId!: string | null;
  /** A live account takes orders only once an admin has set this (paper accounts ignore it). */
  @Column('boolean', { name: 'live_enabled' }) liveEnabled!: boolean;
  @Column('text', { name: 'trading_state' }) tradingState!: 'active' | 'reducing' | 'halted';
  @Column('text', { name: 'entries_blocked_reason', nullable: true }) entriesBlockedReason!: string | null;
  /** Why the account's own trading state is what it is, who set it and when (null: never changed). */
  @Column('text', { name: 'trading_state_reason', nullable: true }) tradingStateReason!: string | null;
  @Column('text', { name: 'trading_state_changed_by', nullable: true }) tradingStateChangedBy!: string | null;
  @Column({ ...timestamptz, name: 'trading_state_changed_at', nullable: true }) tradingStateChangedAt!: Date | null;
  /** The last `seq` handed out to an event of this account (gapless; bumped under the row lock). */
  @Column('bigint', { name: 'last_seq' }) lastSeq!: string;
  /**
   * The account's latest `risk_limits` version, 0 for the configured defaults: set by a trigger with
   * every new version, so the locked row says which limits are in force.
   */
  @Column('integer', { name: 'risk_limits_version', default: 0 }) riskLimitsVersion!: number;
  @Column({ ...timestamptz, name: 'created_at' }) createdAt!: Date;
  @Column({ ...timestamptz, name: 'updated_at' }) updatedAt!: Date;
}

@Entity({ name: 'orders' })
export class OrderEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'account_id' }) accountId!: string;
  @Column('text', { name: 'client_order_id' }) clientOrderId!: string;
  @Column('text') environment!: 'paper' | 'live';
  @Column('text') venue!: string;
  @Column('text') symbol!: string;
  @Column('text') side!: string;
  @Column('text') type!: string;
  @Column('text', { name: 'time_in_force' }) timeInForce!: string;
  @Column('text', { name: 'position_effect', nullable: true }) positionEffect!: string | null;
  @Column('numeric') quantity!: string;
  @Column('numeric', { name: 'limit_price', nullable: true }) limitPrice!: string | null;
  @Column('numeric', { name: 'stop_price', nullable: true }) stopPrice!: string | null;
  @Column('text') status!: string;
  @Column('numeric', { name: 'filled_quantity' }) filledQuantity!: string;
  @Column('numeric', { name: 'average_fill_price', nullable: true }) averageFillPrice!: string | null;
  @Column('numeric', { name: 'filled_notional' }) filledNotional!: string;
  @Column('text', { name: 'broker_order_id', nullable: true }) brokerOrderId!: string | null;
  @Column('text', { name: 'reject_reason_code', nullable: true }) rejectReasonCode!: string | null;
  @Column('text', { name: 'reject_reason_message', nullable: true }) rejectReasonMessage!: string | null;
  @Column('uuid', { name: 'replaces_order_id', nullable: true }) replacesOrderId!: string | null;
  @Column('uuid', { name: 'replaced_by_order_id', nullable: true }) replacedByOrderId!: string | null;
  @Column('integer', { name: 'ttl_ms', nullable: true }) ttlMs!: number | null;
  /** True when an execution took the filled quantity past the order quantity (kept as evidence). */
  @Column('boolean') overfilled!: boolean;
  /** A cancel asked for before the broker acknowledged the order: sent as soon as it is working. */
  @Column({ ...timestamptz, name: 'cancel_requested_at', nullable: true }) cancelRequestedAt!: Date | null;
  /** The account's effective trading state when the order was accepted (null: denied, or from before it was kept). */
  @Column('text', { name: 'accepted_trading_state', nullable: true }) acceptedTradingState!: string | null;
  /** The mid of the quote the risk check used at intent (null: no two-sided quote, or from before it was kept). */
  @Column('numeric', { name: 'intent_mid', nullable: true }) intentMid!: string | null;
  /** A broker report for this order could not be applied: the reconciliation sweep settles it. */
  @Column('boolean', { name: 'needs_reconciliation' }) needsReconciliation!: boolean;
  @Column({ ...timestamptz, name: 'created_at' }) createdAt!: Date;
  @Column({ ...timestamptz, name: 'updated_at' }) updatedAt!: Date;
  @Column('bigint', { name: 'last_seq' }) lastSeq!: string;
}

/** Append-only (a database trigger refuses UPDATE and DELETE): the audit evidence of every order change. */
@Entity({ name: 'order_events' })
export class OrderEventEntity {
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @PrimaryColumn('bigint') seq!: string;
  @Column('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') event!: string;
  /** The public Order as it was right after this event. */
  @Column('jsonb') order!: Record<string, unknown>;
  @Column('jsonb', { nullable: true }) execution!: Record<string, unknown> | null;
  /** The broker's payload that caused the event, verbatim; null for the gateway's own decisions. */
  @Column('jsonb', { name: 'broker_payload', nullable: true }) brokerPayload!: unknown;
  @Column({ ...timestamptz }) ts!: Date;
}

/** Append-only: one row per broker execution, unique per (venue, broker execution id). */
@Entity({ name: 'executions' })
export class ExecutionEntity {
  @PrimaryColumn('uuid') id!: string;
  @Column('uuid', { name: 'account_id' }) accountId!: string;
  @Column('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') venue!: string;
  @Column('text', { name: 'broker_execution_id' }) brokerExecutionId!: string;
  @Column('text') symbol!: string;
  @Column('text') side!: string;
  @Column('numeric') quantity!: string;
  @Column('numeric') price!: string;
  @Column({ ...timestamptz, name: 'executed_at' }) executedAt!: Date;
  @Column({ ...timestamptz, name: 'received_at' }) receivedAt!: Date;
  @Column('boolean') overfill!: boolean;
  /** False when kept only as evidence (overfill, or an order that could not take it): not in the order or position. */
  @Column('boolean') applied!: boolean;
  @Column('jsonb', { name: 'broker_payload', nullable: true }) brokerPayload!: unknown;
  /** The trading day (America/New_York) the execution was received in: the order-to-trade ratio counts it there. */
  @Column('date', { name: 'trading_day', nullable: true }) tradingDay!: string | null;
}

@Entity({ name: 'positions' })
export class PositionEntity {
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @PrimaryColumn('text') symbol!: string;
  @Column('numeric') quantity!: string;
  @Column('numeric', { name: 'average_price' }) averagePrice!: string;
  @Column('numeric', { name: 'realized_pnl' }) realizedPnl!: string;
  /** The trading day (America/New_York) `realized_pnl` last changed in, and its value at that day's start. */
  @Column('date', { name: 'trading_day', nullable: true }) tradingDay!: string | null;
  @Column('numeric', { name: 'day_start_realized_pnl' }) dayStartRealizedPnl!: string;
  @Column({ ...timestamptz, name: 'updated_at' }) updatedAt!: Date;
}

/**
 * One row per (account, clientOrderId): the idempotency record of a place-order request.
 * `state` is `in_progress` from the durable intent until the broker's answer is recorded.
 */
@Entity({ name: 'idempotency_keys' })
export class IdempotencyKeyEntity {
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @PrimaryColumn('text', { name: 'client_order_id' }) clientOrderId!: string;
  @Column('text', { name: 'request_hash' }) requestHash!: string;
  @Column('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') state!: 'in_progress' | 'completed';
  @Column({ ...timestamptz, name: 'created_at' }) createdAt!: Date;
  @Column({ ...timestamptz, name: 'completed_at', nullable: true }) completedAt!: Date | null;
}

/** The dev issuer's signing keys (development only: a real deployment configures an OIDC issuer). */
@Entity({ name: 'signing_keys' })
export class SigningKeyEntity {
  @PrimaryColumn('text') kid!: string;
  @Column('text') alg!: string;
  @Column('jsonb', { name: 'private_jwk' }) privateJwk!: Record<string, unknown>;
  @Column('jsonb', { name: 'public_jwk' }) publicJwk!: Record<string, unknown>;
  @Column({ ...timestamptz, name: 'created_at' }) createdAt!: Date;
}

/** The paper venue's own book (it is a simulated broker: its state is not the gateway's). */
@Entity({ name: 'paper_venue_orders' })
export class PaperVenueOrderEntity {
  @PrimaryColumn('text', { name: 'broker_order_id' }) brokerOrderId!: string;
  @Column('text', { name: 'client_order_id' }) clientOrderId!: string;
  @Column('jsonb') record!: Record<string, unknown>;
  @Column({ ...timestamptz, name: 'updated_at' }) updatedAt!: Date;
}

/** Every version of an account's risk limits (append-only). `limits` is the API's decimal-string form. */
@Entity({ name: 'risk_limits' })
export class RiskLimitsEntity {
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @PrimaryColumn('integer') version!: number;
  @Column('jsonb') limits!: Record<string, unknown>;
  @Column('text', { name: 'changed_by' }) changedBy!: string;
  @Column('text') reason!: string;
  @Column({ ...timestamptz, name: 'changed_at' }) changedAt!: Date;
}

/** The one global trading state row (kill switch scope `global`). */
@Entity({ name: 'global_trading_state' })
export class GlobalTradingStateEntity {
  @PrimaryColumn('boolean') singleton!: boolean;
  @Column('text') state!: 'active' | 'reducing' | 'halted';
  @Column('text', { nullable: true }) reason!: string | null;
  @Column('text', { name: 'changed_by', nullable: true }) changedBy!: string | null;
  @Column({ ...timestamptz, name: 'changed_at' }) changedAt!: Date;
}

/** Append-only history of trading state changes, global and per account. */
@Entity({ name: 'trading_state_changes' })
export class TradingStateChangeEntity {
  @PrimaryColumn('bigint') id!: string;
  @Column('text') scope!: 'global' | 'account';
  @Column('uuid', { name: 'account_id', nullable: true }) accountId!: string | null;
  @Column('text', { name: 'previous_state' }) previousState!: string;
  @Column('text') state!: 'active' | 'reducing' | 'halted';
  /** What changed it: `kill_switch`, `rearm`, `trading_state` (risk staff), `order_to_trade_ratio`. */
  @Column('text') source!: string;
  @Column('text') reason!: string;
  @Column('text', { name: 'changed_by' }) changedBy!: string;
  @Column({ ...timestamptz, name: 'changed_at' }) changedAt!: Date;
}

/** Append-only: one row per message to the broker (new order, modification, cancellation). */
@Entity({ name: 'order_messages' })
export class OrderMessageEntity {
  @PrimaryColumn('bigint') id!: string;
  @Column('uuid', { name: 'account_id' }) accountId!: string;
  @Column('uuid', { name: 'order_id' }) orderId!: string;
  @Column('text') kind!: 'order' | 'modification' | 'cancellation';
  /** `trader` (counted for the rate and the OTR) or `kill_switch`. */
  @Column('text') initiator!: 'trader' | 'kill_switch';
  @Column('date', { name: 'trading_day' }) tradingDay!: string;
  @Column({ ...timestamptz, name: 'sent_at' }) sentAt!: Date;
}

/**
 * Append-only, hash-chained audit log (README, "Audit log"; audit/audit-chain.ts): one chain per partition (partition
 * fields null: the legacy chain written before the partitions). The chains are read and written with SQL
 * in audit/audit-log.repository.ts, which needs every column as the exact text that was hashed.
 */
@Entity({ name: 'audit_log' })
export class AuditLogEntity {
  @PrimaryColumn('bigint') seq!: string;
  @Column({ ...timestamptz, name: 'occurred_at' }) occurredAt!: Date;
  @Column('text') kind!: 'change' | 'security';
  @Column('text', { name: 'request_id', nullable: true }) requestId!: string | null;
  @Column('text', { nullable: true }) subject!: string | null;
  @Column('text', { name: 'client_id', nullable: true }) clientId!: string | null;
  @Column('text') method!: string;
  @Column('text') route!: string;
  @Column('text', { nullable: true }) action!: string | null;
  @Column('text', { name: 'account_id', nullable: true }) accountId!: string | null;
  @Column('text', { nullable: true }) environment!: string | null;
  @Column('jsonb') target!: Record<string, string>;
  @Column('integer', { nullable: true }) status!: number | null;
  @Column('text', { nullable: true }) code!: string | null;
  @Column('smallint', { nullable: true }) partition!: number | null;
  @Column('bigint', { name: 'partition_seq', nullable: true }) partitionSeq!: string | null;
  @Column('bigint', { name: 'prev_seq', nullable: true }) prevSeq!: string | null;
  @Column('text', { name: 'prev_hash' }) prevHash!: string;
  @Column('text') hash!: string;
}

/** The last row of each audit partition (seq 0: none yet), moved on by every append in its transaction. */
@Entity({ name: 'audit_log_heads' })
export class AuditLogHeadEntity {
  @PrimaryColumn('smallint') partition!: number;
  @Column('bigint') seq!: string;
  @Column('bigint', { name: 'partition_seq' }) partitionSeq!: string;
  @Column('text') hash!: string;
}

/** Which subject may act on which account, with which roles there (README, "Grants"). */
@Entity({ name: 'account_grants' })
export class AccountGrantEntity {
  @PrimaryColumn('text') subject!: string;
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @Column('text', { array: true }) roles!: string[];
  @Column('text', { name: 'granted_by' }) grantedBy!: string;
  @Column({ type: 'timestamptz', name: 'granted_at' }) grantedAt!: Date;
}

export const ENTITIES = [
  AccountGrantEntity,
  RiskLimitsEntity,
  GlobalTradingStateEntity,
  TradingStateChangeEntity,
  OrderMessageEntity,
  AccountEntity,
  OrderEntity,
  OrderEventEntity,
  ExecutionEntity,
  PositionEntity,
  IdempotencyKeyEntity,
  SigningKeyEntity,
  PaperVenueOrderEntity,
  AuditLogEntity,
  AuditLogHeadEntity,
];
