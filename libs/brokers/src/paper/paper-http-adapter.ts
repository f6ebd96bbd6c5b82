import type { BrokerAdapter } from '../broker-registry.js';
import { HttpVenueClient, type HttpVenueClientConfig } from './http-venue-client.js';

/**
 * The `paper-http` adapter: a paper-venue process (apps/paper-venue) over HTTP, one client for every
 * account of the broker, paper accounts only, no credentials. The client's venue is `venue` (the broker's
 * name, so a venue process can stand in for another broker); its report stream starts when the client is
 * built, after the venue's current last report (what came before is the account reconciliation pass's).
 */
export function paperHttpAdapter<S = unknown>(
  config: HttpVenueClientConfig & { readonly venue: string },
): BrokerAdapter<S> {
  return {
    name: 'paper-http',
    scope: 'broker',
    environments: ['paper'],
    create: async () => {
      const client = new HttpVenueClient(config);
      await client.start();
      return { client, close: () => client.close() };
    },
  };
}
