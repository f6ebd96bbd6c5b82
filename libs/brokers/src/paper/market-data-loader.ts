import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Decimal, formatOsiSymbol } from '@gateway/oms';
import { normaliseTradeDate, zonedTimeToEpochMs } from '@gateway/oms';
import type { MarketDataSetSpec } from './market-data-sets.js';
import { isLastSaleEligible } from './sale-condition.js';
import { MS_PER_DAY } from './time-of-day.js';
import type { TradePrint } from './trade-print.js';

/**
 * One recorded top-of-book update. Prices in dollars, sizes in shares/contracts; `timeOfDayMs` is ms
 * after midnight America/New_York on the data set's own trade date, `ts` the same instant in epoch ms.
 * `bid` may be 0 (no bid, real for far out-of-the-money options); `ask` is always > 0.
 */
export interface QuoteEvent {
  readonly kind: 'quote';
  readonly timeOfDayMs: number;
  readonly symbol: string;
  readonly bid: Decimal;
  readonly ask: Decimal;
  readonly bidSize: Decimal;
  readonly askSize: Decimal;
  readonly ts: number;
  readonly source: string;
}

/** One recorded trade at `timeOfDayMs` (ms after midnight ET on its trade date). */
export interface TradeEvent {
  readonly kind: 'trade';
  readonly timeOfDayMs: number;
  readonly trade: TradePrint;
}

export type MarketEvent = QuoteEvent | TradeEvent;

/** What the loaded data holds for one instrument. `date` is its recorded trade date, `YYYY-MM-DD`. */
export interface InstrumentData {
  readonly symbol: string;
  readonly date: string;
  readonly quoteSource: string | null;
  readonly tradeSource: string | null;
}

/** All events of all data sets, sorted by time of day (ties keep data set order, then file order). */
export interface LoadedMarketData {
  readonly events: readonly MarketEvent[];
  readonly instruments: ReadonlyMap<string, InstrumentData>;
}

const UNSIGNED_INTEGER = /^\d+$/;
const PRICE_SCALE = 10_000;

/** Parses fields of one file; interns decimals (prices and sizes repeat a lot, and Decimal is immutable). */
class FieldParser {
  private readonly prices = new Map<string, Decimal>();
  private readonly sizes = new Map<string, Decimal>();
  private line = 0;

  constructor(private readonly file: string) {}

  at(line: number): this {
    this.line = line;
    return this;
  }

  fail(message: string): never {
    throw new Error(`${this.file}:${this.line}: ${message}`);
  }

  /** Dollars × 10000 integer → dollars, exactly (decimal division, never a float). */
  price(text: string | undefined, column: string): Decimal {
    let value = this.prices.get(text ?? '');
    if (value === undefined) {
      if (text === undefined || !UNSIGNED_INTEGER.test(text)) {
        this.fail(`${column} is not an integer price × 10000: ${JSON.stringify(text)}`);
      }
      value = new Decimal(text).dividedBy(PRICE_SCALE);
      this.prices.set(text, value);
    }
    return value;
  }

  size(text: string | undefined, column: string): Decimal {
    let value = this.sizes.get(text ?? '');
    if (value === undefined) {
      if (text === undefined || !UNSIGNED_INTEGER.test(text)) {
        this.fail(`${column} is not an integer size: ${JSON.stringify(text)}`);
      }
      value = new Decimal(text);
      this.sizes.set(text, value);
    }
    return value;
  }

  timeOfDay(text: string | undefined): number {
    if (text === undefined || !UNSIGNED_INTEGER.test(text)) {
      this.fail(`time_ms is not an integer: ${JSON.stringify(text)}`);
    }
    const value = Number(text);
    if (value >= MS_PER_DAY) {
      this.fail(`time_ms beyond one day: ${text}`);
    }
    return value;
  }
}

function readLines(dataDir: string, file: string): string[] {
  const text = readFileSync(path.join(dataDir, file), 'utf8');
  return text.split('\n');
}

/**
 * The non-empty rows of a CSV from line `from` (0-based) on, split into exactly `columns` fields;
 * `p` points at each row's line number so that a parse error names it.
 */
function* csvRows(lines: readonly string[], p: FieldParser, columns: number, from = 0): Generator<string[]> {
  for (let i = from; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line === '') {
      continue;
    }
    p.at(i + 1);
    const fields = line.split(',');
    if (fields.length !== columns) {
      p.fail(`expected ${columns} columns, got ${fields.length}`);
    }
    yield fields;
  }
}

