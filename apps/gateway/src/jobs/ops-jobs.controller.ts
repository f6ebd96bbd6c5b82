import { Controller, Get, Req } from '@nestjs/common';
import { type AuthenticatedRequest, RequireRole } from '../auth/auth.guard.js';
import { ApiError } from '../common/api-error.js';
import { JobQueues, JobsUnavailableError } from './job-queues.js';
import type { JobsStatusDto } from './jobs.schema.js';

/** The job queues over REST: role `admin` with a grant on every account, since the queues span them all. */
@Controller('v1/ops/jobs')
export class OpsJobsController {
  constructor(private readonly jobs: JobQueues) {}

  /** Each queue's waiting, active, delayed and failed counts and its newest failures. 503 while Redis is down. */
  @Get()
  @RequireRole('admin')
  async status(@Req() req: AuthenticatedRequest): Promise<JobsStatusDto> {
    if (req.principal.accounts !== '*') {
      throw ApiError.forbidden('Reading the job queues needs a grant on every account (*).');
    }
    try {
      return { queues: await this.jobs.status() };
    } catch (error) {
      if (error instanceof JobsUnavailableError) {
        throw ApiError.unavailable(`The job queues cannot be read: ${error.message}.`);
      }
      throw error;
    }
  }
}
