import { parseInstrument } from '@gateway/oms';

/**
 * Schwab's symbology (PROTOCOLS.md A5): equities as their ticker (`SPY`); options as the OSI symbol with the
 * root space-padded to 6 (`SPXW  261204C05000000`, schwab-py `OptionSymbol`: `'{:<6}{}{}{:08d}'`), which is
 * the gateway's own stored form. Both directions go through parseInstrument, so an unpadded symbol from
 * either side comes out padded. Null: not a symbol either side can trade.
 */
export function toSchwabSymbol(symbol: string): { symbol: string; assetType: 'EQUITY' | 'OPTION' } | null {
  const instrument = parseInstrument(symbol);
  if (instrument === null) {
    return null;
  }
  return { symbol: instrument.symbol, assetType: instrument.kind === 'option' ? 'OPTION' : 'EQUITY' };
}

/** Our symbol for one Schwab writes (`SPXW  261204C05000000` or `SPY`); null when it is neither. */
export function fromSchwabSymbol(symbol: string): string | null {
  return parseInstrument(symbol.trimEnd())?.symbol ?? parseInstrument(symbol)?.symbol ?? null;
}
