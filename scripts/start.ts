/**
 * `npm start`: the paper venue, the gateway and, beside it, the monitor serving the cockpit (README,
 * "Cockpit"), each its own process, their output on this terminal.
 *
 * The paper venue comes first (`apps/paper-venue`, on 127.0.0.1 and a free port unless PAPER_VENUE_PORT
 * says otherwise); once it has printed its URL the gateway starts pointed at it (PAPER_VENUE_URL), so
 * that further instances started with the same PAPER_VENUE_URL share its book and its market (README,
 * "Running several instances"); its book is in the gateway's database (PAPER_VENUE_DATABASE_URL, default
 * DATABASE_URL), after the migrations have run. `PAPER_VENUE=in-process` runs the venue inside the gateway instead (one
 * instance only); a PAPER_VENUE_URL already set means that venue: none is started. The monitor starts
 * once the gateway has printed its URL (it forwards the kill switch there unless MONITOR_GATEWAY_URL says
 * otherwise).
 *
 * Ctrl-C (SIGINT) or SIGTERM stops all: the monitor and the gateway at once, the venue once the gateway
 * has exited (its last orders and cancels still reach it). When the gateway ends, the monitor and the
 * venue are stopped too; when the venue ends, so does the gateway (it has no broker left). A monitor that
 * fails leaves the gateway running.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../apps/gateway/src/config/config.js';

const GATEWAY = fileURLToPath(new URL('../apps/gateway/src/main.js', import.meta.url));
const MONITOR = fileURLToPath(new URL('../apps/monitor/src/main.js', import.meta.url));
const VENUE = fileURLToPath(new URL('../apps/paper-venue/src/main.js', import.meta.url));
const CLI = fileURLToPath(new URL('../apps/gateway/src/cli/main.js', import.meta.url));

/** `PAPER_VENUE`: `process` (default) runs the paper venue as its own process, `in-process` inside the gateway. */
const mode = process.env.PAPER_VENUE ?? 'process';
if (mode !== 'process' && mode !== 'in-process') {
  process.stderr.write(`PAPER_VENUE must be "process" or "in-process", not ${JSON.stringify(mode)}\n`);
  process.exit(2);
}

/** A database URL without its password, for a message. */
function redact(url: string): string {
  try {
    const u = new URL(url);
    u.password = u.password ? '***' : '';
    return u.toString();
  } catch {
    return 'the database';
  }
}

function run(file: string, env: NodeJS.ProcessEnv, stdout: 'inherit' | 'pipe' = 'inherit'): ChildProcess {
  return spawn(process.execPath, [file], { env, stdio: ['ignore', stdout, 'pipe'] });
}

let venue: ChildProcess | null = null;
let gateway: ChildProcess | null = null;
let monitor: ChildProcess | null = null;
let stopping = false;

function stopAll(signal: NodeJS.Signals): void {
  stopping = true;
  monitor?.kill(signal);
  if (gateway !== null && gateway.exitCode === null && gateway.signalCode === null) {
    gateway.kill(signal); // the venue follows once the gateway has exited
  } else {
    venue?.kill(signal);
  }
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => stopAll(signal));
}

function startGateway(env: NodeJS.ProcessEnv): void {
  gateway = run(GATEWAY, env);
  let banner = '';
  gateway.stderr?.on('data', (chunk: Buffer) => {
    process.stderr.write(chunk);
    if (monitor !== null || stopping) {
      return;
    }
    banner += chunk.toString();
    const url = /listening on (http:\/\/\S+)/.exec(banner)?.[1];
    if (url) {
      monitor = run(MONITOR, { ...process.env, MONITOR_GATEWAY_URL: process.env.MONITOR_GATEWAY_URL ?? url });
      monitor.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
      monitor.once('exit', (code, signal) => {
        if (gateway?.exitCode === null && !stopping) {
          process.stderr.write(`monitor exited (${code ?? signal}); the gateway keeps running\n`);
        }
      });
    }
  });
  gateway.once('exit', (code) => {
    monitor?.kill('SIGTERM');
    venue?.kill('SIGTERM');
    process.exitCode = code ?? 1;
  });
}

if (mode === 'in-process' || process.env.PAPER_VENUE_URL) {
  startGateway(process.env);
} else {
  // The venue keeps its book in the gateway's database (its own table, paper_venue_orders), so resting
  // paper orders and positions survive a restart of `npm start`; the migrations that make the table run
  // first (the gateway would run them too, after the venue has started).
  const databaseUrl = process.env.PAPER_VENUE_DATABASE_URL ?? loadConfig(process.env).databaseUrl;
  const migrated = spawnSync(process.execPath, [CLI, 'migrate', 'up'], {
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (migrated.status !== 0) {
    process.stderr.write(`the migrations of ${redact(databaseUrl)} failed; the paper venue is not started\n`);
    process.exit(migrated.status ?? 1);
  }
  // The venue reads the same PAPER_* and MARKET_DATA_DIR settings as the gateway; PORT and HOST are the gateway's.
  venue = run(
    VENUE,
    {
      ...process.env,
      PORT: process.env.PAPER_VENUE_PORT ?? '0',
      HOST: process.env.PAPER_VENUE_HOST ?? '127.0.0.1',
      PAPER_VENUE_DATABASE_URL: databaseUrl,
    },
    'pipe',
  );
  venue.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
  let banner = '';
  venue.stdout?.on('data', (chunk: Buffer) => {
    if (gateway !== null || stopping) {
      process.stdout.write(chunk);
      return;
    }
    banner += chunk.toString(); // its ready line is said again below, with what it is for
    const url = /paper venue listening on (http:\/\/\S+)/.exec(banner)?.[1];
    if (url) {
      process.stderr.write(`Paper venue listening on ${url} (PAPER_VENUE_URL of every instance)\n`);
      startGateway({ ...process.env, PAPER_VENUE_URL: url });
    }
  });
  venue.once('exit', (code, signal) => {
    if (gateway === null) {
      process.stderr.write(`paper venue exited (${code ?? signal}) before it was ready\n`);
      process.exitCode = code ?? 1;
      return;
    }
    if (gateway.exitCode === null && gateway.signalCode === null) {
      if (!stopping) {
        process.stderr.write(`paper venue exited (${code ?? signal}); stopping the gateway\n`);
      }
      stopAll('SIGTERM');
    }
  });
}
