import type { AccountEntity } from '../database/entities.js';

/** The public Account (API.md). */
export interface AccountDto {
  id: string;
  name: string;
  environment: 'paper' | 'live';
  broker: string;
  tradingState: 'active' | 'reducing' | 'halted';
  entriesBlocked: boolean;
  entriesBlockedReason: string | null;
}

export function toAccountDto(a: AccountEntity): AccountDto {
  const reason = a.entriesBlockedReason ?? (a.tradingState === 'active' ? null : `trading state is ${a.tradingState}`);
  return {
    id: a.id,
    name: a.name,
    environment: a.environment,
    broker: a.broker,
    tradingState: a.tradingState,
    entriesBlocked: reason !== null,
    entriesBlockedReason: reason,
  };
}
