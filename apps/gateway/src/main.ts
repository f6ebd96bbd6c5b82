import { ConfigError, loadConfig } from './config/config.js';
import { DEV_ISSUER } from './auth/token-verifier.js';
import { DEMO_ACCOUNT, startGateway, StartupError } from './bootstrap.js';
import { startTracing } from './health/tracing.js';

/** `npm start`: starts the gateway and prints what a new user needs to place a first order. */
async function main(): Promise<void> {
  const config = loadConfig();
  // Before the server takes requests; off (and free) unless OTEL_EXPORTER_OTLP_ENDPOINT is set.
  const stopTracing = startTracing();
  const gateway = await startGateway(config);
  const lines = [
    `Execution gateway listening on ${gateway.url}  (stream: ${gateway.url.replace('http', 'ws')}/v1/stream)`,
  ];
  if (gateway.demoAccountId) {
    const token = await gateway.issuer.sign({
      subject: 'demo-trader',
      roles: ['trader'],
      accounts: [gateway.demoAccountId],
      ttlSeconds: config.auth.devTokenTtlSeconds,
    });
    lines.push(
      `Paper account ${DEMO_ACCOUNT}: ${gateway.demoAccountId}`,
      `Trader token for it (valid ${Math.round(config.auth.devTokenTtlSeconds / 3600)} h): ${token}`,
      // Tokens are never logged: this one is a convenience of the quick start, printed on the terminal only.
      config.auth.issuer === DEV_ISSUER
        ? '(A development convenience, signed by the dev issuer and printed on this terminal only: the JSON log on stdout never holds a token.)'
        : `(Signed by the dev issuer and printed on this terminal only; AUTH_ISSUER is ${config.auth.issuer}, so the gateway refuses it: use a token of that issuer.)`,
      '',
      'In another terminal:',
      `  export GATEWAY_URL=${gateway.url} ACCOUNT_ID=${gateway.demoAccountId} TOKEN=${token}`,
      `  curl -s -X POST "$GATEWAY_URL/v1/accounts/$ACCOUNT_ID/orders" -H "Authorization: Bearer $TOKEN" \\`,
      `    -H 'Content-Type: application/json' \\`,
      `    -d '{"clientOrderId":"first-1","symbol":"SPY","side":"buy","quantity":"10","type":"market"}'`,
      `  npm run demo    # a marketable buy, a resting limit that fills later, an SPXW 0DTE call and a cancel`,
    );
  }
  // The banner goes to stderr so stdout stays pure JSON log lines.
  process.stderr.write(`${lines.join('\n')}\n`);
  // SIGTERM (an orchestrator's stop) drains first; SIGINT (Ctrl-C on a terminal) closes at once.
  const stop = (signal: string) => {
    gateway.logger.info({ signal }, 'shutting down');
    (signal === 'SIGTERM' ? gateway.drain() : Promise.resolve())
      .then(() => gateway.close())
      .then(() => stopTracing().catch(() => undefined))
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.once('SIGINT', () => stop('SIGINT'));
  process.once('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError || error instanceof StartupError) {
    process.stderr.write(`gateway: ${error.message}\n`);
  } else {
    process.stderr.write(
      `gateway: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
    );
  }
  process.exit(1);
});
