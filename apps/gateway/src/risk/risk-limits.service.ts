import { type Clock, tradingDayOf } from '@gateway/oms';
import { lossLimitWidenings, type RiskLimits } from '@gateway/risk';
import { Inject, Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { CLOCK } from '../market/market.tokens.js';
import { AccountLock } from '../persistence/account-lock.js';
import type { AccountScope } from '../persistence/account-scope.js';
import { RiskContextRepository } from './risk-context.repository.js';
import { RiskLimitsRepository, type StoredRiskLimits } from './risk-limits.repository.js';
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
 * Per-account risk limits in PostgreSQL (ARCHITECTURE.md "Trading authority"): versioned and append-only, each version
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
  /** The limits this instance last found in force, by account: a guess, never checked against (`lastSeen`). */
  private readonly seen = new Map<string, RiskLimits>();

  constructor(
    private readonly repository: RiskLimitsRepository,
    private readonly context: RiskContextRepository,
    private readonly lock: AccountLock,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.defaults = configuredRiskLimits(config);
    this.defaultLimits = toRiskLimits(this.defaults);
  }

  /**
   * The account's limits now: in the account's transaction when `scope` is given (an order's, under
   * the account lock), else as committed. Under the lock, the account row's `riskLimitsVersion` names
   * the version in force, so limits parsed before (on this instance) are used without reading
   * `risk_limits`; a new version, from any instance, changes the row in its own transaction.
   */
  async effective(accountId: string, scope?: AccountScope): Promise<EffectiveRiskLimits> {
    const found = await this.inForce(accountId, scope);
    if (this.seen.size > 10_000) {
      this.seen.clear();
    }
    this.seen.set(accountId, found.limits);
    return found;
  }

  /**
   * The limits this instance last found in force for the account (the defaults when it found none):
   * what the reads sent ahead of the account's lock may be chosen by, never what an order is checked
   * against (that is `effective`, under the lock).
   */
  lastSeen(accountId: string): RiskLimits {
    return this.seen.get(accountId) ?? this.defaultLimits;
  }

  private async inForce(accountId: string, scope?: AccountScope): Promise<EffectiveRiskLimits> {
    const version = scope?.account.id === accountId ? scope.account.riskLimitsVersion : undefined;
    if (version === 0) {
      return { version: 0, limits: this.defaultLimits };
    }
    const cached = version === undefined ? undefined : this.parsed.get(`${accountId}:${version}`);
    if (version !== undefined && cached) {
      return { version, limits: cached };
    }
    const stored = await this.repository.latest(accountId, scope);
    if (!stored) {
      return { version: 0, limits: this.defaultLimits };
    }
    const key = `${accountId}:${stored.version}`;
    let limits = this.parsed.get(key);
    if (!limits) {
      limits = toRiskLimits(riskLimitsSchema.parse(stored.limits));
      if (this.parsed.size > 10_000) {
        this.parsed.clear();
      }
      this.parsed.set(key, limits);
    }
    return { version: stored.version, limits };
  }

  /** `GET /v1/accounts/{id}/risk-limits`. */
  async current(accountId: string): Promise<RiskLimitsVersionDto> {
    const stored = await this.repository.latest(accountId);
    return stored ? this.toDto(stored) : this.defaultVersion(accountId);
  }

  /** `GET /v1/accounts/{id}/risk-limits/history`: every version, newest first, version 0 last. */
  async history(accountId: string): Promise<RiskLimitsVersionDto[]> {
    const versions = await this.repository.history(accountId);
    return [...versions.map((v) => this.toDto(v)), this.defaultVersion(accountId)];
  }

  /** `PUT /v1/accounts/{id}/risk-limits`: a new version, or 409/422 and nothing changes. */
  async put(principal: Principal, accountId: string, body: PutRiskLimitsBody): Promise<RiskLimitsVersionDto> {
    const step = await this.lock.inAccountScope(accountId, async (scope) => {
      const latest = await this.repository.latest(accountId, scope);
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
      const lockedBy = widened.length > 0 ? await this.lossLimitsLockedBy(scope, widened) : null;
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
      const next: StoredRiskLimits = {
        accountId,
        version: version + 1,
        limits: canonicalLimits(body.limits),
        changedBy: principal.subject,
        reason: body.reason,
        changedAt: new Date(this.clock.now()),
      };
      await this.repository.insert(scope, next);
      // The trigger on `risk_limits` set the row's version; the locked row in memory follows it.
      scope.account.riskLimitsVersion = next.version;
      return next;
    });
    if (!step) {
      throw ApiError.accountNotFound(accountId);
    }
    return this.toDto(step.result);
  }

  /**
   * Why the account's loss limits may only be tightened now, or null when they may be widened: a
   * position or a working order (an entry is on), and for the daily limit any execution today (a loss
   * already taken today must not be followed by a wider limit after flattening).
   */
  private async lossLimitsLockedBy(scope: AccountScope, widened: readonly string[]): Promise<string | null> {
    if (await this.context.hasPositionOrOpenOrder(scope)) {
      return 'a position or a working order';
    }
    const tradingDay = tradingDayOf(this.clock.now());
    if (widened.includes('maxDailyLoss') && (await this.context.hasExecutionsOn(scope, tradingDay))) {
      return `executions today (${tradingDay})`;
    }
    return null;
  }

  private toDto(stored: StoredRiskLimits): RiskLimitsVersionDto {
    return {
      accountId: stored.accountId,
      version: stored.version,
      limits: riskLimitsSchema.parse(stored.limits),
      changedBy: stored.changedBy,
      changedAt: stored.changedAt.toISOString(),
      reason: stored.reason,
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
