import { Global, Module } from '@nestjs/common';
import { JobQueues } from './job-queues.js';
import { OpsJobsController } from './ops-jobs.controller.js';

/**
 * The BullMQ job queues (global: any feature registers its processors and enqueues through JobQueues),
 * and `GET /v1/ops/jobs`.
 */
@Global()
@Module({
  controllers: [OpsJobsController],
  providers: [JobQueues],
  exports: [JobQueues],
})
export class JobsModule {}
