import { mostRestrictive, type TradingState } from '@gateway/risk';

/** The global trading state (kill switch scope `global`): every account trades under it. */
export interface GlobalTradingState {
  readonly state: TradingState;
  readonly reason: string | null;
  readonly changedBy: string | null;
  readonly changedAt: Date;
}

/** What of an account its effective trading state depends on. */
export interface OwnTradingState {
  readonly tradingState: TradingState;
  readonly tradingStateReason: string | null;
}

/** An account's effective trading state: its own, or the global one when that is more restrictive. */
export interface EffectiveTradingState {
  readonly state: TradingState;
  /** Why, naming the scope that set it; null when active. */
  readonly reason: string | null;
}

export function effectiveTradingState(account: OwnTradingState, global: GlobalTradingState): EffectiveTradingState {
  const state = mostRestrictive(account.tradingState, global.state);
  if (state === 'active') {
    return { state, reason: null };
  }
  const globalWins =
    global.state !== account.tradingState && mostRestrictive(global.state, account.tradingState) === global.state;
  const why = globalWins ? global.reason : account.tradingStateReason;
  return {
    state,
    reason: `${globalWins ? 'globally' : 'for this account'} ${state}${why ? `: ${why}` : ''}`,
  };
}

/** What a change of trading state records (append-only history, with who and why). */
export interface TradingStateChange {
  readonly scope: 'global' | 'account';
  readonly accountId: string | null;
  readonly previousState: TradingState;
  readonly state: TradingState;
  /** `kill_switch`, `rearm`, `trading_state` (set by risk staff), `lockdown` (the RTT lockdown) or `order_to_trade_ratio`. */
  readonly source: string;
  readonly reason: string;
  readonly changedBy: string;
  readonly changedAt: Date;
}

/** A recorded change, with its place in the history. */
export interface RecordedTradingStateChange extends TradingStateChange {
  /** Ascending with time (a `bigint`, as a string). */
  readonly id: string;
}
