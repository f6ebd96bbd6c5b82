import { OPEN_STATUSES, ORDER_STATUSES } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource, In, LessThan, MoreThan } from 'typeorm';
import { ExecutionEntity, OrderEntity, OrderEventEntity, PositionEntity } from '../database/entities.js';
import type { StreamEvent } from '../stream/stream-event.js';
import {
  type ExecutionDto,
  type OrderDto,
  type PositionDto,
  toDomainOrder,
  toExecutionDto,
  toOrderDto,
  toPositionDto,
} from './order.mapper.js';

const CLOSED_STATUSES = ORDER_STATUSES.filter((s) => !OPEN_STATUSES.has(s));

export interface OrderListQuery {
  status: 'open' | 'closed' | 'all';
  symbol?: string | undefined;
  limit: number;
  /** Cursor: the last order id of the previous page (ids are UUIDv7, so they sort by creation). */
  after?: string | undefined;
}

/** Read side of orders, executions, positions and events. Every read is scoped to one account. */
@Injectable()
export class OrderQueries {
  constructor(private readonly dataSource: DataSource) {}

  /** Newest first; `next` is the cursor for the following page, or null on the last page. */
  async list(accountId: string, q: OrderListQuery): Promise<{ orders: OrderDto[]; next: string | null }> {
    const where = {
      accountId,
      ...(q.status === 'open' ? { status: In([...OPEN_STATUSES]) } : {}),
      ...(q.status === 'closed' ? { status: In(CLOSED_STATUSES) } : {}),
      ...(q.symbol ? { symbol: q.symbol } : {}),
      ...(q.after ? { id: LessThan(q.after) } : {}),
    };
    const rows = await this.dataSource
      .getRepository(OrderEntity)
      .find({ where, order: { id: 'DESC' }, take: q.limit + 1 });
    const page = rows.slice(0, q.limit);
    return {
      orders: page.map((r) => toOrderDto(toDomainOrder(r))),
      next: rows.length > q.limit ? (page[page.length - 1]?.id ?? null) : null,
    };
  }

  async byClientOrderId(accountId: string, clientOrderId: string): Promise<OrderDto[]> {
    const row = await this.dataSource.getRepository(OrderEntity).findOne({ where: { accountId, clientOrderId } });
    return row ? [toOrderDto(toDomainOrder(row))] : [];
  }

  /** Oldest first, after the given execution id. */
  async executions(accountId: string, after: string | undefined, limit: number): Promise<ExecutionDto[]> {
    const rows = await this.dataSource.getRepository(ExecutionEntity).find({
      where: { accountId, applied: true, ...(after ? { id: MoreThan(after) } : {}) },
      order: { id: 'ASC' },
      take: limit,
    });
    return rows.map(toExecutionDto);
  }

  /** Every instrument the account has traded: open positions and flat ones with realised P&L. */
  async positions(accountId: string): Promise<PositionDto[]> {
    const rows = await this.dataSource
      .getRepository(PositionEntity)
      .find({ where: { accountId }, order: { symbol: 'ASC' } });
    return rows.map(toPositionDto);
  }

  /** Events with `seq > after`, in seq order (the same events the stream carries). */
  async events(accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
    const rows = await this.dataSource.getRepository(OrderEventEntity).find({
      where: { accountId, seq: MoreThan(String(after)) },
      order: { seq: 'ASC' },
      take: limit,
    });
    return rows.map((r) => ({
      type: 'order',
      accountId: r.accountId,
      seq: Number(r.seq),
      event: r.event as StreamEvent['event'],
      order: r.order as unknown as OrderDto,
      ...(r.execution ? { execution: r.execution as unknown as ExecutionDto } : {}),
      ts: r.ts.toISOString(),
    }));
  }
}
