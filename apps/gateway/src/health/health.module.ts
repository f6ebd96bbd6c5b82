import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';
import { MetricsModule } from './metrics.module.js';

/** `GET /health/live`, `GET /health/ready` and `GET /metrics`. Exports nothing. */
@Module({
  imports: [MetricsModule],
  controllers: [HealthController],
})
export class HealthModule {}
