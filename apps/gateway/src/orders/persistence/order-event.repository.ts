import { isOrderEventName, type OrderEventName } from '@gateway/oms';
import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import type { StreamEvent } from '../../orders/stream-event.js';
import type { ExecutionDto, OrderDto } from '../order.mapper.js';
import type { AccountScope } from '../../persistence/account-scope.js';
import { writeIn } from '../../persistence/write-batch.js';

interface EventRow {
  account_id: string;
  seq: string;
  event: string;
  order: OrderDto;
  execution: ExecutionDto | null;
  ts: Date;
}

function eventName(value: string): OrderEventName {
  if (!isOrderEventName(value)) {
    throw new TypeError(`order_events holds an event name the API does not know: ${value}`);
  }
  return value;
}

const toStreamEvent = (r: EventRow): StreamEvent => ({
  type: 'order',
  accountId: r.account_id,
  seq: Number(r.seq),
  event: eventName(r.event),
  order: r.order,
  ...(r.execution ? { execution: r.execution } : {}),
  ts: r.ts.toISOString(),
});

const json = (value: unknown): string | null => (value === undefined || value === null ? null : JSON.stringify(value));

/**
 * The order event log (`order_events`), append-only (a database trigger refuses UPDATE and DELETE): each event
 * with the order as it became, the execution if any, and the broker's raw payload. One query style: SQL.
 */
@Injectable()
export class OrderEventRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** Appends the event `seq` of the scope's account; returns it as the stream carries it. */
  async append(
    scope: AccountScope,
    event: {
      readonly seq: number;
      readonly name: OrderEventName;
      readonly order: OrderDto;
      readonly execution?: ExecutionDto | undefined;
      readonly brokerPayload?: unknown;
      readonly at: number;
    },
  ): Promise<StreamEvent> {
    const ts = new Date(event.at);
    await writeIn(scope, {
      sql: `INSERT INTO order_events (account_id, seq, order_id, event, "order", execution, broker_payload, ts)
        VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7::jsonb, $8)`,
      params: [
        scope.account.id,
        String(event.seq),
        event.order.id,
        event.name,
        JSON.stringify(event.order),
        json(event.execution),
        json(event.brokerPayload),
        ts,
      ],
    });
    return {
      type: 'order',
      accountId: scope.account.id,
      seq: event.seq,
      event: event.name,
      order: event.order,
      ...(event.execution ? { execution: event.execution } : {}),
      ts: ts.toISOString(),
    };
  }

  /**
   * Each of the account's orders among `orderIds` with the statuses its events took it through, in seq
   * order, each with the time of the event that first set it (a status repeated by the next event, a
   * second partial fill, is left out).
   */
  async statusTimelines(
    accountId: string,
    orderIds: readonly string[],
  ): Promise<Map<string, { status: string; at: Date }[]>> {
    const timelines = new Map<string, { status: string; at: Date }[]>();
    if (orderIds.length === 0) {
      return timelines;
    }
    const rows: { order_id: string; status: string; ts: Date }[] = await this.dataSource.query(
      `SELECT order_id, "order"->>'status' AS status, ts FROM order_events
        WHERE account_id = $1 AND order_id = ANY($2::uuid[]) ORDER BY seq`,
      [accountId, orderIds],
    );
    for (const row of rows) {
      const timeline = timelines.get(row.order_id) ?? [];
      if (timeline.at(-1)?.status !== row.status) {
        timeline.push({ status: row.status, at: row.ts });
      }
      timelines.set(row.order_id, timeline);
    }
    return timelines;
  }

  /** The account's events with `seq > after`, in seq order (the same events the stream carries). */
  async listAfter(accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
    const rows: EventRow[] = await this.dataSource.query(
      `SELECT account_id, seq, event, "order", execution, ts FROM order_events
        WHERE account_id = $1 AND seq > $2 ORDER BY seq LIMIT $3`,
      [accountId, String(after), limit],
    );
    return rows.map(toStreamEvent);
  }
}
