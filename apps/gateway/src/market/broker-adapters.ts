import {
  alpacaAdapter,
  type BrokerAdapter,
  BrokerRegistry,
  paperHttpAdapter,
  type PaperVenue,
  schwabAdapter,
} from '@gateway/brokers';
import type { Logger } from 'pino';
import type { BrokerAdapterConfig, GatewayConfig } from '../config/config.js';
import type { BrokerSecrets } from '../credentials/broker-secrets.js';
import { wsStreamConnector } from './ws-stream-connector.js';

/**
 * The deployment's broker registry (BROKERS): one adapter per configured broker, by its
 * BrokerAdapterConfig. `paperVenue`: the in-process paper venue, when a broker uses the `paper` adapter.
 * A real broker's adapter is one more case here.
 */
export function createBrokerRegistry(
  config: GatewayConfig,
  paperVenue: PaperVenue | null,
  logger: Logger,
  orderIds?: OrderIdResolver,
): BrokerRegistry<BrokerSecrets> {
  const brokers: Record<string, BrokerAdapter<BrokerSecrets>> = {};
  for (const [broker, adapter] of Object.entries(config.brokers)) {
    brokers[broker] = adapterFor(broker, adapter, paperVenue, logger, orderIds);
  }
  return new BrokerRegistry({
    brokers,
    onError: (error) => logger.error({ err: error }, 'broker registry listener failed'),
  });
}

/**
 * Our order id for a broker's order id of one account (the orders table), for brokers without a client
 * order id (Schwab): what a client learnt is lost with a restart, the table keeps it.
 */
export type OrderIdResolver = (accountId: string, brokerOrderId: string) => Promise<string | null>;

function adapterFor(
  broker: string,
  config: BrokerAdapterConfig,
  paperVenue: PaperVenue | null,
  logger: Logger,
  orderIds?: OrderIdResolver,
): BrokerAdapter<BrokerSecrets> {
  switch (config.adapter) {
    case 'paper': {
      if (paperVenue === null) {
        throw new Error(`broker ${broker}: the in-process paper venue was not set up`);
      }
      const venue = paperVenue;
      // The venue's life is the paper setup's (bootstrap stops it): the registry does not close it.
      return {
        name: 'paper',
        scope: 'broker',
        environments: ['paper'],
        create: () => Promise.resolve({ client: venue, close: () => Promise.resolve() }),
      };
    }
    case 'paper-http':
      return paperHttpAdapter({
        baseUrl: config.url,
        venue: broker,
        onError: (error: unknown) => logger.warn({ err: error, broker }, 'paper venue connection'),
      });
    case 'alpaca':
      // One client per account, with the account's credentials from the vault (api_key or oauth).
      return alpacaAdapter({
        venue: broker,
        endpoints: {
          paper: { baseUrl: config.paper.url, streamUrl: config.paper.streamUrl },
          live: { baseUrl: config.live.url, streamUrl: config.live.streamUrl },
        },
        connect: wsStreamConnector,
        logger: logger.child({ broker }),
        client: { streamStallMs: config.streamStallMs },
      });
    case 'schwab':
      // One client per account, with the account's OAuth access token from the vault (broker-connections).
      return schwabAdapter({
        venue: broker,
        baseUrl: config.url,
        streamerUrl: config.streamerUrl,
        connect: wsStreamConnector,
        logger: logger.child({ broker }),
        client: { streamStallMs: config.streamStallMs },
        ...(orderIds ? { resolveOrderId: orderIds } : {}),
      });
  }
}
