import { type Clock, OPEN_STATUSES, tradingDayOf } from '@gateway/oms';
import { lossLimitWidenings, type RiskLimits } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import { DataSource, type EntityManager, In } from 'typeorm';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { ExecutionEntity, OrderEntity, PositionEntity, RiskLimitsEntity } from '../database/entities.js';
import { CLOCK } from '../market/market.tokens.js';
import { OrderLedger } from '../orders/order-ledger.js';
import {
  canonicalLimits,
  configuredRiskLimits,
  type PutRiskLimitsBody,
  type RiskLimitsBody,
  riskLimitsSchema,
  toRiskLimits,
} from './risk-limits.schema.js';

/** One version of an account's limits, as the API shows it. Version 0: the configured defaults. */
export interface RiskLimitsVersionDto {
  accountId: string;
  version: number;
  limits: RiskLimitsBody;
  changedBy: string;
  changedAt: string | null;
  reason: string;
}

/** The limits the engine runs with for an account, and their version. */
export interface EffectiveRiskLimits {
  readonly version: number;
  readonly limits: RiskLimits;
}

/**
 * Per-account risk limits in PostgreSQL (issue 4 "Limits"): versioned and append-only, each version
 * with who set it, when and why. A change is made under the account's lock, so it is ordered with the
 * account's orders: the order after it is checked against it, on every instance. A loss limit
 * (`maxDailyLoss`, `maxPositionLoss`) may be tightened while the account has a position or a working
 * order (and the daily one once the account has traded today), never widened or switched off
 * (`422 risk.loss_limit_widening`; ARCHITECTURE.md "Limits on loss may be tightened after an entry,
 * never widened"); a flat account with nothing working may set any limits.
 */
@Injectable()
export class RiskLimitsService {
  private readonly defaults: RiskLimitsBody;
  private readonly defaultLimits: RiskLimits;
  /** Parsed limits by `accountId:version` (versions never change once written). */
  private readonly parsed = new Map<string, RiskLimits>();

  constructor(
    private readonly dataSource: DataSource,
    private readonly ledger: OrderLedger,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.defaults = configuredRiskLimits(config);
    this.defaultLimits = toRiskLimits(this.defaults);
  }

  /** The account's limits now, read in the caller's transaction (an order's, under the account lock). */
  async effective(manager: EntityManager, accountId: string): Promise<EffectiveRiskLimits> {
    const row = await this.latest(manager, accountId);
    if (!row) {
      return { version: 0, limits: this.defaultLimits };
    }
    const key = `${accountId}:${row.version}`;
    let limits = this.parsed.get(key);
    if (!limits) {
      limits = toRiskLimits(riskLimitsSchema.parse(row.limits));
      if (this.parsed.size > 10_000) {
        this.parsed.clear();
      }
      this.parsed.set(key, limits);
    }
    return { version: row.version, limits };
  }

  /** `GET /v1/accounts/{id}/risk-limits`. */
  async current(accountId: string): Promise<RiskLimitsVersionDto> {
    const row = await this.latest(this.dataSource.manager, accountId);
    return row ? this.toDto(row) : this.defaultVersion(accountId);
  }

  /** `GET /v1/accounts/{id}/risk-limits/history`: every version, newest first, version 0 last. */
  async history(accountId: string): Promise<RiskLimitsVersionDto[]> {
    const rows = await this.dataSource
      .getRepository(RiskLimitsEntity)
      .find({ where: { accountId }, order: { version: 'DESC' } });
    return [...rows.map((r) => this.toDto(r)), this.defaultVersion(accountId)];
  }

  /** `PUT /v1/accounts/{id}/risk-limits`: a new version, or 409/422 and nothing changes. */
  async put(principal: Principal, accountId: string, body: PutRiskLimitsBody): Promise<RiskLimitsVersionDto> {
    const step = await this.ledger.inAccount(accountId, async (tx) => {
      const latest = await this.latest(tx.manager, accountId);
      const version = latest?.version ?? 0;
      if (body.version !== undefined && body.version !== version) {
        throw new ApiError(
          409,
          'risk_limits.version_conflict',
          'Risk limits changed meanwhile',
          `You changed version ${body.version}, but the account's limits are at version ${version} now; read them again.`,
          { version },
        );
      }
      const before = latest ? riskLimitsSchema.parse(latest.limits) : this.defaults;
      const widened = lossLimitWidenings(toRiskLimits(before), toRiskLimits(body.limits));
      const lockedBy = widened.length > 0 ? await this.lossLimitsLockedBy(tx.manager, accountId, widened) : null;
      if (lockedBy !== null) {
        throw new ApiError(
          422,
          'risk.loss_limit_widening',
          'Loss limit may not be widened',
          `The account has ${lockedBy}: ${widened.join(' and ')} may be tightened, never widened or switched off.`,
          {},
          widened.map((path) => ({ path: `limits.${path}`, message: 'would widen a loss limit' })),
        );
      }
      const row: RiskLimitsEntity = {
        accountId,
        version: version + 1,
        limits: canonicalLimits(body.limits),
        changedBy: principal.subject,
        reason: body.reason,
        changedAt: new Date(this.clock.now()),
      };
      await tx.manager.insert(RiskLimitsEntity, row as never);
      return row;
    });
    if (!step) {
      throw ApiError.accountNotFound(accountId);
    }
    return this.toDto(step.result);
  }

  private latest(manager: EntityManager, accountId: string): Promise<RiskLimitsEntity | null> {
    return manager.findOne(RiskLimitsEntity, { where: { accountId }, order: { version: 'DESC' } });
  }

  /**
   * Why the account's loss limits may only be tightened now, or null when they may be widened: a
   * position or a working order (an entry is on), and for the daily limit any execution today (a loss
   * already taken today must not be followed by a wider limit after flattening).
   */
  private async lossLimitsLockedBy(
    manager: EntityManager,
    accountId: string,
    widened: readonly string[],
  ): Promise<string | null> {
    const position = await manager
      .createQueryBuilder(PositionEntity, 'p')
      .where('p.account_id = :accountId AND p.quantity <> 0', { accountId })
      .getExists();
    if (position || (await manager.exists(OrderEntity, { where: { accountId, status: In([...OPEN_STATUSES]) } }))) {
      return 'a position or a working order';
    }
    const tradingDay = tradingDayOf(this.clock.now());
    if (
      widened.includes('maxDailyLoss') &&
      (await manager.exists(ExecutionEntity, { where: { accountId, tradingDay } }))
    ) {
      return `executions today (${tradingDay})`;
    }
    return null;
  }

  private toDto(row: RiskLimitsEntity): RiskLimitsVersionDto {
    return {
      accountId: row.accountId,
      version: row.version,
      limits: riskLimitsSchema.parse(row.limits),
      changedBy: row.changedBy,
      changedAt: row.changedAt.toISOString(),
      reason: row.reason,
    };
  }

  private defaultVersion(accountId: string): RiskLimitsVersionDto {
    return {
      accountId,
      version: 0,
      limits: this.defaults,
      changedBy: 'configuration',
      changedAt: null,
      reason: 'the gateway’s configured defaults (RISK_* environment variables)',
    };
  }
}
