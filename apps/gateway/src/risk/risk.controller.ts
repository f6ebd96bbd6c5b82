import { Body, Controller, Delete, Get, HttpCode, Post, Put, Query, Req } from '@nestjs/common';
import { z } from 'zod';
import type { Account } from '../accounts/account.js';
import { VisibleAccount } from '../accounts/visible-account.decorator.js';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { KillSwitchHandler } from './kill-switch/kill-switch.handler.js';
import { OrderMessages, type OrderToTradeDto } from './order-messages.js';
import { type PutRiskLimitsBody, putRiskLimitsSchema } from './risk-limits.schema.js';
import { historyQuery, type KillSwitchBody, killSwitchSchema, otrQuery, tradingStateSchema } from './risk.schema.js';
import { RiskLimitsService, type RiskLimitsVersionDto } from './risk-limits.service.js';
import { TradingControlService, type TradingStateChangeDto, type TradingStateDto } from './trading-control.service.js';

/**
 * Risk staff's controls (API.md): per-account limits, trading states, the kill switch and the
 * order-to-trade ratio. Reading is open to whoever may see the account; changing needs `risk` (limits)
 * or `risk`/`admin` (states, kill switch). Global changes need a grant on every account (`*`).
 */
@Controller('v1')
export class RiskController {
  constructor(
    private readonly limits: RiskLimitsService,
    private readonly control: TradingControlService,
    private readonly killSwitch: KillSwitchHandler,
    private readonly messages: OrderMessages,
  ) {}

  /** The account's current limits and their version (0: the configured defaults). */
  @Get('accounts/:accountId/risk-limits')
  getLimits(@VisibleAccount() account: Account): Promise<RiskLimitsVersionDto> {
    return this.limits.current(account.id);
  }

  /** Every version of the account's limits, newest first. */
  @Get('accounts/:accountId/risk-limits/history')
  async limitsHistory(@VisibleAccount() account: Account): Promise<{ versions: RiskLimitsVersionDto[] }> {
    return { versions: await this.limits.history(account.id) };
  }

  /**
   * Replaces the account's limits with a new version (`200`). `409 risk_limits.version_conflict` when
   * `version` is not the current one; `422 risk.loss_limit_widening` when a loss limit would be widened
   * while the account has a position or a working order.
   */
  @Put('accounts/:accountId/risk-limits')
  @RequireRole('risk')
  putLimits(
    @Req() req: AuthenticatedRequest,
    @VisibleAccount() account: Account,
    @Body(new ZodPipe(putRiskLimitsSchema)) body: PutRiskLimitsBody,
  ): Promise<RiskLimitsVersionDto> {
    return this.limits.put(req.principal, account.id, body);
  }

  /** Sets the account's own trading state; `halted` also cancels its working orders. */
  @Put('accounts/:accountId/trading-state')
  @RequireRole('risk', 'admin')
  putTradingState(
    @Req() req: AuthenticatedRequest,
    @VisibleAccount() account: Account,
    @Body(new ZodPipe(tradingStateSchema)) body: z.infer<typeof tradingStateSchema>,
  ): Promise<TradingStateDto> {
    return this.killSwitch.setAccountState(req.principal, account.id, body.state, body.reason);
  }

  @Get('accounts/:accountId/trading-state/history')
  async accountStateHistory(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(historyQuery)) query: z.infer<typeof historyQuery>,
  ): Promise<{ changes: TradingStateChangeDto[] }> {
    return { changes: await this.control.history({ scope: 'account', accountId: account.id }, query.limit) };
  }

  /** The account's order-to-trade ratio for a trading day (default: today, America/New_York). */
  @Get('accounts/:accountId/order-to-trade')
  orderToTrade(
    @VisibleAccount() account: Account,
    @Query(new ZodPipe(otrQuery)) query: z.infer<typeof otrQuery>,
  ): Promise<OrderToTradeDto> {
    return this.messages.orderToTrade(account.id, query.tradingDay);
  }

  /** The global trading state. */
  @Get('trading-state')
  globalState(): Promise<TradingStateDto> {
    return this.control.globalState();
  }

  @Get('trading-state/history')
  async globalHistory(
    @Query(new ZodPipe(historyQuery)) query: z.infer<typeof historyQuery>,
  ): Promise<{ changes: TradingStateChangeDto[] }> {
    return { changes: await this.control.history({ scope: 'global' }, query.limit) };
  }

  /**
   * Kill switch: `halted` at once for the scope (every new entry refused on every instance), then every
   * working order accepted before it is canceled; exits stay possible as bounded marketable limit
   * orders. `202`: the halt is committed, the cancels are under way.
   */
  @Post('kill-switch')
  @HttpCode(202)
  @RequireRole('risk', 'admin')
  halt(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(killSwitchSchema)) body: KillSwitchBody,
  ): Promise<TradingStateDto> {
    return this.killSwitch.halt(req.principal, body);
  }

  /**
   * Re-arms: the scope returns to the state it had before its halt (`active`, or `reducing` when it was),
   * recorded with who and why. Nothing re-arms by itself.
   */
  @Delete('kill-switch')
  @RequireRole('risk', 'admin')
  rearm(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(killSwitchSchema)) body: KillSwitchBody,
  ): Promise<TradingStateDto> {
    return this.killSwitch.rearm(req.principal, body);
  }
}
