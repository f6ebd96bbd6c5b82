import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { ROOT } from './gateway-process.js';

/** A built service (venue, monitor, fake broker) running as a child process of the test. */
export interface ServiceProcess {
  /** The URL its ready line announced. */
  readonly url: string;
  readonly child: ChildProcess;
  /** Everything it wrote to stdout and stderr so far. */
  readonly output: () => string;
  /** Signals it (SIGTERM by default) and resolves once it has exited; at once when it already has. */
  readonly stop: (signal?: NodeJS.Signals) => Promise<void>;
}

export interface ServiceProcessOptions {
  /** The built entry (`dist/...`); missing means `npm run build` has not run. */
  readonly main: string;
  /** For messages: "venue", "monitor", "fake alpaca". */
  readonly name: string;
  readonly env: Record<string, string>;
  /** Matches the ready line; its first group is the URL. */
  readonly ready: RegExp;
  readonly timeoutMs?: number;
}

/**
 * Starts `node <main>` from the repository root with `process.env` and `env`, collects its output, kills it
 * when the test process exits, and resolves when its ready line names its URL (rejecting, with the output,
 * when it exits first or takes longer than `timeoutMs`, 30 s by default).
 */
export async function startServiceProcess(options: ServiceProcessOptions): Promise<ServiceProcess> {
  const { main, name, env, ready, timeoutMs = 30_000 } = options;
  if (!existsSync(main)) {
    throw new Error(`${main} is missing: run "npm run build" first (npm test does)`);
  }
  const child = spawn(process.execPath, [main], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${name} did not start within ${timeoutMs / 1000} s:\n${out}`));
    }, timeoutMs);
    const check = () => {
      const found = ready.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        child.kill(signal);
      }),
  };
}
