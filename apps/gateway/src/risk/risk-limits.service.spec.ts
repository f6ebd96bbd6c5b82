import { describe, expect, it } from 'vitest';
import { loadConfig } from '../config/config.js';
import type { AccountEntity } from '../database/entities.js';
import type { AccountScope } from '../persistence/account-scope.js';
import type { RiskLimitsRepository, StoredRiskLimits } from './risk-limits.repository.js';
import { configuredRiskLimits } from './risk-limits.schema.js';
import { RiskLimitsService } from './risk-limits.service.js';

const ACCOUNT = '00000000-0000-4000-8000-000000000001';

/** A service over a fake `risk_limits` holding `versions` (max order quantity per version), counting reads. */
function service(versions: string[]) {
  const reads = { count: 0 };
  const config = loadConfig({});
  const defaults = configuredRiskLimits(config);
  const repository = {
    latest: (): Promise<StoredRiskLimits | null> => {
      reads.count++;
      const version = versions.length;
      return Promise.resolve(
        version === 0
          ? null
          : {
              accountId: ACCOUNT,
              version,
              limits: { ...defaults, maxOrderQuantity: versions[version - 1] },
              changedBy: 'risk',
              reason: 'test',
              changedAt: new Date(0),
            },
      );
    },
  } as unknown as RiskLimitsRepository;
  const limits = new RiskLimitsService(repository, null as never, null as never, { now: () => 0 }, config);
  return { limits, reads };
}

const scope = (riskLimitsVersion: number): AccountScope => ({
  manager: null as never,
  account: { id: ACCOUNT, riskLimitsVersion } as AccountEntity,
});

describe('RiskLimitsService.effective under the account lock', () => {
  it('reads risk_limits only for a version of the account row it has not parsed yet', async () => {
    const versions = ['100'];
    const { limits, reads } = service(versions);
    expect((await limits.effective(ACCOUNT, scope(1))).limits.maxOrderQuantity?.toFixed()).toBe('100');
    expect((await limits.effective(ACCOUNT, scope(1))).limits.maxOrderQuantity?.toFixed()).toBe('100');
    expect(reads.count).toBe(1);
    versions.push('200');
    const next = await limits.effective(ACCOUNT, scope(2));
    expect([next.version, next.limits.maxOrderQuantity?.toFixed(), reads.count]).toEqual([2, '200', 2]);
  });

  it('takes version 0 for the configured defaults without a read, and reads without a scope', async () => {
    const { limits, reads } = service([]);
    const defaults = await limits.effective(ACCOUNT, scope(0));
    expect([defaults.version, reads.count]).toEqual([0, 0]);
    await limits.effective(ACCOUNT);
    await limits.effective(ACCOUNT);
    expect(reads.count).toBe(2);
  });
});
