import { fileURLToPath } from 'node:url';
import { startServiceProcess } from './service-process.js';

export const FAKE_SCHWAB_MAIN = fileURLToPath(
  new URL('../../dist/apps/fake-brokers/src/schwab/main.js', import.meta.url),
);

/**
 * The fake Schwab (`npm run fake:schwab`) as its own process, driven over HTTP like the real one: the Trader
 * API at `baseUrl` (`…/trader/v1`), its authorization server at `oauthUrl`, the test routes at `url`.
 */
export interface FakeSchwabProcess {
  readonly url: string;
  readonly baseUrl: string;
  readonly oauthUrl: string;
  output(): string;
  /** A test route of the fake (`/test/...`), no token. */
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

/** Starts the built fake (`npm run build` first) on a free port, its replay paused, with one app key. */
export async function startFakeSchwabProcess(
  app: { clientId: string; clientSecret: string },
  env: Record<string, string> = {},
): Promise<FakeSchwabProcess> {
  const service = await startServiceProcess({
    main: FAKE_SCHWAB_MAIN,
    name: 'fake schwab',
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      PAPER_SPEED: '0',
      FAKE_SCHWAB_CLIENT_ID: app.clientId,
      FAKE_SCHWAB_CLIENT_SECRET: app.clientSecret,
      ...env,
    },
    ready: /fake schwab listening on (http:\/\/\S+ oauth http:\/\/\S+)/,
  });
  const [url, oauthUrl] = service.url.split(' oauth ') as [string, string];
  return {
    url,
    baseUrl: `${url}/trader/v1`,
    oauthUrl,
    output: service.output,
    call: async (method, path, body) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? null : JSON.parse(text) };
    },
    stop: () => service.stop(),
  };
}

/**
 * The gateway's environment for its `schwab` broker on `fake` (the real adapter), with the app `app` the
 * fake was started with as its OAuth client; the redirect URI is a placeholder that each test's
 * authorization flow overrides with its own.
 */
export function schwabGatewayEnv(
  fake: FakeSchwabProcess,
  app: { clientId: string; clientSecret: string },
): Record<string, string> {
  return {
    BROKER_SCHWAB_ADAPTER: 'schwab',
    BROKER_SCHWAB_URL: fake.baseUrl,
    OAUTH_SCHWAB_CLIENT_ID: app.clientId,
    OAUTH_SCHWAB_CLIENT_SECRET: app.clientSecret,
    OAUTH_SCHWAB_AUTHORIZE_URL: `${fake.oauthUrl}/v1/oauth/authorize`,
    OAUTH_SCHWAB_TOKEN_URL: `${fake.oauthUrl}/v1/oauth/token`,
    OAUTH_SCHWAB_REDIRECT_URI: 'http://127.0.0.1:9/v1/oauth/schwab/callback',
  };
}
