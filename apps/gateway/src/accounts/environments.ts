import type { DataSource } from 'typeorm';
import type { GatewayConfig } from '../config/config.js';
import { AccountEntity } from '../database/entities.js';

/**
 * Paper/live isolation at start-up (issue 5): a deployment that does not serve `live`
 * (`GATEWAY_ENVIRONMENTS=paper`) refuses to start when the database holds a live account, so a paper
 * deployment is never pointed at live accounts by mistake. Returns the reason to refuse, or null.
 */
export async function unservedAccounts(dataSource: DataSource, config: GatewayConfig): Promise<string | null> {
  const served = new Set(config.environments);
  const rows = await dataSource
    .getRepository(AccountEntity)
    .find({ select: { id: true, name: true, environment: true } });
  const foreign = rows.filter((a) => !served.has(a.environment));
  if (foreign.length === 0) {
    return null;
  }
  const names = foreign.slice(0, 5).map((a) => `${a.name} (${a.environment})`);
  return (
    `GATEWAY_ENVIRONMENTS=${config.environments.join(',')} but the database holds ${foreign.length} account(s) ` +
    `of another environment: ${names.join(', ')}${foreign.length > 5 ? ', …' : ''}; refusing to start`
  );
}
