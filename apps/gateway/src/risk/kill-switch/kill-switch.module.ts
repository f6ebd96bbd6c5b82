import { type DynamicModule, Module, type Type } from '@nestjs/common';
import { AccountsModule } from '../../accounts/accounts.module.js';
import { MetricsModule } from '../../health/metrics.module.js';
import { LockdownAccountsRepository } from '../lockdown/lockdown-accounts.repository.js';
import { RttLockdown } from '../lockdown/rtt-lockdown.js';
import { RiskController } from '../risk.controller.js';
import { RiskModule } from '../risk.module.js';
import { KillSwitchCanceller } from './kill-switch-canceller.js';
import { KillSwitchOrdersRepository } from './kill-switch-orders.repository.js';
import { KillSwitchHandler } from './kill-switch.handler.js';

/** What the kill switch needs from outside risk. */
export interface KillSwitchDependencies {
  /**
   * A module that exports the `ORDER_CANCELS` port (`risk/order-cancels.port.ts`): the orders' module,
   * named by AppModule, so that no file of risk imports order code.
   */
  readonly orderCancels: Type | DynamicModule;
}

/**
 * The kill switch (halts, re-arms, and the cancels they trigger on every instance), the RTT lockdown
 * (lockdown/: a venue's slow round trips take its accounts' entry authority) and the risk API,
 * `/v1/.../risk-limits`, `/v1/.../trading-state`, `/v1/kill-switch`, `/v1/.../order-to-trade`: its
 * routes set trading states through the kill switch. Exports nothing.
 *
 * It imports RiskModule and the module that cancels orders; that module imports RiskModule too, never
 * this one, so the graph has no cycle.
 */
@Module({})
export class KillSwitchModule {
  static register(deps: KillSwitchDependencies): DynamicModule {
    return {
      module: KillSwitchModule,
      imports: [AccountsModule, RiskModule, MetricsModule, deps.orderCancels],
      controllers: [RiskController],
      providers: [
        KillSwitchOrdersRepository,
        KillSwitchCanceller,
        KillSwitchHandler,
        LockdownAccountsRepository,
        RttLockdown,
      ],
    };
  }
}
