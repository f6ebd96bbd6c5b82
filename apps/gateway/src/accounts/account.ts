import type { TradingState } from '@gateway/risk';
import type { Environment } from '../auth/principal.js';

/** An account of the gateway (table `accounts`), as the services see it. */
export interface Account {
  readonly id: string;
  /** Unique; the demo and test accounts are found by it. */
  readonly name: string;
  readonly environment: Environment;
  /** The firm whose API the account's orders go to (`paper` for the paper venue). */
  readonly broker: string;
  /** The account's number at its broker (an Alpaca account id, a Schwab account hash); null when not given. */
  readonly brokerAccountId: string | null;
  /** A live account takes orders only once an admin has set this (paper accounts ignore it). */
  readonly liveEnabled: boolean;
  /** The account's own trading state (the effective one may be the more restrictive global state). */
  readonly tradingState: TradingState;
  /** Why the account's own trading state is what it is, who set it and when (null: never changed). */
  readonly tradingStateReason: string | null;
  readonly tradingStateChangedBy: string | null;
  readonly tradingStateChangedAt: Date | null;
  /** Why new entries are refused whatever the trading state (an unknown order, a restart); null when not. */
  readonly entriesBlockedReason: string | null;
  /** The last `seq` handed out to an event of the account (its stream's position). */
  readonly lastSeq: number;
}

/** A database grant: `subject` may act on the account with `roles` (cut down to its token's roles). */
export interface AccountGrant {
  readonly subject: string;
  readonly accountId: string;
  readonly roles: readonly string[];
  readonly grantedBy: string;
  readonly grantedAt: Date;
}
