import { Module } from '@nestjs/common';
import { MetricsModule } from '../health/metrics.module.js';
import { AuditLogRepository } from './audit-log.repository.js';
import { AuditRecorder } from './audit-recorder.js';
import { AuditController } from './audit.controller.js';

/**
 * The audit log: the recorder of every HTTP request's entry, and `GET /v1/audit`. Exports the
 * `AuditRecorder`, through which the stream records its security events. The `AuditContextGuard` is a
 * global guard, registered by AppModule before the others.
 */
@Module({
  imports: [MetricsModule],
  controllers: [AuditController],
  providers: [AuditLogRepository, AuditRecorder],
  exports: [AuditRecorder],
})
export class AuditModule {}
