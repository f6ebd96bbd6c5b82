import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  accountCreateSchema,
  accountGrantSchema,
  accountPatchSchema,
  accountSchema,
  grantListSchema,
  grantSchema,
  subjectParam,
} from '../../accounts/account.schema.js';
import { z } from 'zod';
import { accountIdParam } from '../../common/api.schema.js';
import { accountPath, common, json, problem } from '../responses.js';

const tags = ['Accounts'];
const grantPath = z.object({ accountId: accountIdParam, subject: subjectParam });

export const accountPaths: ZodOpenApiPathsObject = {
  '/v1/accounts': {
    get: {
      tags,
      summary: 'Accounts you may see',
      responses: { '200': json('', z.array(accountSchema)), ...common },
    },
    post: {
      tags,
      summary: "Create an account on one of the deployment's brokers (role admin, with the * grant)",
      requestBody: { required: true, content: { 'application/json': { schema: accountCreateSchema } } },
      responses: {
        '201': json('the account', accountSchema),
        '401': common['401'],
        '403': problem('auth.forbidden: not admin, no * grant, or the environment not in the token'),
        '409': problem('account.name_taken'),
        '422': problem(
          'validation.failed; account.broker_not_configured (not in BROKERS); account.environment_not_served (a live account in a paper-only deployment, or on a paper broker)',
        ),
      },
    },
  },
  '/v1/accounts/{accountId}': {
    get: { tags, requestParams: { path: accountPath }, responses: { '200': json('', accountSchema), ...common } },
    patch: {
      tags,
      summary: 'Switch live trading of a live account on or off (role admin)',
      requestParams: { path: accountPath },
      requestBody: { required: true, content: { 'application/json': { schema: accountPatchSchema } } },
      responses: {
        '200': json('', accountSchema),
        '403': problem('auth.forbidden'),
        '422': problem('validation.failed'),
        ...common,
      },
    },
  },
  '/v1/accounts/{accountId}/grants': {
    get: {
      tags,
      summary: 'Who may act on the account, with which roles there (role admin)',
      requestParams: { path: accountPath },
      responses: { '200': json('', grantListSchema), '403': problem('auth.forbidden'), ...common },
    },
  },
  '/v1/accounts/{accountId}/grants/{subject}': {
    put: {
      tags,
      summary:
        "Grant a subject (user or client id) the account with these roles (role admin); its token's roles are cut down to them there",
      requestParams: { path: grantPath },
      requestBody: { required: true, content: { 'application/json': { schema: grantSchema } } },
      responses: {
        '200': json('', accountGrantSchema),
        '403': problem('auth.forbidden'),
        '422': problem('validation.failed'),
        ...common,
      },
    },
    delete: {
      tags,
      summary: 'Withdraw a grant (role admin)',
      requestParams: { path: grantPath },
      responses: {
        '204': { description: 'withdrawn' },
        '403': problem('auth.forbidden'),
        '401': common['401'],
        '404': problem('grant.not_found; account.not_found'),
      },
    },
  },
};
