import { expect } from 'vitest';
import { v7 as uuidv7 } from 'uuid';
import type { DataSource } from 'typeorm';
import { Api, type JsonResponse } from './http.js';
import { D } from './market-data.js';
import { signWithDevKey } from './tokens.js';

/*
 * Helpers of the risk-control e2e tests (risk-controls.test.ts): fresh accounts, tokens by role, and
 * the per-account limits of `GET|PUT /v1/accounts/{id}/risk-limits` (README, "Risk controls").
 */

/** Every field of a limits body: a PUT must carry them all (null switches an optional limit off). */
export const LIMIT_FIELDS = [
  'maxOrderQuantity',
  'maxOrderNotional',
  'priceCollarPercent',
  'priceCollarAbsolute',
  'productCollars',
  'stopCollarPercent',
  'maxQuoteAgeMs',
  'allowedSymbols',
  'maxPositionQuantity',
  'maxGrossExposure',
  'maxWorkingOrders',
  'duplicateWindowMs',
  'maxMessagesPerSecond',
  'maxMessagesPerMinute',
  'maxDailyLoss',
  'maxPositionLoss',
  'allowMarketOrders',
  'maxOrderToTradeRatio',
  'zeroDteCutoffMinutes',
] as const;

export type Limits = Record<(typeof LIMIT_FIELDS)[number], unknown>;

/**
 * A new paper account, as the gateway's own seeding makes one (AccountsService.ensurePaperAccount):
 * the API has no route that creates accounts, so the row goes straight into the test's database. Every
 * other column takes its default (active, seq 0).
 */
export async function createAccount(db: DataSource, name: string): Promise<string> {
  const id = uuidv7();
  await db.query(`INSERT INTO accounts (id, name, environment, broker) VALUES ($1, $2, 'paper', 'paper')`, [id, name]);
  return id;
}

/** An Api client whose token carries `roles` on `accounts` (every account by default), signed by the dev key. */
export async function apiAs(
  db: DataSource,
  baseUrl: string,
  sub: string,
  roles: string[],
  accounts: string[] = ['*'],
): Promise<Api> {
  return new Api(baseUrl, await signWithDevKey(db, { sub, roles, accounts }));
}

export const limitsPath = (accountId: string) => `/v1/accounts/${accountId}/risk-limits`;

export function putLimits(api: Api, accountId: string, body: unknown): Promise<JsonResponse> {
  return api.request('PUT', limitsPath(accountId), body);
}

/** GETs the account's limits, applies `change` and PUTs them with the version read; expects 200. */
export async function changeLimits(api: Api, accountId: string, change: Partial<Limits>, reason: string): Promise<any> {
  const current = await api.get(limitsPath(accountId));
  expect(current.status, JSON.stringify(current.body)).toBe(200);
  const res = await putLimits(api, accountId, {
    limits: { ...current.body.limits, ...change },
    reason,
    version: current.body.version,
  });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.body.version).toBe(current.body.version + 1);
  return res.body;
}

/** Today's date in New York (`YYYY-MM-DD`), the default trading day of GET /order-to-trade. */
export function newYorkToday(now = new Date()): string {
  return new Intl.DateTimeFormat('en-CA', {
    timeZone: 'America/New_York',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
  }).format(now);
}

/** The order-to-trade ratio, (orders + modifications + cancellations) / max(trades, 1), exact. */
export function otrRatio(c: { orders: number; modifications: number; cancellations: number; trades: number }): D {
  return new D(c.orders + c.modifications + c.cancellations).dividedBy(Math.max(c.trades, 1));
}
