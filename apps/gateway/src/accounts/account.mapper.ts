import type { Account, AccountGrant } from './account.js';
import { effectiveTradingState, type GlobalTradingState } from './trading-state.js';

/** The public Account (API.md). */
export interface AccountDto {
  id: string;
  name: string;
  environment: 'paper' | 'live';
  broker: string;
  /** The account's number at its broker; null when not given. */
  brokerAccountId: string | null;
  /** The account's OAuth2 connection to its broker (API.md "Additions"); null when it has none (paper, API-key brokers). */
  brokerConnection: BrokerConnectionSummary | null;
  /** A live account takes orders only when this is set (an admin's decision); always false for paper. */
  liveEnabled: boolean;
  /** The effective state: the account's own, or the global one when that is more restrictive. */
  tradingState: 'active' | 'reducing' | 'halted';
  /** Why the effective state is not `active`, naming the scope that set it; null when active. */
  tradingStateReason: string | null;
  /** True when new entries are refused (the trading state, an unknown order, a restart, its broker's connection). */
  entriesBlocked: boolean;
  entriesBlockedReason: string | null;
}

/** What the Account shows of its broker connection (`GET …/broker-connection` has the rest). ISO times. */
export interface BrokerConnectionSummary {
  status: 'connected' | 'refresh_failing' | 'reauth_required' | 'disconnected';
  accessExpiresAt: string | null;
  refreshExpiresAt: string | null;
}

/** `brokerBlock`: why its broker's connection blocks the account's entries (AccountBrokers), or null. */
export function toAccountDto(
  a: Account,
  global: GlobalTradingState,
  brokerBlock: string | null = null,
  brokerConnection: BrokerConnectionSummary | null = null,
): AccountDto {
  const trading = effectiveTradingState(a, global);
  const reason =
    a.entriesBlockedReason ?? brokerBlock ?? (trading.state === 'active' ? null : `trading is ${trading.reason}`);
  return {
    id: a.id,
    name: a.name,
    environment: a.environment,
    broker: a.broker,
    brokerAccountId: a.brokerAccountId,
    brokerConnection,
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