interface BarFields {
  readonly bidOpen: string;
  readonly bidClose: string;
  readonly bidSize: string;
  readonly askOpen: string;
  readonly askClose: string;
  readonly askSize: string;
}

/**
 * The quotes of one quote bar: the open at the bar start and, when the close differs from the open,
 * the close at the bar's last ms. Both carry the bar's sizes. A side whose price is absent counts as
 * 0; a quote is only emitted when its ask is > 0 (a zero bid is real for far OTM options and is kept).
 */
function pushBarQuotes(
  out: MarketEvent[],
  p: FieldParser,
  f: BarFields,
  start: number,
  barMs: number,
  symbol: string,
  date: string,
  source: string,
): void {
  const bidSize = p.size(f.bidSize === '' ? '0' : f.bidSize, 'bid_size');
  const askSize = p.size(f.askSize === '' ? '0' : f.askSize, 'ask_size');
  const emit = (timeOfDayMs: number, bidText: string, askText: string): void => {
    const ask = p.price(askText === '' ? '0' : askText, 'ask');
    if (ask.isZero()) {
      return;
    }
    const bid = p.price(bidText === '' ? '0' : bidText, 'bid');
    out.push({
      kind: 'quote',
      timeOfDayMs,
      symbol,
      bid,
      ask,
      bidSize,
      askSize,
      ts: zonedTimeToEpochMs(date, timeOfDayMs),
      source,
    });
  };
  emit(start, f.bidOpen, f.askOpen);
  if (f.bidClose !== f.bidOpen || f.askClose !== f.askOpen) {
    const closeAt = start + barMs - 1;
    if (closeAt >= MS_PER_DAY) {
      p.fail(`bar close beyond one day`);
    }
    emit(closeAt, f.bidClose, f.askClose);
  }
}

function loadQuoteBars(
  dataDir: string,
  spec: Extract<MarketDataSetSpec, { kind: 'lean_quote_bars' }>,
  date: string,
  out: MarketEvent[],
): void {
  const p = new FieldParser(spec.file);
  for (const c of csvRows(readLines(dataDir, spec.file), p, 11)) {
    const [time = '', bidOpen = '', , , bidClose = '', bidSize = '', askOpen = '', , , askClose = '', askSize = ''] = c;
    const fields: BarFields = { bidOpen, bidClose, bidSize, askOpen, askClose, askSize };
    pushBarQuotes(out, p, fields, p.timeOfDay(time), spec.barMs, spec.symbol, date, spec.id);
  }
}

function loadTradeTicks(
  dataDir: string,
  spec: Extract<MarketDataSetSpec, { kind: 'lean_trade_ticks' }>,
  date: string,
  out: MarketEvent[],
): void {
  const p = new FieldParser(spec.file);
  const eligibility = new Map<string, boolean>();
  for (const c of csvRows(readLines(dataDir, spec.file), p, 6)) {
    const [time = '', price = '', size = '', exchange = '', saleCondition = '', suspicious = ''] = c;
    if (suspicious === '1') {
      continue; // flagged by the data vendor as a bad tick; Lean filters these from its bars too
    }
    let eligible = eligibility.get(saleCondition);
    if (eligible === undefined) {
      eligible = isLastSaleEligible(saleCondition);
      eligibility.set(saleCondition, eligible);
    }
    const timeOfDayMs = p.timeOfDay(time);
    const trade: TradePrint = {
      symbol: spec.symbol,
      price: p.price(price, 'price'),
      size: p.size(size, 'size'),
      ts: zonedTimeToEpochMs(date, timeOfDayMs),
      source: spec.id,
      exchange,
      saleCondition,
      lastSaleEligible: eligible,
    };
    out.push({ kind: 'trade', timeOfDayMs, trade });
  }
}

function tradeDateOrFail(p: FieldParser, text: string, column: string): string {
  try {
    return normaliseTradeDate(text);
  } catch {
    return p.fail(`${column} is not a date: ${JSON.stringify(text)}`);
  }
}

const OPTION_HEADER =
  'date,underlying,style,right,strike_usd,expiry,time_ms,bid_open,bid_high,bid_low,bid_close,bid_size,ask_open,ask_high,ask_low,ask_close,ask_size';

