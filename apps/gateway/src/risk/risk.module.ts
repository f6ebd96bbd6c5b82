import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { OrderMessageRepository } from './order-message.repository.js';
import { OpenPositionBreakRepository } from './open-position-break.repository.js';
import { OrderMessages } from './order-messages.js';
import { PreTradeRisk } from './pre-trade-risk.js';
import { RiskContextRepository } from './risk-context.repository.js';
import { RiskLimitsRepository } from './risk-limits.repository.js';
import { RiskLimitsService } from './risk-limits.service.js';
import { TradingControlService } from './trading-control.service.js';

/**
 * The pre-trade risk controls: the risk limits, the pre-trade check, the order-message counts (order-to-
 * trade ratio) and the trading states' transitions. Exports what the order path runs (`PreTradeRisk`,
 * `RiskLimitsService`, `OrderMessages`) and what the kill switch drives (`TradingControlService`). It
 * imports no order code: the kill switch, which cancels orders, is KillSwitchModule.
 */
@Module({
  imports: [AccountsModule, RateLimitModule],
  providers: [
    RiskLimitsRepository,
    RiskLimitsService,
    RiskContextRepository,
    OrderMessageRepository,
    OpenPositionBreakRepository,
    OrderMessages,
    PreTradeRisk,
    TradingControlService,
  ],
  exports: [PreTradeRisk, RiskLimitsService, OrderMessages, TradingControlService, RateLimitModule],
})
export class RiskModule {}
