import { z } from 'zod';
import { isoTime } from '../common/api.schema.js';
import { typesAgree } from '../common/type-agreement.js';
import { OAUTH_BROKERS } from '../config/config.js';
import { CONNECTION_STATUSES } from './broker-connection.js';
import type { AuthorizationStart, BrokerConnectionDto } from './broker-connections.service.js';

/** `POST /v1/accounts/{id}/broker-connection`'s body (it may be empty). */
export const authorizationRequestSchema = z
  .object({
    redirectUri: z.url().max(2048).optional().meta({
      description:
        "the gateway's callback the broker sends the code to (default OAUTH_<BROKER>_REDIRECT_URI); must end in /v1/oauth/<broker>/callback and be registered with the broker",
    }),
  })
  .strict();

export const authorizationStartSchema = z
  .object({
    authorizeUrl: z
      .url()
      .meta({ description: "the broker's authorize URL to open in a browser (state and PKCE in it)" }),
    state: z.string().meta({ description: 'single use; the callback must bring it back before expiresAt' }),
    expiresAt: isoTime,
  })
  .meta({ id: 'BrokerAuthorization' });
typesAgree<z.infer<typeof authorizationStartSchema>, AuthorizationStart>(true);

export const connectionStatusSchema = z.enum(CONNECTION_STATUSES).meta({
  description:
    'connected: tokens stored and kept fresh; refresh_failing: the last refresh failed for a reason that may pass (retried); ' +
    'reauth_required: the broker refused the refresh token, entries are blocked until an admin reconnects; disconnected: no connection',
});

export const brokerConnectionSchema = z
  .object({
    status: connectionStatusSchema,
    accessExpiresAt: isoTime.nullable(),
    refreshExpiresAt: isoTime
      .nullable()
      .meta({ description: 'when a new login is needed (Schwab: 7 days after the login)' }),
    lastRefreshAt: isoTime.nullable(),
    lastRefreshOutcome: z
      .string()
      .nullable()
      .meta({ description: 'ok, refused: <oauth error> or failed: <reason>; null before the first refresh' }),
  })
  .meta({ id: 'BrokerConnection' });
typesAgree<z.infer<typeof brokerConnectionSchema>, BrokerConnectionDto>(true);

export const oauthBrokerParam = z.enum(OAUTH_BROKERS);

/** The callback's query (what the broker's redirect carries); checked by the service, never a 422. */
export const callbackQuerySchema = z.object({
  code: z.string().optional().meta({ description: 'the authorization code (single use, lives ~30 s at Schwab)' }),
  state: z.string().optional(),
  error: z.string().optional().meta({ description: "the broker's refusal (access_denied...)" }),
  error_description: z.string().optional(),
});
