import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import type { Account } from '../accounts/account.js';
import { VisibleAccount } from '../accounts/visible-account.decorator.js';
import { requestAuditOf } from '../audit/request-audit.js';
import { RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CancelAllOrdersHandler } from './commands/cancel-all-orders.handler.js';
import { CancelOrderHandler } from './commands/cancel-order.handler.js';
import type { PlaceOrderOutcome } from './commands/order-intake.js';
import { PlaceOrderHandler } from './commands/place-order.handler.js';
import { type AccountReconciliation, ReconcileAccountHandler } from './commands/reconcile-account.handler.js';
import { ReplaceOrderHandler } from './commands/replace-order.handler.js';
import type { StreamEvent } from './stream-event.js';
import type { ExecutionDto, OrderDto, PositionDto } from './order.mapper.js';
import { eventsQuery, executionsQuery, listQuery } from './order.schema.js';
import { OrderQueries } from './order-queries.service.js';
import { normalisePlaceOrder, type PlaceOrderBody, placeOrderSchema } from './place-order.request.js';
import { normaliseReplaceOrder, type ReplaceOrderBody, replaceOrderSchema } from './replace-order.request.js';

/** The order of a place or a replace, with its status code set from the outcome (`created` or `replayed`). */
function answer(res: Response, created: number, outcome: PlaceOrderOutcome): OrderDto {
  res.status(outcome.kind === 'created' ? created : 200);
  return outcome.order;
}

/** Orders, executions, positions and events of one account (API.md "Orders", "Executions, positions, events"). */
@Controller('v1/accounts/:accountId')
export class OrdersController {
  constructor(
    private readonly placeOrder: PlaceOrderHandler,
    private readonly replaceOrder: ReplaceOrderHandler,
    private readonly cancelOrder: CancelOrderHandler,
    private readonly cancelAllOrders: CancelAllOrdersHandler,
    private readonly reconcileAccount: ReconcileAccountHandler,
    private readonly queries: OrderQueries,
  ) {}

  /**
   * Places an order. `201` with the order after the broker's answer (`new`, `rejected`, `unknown`, or
   * already filled); `200` with the original order for a retry of the same request; `422` for a risk
   * denial (`risk.*`, with `orderId`) or a reused clientOrderId; `409` while the first request runs.
   */
  @Post('orders')
  @RequireRole('trader')
  async place(
    @Res({ passthrough: true }) res: Response,
    @VisibleAccount({ tradable: true }) account: Account,
    @Body(new ZodPipe(placeOrderSchema)) body: PlaceOrderBody,
  ): Promise<OrderDto> {
    return answer(res, 201, await this.placeOrder.execute(account, normalisePlaceOrder(body), requestAuditOf(res)));
  }

  /** Lists orders newest first (`status`, `symbol`, `limit`, `after` cursor), or the one with `clientOrderId`. */
  @Get('orders')
  async list(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(listQuery)) q: z.infer<typeof listQuery>,
  ): Promise<{ orders: OrderDto[]; next?: string | null }> {
    if (q.clientOrderId !== undefined) {
      return { orders: await this.queries.byClientOrderId(account.id, q.clientOrderId) };
    }
    return this.queries.list(account.id, q);
  }

  @Get('orders/:orderId')
  async get(@VisibleAccount() account: Account, @Param('orderId') orderId: string): Promise<OrderDto> {
    return this.queries.get(account.id, orderId);
  }

  /** Cancels one order: `202` with the order (`pending_cancel` or already `canceled`); `422 order.not_cancelable`. */
  @Delete('orders/:orderId')
  @RequireRole('trader')
  @HttpCode(202)
  async cancel(@VisibleAccount() account: Account, @Param('orderId') orderId: string): Promise<OrderDto> {
    return this.cancelOrder.execute(account.id, orderId);
  }

  /**
   * Replaces a working order (API.md `PATCH`): `202` with the replacement (`replacesOrderId` set; `new`
   * once the venue booked it, or `rejected`/`unknown`), `200` with it again for a retry with the same
   * `clientOrderId` and body. `422 order.not_replaceable` unless the order is `new` or `partially_filled`
   * with no cancel pending, or when the new total does not exceed the confirmed filled quantity;
   * `422 risk.*` when the replacement is denied (the old order is left as it was).
   */
  @Patch('orders/:orderId')
  @RequireRole('trader')
  @HttpCode(202)
  async replace(
    @Res({ passthrough: true }) res: Response,
    @VisibleAccount({ tradable: true }) account: Account,
    @Param('orderId') orderId: string,
    @Body(new ZodPipe(replaceOrderSchema)) body: ReplaceOrderBody,
  ): Promise<OrderDto> {
    return answer(res, 202, await this.replaceOrder.execute(account, orderId, normaliseReplaceOrder(body)));
  }

  /**
   * Runs the account reconciliation pass now (the one that runs at start-up): orders and executions
   * against the broker's reports. `200 { orders: [{ orderId, actions }] }`, the corrections made.
   */
  @Post('reconcile')
  @RequireRole('risk', 'admin')
  @HttpCode(200)
  async reconcile(@VisibleAccount() account: Account): Promise<AccountReconciliation> {
    return this.reconcileAccount.execute(account.id);
  }

  /** Cancels every working order of the account: `202 { orders }`. */
  @Delete('orders')
  @RequireRole('trader')
  @HttpCode(202)
  async cancelAll(@VisibleAccount() account: Account): Promise<{ orders: OrderDto[] }> {
    return { orders: await this.cancelAllOrders.execute(account.id) };
  }

  @Get('executions')
  async executions(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(executionsQuery)) q: z.infer<typeof executionsQuery>,
  ): Promise<{ executions: ExecutionDto[] }> {
    return { executions: await this.queries.executions(account.id, q.after, q.limit) };
  }

  @Get('positions')
  async positions(@VisibleAccount() account: Account): Promise<{ positions: PositionDto[] }> {
    return { positions: await this.queries.positions(account.id) };
  }

  @Get('events')
  async events(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(eventsQuery)) q: z.infer<typeof eventsQuery>,
  ): Promise<{ events: StreamEvent[] }> {
    return { events: await this.queries.events(account.id, q.after, q.limit) };
  }
}
