import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { ROOT } from './gateway-process.js';
import { type ServiceProcess, startServiceProcess } from './service-process.js';

export const MONITOR_MAIN = fileURLToPath(new URL('../../dist/apps/monitor/src/main.js', import.meta.url));
export const COCKPIT_INDEX = fileURLToPath(new URL('../../dist/cockpit/index.html', import.meta.url));

export type MonitorProcess = ServiceProcess;

/**
 * Starts the built monitor (`dist/apps/monitor`, and the cockpit in `dist/cockpit`: `npm run build`) as a
 * child process on a free port with `env` (DATABASE_URL, REDIS_PREFIX, MONITOR_GATEWAY_URL...), and waits
 * for its banner.
 */
export async function startMonitorProcess(env: Record<string, string>): Promise<MonitorProcess> {
  for (const file of [MONITOR_MAIN, COCKPIT_INDEX]) {
    if (!existsSync(file)) {
      throw new Error(`${file} is missing: run "npm run build" first (npm test does)`);
    }
  }
  return startServiceProcess({
    main: MONITOR_MAIN,
    name: 'monitor',
    env: { MONITOR_PORT: '0', MONITOR_HOST: '127.0.0.1', LOG_LEVEL: 'info', ...env },
    ready: /Cockpit \(monitor\) listening on (http:\/\/\S+)/,
    timeoutMs: 20_000,
  });
}

/** A cockpit client over the monitor's WebSocket, as the page is: authenticated, collecting frames. */
export interface CockpitClient {
  readonly ws: WebSocket;
  readonly frames: any[];
  hello(): Promise<any>;
  /** The next frame satisfying `match` (waits for frames to come). */
  frameWhere(match: (frame: any) => boolean, timeoutMs?: number, what?: string): Promise<any>;
  /** Stops reading from the socket (the TCP window fills; the monitor must not buffer for it). */
  stopReading(): void;
  close(): void;
}

export async function connectCockpit(monitorUrl: string, token: string): Promise<CockpitClient> {
  const ws = new WebSocket(`${monitorUrl.replace('http', 'ws')}/ws`);
  const frames: any[] = [];
  let hello: any = null;
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer) => {
    const message = JSON.parse(data.toString());
    if (message.type === 'hello') {
      hello = message;
    } else {
      frames.push(message);
      if (frames.length > 200) {
        frames.shift();
      }
    }
    waiters.forEach((w) => w());
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  ws.send(JSON.stringify({ type: 'auth', token }));
  const waitFor = <T>(probe: () => T | null, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const check = () => {
        const value = probe();
        if (value !== null) {
          cleanup();
          resolve(value);
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out waiting for ${what}`));
      }, timeoutMs);
      const onClose = (code: number, reason: Buffer) => {
        cleanup();
        reject(new Error(`cockpit socket closed (${code} ${reason.toString()}) waiting for ${what}`));
      };
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(check);
        ws.off('close', onClose);
      };
      waiters.add(check);
      ws.on('close', onClose);
      check();
    });
  return {
    ws,
    frames,
    hello: () => waitFor(() => hello, 10_000, 'hello'),
    frameWhere: (match, timeoutMs = 15_000, what = 'frame') => {
      const start = frames.length;
      return waitFor(() => frames.slice(Math.max(0, start - 1)).find(match) ?? null, timeoutMs, what);
    },
    stopReading: () => {
      (ws as unknown as { _socket: import('node:net').Socket })._socket.pause();
    },
    close: () => ws.terminate(),
  };
}

export const START = fileURLToPath(new URL('../../dist/scripts/start.js', import.meta.url));

/** `npm start`'s processes (dist/scripts/start.js): the paper venue, the gateway and the monitor beside it. */
export interface QuickStart {
  readonly gatewayUrl: string;
  readonly accountId: string;
  readonly traderToken: string;
  readonly monitorUrl: string;
  /** The line `Open the cockpit as risk staff: <url>/#token=<risk token>`'s address. */
  readonly cockpitLink: string;
  output(): string;
  stop(): Promise<void>;
}

/**
 * Runs what `npm start` runs after the build, `node dist/scripts/start.js`, on free ports (PORT=0,
 * MONITOR_PORT=0) with `env`, and waits for both banners. Its own process group, so that nothing is
 * left behind.
 */
export async function startQuickStart(env: Record<string, string>): Promise<QuickStart> {
  const child = spawn(process.execPath, [START], {
    cwd: ROOT,
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', MONITOR_PORT: '0', PAPER_ACK_LATENCY_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (out += d.toString()));
  const killGroup = (signal: NodeJS.Signals) => {
    try {
      process.kill(-child.pid!, signal);
    } catch {
      // already gone
    }
  };
  const reap = () => killGroup('SIGKILL');
  process.once('exit', reap);
  const found = await new Promise<Omit<QuickStart, 'output' | 'stop'>>((resolve, reject) => {
    const timer = setTimeout(() => {
      killGroup('SIGKILL');
      reject(new Error(`npm start's processes did not start within 40 s:\n${out}`));
    }, 40_000);
    const check = () => {
      const gatewayUrl = /Execution gateway listening on (http:\/\/\S+)/.exec(out)?.[1];
      const exported = /ACCOUNT_ID=(\S+) TOKEN=(\S+)/.exec(out);
      const monitorUrl = /Cockpit \(monitor\) listening on (http:\/\/\S+)/.exec(out)?.[1];
      const cockpitLink = /Open the cockpit as risk staff: (\S+)/.exec(out)?.[1];
      if (gatewayUrl && exported && monitorUrl && cockpitLink) {
        clearTimeout(timer);
        resolve({ gatewayUrl, accountId: exported[1]!, traderToken: exported[2]!, monitorUrl, cockpitLink });
      }
    };
    child.stdout.on('data', check);
    child.stderr.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`npm start's processes exited with ${code} before they were ready:\n${out}`));
    });
  });
  return {
    ...found,
    output: () => out,
    stop: () =>
      new Promise((resolve) => {
        process.removeListener('exit', reap);
        if (child.exitCode !== null || child.signalCode !== null) {
          resolve();
          return;
        }
        child.once('exit', () => resolve());
        // start.js forwards SIGTERM to the gateway and the monitor, then the venue, and exits with the gateway.
        child.kill('SIGTERM');
      }),
  };
}
