import { z } from 'zod';
import { putRiskLimitsSchema, riskLimitsSchema } from '../risk/risk-limits.schema.js';
import { accountParam, common, decimal, json, nullable, problem, query, ref, time } from './openapi-parts.js';

const tradingState = { enum: ['active', 'reducing', 'halted'] };
const forbidden = problem('auth.forbidden: the role (or, for global scope, the account grant `*`) does not allow it');

/** Schemas of the risk controls (issue 4). */
export function riskSchemas(): Record<string, unknown> {
  return {
    RiskLimits: {
      ...z.toJSONSchema(riskLimitsSchema, { io: 'input', unrepresentable: 'any' }),
      description:
        'Every field is required; null switches an optional limit off. Decimal strings for quantities (shares or contracts), ' +
        'money (USD) and percentages. maxOrderNotional: price × quantity × contract multiplier. priceCollarPercent/Absolute: ' +
        'a limit price may be max(reference × percent/100, absolute) from the reference (quote mid, else last); productCollars ' +
        "replace both per product key (`root:SPXW`, `SPY`). stopCollarPercent: a stop's own band on its protective side. " +
        'maxQuoteAgeMs: older quotes are stale (entries denied). allowedSymbols: tickers and `root:<OSI root>`. ' +
        'maxPositionQuantity/maxGrossExposure/maxWorkingOrders count working orders at their worst case. ' +
        'duplicateWindowMs: same side, symbol, type, quantity and prices within it is a duplicate. maxMessagesPerSecond/Minute: ' +
        'orders, replaces and cancels sent. maxDailyLoss: realized today + marked-to-market, USD. maxPositionLoss: one position ' +
        "at its mark, USD. maxOrderToTradeRatio: the day's (orders + modifications + cancellations) / max(trades, 1) at which " +
        'the account goes reducing. zeroDteCutoffMinutes: no opening orders in an option expiring today this close to its last trading time.',
    },
    RiskLimitsVersion: {
      type: 'object',
      properties: {
        accountId: { type: 'string' },
        version: { type: 'integer', description: '0: the configured defaults (RISK_* environment)' },
        limits: ref('RiskLimits'),
        changedBy: { type: 'string', description: 'the token subject that set them' },
        changedAt: nullable(time),
        reason: { type: 'string' },
      },
    },
    PutRiskLimits: z.toJSONSchema(putRiskLimitsSchema, { io: 'input', unrepresentable: 'any' }),
    TradingState: {
      type: 'object',
      properties: {
        scope: { enum: ['global', 'account'] },
        accountId: nullable({ type: 'string' }),
        state: tradingState,
        reason: nullable({ type: 'string' }),
        changedBy: nullable({ type: 'string' }),
        changedAt: nullable(time),
      },
    },
    TradingStateChange: {
      type: 'object',
      properties: {
        id: { type: 'string' },
        scope: { enum: ['global', 'account'] },
        accountId: nullable({ type: 'string' }),
        previousState: tradingState,
        state: tradingState,
        source: { enum: ['kill_switch', 'rearm', 'trading_state', 'order_to_trade_ratio'] },
        reason: { type: 'string' },
        changedBy: { type: 'string', description: 'token subject, or `gateway` for its own decisions' },
        changedAt: time,
      },
    },
    KillSwitch: {
      type: 'object',
      required: ['scope', 'reason'],
      properties: {
        scope: { enum: ['global', 'account'] },
        accountId: { type: 'string', description: 'required with scope account' },
        reason: { type: 'string' },
      },
    },
    OrderToTrade: {
      type: 'object',
      properties: {
        accountId: { type: 'string' },
        tradingDay: { type: 'string', format: 'date', description: 'America/New_York' },
        orders: { type: 'integer' },
        modifications: { type: 'integer' },
        cancellations: { type: 'integer' },
        trades: { type: 'integer', description: 'executions applied that day' },
        ratio: { ...decimal, description: '(orders + modifications + cancellations) / max(trades, 1), 4 decimals' },
        ceiling: nullable(decimal),
      },
    },
  };
}

const history = { type: 'object', properties: { changes: { type: 'array', items: ref('TradingStateChange') } } };
const historyLimit = query('limit', { type: 'integer', minimum: 1, maximum: 1000, default: 100 });

/** Paths of the risk controls (issue 4). */
export function riskPaths(): Record<string, unknown> {
  return {
    '/v1/accounts/{accountId}/risk-limits': {
      get: {
        summary: "The account's risk limits and their version",
        parameters: [accountParam],
        responses: { '200': json('', ref('RiskLimitsVersion')), ...common },
      },
      put: {
        summary: 'Set the account’s risk limits: a new version, kept with who, when and why (role risk)',
        parameters: [accountParam],
        requestBody: { required: true, content: { 'application/json': { schema: ref('PutRiskLimits') } } },
        responses: {
          '200': json('The new version', ref('RiskLimitsVersion')),
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
        summary: 'Every version of the account’s limits, newest first (version 0 last)',
        parameters: [accountParam],
        responses: {
          '200': json('', {
            type: 'object',
            properties: { versions: { type: 'array', items: ref('RiskLimitsVersion') } },
          }),
          ...common,
        },
      },
    },
    '/v1/accounts/{accountId}/trading-state': {
      put: {
        summary:
          "Set the account's own trading state (role risk or admin); halted also cancels its working orders. Recorded with who and why.",
        parameters: [accountParam],
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['state', 'reason'],
                properties: { state: tradingState, reason: { type: 'string' } },
              },
            },
          },
        },
        responses: {
          '200': json('', ref('TradingState')),
          '403': forbidden,
          '422': problem('validation.failed'),
          ...common,
        },
      },
    },
    '/v1/accounts/{accountId}/trading-state/history': {
      get: {
        summary: "Changes of the account's own trading state, newest first",
        parameters: [accountParam, historyLimit],
        responses: { '200': json('', history), ...common },
      },
    },
    '/v1/accounts/{accountId}/order-to-trade': {
      get: {
        summary: 'Order-to-trade ratio of a trading day (default today, America/New_York)',
        parameters: [accountParam, query('tradingDay', { type: 'string', format: 'date' })],
        responses: { '200': json('', ref('OrderToTrade')), '422': problem('validation.failed'), ...common },
      },
    },
    '/v1/trading-state': {
      get: { summary: 'The global trading state', responses: { '200': json('', ref('TradingState')), ...common } },
    },
    '/v1/trading-state/history': {
      get: {
        summary: 'Changes of the global trading state, newest first',
        parameters: [historyLimit],
        responses: { '200': json('', history), ...common },
      },
    },
    '/v1/kill-switch': {
      post: {
        summary:
          'Halt (role risk or admin): new entries refused at once on every instance, every working order accepted before the halt canceled; exits stay possible as marketable limit orders inside the price collar',
        requestBody: { required: true, content: { 'application/json': { schema: ref('KillSwitch') } } },
        responses: {
          '202': json('Halted; the cancels are under way (watch the orders or the stream)', ref('TradingState')),
          '403': forbidden,
          '422': problem('validation.failed'),
          ...common,
        },
      },
      delete: {
        summary:
          'Re-arm (role risk or admin): the scope returns to the state it had before the halt (reducing if it was, else active). Nothing re-arms by itself.',
        requestBody: { required: true, content: { 'application/json': { schema: ref('KillSwitch') } } },
        responses: {
          '200': json('', ref('TradingState')),
          '403': forbidden,
          '422': problem('validation.failed'),
          ...common,
        },
      },
    },
  };
}
