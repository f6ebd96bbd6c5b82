import { parseInstrument } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';

/** The prefix of an allow-list entry that allows every option on an OSI root: `root:SPXW`. */
export const OPTION_ROOT_PREFIX = 'root:';

/**
 * Whether `symbol` is on the allow-list: an entry equal to it (an equity ticker, `SPY`; case-sensitive),
 * or, for an OSI option symbol (padded or not), the entry `root:<its root>` (`root:SPXW` allows every
 * SPXW option, and neither SPX options nor any shares). A root entry never allows shares: to trade SPY
 * shares and SPY options, list both `SPY` and `root:SPY`.
 */
export function isInstrumentAllowed(symbol: string, allowedSymbols: readonly string[]): boolean {
  if (allowedSymbols.includes(symbol)) {
    return true;
  }
  const instrument = parseInstrument(symbol);
  return instrument?.kind === 'option' && allowedSymbols.includes(`${OPTION_ROOT_PREFIX}${instrument.root}`);
}

/**
 * Per-account instrument allow-list (SEC Rule 15c3-5(c)(2)(ii): orders in securities the account may
 * not trade are prevented). `limits.allowedSymbols` undefined: every instrument; empty: none.
 * Denial: `risk.instrument_not_allowed`.
 *
 * Exits stay possible: an order that reduces the confirmed position, and fits in what the working
 * orders on its side leave of it (`exitReduction`), passes for an instrument that is not on the list,
 * so a position the account got without an order (an option assignment delivers shares) or held before
 * the list changed can be closed. To forbid even that, halt the account.
 */
export function instrumentAllowedCheck(intent: OrderIntent, context: RiskContext, limits: RiskLimits): RiskDecision {
  const allowed = limits.allowedSymbols;
  if (allowed === undefined || isInstrumentAllowed(intent.symbol, allowed)) {
    return APPROVED;
  }
  const exit = exitReduction(intent, context);
  if (exit.reduces) {
    return APPROVED;
  }
  const instrument = parseInstrument(intent.symbol);
  const what =
    instrument?.kind === 'option'
      ? `${intent.symbol} (an option on root ${instrument.root}) is not on the account's allowed instruments ` +
        `(neither the symbol nor ${OPTION_ROOT_PREFIX}${instrument.root} is listed)`
      : `${intent.symbol} is not on the account's allowed instruments`;
  return deny(
    'risk.instrument_not_allowed',
    `${what}: only exits of an existing position are accepted, and ${exit.why}`,
  );
}
