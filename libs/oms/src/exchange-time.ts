/** The time zone of US equity and option market data (Lean: Equity-usa, Option-usa, IndexOption-usa). */
export const NEW_YORK = 'America/New_York';

const DATE = /^(\d{4})-?(\d{2})-?(\d{2})$/;

/**
 * Normalises a trade date given as `YYYY-MM-DD` or `YYYYMMDD` to `YYYY-MM-DD`.
 * Throws RangeError for anything else.
 */
export function normaliseTradeDate(value: string): string {
  const m = DATE.exec(value);
  if (!m) {
    throw new RangeError(`trade date must be YYYY-MM-DD or YYYYMMDD, got ${JSON.stringify(value)}`);
  }
  const [, y, mo, d] = m as unknown as [string, string, string, string];
  const check = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (
    check.getUTCFullYear() !== Number(y) ||
    check.getUTCMonth() !== Number(mo) - 1 ||
    check.getUTCDate() !== Number(d)
  ) {
    throw new RangeError(`not a calendar date: ${JSON.stringify(value)}`);
  }
  return `${y}-${mo}-${d}`;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** The zone's UTC offset at `epochMs`, in ms (local − UTC; New York in summer: −14_400_000). */
export function utcOffsetMs(epochMs: number, timeZone: string): number {
  const parts: Record<string, number> = {};
  for (const p of formatterFor(timeZone).formatToParts(new Date(epochMs))) {
    if (p.type !== 'literal') {
      parts[p.type] = Number(p.value);
    }
  }
  const localAsUtc = Date.UTC(
    parts.year ?? 0,
    (parts.month ?? 1) - 1,
    parts.day ?? 1,
    parts.hour ?? 0,
    parts.minute ?? 0,
    parts.second ?? 0,
  );
  const wholeSecond = Math.floor(epochMs / 1000) * 1000;
  return localAsUtc - wholeSecond;
}

/** Per (zone, date): the offsets at the day's first and last ms; equal on every day without a DST change. */
const dayOffsets = new Map<string, { start: number; end: number }>();

/**
 * Epoch ms of a wall-clock time on a trade date in a time zone: `msOfDay` ms after local midnight of
 * `date` (`YYYY-MM-DD`). The UTC offset comes from the zone's rules (Intl/ICU), so EDT (UTC−4) and EST
 * (UTC−5) are right for any date. On a DST-change day a wall time in the skipped hour maps forward and
 * one in the repeated hour maps to its first occurrence (neither happens during market hours).
 */
export function zonedTimeToEpochMs(date: string, msOfDay: number, timeZone: string = NEW_YORK): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  const midnightAsUtc = Date.UTC(y, m - 1, d);
  const key = `${timeZone}|${date}`;
  let offsets = dayOffsets.get(key);
  if (!offsets) {
    offsets = {
      start: offsetForLocal(midnightAsUtc, timeZone),
      end: offsetForLocal(midnightAsUtc + 86_399_999, timeZone),
    };
    dayOffsets.set(key, offsets);
  }
  const localAsUtc = midnightAsUtc + msOfDay;
  const offset = offsets.start === offsets.end ? offsets.start : offsetForLocal(localAsUtc, timeZone);
  return localAsUtc - offset;
}

/** The offset in force at a local wall time (given as if it were UTC): two passes settle it. */
function offsetForLocal(localAsUtc: number, timeZone: string): number {
  const first = utcOffsetMs(localAsUtc, timeZone);
  const second = utcOffsetMs(localAsUtc - first, timeZone);
  if (first === second) {
    return first;
  }
  return utcOffsetMs(localAsUtc - second, timeZone) === second ? second : first;
}

/**
 * The wall-clock time of day (ms after local midnight of `date`, `YYYY-MM-DD`) of the instant `epochMs`
 * in a time zone: the inverse of zonedTimeToEpochMs. Negative or ≥ one day when the instant is on
 * another date.
 */
export function epochToZonedTimeOfDay(date: string, epochMs: number, timeZone: string = NEW_YORK): number {
  const [y, m, d] = date.split('-').map(Number) as [number, number, number];
  return epochMs + utcOffsetMs(epochMs, timeZone) - Date.UTC(y, m - 1, d);
}

/**
 * The trading day of an instant: its calendar date in America/New_York, `YYYY-MM-DD`. The order-to-trade
 * ratio and the daily loss limit count per trading day (NSE/BSE count OTR per day; US sessions run on
 * New York time). `epochMs` is epoch milliseconds.
 */
export function tradingDayOf(epochMs: number): string {
  return new Date(epochMs + utcOffsetMs(epochMs, NEW_YORK)).toISOString().slice(0, 10);
}
