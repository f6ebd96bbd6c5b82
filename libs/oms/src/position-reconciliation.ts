import { Decimal } from './decimal.js';
import type { OrderSide } from './order.js';

/** A signed position in one symbol (long > 0, short < 0), in shares or contracts (not multiplied). */
export interface PositionQuantity {
  readonly symbol: string;
  readonly quantity: Decimal;
}

/** One symbol whose position differs: ours (from the fills we applied) and the broker's (its report). */
export interface PositionDifference {
  readonly symbol: string;
  readonly ours: Decimal;
  readonly broker: Decimal;
}

/** A broker execution we have not applied, in a symbol whose position differs: evidence for the break. */
export interface UnappliedExecution {
  readonly brokerExecutionId: string;
  readonly symbol: string;
  readonly side: OrderSide;
  readonly quantity: Decimal;
}

const ZERO = new Decimal(0);

function sumBySymbol(positions: readonly PositionQuantity[]): Map<string, Decimal> {
  const sums = new Map<string, Decimal>();
  for (const p of positions) {
    sums.set(p.symbol, (sums.get(p.symbol) ?? ZERO).plus(p.quantity));
  }
  return sums;
}

/**
 * Position reconciliation as a pure function (NautilusTrader's PositionStatusReport check): every symbol
 * in which our net position and the broker's differ, by symbol. A symbol either side lists more than once
 * counts as the sum of its entries; one side lacks is flat there (a flat position we keep for its realised
 * P&L equals a broker that no longer lists it). Quantities compare exactly (decimal), no tolerance: a
 * fractional share is a difference like any other.
 */
export function comparePositions(
  ours: readonly PositionQuantity[],
  broker: readonly PositionQuantity[],
): PositionDifference[] {
  const a = sumBySymbol(ours);
  const b = sumBySymbol(broker);
  const symbols = [...new Set([...a.keys(), ...b.keys()])].sort();
  return symbols
    .map((symbol) => ({ symbol, ours: a.get(symbol) ?? ZERO, broker: b.get(symbol) ?? ZERO }))
    .filter((d) => !d.ours.equals(d.broker));
}

/**
 * Whether `later` confirms `earlier`: the same symbols with the same quantities on both sides. A fill
 * between the reads of the two sides makes a difference that the next read no longer shows (or shows
 * otherwise): such a difference is not a break until it holds still.
 */
export function confirmedDifferences(
  earlier: readonly PositionDifference[],
  later: readonly PositionDifference[],
): PositionDifference[] {
  return later.filter((d) =>
    earlier.some((e) => e.symbol === d.symbol && e.ours.equals(d.ours) && e.broker.equals(d.broker)),
  );
}

/**
 * The executions among `unapplied` that bear on `difference`: those in its symbol, and whether together
 * they account for all of it (their signed sum, buys positive, equals broker − ours).
 */
export function explainDifference<E extends UnappliedExecution>(
  difference: PositionDifference,
  unapplied: readonly E[],
): { readonly executions: E[]; readonly explainsAll: boolean } {
  const executions = unapplied.filter((e) => e.symbol === difference.symbol);
  const signed = executions.reduce((sum, e) => sum.plus(e.side === 'buy' ? e.quantity : e.quantity.negated()), ZERO);
  return { executions, explainsAll: executions.length > 0 && signed.equals(difference.broker.minus(difference.ours)) };
}
