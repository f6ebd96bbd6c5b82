/** Formats an instant as its calendar date in New York, where the US equity and options markets trade. */
const NEW_YORK_DATE = new Intl.DateTimeFormat('en-US', {
  timeZone: 'America/New_York',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
});

/**
 * The trading day of an instant: its calendar date in America/New_York, `YYYY-MM-DD`. The order-to-trade
 * ratio and the daily loss limit count per trading day (NSE/BSE count OTR per day; US sessions run on
 * New York time). `epochMs` is epoch milliseconds.
 */
export function tradingDayOf(epochMs: number): string {
  const parts = Object.fromEntries(NEW_YORK_DATE.formatToParts(epochMs).map((p) => [p.type, p.value]));
  return `${parts['year']}-${parts['month']}-${parts['day']}`;
}
