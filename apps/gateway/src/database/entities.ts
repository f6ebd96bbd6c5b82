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
  @Column('text', { name: 'trading_state' }) tradingState!: 'active' | 'reducing' | 'halted';
  @Column('text', { name: 'entries_blocked_reason', nullable: true }) entriesBlockedReason!: string | null;
  /** The last `seq` handed out to an event of this account (gapless; bumped under the row lock). */
  @Column('bigint', { name: 'last_seq' }) lastSeq!: string;
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
  /** A broker report for this order could not be applied: the reconciliation sweep settles it. */
  @Column('boolean', { name: 'needs_reconciliation' }) needsReconciliation!: boolean;
  @Column({ ...timestamptz, name: 'created_at' }) createdAt!: Date;
  @Column({ ...timestamptz, name: 'updated_at' }) updatedAt!: Date;
  @Column('bigint', { name: 'last_seq' }) lastSeq!: string;
}

/** Append-only (a trigger refuses UPDATE and DELETE): the audit evidence of every order change. */
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
}

@Entity({ name: 'positions' })
export class PositionEntity {
  @PrimaryColumn('uuid', { name: 'account_id' }) accountId!: string;
  @PrimaryColumn('text') symbol!: string;
  @Column('numeric') quantity!: string;
  @Column('numeric', { name: 'average_price' }) averagePrice!: string;
  @Column('numeric', { name: 'realized_pnl' }) realizedPnl!: string;
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

export const ENTITIES = [
  AccountEntity,
  OrderEntity,
  OrderEventEntity,
  ExecutionEntity,
  PositionEntity,
  IdempotencyKeyEntity,
  SigningKeyEntity,
  PaperVenueOrderEntity,
];
