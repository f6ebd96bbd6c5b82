import type { MarketDataFeed } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { MARKET_DATA } from '../market/market.tokens.js';
import { valuePosition } from '../market/position-valuation.js';
import type { StreamEvent } from './stream-event.js';
import {
  type ExecutionDto,
  type OrderDto,
  type PositionDto,
  toExecutionDto,
  toOrderDto,
  toPositionDto,
} from './order.mapper.js';
import { ExecutionRepository } from './persistence/execution.repository.js';
import { OrderEventRepository } from './persistence/order-event.repository.js';
import { type OrderListFilter, OrderRepository } from './persistence/order.repository.js';
import { PositionRepository } from './persistence/position.repository.js';

export type OrderListQuery = OrderListFilter;

/** Read side of orders, executions, positions and events. Every read is scoped to one account. */
@Injectable()
export class OrderQueries {
  constructor(
    private readonly orders: OrderRepository,
    private readonly executionRecords: ExecutionRepository,
    private readonly positionRecords: PositionRepository,
    private readonly eventLog: OrderEventRepository,
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  /** One order of the account, committed; `404 order.not_found` otherwise (also for another account's). */
  async get(accountId: string, orderId: string): Promise<OrderDto> {
    const order = await this.orders.findCommitted(accountId, orderId);
    if (!order) {
      throw ApiError.orderNotFound(orderId);
    }
    return toOrderDto(order);
  }

  /** Newest first; `next` is the cursor for the following page, or null on the last page. */
  async list(accountId: string, q: OrderListQuery): Promise<{ orders: OrderDto[]; next: string | null }> {
    const page = await this.orders.list(accountId, q);
    return { orders: page.orders.map(toOrderDto), next: page.next };
  }

  async byClientOrderId(accountId: string, clientOrderId: string): Promise<OrderDto[]> {
    const order = await this.orders.findByClientOrderId(accountId, clientOrderId);
    return order ? [toOrderDto(order)] : [];
  }

  /**
   * The mid of the quote each order's risk check used at intent (decimal string; null without a
   * two-sided quote then, or for an order from before it was kept), for the account's orders among `orderIds`.
   */
  async intentMids(accountId: string, orderIds: readonly string[]): Promise<Map<string, string | null>> {
    return this.orders.intentMids(accountId, orderIds);
  }

  /** The statuses each of the account's orders among `orderIds` went through, with when (see OrderEventRepository). */
  async statusTimelines(
    accountId: string,
    orderIds: readonly string[],
  ): Promise<Map<string, { status: string; at: Date }[]>> {
    return this.eventLog.statusTimelines(accountId, orderIds);
  }

  /** Oldest first, after the given execution id. */
  async executions(accountId: string, after: string | undefined, limit: number): Promise<ExecutionDto[]> {
    return (await this.executionRecords.listApplied(accountId, after, limit)).map(toExecutionDto);
  }

  /**
   * Every instrument the account has traded: open positions and flat ones with realised P&L, each valued
   * at the current quote (`valuePosition`: mid, else last; null without a quote fresher than
   * RISK_MAX_QUOTE_AGE_MS).
   */
  async positions(accountId: string): Promise<PositionDto[]> {
    const maxAge = this.config.risk.maxQuoteAgeMs;
    return (await this.positionRecords.list(accountId)).map((p) =>
      toPositionDto(p, valuePosition(p, this.market, maxAge)),
    );
  }

  /** Events with `seq > after`, in seq order (the same events the stream carries). */
  async events(accountId: string, after: number, limit: number): Promise<StreamEvent[]> {
    return this.eventLog.listAfter(accountId, after, limit);
  }
}