function loadOptionQuoteBars(
  dataDir: string,
  spec: Extract<MarketDataSetSpec, { kind: 'lean_option_quote_bars' }>,
  date: string,
  out: MarketEvent[],
): Set<string> {
  const p = new FieldParser(spec.file);
  const lines = readLines(dataDir, spec.file);
  if ((lines[0] ?? '').trim() !== OPTION_HEADER) {
    p.at(1).fail(`unexpected header, expected ${OPTION_HEADER}`);
  }
  const wanted = date.replaceAll('-', '');
  const symbols = new Map<string, string>();
  for (const c of csvRows(lines, p, 17, 1)) {
    const [
      rowDate = '',
      underlying = '',
      ,
      right = '',
      strikeUsd = '',
      expiry = '',
      time = '',
      bidOpen = '',
      ,
      ,
      bidClose = '',
      bidSize = '',
      askOpen = '',
      ,
      ,
      askClose = '',
      askSize = '',
    ] = c;
    if (rowDate !== wanted) {
      continue;
    }
    const key = `${underlying}|${expiry}|${right}|${strikeUsd}`;
    let symbol = symbols.get(key);
    if (symbol === undefined) {
      if (right !== 'C' && right !== 'P') {
        p.fail(`right must be C or P, got ${JSON.stringify(right)}`);
      }
      if (!/^\d+(?:\.\d{1,3})?$/.test(strikeUsd)) {
        p.fail(`strike_usd is not a strike in dollars: ${JSON.stringify(strikeUsd)}`);
      }
      const expiryIso = tradeDateOrFail(p, expiry, 'expiry');
      symbol = formatOsiSymbol(underlying, expiryIso, right === 'C' ? 'call' : 'put', new Decimal(strikeUsd));
      symbols.set(key, symbol);
    }
    const fields: BarFields = { bidOpen, bidClose, bidSize, askOpen, askClose, askSize };
    pushBarQuotes(out, p, fields, p.timeOfDay(time), spec.barMs, symbol, date, spec.id);
  }
  return new Set(symbols.values());
}

/**
 * Loads every data set from `dataDir` (synchronously; the files are small) into one time-ordered event
 * list. Throws Error naming file and line for a malformed row, and for a configuration that gives one
 * instrument two quote sources, two trade sources or two different trade dates.
 */
export function loadMarketData(dataDir: string, dataSets: readonly MarketDataSetSpec[]): LoadedMarketData {
  const events: MarketEvent[] = [];
  const instruments = new Map<string, InstrumentData>();
  const ids = new Set<string>();
  const register = (symbol: string, date: string, role: 'quoteSource' | 'tradeSource', source: string): void => {
    const known = instruments.get(symbol);
    if (known === undefined) {
      instruments.set(symbol, {
        symbol,
        date,
        quoteSource: role === 'quoteSource' ? source : null,
        tradeSource: role === 'tradeSource' ? source : null,
      });
      return;
    }
    if (known.date !== date) {
      throw new Error(`market data: ${symbol} has data of two trade dates (${known.date}, ${date})`);
    }
    if (known[role] !== null) {
      throw new Error(
        `market data: ${symbol} has two ${role === 'quoteSource' ? 'quote' : 'trade'} data sets (${known[role]}, ${source})`,
      );
    }
    instruments.set(symbol, { ...known, [role]: source });
  };

  for (const spec of dataSets) {
    if (ids.has(spec.id)) {
      throw new Error(`market data: duplicate data set id ${spec.id}`);
    }
    ids.add(spec.id);
    const date = normaliseTradeDate(spec.date);
    if (spec.kind !== 'lean_trade_ticks' && (!Number.isInteger(spec.barMs) || spec.barMs <= 0)) {
      throw new Error(`market data: ${spec.id}: barMs must be a positive integer, got ${spec.barMs}`);
    }
    switch (spec.kind) {
      case 'lean_quote_bars':
        loadQuoteBars(dataDir, spec, date, events);
        register(spec.symbol, date, 'quoteSource', spec.id);
        break;
      case 'lean_trade_ticks':
        loadTradeTicks(dataDir, spec, date, events);
        register(spec.symbol, date, 'tradeSource', spec.id);
        break;
      case 'lean_option_quote_bars':
        for (const symbol of loadOptionQuoteBars(dataDir, spec, date, events)) {
          register(symbol, date, 'quoteSource', spec.id);
        }
        break;
    }
  }
  // Stable sort: events at the same ms keep data set order, then file order.
  events.sort((a, b) => a.timeOfDayMs - b.timeOfDayMs);
  return { events, instruments };
}
