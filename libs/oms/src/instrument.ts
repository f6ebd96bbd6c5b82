import { Decimal } from './decimal.js';

/** An exchange-listed equity or ETF (`SPY`). Contract multiplier 1. */
export interface EquityInstrument {
  readonly kind: 'equity';
  readonly symbol: string;
  readonly multiplier: Decimal;
}

/**
 * A listed option identified by its OCC/OSI symbol: root padded with spaces to 6 characters, expiry
 * YYMMDD, right C/P, strike × 1000 in 8 digits (`SPXW  210104C03700000`, 21 characters).
 * Source: OCC "Symbology Initiative" specification. Standard US equity/index options have multiplier 100.
 */
export interface OptionInstrument {
  readonly kind: 'option';
  /** The 21-character padded OSI symbol. */
  readonly symbol: string;
  readonly root: string;
  /** Expiry date, `YYYY-MM-DD`. */
  readonly expiry: string;
  readonly right: 'call' | 'put';
  readonly strike: Decimal;
  readonly multiplier: Decimal;
}

export type Instrument = EquityInstrument | OptionInstrument;

const EQUITY = /^[A-Z][A-Z0-9]{0,5}(?:[./][A-Z]{1,2})?$/;
const OSI_PADDED = /^([A-Z][A-Z0-9]{0,5}) *(\d{2})(\d{2})(\d{2})([CP])(\d{8})$/;

/**
 * Parses an equity ticker or an OSI option symbol, padded (`SPXW  210104C03700000`) or not
 * (`SPXW210104C03700000`). Upper-cases nothing: symbols are case-sensitive at the edge.
 * Returns null for anything else.
 */
export function parseInstrument(text: string): Instrument | null {
  if (EQUITY.test(text)) {
    return { kind: 'equity', symbol: text, multiplier: new Decimal(1) };
  }
  const m = OSI_PADDED.exec(text);
  if (!m) {
    return null;
  }
  const [, root, yy, mm, dd, right, strike] = m as unknown as [string, string, string, string, string, string, string];
  const padded = `${root.padEnd(6, ' ')}${yy}${mm}${dd}${right}${strike}`;
  if (text.length !== padded.length && text !== `${root}${yy}${mm}${dd}${right}${strike}`) {
    return null; // wrong padding: neither the padded 21-char form nor the unpadded form
  }
  const month = Number(mm);
  const day = Number(dd);
  const daysInMonth = new Date(Date.UTC(2000 + Number(yy), month, 0)).getUTCDate(); // day 0 = last of `month`
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth) {
    return null;
  }
  return {
    kind: 'option',
    symbol: padded,
    root,
    expiry: `20${yy}-${mm}-${dd}`,
    right: right === 'C' ? 'call' : 'put',
    strike: new Decimal(strike).dividedBy(1000),
    multiplier: new Decimal(100),
  };
}

/** Formats an OSI symbol (padded, 21 characters) from its parts. `strike` in dollars, at most 3 decimals. */
export function formatOsiSymbol(root: string, expiry: string, right: 'call' | 'put', strike: Decimal): string {
  const [y, m, d] = expiry.split('-') as [string, string, string];
  const strikeField = strike.times(1000).toFixed(0).padStart(8, '0');
  return `${root.padEnd(6, ' ')}${y.slice(2)}${m}${d}${right === 'call' ? 'C' : 'P'}${strikeField}`;
}
