import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const MAIN = fileURLToPath(new URL('../../dist/apps/gateway/src/main.js', import.meta.url));
/** The built admin CLI (`gateway <command>`). */
export const CLI = fileURLToPath(new URL('../../dist/apps/gateway/src/cli/main.js', import.meta.url));

export interface GatewayProcess {
  readonly url: string;
  readonly accountId: string;
  readonly traderToken: string;
  readonly child: ChildProcess;
  /** Everything the process wrote (stdout log lines and the stderr banner). */
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * Starts the built gateway (`dist/`, made by `npm run build`, which `npm test` runs first) as a child
 * process on a free port, and waits for its banner. `env` overrides the defaults (a paused replay and
 * instant acks, no RTT lockdown, so tests are deterministic).
 */
export async function startGatewayProcess(env: Record<string, string>): Promise<GatewayProcess> {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: run "npm run build" first (npm test does)`);
  }
  const child = spawn(process.execPath, [MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      PAPER_SPEED: '0',
      PAPER_ACK_LATENCY_MS: '0',
      // The RTT lockdown (default 20 ms) would take entries away from a loaded 2-core machine; its test sets it.
      LOCKDOWN_RTT_MS: 'off',
      // Two test files run at once, each with up to three gateways, on a PostgreSQL of 100 connections.
      DATABASE_POOL_SIZE: '8',
      // Stopping a test's gateway (SIGTERM) skips the drain a load balancer needs; its own test sets it.
      SHUTDOWN_DRAIN_MS: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  // Never leave a gateway behind when the test worker exits without its afterAll.
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const banner = await new Promise<{ url: string; accountId: string; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`gateway did not start within 30 s:\n${out}`));
    }, 30_000);
    const check = () => {
      const url = /listening on (http:\/\/[^\s]+)/.exec(out)?.[1];
      const exported = /ACCOUNT_ID=(\S+) TOKEN=(\S+)/.exec(out);
      if (url && exported) {
        clearTimeout(timer);
        resolve({ url, accountId: exported[1]!, token: exported[2]! });
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited with ${code} before it was ready:\n${out}`));
    });
  });
  let stopping = false;
  child.once('exit', (code, signal) => {
    if (!stopping) {
      // Died under the test: say so, with the end of what it wrote, or the failure makes no sense.
      process.stderr.write(`gateway ${banner.url} exited unexpectedly (${code ?? signal}):\n${out.slice(-4000)}\n`);
    }
  });
  return {
    url: banner.url,
    accountId: banner.accountId,
    traderToken: banner.token,
    child,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve(child.exitCode);
          return;
        }
        stopping = true;
        child.once('exit', (code) => resolve(code));
        child.kill(signal);
      }),
  };
}

/** What a run of the built admin CLI printed, and its exit status. */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the built admin CLI (`gateway <args>`) with the given environment on top of this process's. */
export function runCli(args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  return runCommand(process.execPath, [CLI, ...args], env);
}

/** Runs `command args` from the repository root with `env` on top of this process's; collects its output. */
export function runCommand(command: string, args: readonly string[], env: Record<string, string>): Promise<CliRun> {
  const child = spawn(command, args, {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stdout, stderr })));
}

/** Runs the token CLI against a database and returns the token it prints. */
export async function mintToken(databaseUrl: string, args: string[]): Promise<string> {
  const child = spawn(process.execPath, [CLI, 'token', ...args], {
    cwd: ROOT,
    env: { ...process.env, DATABASE_URL: databaseUrl },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) {
    throw new Error(`token CLI failed (${code}): ${err}`);
  }
  return out.trim();
}
