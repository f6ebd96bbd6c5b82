import { createServer } from 'node:http';
import { Registry } from 'prom-client';
import { ConfigError, loadConfig } from '../config/config.js';
import { createLogger } from '../common/logger.js';
import { createDataSource } from '../database/data-source.js';
import { EventExportRelay } from './event-export.relay.js';

/**
 * The event export relay on its own (`node dist/apps/gateway/src/export/main.js`), for a deployment that
 * runs it apart from the gateways, and for the tests that kill it: the same relay as EVENT_EXPORT=nats
 * runs inside a gateway, reading the same settings (NATS_URL, EVENT_EXPORT_*), on a database the gateway
 * has migrated. Serves its metrics (`gateway_event_export_*`) on RELAY_METRICS_PORT (default 0: a free
 * port) at `/metrics`, and prints `event export relay metrics on http://HOST:PORT` on stderr once ready.
 */
async function main(): Promise<void> {
  const config = loadConfig({ ...process.env, EVENT_EXPORT: 'nats' });
  const logger = createLogger(config.logLevel);
  const dataSource = createDataSource(config.databaseUrl, { applicationName: 'event-export', maxConnections: 4 });
  await dataSource.initialize();
  const registry = new Registry();
  const relay = new EventExportRelay(dataSource, config.eventExport!, logger, registry);
  const server = createServer((req, res) => {
    if (req.url === '/metrics') {
      void registry.metrics().then((text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text));
      return;
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) =>
    server.listen(Number(process.env.RELAY_METRICS_PORT ?? 0), '127.0.0.1', resolve),
  );
  relay.start();
  const address = server.address() as import('node:net').AddressInfo;
  process.stderr.write(`event export relay metrics on http://127.0.0.1:${address.port}\n`);
  const stop = (): void => {
    void relay
      .stop()
      .then(() => dataSource.destroy())
      .finally(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `event export relay: ${error instanceof ConfigError ? error.message : error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
