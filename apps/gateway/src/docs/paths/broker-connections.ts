import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  authorizationRequestSchema,
  authorizationStartSchema,
  brokerConnectionSchema,
  callbackQuerySchema,
  oauthBrokerParam,
} from '../../broker-connections/broker-connection.schema.js';
import { accountPath, common, json, problem } from '../responses.js';

const tags = ['Broker connections'];
const page = (description: string) => ({
  description,
  content: { 'text/html': { schema: z.string().meta({ description: 'a small page; never the code or a token' }) } },
});

export const brokerConnectionPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/broker-connection': {
    post: {
      tags,
      summary:
        "Start connecting the account to its broker over OAuth2 (role admin): the broker's authorize URL with a single-use state (and PKCE S256 where configured)",
      requestParams: { path: accountPath },
      requestBody: { required: false, content: { 'application/json': { schema: authorizationRequestSchema } } },
      responses: {
        '201': json('open authorizeUrl in a browser; the broker redirects to the callback', authorizationStartSchema),
        '403': problem('auth.forbidden'),
        '422': problem('validation.failed; broker_connection.unsupported: the broker does not connect over OAuth here'),
        ...common,
      },
    },
    get: {
      tags,
      summary: "The account's broker connection: status, token expiries, the last refresh and its outcome (role admin)",
      requestParams: { path: accountPath },
      responses: { '200': json('', brokerConnectionSchema), '403': problem('auth.forbidden'), ...common },
    },
    delete: {
      tags,
      summary: "Revoke the account's broker tokens where the broker can, and forget them (role admin)",
      requestParams: { path: accountPath },
      responses: { '204': { description: 'forgotten' }, '403': problem('auth.forbidden'), ...common },
    },
  },
  '/v1/oauth/{broker}/callback': {
    get: {
      tags,
      security: [],
      summary:
        "The broker's redirect after the login (no token: checked by its single-use state); exchanges the code once and stores the tokens encrypted",
      requestParams: { path: z.object({ broker: oauthBrokerParam }), query: callbackQuerySchema },
      responses: {
        '200': page('connected'),
        '400': page('state wrong, expired or already used; the broker refused or sent no code'),
        '404': page('the broker does not connect over OAuth here, or the account is gone'),
        '502': page('the broker could not be reached to exchange the code'),
      },
    },
  },
};
