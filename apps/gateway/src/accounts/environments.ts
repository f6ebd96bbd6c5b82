import { type DataSource, In, Not } from 'typeorm';
import type { GatewayConfig } from '../config/config.js';
import { AccountEntity } from '../database/entities.js';

/**
 * Paper/live isolation at start-up (README, "Paper and live"): a deployment that does not serve `live`
 * (`GATEWAY_ENVIRONMENTS=paper`) refuses to start when the database holds a live account, so a paper
 * deployment is never pointed at live accounts by mistake. Returns the reason to refuse, or null.
 */
export async function unservedAccounts(dataSource: DataSource, config: GatewayConfig): Promise<string | null> {
  const [foreign, count] = await dataSource.getRepository(AccountEntity).findAndCount({
    where: { environment: Not(In([...config.environments])) },
    select: { id: true, name: true, environment: true },
    order: { name: 'ASC' },
    take: 5,
  });
  if (count === 0) {
    return null;
  }
  const names = foreign.map((a) => `${a.name} (${a.environment})`);
  return (
    `GATEWAY_ENVIRONMENTS=${config.environments.join(',')} but the database holds ${count} account(s) ` +
    `of another environment: ${names.join(', ')}${count > 5 ? ', …' : ''}; refusing to start`
  );
}
