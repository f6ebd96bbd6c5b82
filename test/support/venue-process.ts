import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startServiceProcess } from './service-process.js';

export const VENUE_MAIN = fileURLToPath(new URL('../../dist/apps/paper-venue/src/main.js', import.meta.url));

/** The fake broker (paper venue over HTTP, with fault injection) as its own process. */
export interface VenueProcess {
  readonly url: string;
  readonly child: ChildProcess;
  output(): string;
  /** GET/POST/DELETE on the venue's routes (test routes under `/v1/test/` included); JSON in and out. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Every submit the venue really received, in order. */
  received(): Promise<any[]>;
  addFault(rule: Record<string, unknown>): Promise<string>;
  clearFaults(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts the built venue (`dist/apps/paper-venue/src/main.js`) on a free port, paused at the replay's start
 * by default, and waits for its `paper venue listening on …` line.
 */
export async function startVenueProcess(env: Record<string, string> = {}): Promise<VenueProcess> {
  const service = await startServiceProcess({
    main: VENUE_MAIN,
    name: 'venue',
    env: { PORT: '0', HOST: '127.0.0.1', PAPER_SPEED: '0', PAPER_ACK_LATENCY_MS: '0', ...env },
    ready: /paper venue listening on (http:\/\/\S+)/,
  });
  const { url } = service;
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text === '' ? null : JSON.parse(text) };
  };
  return {
    url,
    child: service.child,
    output: service.output,
    call,
    received: async () => {
      const res = await call('GET', '/v1/test/received');
      if (res.status !== 200) {
        throw new Error(`venue /v1/test/received answered ${res.status}`);
      }
      return Array.isArray(res.body) ? res.body : res.body.received;
    },
    addFault: async (rule) => {
      const res = await call('POST', '/v1/test/faults', rule);
      if (res.status >= 300) {
        throw new Error(`venue refused the fault ${JSON.stringify(rule)}: ${res.status} ${JSON.stringify(res.body)}`);
      }
      return res.body?.id as string;
    },
    clearFaults: async () => {
      await call('DELETE', '/v1/test/faults');
    },
    stop: () => service.stop(),
  };
}
