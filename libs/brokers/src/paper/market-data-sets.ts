import { normaliseTradeDate } from '@gateway/oms';

/**
 * One file of recorded market data the replay can load. Every kind is QuantConnect Lean's layout with
 * times in ms after midnight America/New_York on `date` and prices in dollars × 10000
 * (see shared/data/market/README.md). Add entries to the list to replay more data; the engine needs no
 * change as long as the file has one of these layouts.
 * - `lean_quote_bars`: no header; `time_ms, bid_open, bid_high, bid_low, bid_close, bid_size, ask_open,
 *   ask_high, ask_low, ask_close, ask_size`; one instrument (`symbol`). Bars stamped at their start,
 *   `barMs` long (1000 for second bars, 60000 for minute bars).
 * - `lean_trade_ticks`: no header; `time_ms, price, size, exchange, sale_condition, suspicious`.
 * - `lean_option_quote_bars`: header; `date, underlying, style, right, strike_usd, expiry, time_ms,
 *   bid_open..bid_close, bid_size, ask_open..ask_close, ask_size`; many contracts, named by OSI symbol.
 *   Only rows whose `date` equals `date` are loaded (the file may hold several trade dates).
 */
export type MarketDataSetSpec =
  | {
      readonly kind: 'lean_quote_bars';
      /** Names the data set in quotes (`Quote.source`). */
      readonly id: string;
      /** File name inside the data directory. */
      readonly file: string;
      readonly symbol: string;
      /** Recorded trade date, `YYYY-MM-DD`. */
      readonly date: string;
      readonly barMs: number;
    }
  | {
      readonly kind: 'lean_trade_ticks';
      readonly id: string;
      readonly file: string;
      readonly symbol: string;
      readonly date: string;
    }
  | {
      readonly kind: 'lean_option_quote_bars';
      readonly id: string;
      readonly file: string;
      /** The trade date to replay, `YYYY-MM-DD`. */
      readonly date: string;
      readonly barMs: number;
    };

/** Options of the default data set list. */
export interface DefaultMarketDataSetsOptions {
  /** Trade date of the SPXW options file to replay, `YYYYMMDD` or `YYYY-MM-DD`: 20210104 (default), 20210106 or 20210108. */
  readonly spxwDate?: string;
}

/** The SPXW trade date replayed by default (its 0DTE contracts expire 2021-01-04). */
export const DEFAULT_SPXW_DATE = '2021-01-04';

/**
 * The data sets of the paper venue by default: SPY 2013-10-07 second quote bars and tick trades
 * (09:30–10:00 ET) and SPXW options minute quote bars of one trade date (default 2021-01-04).
 */
export function defaultMarketDataSets(options: DefaultMarketDataSetsOptions = {}): MarketDataSetSpec[] {
  const spxwDate = normaliseTradeDate(options.spxwDate ?? DEFAULT_SPXW_DATE);
  return [
    {
      kind: 'lean_quote_bars',
      id: 'spy_20131007_second_quote',
      file: 'spy_20131007_second_quote_0930_1000.csv',
      symbol: 'SPY',
      date: '2013-10-07',
      barMs: 1000,
    },
    {
      kind: 'lean_trade_ticks',
      id: 'spy_20131007_tick_trade',
      file: 'spy_20131007_tick_trade_0930_1000.csv',
      symbol: 'SPY',
      date: '2013-10-07',
    },
    {
      kind: 'lean_option_quote_bars',
      id: `spxw_${spxwDate.replaceAll('-', '')}_minute_quote`,
      file: 'spxw_options_20210104_06_08_minute_quote.csv',
      date: spxwDate,
      barMs: 60_000,
    },
  ];
}
