import {
  applyOrderEvent,
  OPEN_STATUSES,
  type Order,
  type OrderEvent,
  type OrderEventName,
  type OrderEventOutcome,
} from '@gateway/oms';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { DataSource, type EntityManager, In } from 'typeorm';
import { isUuid } from '../common/ids.js';
import { LOGGER } from '../common/logger.js';
import { AccountEntity, OrderEntity, OrderEventEntity } from '../database/entities.js';
import type { StreamEvent } from '../stream/stream-event.js';
import { type ExecutionDto, toDomainOrder, toOrderDto, toOrderEntityFields } from './order.mapper.js';

/** What a broker or the gateway showed for an event, kept with it in the event log. */
export interface EventEvidence {
  readonly execution?: ExecutionDto;
  readonly brokerPayload?: unknown;
}

/**
 * One account's transaction, holding the account row lock (`SELECT ... FOR UPDATE`) so that the
 * account's commands and broker reports are serialised across every gateway instance, and `seq`
 * is handed out without gaps (ARCHITECTURE.md, "Placing an order", step 2).
 */
export class AccountTransaction {
  readonly events: StreamEvent[] = [];
  private lastSeq: number;

  constructor(
    readonly manager: EntityManager,
    readonly account: AccountEntity,
    private readonly logger: Logger,
  ) {
    this.lastSeq = Number(account.lastSeq);
  }

  async findOrder(orderId: string): Promise<Order | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const row = await this.manager.findOne(OrderEntity, { where: { id: orderId, accountId: this.account.id } });
    return row ? toDomainOrder(row) : null;
  }

  /**
   * Inserts a new order with its first event (`pending_new` or `denied`). `acceptedTradingState`: the
   * account's effective trading state it was accepted in (kill switch: what to cancel).
   */
  async insertOrder(
    order: Omit<Order, 'lastSeq'>,
    event: OrderEventName,
    venue: string,
    acceptedTradingState: string | null = null,
  ): Promise<Order> {
    const seq = this.nextSeq();
    const stored: Order = { ...order, lastSeq: seq };
    await this.manager.insert(OrderEntity, {
      id: order.id,
      accountId: order.accountId,
      clientOrderId: order.clientOrderId,
      environment: order.environment,
      venue,
      symbol: order.symbol,
      side: order.side,
      type: order.type,
      timeInForce: order.timeInForce,
      positionEffect: order.positionEffect,
      quantity: order.quantity.toFixed(),
      limitPrice: order.limitPrice?.toFixed() ?? null,
      stopPrice: order.stopPrice?.toFixed() ?? null,
      ttlMs: order.ttlMs,
      overfilled: false,
      needsReconciliation: false,
      acceptedTradingState,
      createdAt: new Date(order.createdAt),
      ...toOrderEntityFields(stored),
    });
    await this.insertEvent(stored, event, seq, undefined, null);
    return stored;
  }

  /**
   * Applies one event to an order (`applyOrderEvent` of libs/oms) and records the outcome. An invalid
   * transition changes nothing and is logged with the evidence (a broker report we did not expect):
   * returns null.
   */
  async applyEvent(order: Order, event: OrderEvent, evidence: EventEvidence = {}): Promise<Order | null> {
    const outcome = applyOrderEvent(order, event);
    if (outcome.kind === 'invalid') {
      this.logger.warn(
        { orderId: order.id, accountId: order.accountId, from: order.status, event, evidence: evidence.brokerPayload },
        'invalid order transition ignored',
      );
      return null;
    }
    return outcome.order === order ? order : this.record(outcome, evidence);
  }

  /**
   * Records an applied event: saves the order and appends its public event with the next seq (an event
   * recorded without a public one, a held cancel, saves the order only).
   */
  async record(outcome: Extract<OrderEventOutcome, { kind: 'applied' }>, evidence: EventEvidence = {}): Promise<Order> {
    if (outcome.eventName === null) {
      await this.manager.update(OrderEntity, { id: outcome.order.id }, toOrderEntityFields(outcome.order));
      return outcome.order;
    }
    const seq = this.nextSeq();
    const stored: Order = { ...outcome.order, lastSeq: seq };
    await this.manager.update(OrderEntity, { id: stored.id }, toOrderEntityFields(stored));
    await this.insertEvent(stored, outcome.eventName, seq, evidence.execution, evidence.brokerPayload ?? null);
    return stored;
  }

  private nextSeq(): number {
    this.lastSeq += 1;
    return this.lastSeq;
  }

  private async insertEvent(
    order: Order,
    event: OrderEventName,
    seq: number,
    execution: ExecutionDto | undefined,
    brokerPayload: unknown,
  ): Promise<void> {
    const dto = toOrderDto(order);
    const ts = new Date(order.updatedAt);
    const row: OrderEventEntity = {
      accountId: this.account.id,
      seq: String(seq),
      orderId: order.id,
      event,
      order: dto as unknown as Record<string, unknown>,
      execution: (execution ?? null) as Record<string, unknown> | null,
      brokerPayload: brokerPayload ?? null,
      ts,
    };
    // TypeORM's deep-partial typing cannot express jsonb columns; the row is a complete entity.
    await this.manager.insert(OrderEventEntity, row as never);
    this.events.push({
      type: 'order',
      accountId: this.account.id,
      seq,
      event,
      order: dto,
      ...(execution ? { execution } : {}),
      ts: ts.toISOString(),
    });
  }

  /** Called once by the ledger before commit. */
  async flush(): Promise<void> {
    if (this.lastSeq !== Number(this.account.lastSeq)) {
      await this.manager.update(
        AccountEntity,
        { id: this.account.id },
        { lastSeq: String(this.lastSeq), updatedAt: new Date() },
      );
    }
  }
}

