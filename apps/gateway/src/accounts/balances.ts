import { Decimal, type Position } from '@gateway/oms';

/** The executions of an account summed per (symbol, side): Σ quantity × price, before the multiplier. */
export interface CashFlow {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  /** Σ quantity × price of the applied executions, USD per share or contract. */
  readonly notional: Decimal;
}

/** An account's balances in USD (API.md "Additions": `GET /v1/accounts/{id}/balances`). */
export interface Balances {
  readonly cash: Decimal;
  readonly buyingPower: Decimal;
  readonly equity: Decimal;
  readonly currency: 'USD';
  /** Epoch ms the figures are of. */
  readonly asOf: number;
  readonly source: 'broker' | 'computed';
}

/**
 * The balances of a paper account, computed (the paper venue keeps no account of its own):
 * - cash = startingCash − Σ buys + Σ sells, each execution's quantity × price × the contract multiplier
 *   (100 for an option); the paper venue charges no fees, so there are none to subtract;
 * - equity = cash + Σ the positions' market value at the current mark (`valueOf`); a position without a
 *   current quote counts at its cost (quantity × averagePrice × multiplier), so equity never jumps to
 *   cash alone when a quote goes stale;
 * - buyingPower = cash, floored at 0: a paper account is a cash account (no margin, no shorting credit),
 *   and working orders reserve nothing (the risk checks bound them).
 */
export function computePaperBalances(input: {
  readonly startingCash: Decimal;
  readonly flows: readonly CashFlow[];
  readonly positions: readonly Position[];
  readonly multiplierOf: (symbol: string) => Decimal;
  readonly marketValueOf: (position: Position) => Decimal | null;
  readonly asOf: number;
}): Balances {
  let cash = input.startingCash;
  for (const flow of input.flows) {
    const amount = flow.notional.times(input.multiplierOf(flow.symbol));
    cash = flow.side === 'buy' ? cash.minus(amount) : cash.plus(amount);
  }
  let equity = cash;
  for (const position of input.positions) {
    if (position.quantity.isZero()) {
      continue;
    }
    const value =
      input.marketValueOf(position) ??
      position.quantity.times(position.averagePrice).times(input.multiplierOf(position.symbol));
    equity = equity.plus(value);
  }
  return {
    cash,
    buyingPower: Decimal.max(cash, 0),
    equity,
    currency: 'USD',
    asOf: input.asOf,
    source: 'computed',
  };
}
