import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ROOT } from './gateway-process.js';

export const FAKE_ALPACA_MAIN = fileURLToPath(
  new URL('../../dist/apps/fake-brokers/src/alpaca/main.js', import.meta.url),
);

/** The fake Alpaca (`npm run fake:alpaca`) as its own process, driven over HTTP like the real one. */
export interface FakeAlpacaProcess {
  readonly url: string;
  output(): string;
  /** A call to the fake: Alpaca's routes with the given keys (default the fake's own), test routes without. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts the built fake (`npm run build` first) on a free port, its replay paused, with one key pair. */
export async function startFakeAlpacaProcess(
  keys: { keyId: string; secretKey: string },
  env: Record<string, string> = {},
): Promise<FakeAlpacaProcess> {
  if (!existsSync(FAKE_ALPACA_MAIN)) {
    throw new Error(`${FAKE_ALPACA_MAIN} is missing: run "npm run build" first (npm test does)`);
  }
  const child: ChildProcess = spawn(process.execPath, [FAKE_ALPACA_MAIN], {
    cwd: ROOT,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      PAPER_SPEED: '0',
      FAKE_ALPACA_KEY_ID: keys.keyId,
      FAKE_ALPACA_SECRET_KEY: keys.secretKey,
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const reap = () => child.kill('SIGKILL');
  process.once('exit', reap);
  child.once('exit', () => process.removeListener('exit', reap));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`fake alpaca did not start within 30 s:\n${out}`));
    }, 30_000);
    const check = () => {
      const found = /fake alpaca listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`fake alpaca exited with ${code} before it was ready:\n${out}`));
    });
  });
  return {
    url,
    output: () => out,
    call: async (method, path, body) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: {
          'APCA-API-KEY-ID': keys.keyId,
          'APCA-API-SECRET-KEY': keys.secretKey,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    },
    stop: async () => {
      if (child.exitCode !== null) {
        return;
      }
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
