import { parseInstrument, productKey, productOf, type Instrument, type Product } from '@gateway/oms';
import type { OrderIntent } from '../order-intent.js';
import type { RiskContext } from '../risk-context.js';
import { APPROVED, deny, type RiskDecision } from '../risk-decision.js';
import type { RiskLimits } from '../risk-limits.js';
import { exitReduction } from '../working-orders.js';

/** An order's symbol as an instrument, and its product when it is a supported one (null: unsupported). */
export interface SymbolProduct {
  readonly instrument: Instrument;
  readonly product: Product | null;
}

/** `parseInstrument` and `productOf` of a symbol; null when the symbol is neither a ticker nor an OSI symbol. */
export function symbolProduct(symbol: string): SymbolProduct | null {
  const instrument = parseInstrument(symbol);
  return instrument === null ? null : { instrument, product: productOf(instrument) };
}

/**
 * Only supported products are entered (`productOf` in @gateway/oms: SPX, SPXW, XSP, SPY, QQQ and IWM
 * options, and any US equity): every product's multiplier, settlement, tick size and trading hours are
 * known, and the other checks rely on them. An option on any other root, or a symbol that is neither a
 * ticker nor an OSI symbol (the edge refuses those, so a bug), is denied with `risk.unknown_product`.
 *
 * Exits pass: an order that reduces the confirmed position and fits in what the working orders on its side
 * leave of it (`exitReduction`). The gateway could never have entered such a position, but one can come
 * from the broker (reconciliation of a position opened elsewhere, an assignment), and closing it only
 * removes risk; its ticks and hours are unknown, so the broker's answer is the check. Halt the account to
 * forbid even that. Always on.
 */
export function productCheck(intent: OrderIntent, context: RiskContext, _limits: RiskLimits): RiskDecision {
  const found = symbolProduct(intent.symbol);
  if (found !== null && found.product !== null) {
    return APPROVED;
  }
  const exit = exitReduction(intent, context);
  if (exit.reduces) {
    return APPROVED;
  }
  // Equities are always a product: only an option on another root, or an unparsable symbol, gets here.
  const what =
    found === null
      ? `${intent.symbol} is neither an equity ticker nor an OSI option symbol`
      : `${intent.symbol} (${productKey(found.instrument)}) is not a supported product ` +
        `(options on SPX, SPXW, XSP, SPY, QQQ and IWM are)`;
  return deny('risk.unknown_product', `${what}: only exits of an existing position are accepted, and ${exit.why}`);
}
