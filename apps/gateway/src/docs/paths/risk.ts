import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { putRiskLimitsSchema } from '../../risk/risk-limits.schema.js';
import {
  historyQuery,
  killSwitchSchema,
  orderToTradeSchema,
  otrQuery,
  riskLimitsHistorySchema,
  riskLimitsVersionSchema,
  tradingStateDtoSchema,
  tradingStateHistorySchema,
  tradingStateSchema,
} from '../../risk/risk.schema.js';
import { accountPath, common, json, problem } from '../responses.js';

const tags = ['Risk controls'];
const forbidden = problem('auth.forbidden: the role (or, for global scope, the account grant `*`) does not allow it');
const killSwitchBody = { required: true, content: { 'application/json': { schema: killSwitchSchema } } };

export const riskPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/risk-limits': {
    get: {
      tags,
      summary: "The account's risk limits and their version",
      requestParams: { path: accountPath },
      responses: { '200': json('', riskLimitsVersionSchema), ...common },
    },
    put: {
      tags,
      summary: 'Set the account’s risk limits: a new version, kept with who, when and why (role risk)',
      requestParams: { path: accountPath },
      requestBody: { required: true, content: { 'application/json': { schema: putRiskLimitsSchema } } },
      responses: {
        '200': json('The new version', riskLimitsVersionSchema),
        '403': forbidden,
        '409': problem('risk_limits.version_conflict: `version` is not the current version'),
        '422': problem(
          'validation.failed; risk.loss_limit_widening: maxDailyLoss or maxPositionLoss raised or switched off while the account has a position or a working order',
        ),
        ...common,
      },
    },
  },
  '/v1/accounts/{accountId}/risk-limits/history': {
    get: {
      tags,
      summary: 'Every version of the account’s limits, newest first (version 0 last)',
      requestParams: { path: accountPath },
      responses: { '200': json('', riskLimitsHistorySchema), ...common },
    },
  },
  '/v1/accounts/{accountId}/trading-state': {
    put: {
      tags,
      summary:
        "Set the account's own trading state (role risk or admin); halted also cancels its working orders. Recorded with who and why.",
      requestParams: { path: accountPath },
      requestBody: { required: true, content: { 'application/json': { schema: tradingStateSchema } } },
      responses: {
        '200': json('', tradingStateDtoSchema),
        '403': forbidden,
        '422': problem('validation.failed'),
        ...common,
      },
    },
  },
  '/v1/accounts/{accountId}/trading-state/history': {
    get: {
      tags,
      summary: "Changes of the account's own trading state, newest first",
      requestParams: { path: accountPath, query: historyQuery },
      responses: { '200': json('', tradingStateHistorySchema), '422': problem('validation.failed'), ...common },
    },
  },
  '/v1/accounts/{accountId}/order-to-trade': {
    get: {
      tags,
      summary: 'Order-to-trade ratio of a trading day (default today, America/New_York)',
      requestParams: { path: accountPath, query: otrQuery },
      responses: { '200': json('', orderToTradeSchema), '422': problem('validation.failed'), ...common },
    },
  },
  '/v1/trading-state': {
    get: {
      tags,
      summary: 'The global trading state',
      responses: { '200': json('', tradingStateDtoSchema), ...common },
    },
  },
  '/v1/trading-state/history': {
    get: {
      tags,
      summary: 'Changes of the global trading state, newest first',
      requestParams: { query: historyQuery },
      responses: { '200': json('', tradingStateHistorySchema), '422': problem('validation.failed'), ...common },
    },
  },
  '/v1/kill-switch': {
    post: {
      tags,
      summary:
        'Halt (role risk or admin): new entries refused at once on every instance, every working order accepted before the halt canceled; exits stay possible as marketable limit orders inside the price collar',
      requestBody: killSwitchBody,
      responses: {
        '202': json('Halted; the cancels are under way (watch the orders or the stream)', tradingStateDtoSchema),
        '403': forbidden,
        '422': problem('validation.failed'),
        ...common,
      },
    },
    delete: {
      tags,
      summary:
        'Re-arm (role risk or admin): the scope returns to the state it had before the halt (reducing if it was, else active). Nothing re-arms by itself.',
      requestBody: killSwitchBody,
      responses: {
        '200': json('', tradingStateDtoSchema),
        '403': forbidden,
        '422': problem('validation.failed'),
        ...common,
      },
    },
  },
};
