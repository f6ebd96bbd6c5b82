import type { Decimal } from '@gateway/oms';
import { PaperVenue } from '../paper/paper-venue.js';

/**
 * A PaperVenue with the test hooks: fills a test makes happen at the venue, through the exchange's normal
 * fill path (a `trade` report, the fills log, persistence). Not in the production barrel.
 */
export class TestPaperVenue extends PaperVenue {
  /**
   * Fills `quantity` of a working order now. `price` defaults to the order's limit price, else the
   * current quote's ask (buy) or bid (sell). Throws Error for an unknown or no longer working order, a
   * non-positive quantity, a quantity above what is left (never clamped: a test asking for an overfill
   * is wrong), or when no price is given and none is available.
   */
  forceFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void {
    this.exchange.forceFill(clientOrderId, quantity, price);
  }

  /**
   * A fill that raced a cancel or replace at the exchange and arrives after it: applies `quantity` to an
   * order that is no longer working (`canceled` or `replaced`); see PaperExchange.lateFill.
   */
  lateFill(clientOrderId: string, quantity: Decimal, price?: Decimal): void {
    this.exchange.lateFill(clientOrderId, quantity, price);
  }
}
