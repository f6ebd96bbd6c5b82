import { Module } from '@nestjs/common';
import { AccountsModule } from '../accounts/accounts.module.js';
import { AuditModule } from '../audit/audit.module.js';
import { OrdersModule } from '../orders/orders.module.js';
import { RateLimitModule } from '../rate-limit/rate-limit.module.js';
import { StreamServer } from './stream.server.js';

/**
 * The WebSocket stream (`/v1/stream`): order events from the orders' `EventBus`, snapshots from their
 * `OrderQueries`, quotes. Exports nothing: main.ts attaches the `StreamServer` to the HTTP server.
 */
@Module({
  imports: [AccountsModule, OrdersModule, RateLimitModule, AuditModule],
  providers: [StreamServer],
})
export class StreamModule {}
