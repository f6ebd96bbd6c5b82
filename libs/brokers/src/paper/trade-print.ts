import type { Decimal } from '@gateway/oms';

/**
 * One recorded trade (a print on the consolidated tape). `price` in dollars, `size` in shares or
 * contracts, `ts` the epoch ms of the recorded market time, `source` the data set id.
 * `lastSaleEligible` is false for prints that are not a trade at the market (see isLastSaleEligible):
 * they are still delivered to trade listeners but neither set `last` nor fill orders.
 */
export interface TradePrint {
  readonly symbol: string;
  readonly price: Decimal;
  readonly size: Decimal;
  readonly ts: number;
  readonly source: string;
  /** One-letter exchange code (P = NYSE Arca, Q = Nasdaq, D = FINRA TRF, ...). */
  readonly exchange: string;
  /** Lean trade condition flags, hex. */
  readonly saleCondition: string;
  readonly lastSaleEligible: boolean;
}

export type TradeListener = (trade: TradePrint) => void;
