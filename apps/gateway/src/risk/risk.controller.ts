import { tradingDayOf, type Clock } from '@gateway/oms';
import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, Query, Req } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { z } from 'zod';
import { AccountsService } from '../accounts/accounts.service.js';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CLOCK } from '../market/market.tokens.js';
import { OrderMessages, type OrderToTradeDto } from './order-messages.js';
import { type PutRiskLimitsBody, putRiskLimitsSchema } from './risk-limits.schema.js';
import { historyQuery, type KillSwitchBody, killSwitchSchema, otrQuery, tradingStateSchema } from './risk.schema.js';
import { RiskLimitsService, type RiskLimitsVersionDto } from './risk-limits.service.js';
import {
  type Scope,
  TradingControlService,
  type TradingStateChangeDto,
  type TradingStateDto,
} from './trading-control.service.js';

/**
 * Risk staff's controls (issue 4): per-account limits, trading states, the kill switch and the
 * order-to-trade ratio. Reading is open to whoever may see the account; changing needs `risk` (limits)
 * or `risk`/`admin` (states, kill switch). Global changes need a grant on every account (`*`).
 */
@Controller('v1')
export class RiskController {
  constructor(
    private readonly accounts: AccountsService,
    private readonly limits: RiskLimitsService,
    private readonly control: TradingControlService,
    private readonly messages: OrderMessages,
    private readonly dataSource: DataSource,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  /** The account's current limits and their version (0: the configured defaults). */
  @Get('accounts/:accountId/risk-limits')
  async getLimits(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
  ): Promise<RiskLimitsVersionDto> {
    await this.accounts.getVisible(req.principal, accountId);
    return this.limits.current(accountId);
  }

  /** Every version of the account's limits, newest first. */
  @Get('accounts/:accountId/risk-limits/history')
  async limitsHistory(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
  ): Promise<{ versions: RiskLimitsVersionDto[] }> {
    await this.accounts.getVisible(req.principal, accountId);
    return { versions: await this.limits.history(accountId) };
  }

  /**
   * Replaces the account's limits with a new version (`200`). `409 risk_limits.version_conflict` when
   * `version` is not the current one; `422 risk.loss_limit_widening` when a loss limit would be widened
   * while the account has a position or a working order.
   */
  @Put('accounts/:accountId/risk-limits')
  @RequireRole('risk')
  async putLimits(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Body(new ZodPipe(putRiskLimitsSchema)) body: PutRiskLimitsBody,
  ): Promise<RiskLimitsVersionDto> {
    await this.accounts.getVisible(req.principal, accountId);
    return this.limits.put(req.principal, accountId, body);
  }

  /** Sets the account's own trading state; `halted` also cancels its working orders. */
  @Put('accounts/:accountId/trading-state')
  @RequireRole('risk', 'admin')
  async putTradingState(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Body(new ZodPipe(tradingStateSchema)) body: z.infer<typeof tradingStateSchema>,
  ): Promise<TradingStateDto> {
    await this.accounts.getVisible(req.principal, accountId);
    return this.control.setState(
      req.principal,
      { scope: 'account', accountId },
      body.state,
      body.reason,
      'trading_state',
    );
  }

  @Get('accounts/:accountId/trading-state/history')
  async accountStateHistory(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Query(new ZodPipe(historyQuery)) query: z.infer<typeof historyQuery>,
  ): Promise<{ changes: TradingStateChangeDto[] }> {
    await this.accounts.getVisible(req.principal, accountId);
    return { changes: await this.control.history({ scope: 'account', accountId }, query.limit) };
  }

  /** The account's order-to-trade ratio for a trading day (default: today, America/New_York). */
  @Get('accounts/:accountId/order-to-trade')
  async orderToTrade(
    @Req() req: AuthenticatedRequest,
    @Param('accountId') accountId: string,
    @Query(new ZodPipe(otrQuery)) query: z.infer<typeof otrQuery>,
  ): Promise<OrderToTradeDto> {
    await this.accounts.getVisible(req.principal, accountId);
    const manager = this.dataSource.manager;
    const { limits } = await this.limits.effective(manager, accountId);
    return this.messages.orderToTradeDto(
      manager,
      accountId,
      query.tradingDay ?? tradingDayOf(this.clock.now()),
      limits,
    );
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
  async halt(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(killSwitchSchema)) body: KillSwitchBody,
  ): Promise<TradingStateDto> {
    const scope = await this.scope(req.principal, body);
    return this.control.setState(req.principal, scope, 'halted', body.reason, 'kill_switch');
  }

  /**
   * Re-arms: the scope returns to the state it had before its halt (`active`, or `reducing` when it was),
   * recorded with who and why. Nothing re-arms by itself.
   */
  @Delete('kill-switch')
  @RequireRole('risk', 'admin')
  async rearm(
    @Req() req: AuthenticatedRequest,
    @Body(new ZodPipe(killSwitchSchema)) body: KillSwitchBody,
  ): Promise<TradingStateDto> {
    const scope = await this.scope(req.principal, body);
    return this.control.setState(req.principal, scope, 'rearm', body.reason, 'rearm');
  }

  private async scope(principal: Principal, body: KillSwitchBody): Promise<Scope> {
    if (body.scope === 'global') {
      if (principal.accounts !== '*') {
        throw ApiError.forbidden('A global halt or re-arm needs a grant on every account (*).');
      }
      return { scope: 'global' };
    }
    const accountId = body.accountId ?? '';
    await this.accounts.getVisible(principal, accountId);
    return { scope: 'account', accountId };
  }
}
