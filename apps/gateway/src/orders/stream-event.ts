import type { OrderEventName } from '@gateway/oms';
import type { ExecutionDto, OrderDto } from './order.mapper.js';

/** An order event as REST `/events` and the stream carry it (API.md "Event"). */
export interface StreamEvent {
  type: 'order';
  accountId: string;
  seq: number;
  event: OrderEventName;
  order: OrderDto;
  execution?: ExecutionDto;
  ts: string;
}
