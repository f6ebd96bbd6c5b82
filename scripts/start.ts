/**
 * `npm start`: the gateway and, beside it, the monitor serving the cockpit (README, "Cockpit"), each its
 * own process, their output on this terminal. The monitor starts once the gateway has printed its URL
 * (it forwards the kill switch there unless MONITOR_GATEWAY_URL says otherwise). Ctrl-C stops both; when
 * the gateway ends the monitor is stopped too. A monitor that fails leaves the gateway running.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const GATEWAY = fileURLToPath(new URL('../apps/gateway/src/main.js', import.meta.url));
const MONITOR = fileURLToPath(new URL('../apps/monitor/src/main.js', import.meta.url));

function run(file: string, env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [file], { env, stdio: ['ignore', 'inherit', 'pipe'] });
}

const gateway = run(GATEWAY, process.env);
let monitor: ChildProcess | null = null;
let banner = '';
gateway.stderr?.on('data', (chunk: Buffer) => {
  process.stderr.write(chunk);
  if (monitor !== null) {
    return;
  }
  banner += chunk.toString();
  const url = /listening on (http:\/\/\S+)/.exec(banner)?.[1];
  if (url) {
    monitor = run(MONITOR, { ...process.env, MONITOR_GATEWAY_URL: process.env.MONITOR_GATEWAY_URL ?? url });
    monitor.stderr?.on('data', (c: Buffer) => process.stderr.write(c));
    monitor.once('exit', (code, signal) => {
      if (gateway.exitCode === null) {
        process.stderr.write(`monitor exited (${code ?? signal}); the gateway keeps running\n`);
      }
    });
  }
});
gateway.once('exit', (code) => {
  monitor?.kill('SIGTERM');
  process.exitCode = code ?? 1;
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    monitor?.kill(signal);
    gateway.kill(signal);
  });
}
