import { loadPaperVenueConfig, startPaperVenueProcess } from './server.js';

/**
 * `npm run venue`: the paper venue as a fake broker process (see server.ts for the routes and
 * loadPaperVenueConfig for the environment). Prints one line, `paper venue listening on http://HOST:PORT`,
 * to stdout once ready; SIGTERM or SIGINT closes it. Its book is in memory: it survives gateway
 * restarts, not its own.
 */
async function main(): Promise<void> {
  const config = loadPaperVenueConfig();
  const venue = await startPaperVenueProcess(config);
  process.stdout.write(`paper venue listening on ${venue.server.url}\n`);
  const stop = (): void => {
    venue.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `paper venue: failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
