import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { brokerCredentialsSchema } from '../../accounts/broker-credentials.schema.js';
import { accountPath, common, problem } from '../responses.js';

export const credentialPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/broker-credentials': {
    put: {
      tags: ['Accounts'],
      summary:
        "Store the account's broker API key pair, encrypted (role admin); write-only: never answered, logged or audited",
      requestParams: { path: accountPath },
      requestBody: { required: true, content: { 'application/json': { schema: brokerCredentialsSchema } } },
      responses: {
        '204': { description: 'stored (replacing what the account had)' },
        '400': problem('validation.malformed_json'),
        '403': problem('auth.forbidden'),
        '422': problem('validation.failed (the errors name fields, never their values)'),
        ...common,
      },
    },
  },
};
