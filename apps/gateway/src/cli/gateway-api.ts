import { userInfo } from 'node:os';
import { DevIssuer } from '../auth/dev-issuer.js';
import { DEV_ISSUER } from '../auth/token-verifier.js';
import type { GatewayConfig } from '../config/config.js';
import { openDatabase } from '../database/data-source.js';
import { CliError, EXIT_FAILED, EXIT_UNAVAILABLE, type GlobalOptions } from './cli-io.js';

/** Lifetime of the admin token the CLI signs for itself, in seconds: one command's worth. */
const CLI_TOKEN_TTL_SECONDS = 300;
const REQUEST_TIMEOUT_MS = 60_000;

/** The subject the CLI acts as in the audit log: `cli:<operating-system user>`. */
export function cliSubject(): string {
  try {
    return `cli:${userInfo().username}`;
  } catch {
    return 'cli:unknown';
  }
}

/**
 * Signs a short-lived token of the dev issuer (keys in PostgreSQL, shared with the gateway) for the CLI:
 * roles admin and risk, every account, every environment the deployment serves.
 */
export async function signCliToken(config: GatewayConfig): Promise<string> {
  const dataSource = await openDatabase(config.databaseUrl).catch((error: unknown) => {
    throw new CliError(`PostgreSQL is not reachable (DATABASE_URL): ${(error as Error).message}`, EXIT_UNAVAILABLE);
  });
  try {
    const issuer = await DevIssuer.load(dataSource, DEV_ISSUER, config.auth.audience);
    return await issuer.sign({
      subject: cliSubject(),
      roles: ['admin', 'risk'],
      accounts: ['*'],
      environments: [...config.environments],
      ttlSeconds: CLI_TOKEN_TTL_SECONDS,
    });
  } finally {
    await dataSource.destroy();
  }
}

/**
 * The gateway's REST API as the CLI calls it: every command that mirrors a route goes through the
 * route, so it is authorised, validated and audited exactly as the route is. The token is `--token`,
 * else GATEWAY_TOKEN, else one the CLI signs with the dev issuer (which a gateway with an OIDC
 * AUTH_ISSUER refuses: give it a token of the IdP's there).
 */
export class GatewayApi {
  private token: Promise<string> | null = null;

  constructor(
    private readonly config: GatewayConfig,
    private readonly options: GlobalOptions,
  ) {}

  get baseUrl(): string {
    return (this.options.url ?? process.env.GATEWAY_URL ?? `http://127.0.0.1:${this.config.port}`).replace(/\/+$/, '');
  }

  private bearer(): Promise<string> {
    const given = this.options.token ?? process.env.GATEWAY_TOKEN;
    this.token ??= given ? Promise.resolve(given) : signCliToken(this.config);
    return this.token;
  }

  /** Sends one request; answers the parsed JSON body (null for 204). A 4xx is exit 1, anything else 2. */
  async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.bearer()}` };
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
    }
    let res: Response;
    try {
      res = await fetch(`${this.baseUrl}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
    } catch (error) {
      throw new CliError(
        `the gateway is not reachable at ${this.baseUrl} (--url or GATEWAY_URL): ${(error as Error).message}`,
        EXIT_UNAVAILABLE,
        'gateway.unreachable',
      );
    }
    const text = await res.text();
    const parsed: unknown = text === '' ? null : safeJson(text);
    if (!res.ok) {
      const problem = (parsed ?? {}) as { code?: string; title?: string; detail?: string };
      throw new CliError(
        `${method} ${path}: ${res.status} ${problem.code ?? ''} ${problem.detail ?? problem.title ?? text}`.replace(
          /\s+/g,
          ' ',
        ),
        res.status < 500 ? EXIT_FAILED : EXIT_UNAVAILABLE,
        problem.code ?? `http.${res.status}`,
        parsed,
      );
    }
    return parsed as T;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
