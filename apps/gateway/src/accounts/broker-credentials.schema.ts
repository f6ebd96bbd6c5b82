import { z } from 'zod';

/**
 * Body of `PUT /v1/accounts/{accountId}/broker-credentials` (API.md "Additions in v1"): an API key pair
 * (Alpaca's `APCA-API-KEY-ID` and `APCA-API-SECRET-KEY`). Write-only: nothing of it is ever answered,
 * logged or audited. Validation messages name fields, never their values.
 */
export const brokerCredentialsSchema = z
  .strictObject({
    kind: z.literal('api_key'),
    keyId: z.string().min(1).max(256).meta({ description: 'the key id, e.g. `APCA-API-KEY-ID`' }),
    secret: z.string().min(1).max(4096).meta({ description: 'the secret key; stored encrypted, never shown again' }),
  })
  .meta({ id: 'BrokerCredentials' });
