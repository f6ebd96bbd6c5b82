import { fileURLToPath } from 'node:url';
import { startServiceProcess } from './service-process.js';

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
  const service = await startServiceProcess({
    main: FAKE_ALPACA_MAIN,
    name: 'fake alpaca',
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      PAPER_SPEED: '0',
      FAKE_ALPACA_KEY_ID: keys.keyId,
      FAKE_ALPACA_SECRET_KEY: keys.secretKey,
      ...env,
    },
    ready: /fake alpaca listening on (http:\/\/\S+)/,
  });
  const { url } = service;
  return {
    url,
    output: service.output,
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
    stop: () => service.stop(),
  };
}
