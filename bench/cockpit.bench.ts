/**
 * What the cockpit costs the order path: `POST /v1/accounts/{id}/orders` (8 connections, resting limits,
 * as `bench -- orders`) against the gateway started in-process with its snapshot publisher on, and the
 * built monitor (`dist/apps/monitor`, `npm run build`) beside it in its own process, alternating phases
 * with no cockpit client and with `clients` WebSocket clients authenticated and reading every frame, in
 * the same run (each round runs both, alternating which goes first). Prints each phase and, over the phases, accept p50/p99 and orders/s with and without
 * the clients and their ratio (target: within 5 %).
 * `npm run bench -- cockpit [clients=20] [secondsPerPhase=8] [repeats=4]`
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { WebSocket } from 'ws';
import { placeOrdersFor, withBenchGateway } from './bench-gateway.js';

const MONITOR_MAIN = fileURLToPath(new URL('../apps/monitor/src/main.js', import.meta.url));
const CONNECTIONS = 8;

interface Phase {
  readonly clients: number;
  readonly ok: number;
  readonly seconds: number;
  readonly p50: number;
  readonly p99: number;
  readonly frames: number;
}

export async function runCockpitBench(clients = 20, seconds = 8, repeats = 4): Promise<void> {
  await withBenchGateway(
    // The RTT lockdown off: on a loaded machine its default 20 ms would set the account `reducing` mid-run.
    { RISK_MAX_ORDER_QUANTITY: '1000000000', RISK_MAX_ORDER_NOTIONAL: '1000000000000', LOCKDOWN_RTT_MS: 'off' },
    async (gateway, token) => {
      const monitor = spawn(process.execPath, [MONITOR_MAIN], {
        env: {
          ...process.env,
          DATABASE_URL: gateway.config.databaseUrl,
          REDIS_PREFIX: gateway.config.redisPrefix,
          MONITOR_PORT: '0',
          MONITOR_HOST: '127.0.0.1',
          MONITOR_GATEWAY_URL: gateway.url,
          LOG_LEVEL: 'warn',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const reap = () => monitor.kill('SIGKILL');
      process.once('exit', reap);
      try {
        const monitorUrl = await banner(monitor);
        const riskToken = await gateway.issuer.sign({
          subject: 'bench-risk',
          roles: ['risk'],
          accounts: ['*'],
          ttlSeconds: 3600,
        });
        const load = () => placeOrdersFor(gateway, token, CONNECTIONS, seconds);
        await load(); // warm-up, not counted
        const phases: Phase[] = [];
        // Rounds alternate which phase goes first (none, clients; clients, none; ...), so a drift of the
        // machine's load over the run weighs on both alike.
        for (let r = 0; r < repeats; r++) {
          for (const count of r % 2 === 0 ? [0, clients] : [clients, 0]) {
            const sockets = await Promise.all(
              Array.from({ length: count }, () => cockpitClient(monitorUrl, riskToken)),
            );
            const framesBefore = sockets.reduce((s, c) => s + c.frames(), 0);
            const figures = await load();
            const frames = sockets.reduce((s, c) => s + c.frames(), 0) - framesBefore;
            sockets.forEach((c) => c.close());
            const phase = { clients: count, seconds, frames, ...figures };
            phases.push(phase);
            console.log(
              `  ${String(count).padStart(2)} cockpit clients: ${(phase.ok / seconds).toFixed(0)} orders/s, ` +
                `accept p50 ${phase.p50} ms, p99 ${phase.p99} ms` +
                (count > 0 ? ` (${(frames / count / seconds).toFixed(1)} frames/s per client)` : ''),
            );
          }
        }
        const summary = (count: number) => {
          const of = phases.filter((p) => p.clients === count);
          const mean = (f: (p: Phase) => number) => of.reduce((s, p) => s + f(p), 0) / of.length;
          return { rate: mean((p) => p.ok / p.seconds), p50: mean((p) => p.p50), p99: mean((p) => p.p99) };
        };
        const none = summary(0);
        const some = summary(clients);
        const ratio = (a: number, b: number) => (b === 0 ? 'n/a' : (a / b).toFixed(3));
        // The ratio of each round on its own: how far apart they are says how noisy the machine was.
        const rounds = Array.from({ length: repeats }, (_, r) => {
          const pair = phases.slice(r * 2, r * 2 + 2);
          const none = pair.find((p) => p.clients === 0)!;
          const some = pair.find((p) => p.clients === clients)!;
          return `round ${r + 1}: throughput ${ratio(some.ok, none.ok)}, p50 ${ratio(some.p50, none.p50)}, p99 ${ratio(some.p99, none.p99)}`;
        });
        console.log(
          `cockpit bench (${CONNECTIONS} connections, ${repeats} × ${seconds} s per phase), mean over phases:\n` +
            `  no client:   ${none.rate.toFixed(0)} orders/s, accept p50 ${none.p50.toFixed(1)} ms, p99 ${none.p99.toFixed(1)} ms\n` +
            `  ${clients} clients:  ${some.rate.toFixed(0)} orders/s, accept p50 ${some.p50.toFixed(1)} ms, p99 ${some.p99.toFixed(1)} ms\n` +
            `  ratio (with / without): throughput ${ratio(some.rate, none.rate)}, p50 ${ratio(some.p50, none.p50)}, ` +
            `p99 ${ratio(some.p99, none.p99)} (target: within 5 %)\n` +
            rounds.map((line) => `    ${line}`).join('\n'),
        );
      } finally {
        process.removeListener('exit', reap);
        monitor.kill('SIGKILL');
      }
    },
  );
}

/** Waits for the monitor's banner and returns its URL. */
function banner(child: ReturnType<typeof spawn>): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`monitor did not start within 20 s:\n${out}`)), 20_000);
    const check = (d: Buffer) => {
      out += d.toString();
      const url = /Cockpit \(monitor\) listening on (http:\/\/\S+)/.exec(out)?.[1];
      if (url) {
        clearTimeout(timer);
        resolve(url);
      }
    };
    child.stdout?.on('data', check);
    child.stderr?.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`monitor exited with ${code}:\n${out}`));
    });
  });
}

/** One cockpit client as the page is: authenticated on `/ws`, parsing every frame it is sent. */
async function cockpitClient(monitorUrl: string, token: string): Promise<{ frames(): number; close(): void }> {
  const ws = new WebSocket(`${monitorUrl.replace('http', 'ws')}/ws`);
  let frames = 0;
  await new Promise<void>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send(JSON.stringify({ type: 'auth', token })));
    ws.on('message', (data: Buffer) => {
      const message = JSON.parse(data.toString()) as { type: string };
      if (message.type === 'hello') {
        resolve();
      } else if (message.type === 'frame') {
        frames += 1;
      }
    });
    ws.once('close', (code) => reject(new Error(`cockpit client closed ${code}`)));
  });
  return { frames: () => frames, close: () => ws.terminate() };
}
