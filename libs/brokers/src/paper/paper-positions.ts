import { applyFillToPosition, Decimal, flatPosition, type Position, toDecimalString } from '@gateway/oms';
import type { PositionReport } from '../execution-client.js';
import type { PaperFillListing } from './paper-order-record.js';

/** One open position of the paper venue on its wire (`GET /v1/positions`): decimal strings. */
export interface PaperPositionListing {
  readonly symbol: string;
  /** Signed: long > 0, short < 0, shares or contracts. */
  readonly quantity: string;
  /** The average open price of the position (average-cost method), dollars. */
  readonly averagePrice: string;
}

const ONE = new Decimal(1);

/**
 * The paper venue's open positions, from every fill it has booked (`fills`, in the order they happened):
 * the signed sum per symbol, at the average-cost price (`applyFillToPosition`), flat ones left out, by
 * symbol. The venue has no accounts: these are the positions of every account it serves together.
 */
export function paperPositions(fills: readonly PaperFillListing[]): PaperPositionListing[] {
  const bySymbol = new Map<string, Position>();
  for (const fill of fills) {
    const before = bySymbol.get(fill.symbol) ?? flatPosition(fill.symbol);
    bySymbol.set(
      fill.symbol,
      applyFillToPosition(before, fill.side, new Decimal(fill.quantity), new Decimal(fill.price), ONE),
    );
  }
  return [...bySymbol.values()]
    .filter((p) => !p.quantity.isZero())
    .sort((a, b) => (a.symbol < b.symbol ? -1 : a.symbol > b.symbol ? 1 : 0))
    .map((p) => ({
      symbol: p.symbol,
      quantity: toDecimalString(p.quantity),
      averagePrice: toDecimalString(p.averagePrice),
    }));
}

/** A listing as the ExecutionClient port reports it. */
export function positionReportFromListing(listing: PaperPositionListing): PositionReport {
  return {
    symbol: listing.symbol,
    quantity: new Decimal(listing.quantity),
    averagePrice: new Decimal(listing.averagePrice),
    raw: listing,
  };
}
