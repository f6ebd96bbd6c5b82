import type { Account, AccountGrant } from './account.js';
import { effectiveTradingState, type GlobalTradingState } from './trading-state.js';

/** The public Account (API.md). */
export interface AccountDto {
  id: string;
  name: string;
  environment: 'paper' | 'live';
  broker: string;
  /** A live account takes orders only when this is set (an admin's decision); always false for paper. */
  liveEnabled: boolean;
  /** The effective state: the account's own, or the global one when that is more restrictive. */
  tradingState: 'active' | 'reducing' | 'halted';
  /** Why the effective state is not `active`, naming the scope that set it; null when active. */
  tradingStateReason: string | null;
  /** True when new entries are refused (the trading state, an unknown order, a restart or reconnect). */
  entriesBlocked: boolean;
  entriesBlockedReason: string | null;
}

export function toAccountDto(a: Account, global: GlobalTradingState): AccountDto {
  const trading = effectiveTradingState(a, global);
  const reason = a.entriesBlockedReason ?? (trading.state === 'active' ? null : `trading is ${trading.reason}`);
  return {
    id: a.id,
    name: a.name,
    environment: a.environment,
    broker: a.broker,
    liveEnabled: a.environment === 'live' && a.liveEnabled,
    tradingState: trading.state,
    tradingStateReason: trading.reason,
    entriesBlocked: reason !== null,
    entriesBlockedReason: reason,
  };
}

/** A grant of roles on one account to one subject (`GET|PUT /v1/accounts/{id}/grants`). */
export interface GrantDto {
  subject: string;
  accountId: string;
  roles: string[];
  grantedBy: string;
  grantedAt: string;
}

export const toGrantDto = (g: AccountGrant): GrantDto => ({
  subject: g.subject,
  accountId: g.accountId,
  roles: [...g.roles],
  grantedBy: g.grantedBy,
  grantedAt: g.grantedAt.toISOString(),
});
