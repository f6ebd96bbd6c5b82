import { createDataSource } from '../../gateway/src/database/data-source.js';
import { DevIssuer } from '../../gateway/src/auth/dev-issuer.js';
import { DEV_ISSUER, TokenVerifier } from '../../gateway/src/auth/token-verifier.js';
import { createLogger } from '../../gateway/src/common/logger.js';
import { ConfigError, loadConfig } from '../../gateway/src/config/config.js';
import { startMonitor } from './monitor.js';

/**
 * `npm run monitor`: the monitoring service on MONITOR_HOST:MONITOR_PORT, reading the gateway's own
 * settings (REDIS_URL, REDIS_PREFIX, AUTH_*, DATABASE_URL for the dev issuer's public keys).
 */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger(config.logLevel, config.environments).child({ component: 'monitor' });
  // The dev issuer's keys are in PostgreSQL (the gateway made them): read once, the connection closed.
  const dataSource = createDataSource(config.databaseUrl, { applicationName: 'monitor', maxConnections: 1 });
  await dataSource.initialize().catch((error: unknown) => {
    throw new ConfigError(`PostgreSQL (DATABASE_URL) is not reachable: ${(error as Error).message}`);
  });
  const issuer = await DevIssuer.load(dataSource, DEV_ISSUER, config.auth.audience).finally(() => dataSource.destroy());
  const verifier = TokenVerifier.create(config.auth, issuer, logger);
  const monitor = await startMonitor(config, verifier, logger);
  const lines = [`Cockpit (monitor) listening on ${monitor.url}  (gateway: ${config.monitor.gatewayUrl})`];
  if (config.auth.issuer === DEV_ISSUER) {
    const token = await issuer.sign({
      subject: 'demo-risk',
      roles: ['risk'],
      accounts: ['*'],
      ttlSeconds: config.auth.devTokenTtlSeconds,
    });
    // In the fragment, which the browser never sends: the cockpit reads it and takes it out of the address.
    lines.push(`Open the cockpit as risk staff: ${monitor.url}/#token=${token}`);
  }
  process.stderr.write(`${lines.join('\n')}\n`);
  const stop = () => {
    monitor.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `monitor: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
