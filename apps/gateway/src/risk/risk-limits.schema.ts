import { Decimal, toDecimalString } from '@gateway/oms';
import type { RiskLimits } from '@gateway/risk';
import { z } from 'zod';
import type { GatewayConfig } from '../config/config.js';
import { positiveDecimal } from '../common/decimal.schema.js';

const count = z.number().int().min(1).max(1_000_000_000);
const collar = z.strictObject({ percent: positiveDecimal, absolute: positiveDecimal.or(z.literal('0')) });

/**
 * An account's risk limits as the API reads and writes them (`GET|PUT /v1/accounts/{id}/risk-limits`):
 * decimal strings for quantities, money and percentages; integers for counts and milliseconds. Every
 * field must be present: `null` switches an optional limit off, so a PUT never turns a limit off by
 * leaving it out. The meaning of each field is `RiskLimits` in libs/risk/src/risk-limits.ts.
 */
export const riskLimitsSchema = z.strictObject({
  maxOrderQuantity: positiveDecimal,
  maxOrderNotional: positiveDecimal,
  priceCollarPercent: positiveDecimal,
  priceCollarAbsolute: positiveDecimal.nullable(),
  /** Per product (`root:SPXW`, `SPY`…): the collar's percent and absolute band, replacing the account's. */
  productCollars: z.record(z.string().regex(/^(?:root:)?[A-Z][A-Z0-9./]{0,7}$/), collar).nullable(),
  stopCollarPercent: positiveDecimal.nullable(),
  maxQuoteAgeMs: count,
  allowedSymbols: z.array(z.string().min(1).max(32)).max(10_000).nullable(),
  maxPositionQuantity: positiveDecimal.nullable(),
  maxGrossExposure: positiveDecimal.nullable(),
  maxWorkingOrders: count.nullable(),
  duplicateWindowMs: count.nullable(),
  maxMessagesPerSecond: count.nullable(),
  maxMessagesPerMinute: count.nullable(),
  maxDailyLoss: positiveDecimal.nullable(),
  maxPositionLoss: positiveDecimal.nullable(),
  allowMarketOrders: z.boolean().nullable(),
  maxOrderToTradeRatio: positiveDecimal.nullable(),
  zeroDteCutoffMinutes: z.number().int().min(0).max(1440).nullable(),
});

export type RiskLimitsBody = z.infer<typeof riskLimitsSchema>;

/** `PUT /v1/accounts/{id}/risk-limits`: the whole new set, why, and optionally the version it replaces. */
export const putRiskLimitsSchema = z.strictObject({
  limits: riskLimitsSchema,
  reason: z.string().trim().min(1).max(500),
  /** The version the caller read: a newer one in between answers 409 `risk_limits.version_conflict`. */
  version: z.number().int().min(0).optional(),
});

export type PutRiskLimitsBody = z.infer<typeof putRiskLimitsSchema>;

const dec = (s: string | null): Decimal | undefined => (s === null ? undefined : new Decimal(s));
const num = (n: number | null): number | undefined => (n === null ? undefined : n);

/** The engine's limits from the API form (null → undefined: the check is off). */
export function toRiskLimits(body: RiskLimitsBody): RiskLimits {
  const optional = {
    priceCollarAbsolute: dec(body.priceCollarAbsolute),
    productCollars:
      body.productCollars === null
        ? undefined
        : Object.fromEntries(
            Object.entries(body.productCollars).map(([k, v]) => [
              k,
              { percent: new Decimal(v.percent), absolute: new Decimal(v.absolute) },
            ]),
          ),
    stopCollarPercent: dec(body.stopCollarPercent),
    allowedSymbols: body.allowedSymbols ?? undefined,
    maxPositionQuantity: dec(body.maxPositionQuantity),
    maxGrossExposure: dec(body.maxGrossExposure),
    maxWorkingOrders: num(body.maxWorkingOrders),
    duplicateWindowMs: num(body.duplicateWindowMs),
    maxMessagesPerSecond: num(body.maxMessagesPerSecond),
    maxMessagesPerMinute: num(body.maxMessagesPerMinute),
    maxDailyLoss: dec(body.maxDailyLoss),
    maxPositionLoss: dec(body.maxPositionLoss),
    allowMarketOrders: body.allowMarketOrders ?? undefined,
    maxOrderToTradeRatio: dec(body.maxOrderToTradeRatio),
    zeroDteCutoffMinutes: num(body.zeroDteCutoffMinutes),
  };
  return {
    maxOrderQuantity: new Decimal(body.maxOrderQuantity),
    maxOrderNotional: new Decimal(body.maxOrderNotional),
    priceCollarPercent: new Decimal(body.priceCollarPercent),
    maxQuoteAgeMs: body.maxQuoteAgeMs,
    // exactOptionalPropertyTypes: leave absent limits out rather than set them to undefined.
    ...Object.fromEntries(Object.entries(optional).filter(([, v]) => v !== undefined)),
  };
}

/** The limits every account has until risk staff set its own (version 0), from the gateway's configuration. */
export function configuredRiskLimits(config: GatewayConfig): RiskLimitsBody {
  const r = config.risk;
  return {
    maxOrderQuantity: r.maxOrderQuantity,
    maxOrderNotional: r.maxOrderNotional,
    priceCollarPercent: r.priceCollarPercent,
    priceCollarAbsolute: null,
    productCollars: null,
    stopCollarPercent: null,
    maxQuoteAgeMs: r.maxQuoteAgeMs,
    allowedSymbols: null,
    maxPositionQuantity: r.maxPositionQuantity,
    maxGrossExposure: null,
    maxWorkingOrders: r.maxWorkingOrders,
    duplicateWindowMs: null,
    maxMessagesPerSecond: null,
    maxMessagesPerMinute: null,
    maxDailyLoss: null,
    maxPositionLoss: null,
    allowMarketOrders: null,
    maxOrderToTradeRatio: null,
    zeroDteCutoffMinutes: r.zeroDteCutoffMinutes,
  };
}

/** Canonical decimal strings (`"10.50"` → `"10.5"`), so that a stored version reads back as it means. */
export function canonicalLimits(body: RiskLimitsBody): RiskLimitsBody {
  const c = (s: string | null) => (s === null ? null : toDecimalString(new Decimal(s)));
  return {
    ...body,
    maxOrderQuantity: toDecimalString(new Decimal(body.maxOrderQuantity)),
    maxOrderNotional: toDecimalString(new Decimal(body.maxOrderNotional)),
    priceCollarPercent: toDecimalString(new Decimal(body.priceCollarPercent)),
    priceCollarAbsolute: c(body.priceCollarAbsolute),
    stopCollarPercent: c(body.stopCollarPercent),
    maxPositionQuantity: c(body.maxPositionQuantity),
    maxGrossExposure: c(body.maxGrossExposure),
    maxDailyLoss: c(body.maxDailyLoss),
    maxPositionLoss: c(body.maxPositionLoss),
    maxOrderToTradeRatio: c(body.maxOrderToTradeRatio),
    productCollars:
      body.productCollars === null
        ? null
        : Object.fromEntries(
            Object.entries(body.productCollars).map(([k, v]) => [
              k,
              { percent: c(v.percent)!, absolute: c(v.absolute)! },
            ]),
          ),
  };
}
