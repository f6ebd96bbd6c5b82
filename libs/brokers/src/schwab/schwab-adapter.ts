import type { StreamConnector } from '../alpaca/alpaca-client.js';
import { type BrokerAdapter, BrokerSetupError } from '../broker-registry.js';
import { SchwabAuthError, SchwabClient, type SchwabClientConfig, type SchwabLogger } from './schwab-client.js';

/** Schwab's Trader API (PROTOCOLS.md A1): `https://api.schwabapi.com/trader/v1`; the streamer comes from `GET /userPreference`. */
export const SCHWAB_TRADER_URL = 'https://api.schwabapi.com/trader/v1';

export interface SchwabAdapterConfig {
  /** The broker's name (`schwab`): the venue of its orders and executions. */
  readonly venue: string;
  readonly baseUrl: string;
  /** Null: the streamer `GET /userPreference` names. */
  readonly streamerUrl: string | null;
  readonly connect: StreamConnector;
  readonly logger: SchwabLogger;
  /** Our order id for a Schwab order id of an account (the gateway's orders table), or null. */
  readonly resolveOrderId?: (accountId: string, brokerOrderId: string) => Promise<string | null>;
  /** Passed on to every client (stall detection, reconnect delays, timeouts, fetch). */
  readonly client?: Partial<
    Pick<
      SchwabClientConfig,
      'streamStallMs' | 'reconnectDelayMs' | 'maxReconnectDelayMs' | 'requestTimeoutMs' | 'firstQuoteWaitMs' | 'fetch'
    >
  >;
}

/** What the adapter reads of an account's stored secrets: an OAuth access token (other kinds are refused). */
export type SchwabSecrets = { readonly kind: string; readonly accessToken?: string };

/**
 * The `schwab` adapter: one SchwabClient per account (`scope: 'account'`), built with the account's OAuth access
 * token from the vault (`secrets()`; the connect flow of broker-connections stores it). A refreshed token
 * retires the client (BrokerRegistry.evict) and the next one is built with the new token; what the clients of
 * an account learnt (Schwab order id → our order id) is kept here across them. Schwab has no paper
 * environment (unverified): both environments are served from the one base URL, so that a `paper` account
 * can run against the fake; the account states its environment. Each session carries the client's quotes
 * (SchwabMarketDataFeed on its streamer connection) as its `marketData`. No token, or one Schwab refuses:
 * BrokerSetupError with what to do, never a secret.
 */
export function schwabAdapter(config: SchwabAdapterConfig): BrokerAdapter<SchwabSecrets> {
  const learnt = new Map<string, Map<string, string>>();
  return {
    name: 'schwab',
    scope: 'account',
    environments: ['paper', 'live'],
    create: async ({ account, secrets }) => {
      if (account === null) {
        throw new Error('the schwab adapter serves one account per client');
      }
      const stored = await secrets();
      const where = `POST /v1/accounts/${account.id}/broker-connection`;
      if (stored === null || stored.kind !== 'oauth' || typeof stored.accessToken !== 'string') {
        throw new BrokerSetupError(
          `account ${account.id} has no Schwab connection: connect it with ${where} and log in at Schwab`,
        );
      }
      const orderIds = learnt.get(account.id) ?? new Map<string, string>();
      learnt.set(account.id, orderIds);
      const resolve = config.resolveOrderId;
      const client = new SchwabClient({
        ...config.client,
        venue: config.venue,
        baseUrl: config.baseUrl,
        streamerUrl: config.streamerUrl,
        accessToken: stored.accessToken,
        accountNumber: account.brokerAccountId,
        connect: config.connect,
        logger: config.logger,
        accountId: account.id,
        orderIds,
        ...(resolve ? { resolveOrderId: (brokerOrderId: string) => resolve(account.id, brokerOrderId) } : {}),
      });
      try {
        await client.start();
      } catch (error) {
        await client.close();
        if (error instanceof SchwabAuthError) {
          throw new BrokerSetupError(`account ${account.id}: ${error.message}; connect it again with ${where}`);
        }
        throw error;
      }
      // Schwab's quotes on the client's streamer: the risk checks of the account price its orders with them.
      return { client, marketData: client.marketData, close: () => client.close() };
    },
  };
}