@Injectable()
export class OrderLedger {
  constructor(
    private readonly dataSource: DataSource,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** A committed order of the account (no lock), or null. */
  async findOrder(accountId: string, orderId: string): Promise<Order | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const row = await this.dataSource.getRepository(OrderEntity).findOne({ where: { id: orderId, accountId } });
    return row ? toDomainOrder(row) : null;
  }

  /** The account an order belongs to, or null for an id we never issued. */
  async accountOfOrder(orderId: string): Promise<string | null> {
    if (!isUuid(orderId)) {
      return null;
    }
    const row = await this.dataSource
      .getRepository(OrderEntity)
      .findOne({ where: { id: orderId }, select: { id: true, accountId: true } });
    return row?.accountId ?? null;
  }

  /** Flags an order so that the reconciliation sweep settles it from the broker's records. */
  async markForReconciliation(orderId: string): Promise<void> {
    if (isUuid(orderId)) {
      await this.dataSource.getRepository(OrderEntity).update({ id: orderId }, { needsReconciliation: true });
    }
  }

  /** Ids of the account's orders in an open status, oldest first. */
  async listOpenOrderIds(accountId: string): Promise<string[]> {
    const rows = await this.dataSource
      .getRepository(OrderEntity)
      .find({ where: { accountId, status: In([...OPEN_STATUSES]) }, select: { id: true }, order: { id: 'ASC' } });
    return rows.map((r) => r.id);
  }

  /**
   * Runs `work` in one transaction under the account's row lock. Returns its result and the events it
   * appended (to publish after the commit, never before). Null when the account does not exist.
   */
  async inAccount<T>(
    accountId: string,
    work: (tx: AccountTransaction) => Promise<T>,
  ): Promise<{ result: T; events: StreamEvent[] } | null> {
    return this.dataSource.transaction(async (manager) => {
      const account = await manager
        .createQueryBuilder(AccountEntity, 'a')
        .setLock('pessimistic_write')
        .where('a.id = :id', { id: accountId })
        .getOne();
      if (!account) {
        return null;
      }
      const tx = new AccountTransaction(manager, account, this.logger);
      const result = await work(tx);
      await tx.flush();
      return { result, events: tx.events };
    });
  }
}
