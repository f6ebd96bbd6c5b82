import { type BrokerAdapter, BrokerSetupError, type BrokerEnvironment } from '../broker-registry.js';
import {
  AlpacaAuthError,
  AlpacaClient,
  type AlpacaClientConfig,
  type AlpacaCredentials,
  type AlpacaLogger,
  type StreamConnector,
} from './alpaca-client.js';

/** Alpaca's hosts: live `https://api.alpaca.markets`, paper `https://paper-api.alpaca.markets` (PROTOCOLS.md B). */
export const ALPACA_LIVE_URL = 'https://api.alpaca.markets';
export const ALPACA_PAPER_URL = 'https://paper-api.alpaca.markets';

/** Where one environment's accounts go: the REST base and the `trade_updates` stream. */
export interface AlpacaEndpoints {
  readonly baseUrl: string;
  readonly streamUrl: string;
}

/** The stream of a REST base: the same host, `ws(s)://…/stream` (PROTOCOLS.md B2). */
export function alpacaStreamUrl(baseUrl: string): string {
  return `${baseUrl.replace(/\/$/, '').replace(/^http/, 'ws')}/stream`;
}

export interface AlpacaAdapterConfig {
  /** The broker's name (`alpaca`): the venue of its orders and executions. */
  readonly venue: string;
  /** Paper and live endpoints (each environment has its own keys at Alpaca). */
  readonly endpoints: Readonly<Record<BrokerEnvironment, AlpacaEndpoints>>;
  readonly connect: StreamConnector;
  readonly logger: AlpacaLogger;
  /** Passed on to every client (stall detection, reconnect delays, timeouts, fetch). */
  readonly client?: Partial<
    Pick<
      AlpacaClientConfig,
      'streamStallMs' | 'reconnectDelayMs' | 'maxReconnectDelayMs' | 'requestTimeoutMs' | 'replacePollMs' | 'fetch'
    >
  >;
}

/** What the adapter reads of an account's stored secrets: a key pair or an OAuth token (other kinds are refused). */
export type AlpacaSecrets = AlpacaCredentials | { readonly kind: string };

/**
 * The `alpaca` adapter: one AlpacaClient per account (`scope: 'account'`), built with the account's
 * credentials from the vault (`secrets()`), on its environment's endpoints. No credentials, or keys Alpaca
 * refuses: BrokerSetupError with what to do, never a secret (the registry does not cache the failure, so
 * storing the keys again lets the next call build the client).
 */
export function alpacaAdapter(config: AlpacaAdapterConfig): BrokerAdapter<AlpacaSecrets> {
  return {
    name: 'alpaca',
    scope: 'account',
    environments: ['paper', 'live'],
    create: async ({ account, secrets }) => {
      if (account === null) {
        throw new Error('the alpaca adapter serves one account per client');
      }
      const stored = await secrets();
      const where = `PUT /v1/accounts/${account.id}/broker-credentials`;
      if (stored === null) {
        throw new BrokerSetupError(`account ${account.id} has no Alpaca credentials: store its API key with ${where}`);
      }
      const credentials = toCredentials(stored);
      if (credentials === null) {
        throw new BrokerSetupError(
          `account ${account.id} has ${stored.kind} credentials, which Alpaca does not take: store an API key with ${where}`,
        );
      }
      const client = new AlpacaClient({
        ...config.client,
        venue: config.venue,
        ...config.endpoints[account.environment],
        credentials,
        connect: config.connect,
        logger: config.logger,
        accountId: account.id,
      });
      try {
        await client.start();
      } catch (error) {
        await client.close();
        if (error instanceof AlpacaAuthError) {
          throw new BrokerSetupError(`account ${account.id}: ${error.message}; store the right key with ${where}`);
        }
        throw error;
      }
      return { client, close: () => client.close() };
    },
  };
}

function toCredentials(secrets: AlpacaSecrets): AlpacaCredentials | null {
  const s = secrets as Partial<{ kind: string; keyId: string; secret: string; accessToken: string }>;
  if (s.kind === 'api_key' && typeof s.keyId === 'string' && typeof s.secret === 'string') {
    return { kind: 'api_key', keyId: s.keyId, secret: s.secret };
  }
  if (s.kind === 'oauth' && typeof s.accessToken === 'string') {
    return { kind: 'oauth', accessToken: s.accessToken };
  }
  return null;
}
