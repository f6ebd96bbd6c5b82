import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { JobQueues } from '../jobs/job-queues.js';
import { type RefreshOutcome, TokenRefresher } from './token-refresher.js';

/** The repeatable job of the `token-refresh` queue that refreshes what is due. */
export const TOKEN_REFRESH_SCHEDULER = 'token-refresh-due';

/**
 * Schedules the token refreshes on the `token-refresh` BullMQ queue: a repeatable job every
 * `OAUTH_REFRESH_POLL_MS` (one scheduler for the deployment, upserted by every instance) whose processor
 * refreshes every connection due (`TokenRefresher.refreshDue`). When each connection is due is kept in
 * PostgreSQL (`broker_connections.next_refresh_at`), not in Redis: a run missed while Redis was away is
 * made up by the next one, and a connection's refresh takes its row lock, so two runs never refresh the
 * same connection at once. A run reports what it did as its result (account ids and outcomes, no secret).
 */
@Injectable()
export class TokenRefreshScheduler implements OnApplicationBootstrap, OnApplicationShutdown {
  constructor(
    private readonly refresher: TokenRefresher,
    private readonly jobs: JobQueues,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  private retry: NodeJS.Timeout | undefined;

  async onApplicationBootstrap(): Promise<void> {
    // Nothing to refresh without an OAuth client: no worker, no schedule (and no Redis connection for them).
    if (Object.keys(this.config.oauth.clients).length === 0) {
      return;
    }
    this.jobs.process<Record<string, never>, RefreshOutcome[]>('token-refresh', () => this.refresher.refreshDue());
    await this.upsertSchedule();
  }

  onApplicationShutdown(): void {
    clearTimeout(this.retry);
  }

  /** Upserts the repeatable job; with Redis away, tries again every `OAUTH_REFRESH_POLL_MS` until it is set. */
  private async upsertSchedule(): Promise<void> {
    const every = this.config.oauth.refreshPollMs;
    try {
      await this.jobs.schedule('token-refresh', TOKEN_REFRESH_SCHEDULER, every, 'refresh-due', {});
    } catch (error) {
      this.logger.warn({ err: { message: (error as Error).message } }, 'token refresh schedule not set yet; retrying');
      this.retry = setTimeout(() => void this.upsertSchedule(), every);
      this.retry.unref();
    }
  }
}
