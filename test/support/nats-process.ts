import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'nats';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-process.js';

/**
 * A nats-server with JetStream of a test's own, on a free port (never the machine's shared one at
 * 4222): `stop()` takes it down as an outage does, `start()` brings it back on the same port with its
 * JetStream store (file storage in a temporary directory), `close()` ends it and removes the store.
 */
export interface NatsProcess {
  readonly url: string;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function startNatsProcess(): Promise<NatsProcess> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'gw-nats-'));
  const url = `nats://127.0.0.1:${port}`;
  let child: ChildProcess | null = null;
  const reap = () => child?.kill('SIGKILL');
  process.once('exit', reap);

  const start = async () => {
    child = spawn('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore' });
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        const nc = await connect({ servers: url, reconnect: false, timeout: 500 });
        await (await nc.jetstreamManager()).getAccountInfo();
        await nc.close();
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new Error(`nats-server did not start on port ${port}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };
  const stop = async () => {
    const running = child;
    child = null;
    if (running && running.exitCode === null && running.signalCode === null) {
      await new Promise<void>((resolve) => {
        running.once('exit', () => resolve());
        running.kill('SIGKILL');
      });
    }
  };
  await start();
  return {
    url,
    start,
    stop,
    close: async () => {
      await stop();
      process.removeListener('exit', reap);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
