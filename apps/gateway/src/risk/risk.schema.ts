import { TRADING_STATES } from '@gateway/risk';
import { z } from 'zod';
import { decimalString, isoTime } from '../common/api.schema.js';
import { typesAgree, typesNarrow } from '../common/type-agreement.js';
import type { OrderToTradeDto } from './order-messages.js';
import { putRiskLimitsSchema, riskLimitsSchema } from './risk-limits.schema.js';
import type { RiskLimitsVersionDto } from './risk-limits.service.js';
import type { TradingStateChangeDto, TradingStateDto } from './trading-control.service.js';

// The request bodies, named for the OpenAPI document (`register` keeps the very schema the routes validate with).
riskLimitsSchema.register(z.globalRegistry, {
  id: 'RiskLimits',
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
});
putRiskLimitsSchema.register(z.globalRegistry, { id: 'PutRiskLimits' });

const tradingState = z.enum(TRADING_STATES);
const scope = z.enum(['global', 'account']);
const reason = z.string().trim().min(1).max(500);

/** Body of `POST|DELETE /v1/kill-switch`: halt or re-arm one account, or every account (`global`). */
export const killSwitchSchema = z
  .strictObject({
    scope,
    accountId: z
      .uuid({ error: 'must be an account id' })
      .optional()
      .meta({ description: 'required with scope account' }),
    reason,
  })
  .refine((b) => (b.scope === 'account') === (b.accountId !== undefined), {
    path: ['accountId'],
    message: 'is required with scope "account" and not allowed with scope "global"',
  })
  .meta({ id: 'KillSwitch' });
export type KillSwitchBody = z.infer<typeof killSwitchSchema>;

/** Body of `PUT /v1/accounts/{accountId}/trading-state`. */
export const tradingStateSchema = z.strictObject({ state: tradingState, reason });

/** Query of the trading-state histories. */
export const historyQuery = z.strictObject({ limit: z.coerce.number().int().min(1).max(1000).default(100) });
/** Query of `GET …/order-to-trade`. */
export const otrQuery = z.strictObject({
  tradingDay: z.iso.date({ error: 'must be a date, YYYY-MM-DD' }).optional(),
});

/** An account's limits with their version, as `GET|PUT …/risk-limits` answer them. */
export const riskLimitsVersionSchema = z
  .object({
    accountId: z.string(),
    version: z.int().meta({ description: '0: the configured defaults (RISK_* environment)' }),
    limits: riskLimitsSchema,
    changedBy: z.string().meta({ description: 'the token subject that set them' }),
    changedAt: isoTime.nullable(),
    reason: z.string(),
  })
  .meta({ id: 'RiskLimitsVersion' });
typesAgree<z.infer<typeof riskLimitsVersionSchema>, RiskLimitsVersionDto>(true);

export const riskLimitsHistorySchema = z.object({ versions: z.array(riskLimitsVersionSchema) });

/** A trading state, global or an account's own. */
export const tradingStateDtoSchema = z
  .object({
    scope,
    accountId: z.string().nullable(),
    state: tradingState,
    reason: z.string().nullable(),
    changedBy: z.string().nullable(),
    changedAt: isoTime.nullable(),
  })
  .meta({ id: 'TradingState' });
typesAgree<z.infer<typeof tradingStateDtoSchema>, TradingStateDto>(true);

export const tradingStateChangeSchema = z
  .object({
    id: z.string(),
    scope,
    accountId: z.string().nullable(),
    previousState: tradingState,
    state: tradingState,
    source: z.enum(['kill_switch', 'rearm', 'trading_state', 'order_to_trade_ratio']),
    reason: z.string(),
    changedBy: z.string().meta({ description: 'token subject, or `gateway` for its own decisions' }),
    changedAt: isoTime,
  })
  .meta({ id: 'TradingStateChange' });
// The DTO types the states and the source as plain strings (text columns); the schema names their values.
type NamedValues = 'previousState' | 'state' | 'source';
typesAgree<Omit<z.infer<typeof tradingStateChangeSchema>, NamedValues>, Omit<TradingStateChangeDto, NamedValues>>(true);
typesNarrow<z.infer<typeof tradingStateChangeSchema>, TradingStateChangeDto>(true);

export const tradingStateHistorySchema = z.object({ changes: z.array(tradingStateChangeSchema) });

export const orderToTradeSchema = z
  .object({
    accountId: z.string(),
    tradingDay: z.iso.date().meta({ description: 'America/New_York' }),
    orders: z.int(),
    modifications: z.int(),
    cancellations: z.int(),
    trades: z.int().meta({ description: 'executions applied that day' }),
    ratio: decimalString.meta({ description: '(orders + modifications + cancellations) / max(trades, 1), 4 decimals' }),
    ceiling: decimalString.nullable(),
  })
  .meta({ id: 'OrderToTrade' });
typesAgree<z.infer<typeof orderToTradeSchema>, OrderToTradeDto>(true);
