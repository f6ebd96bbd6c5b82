import { Decimal, toDecimalString } from '@gateway/oms';
import type { OrderIntent } from './order-intent.js';

export type PositionReduction = { readonly reduces: true } | { readonly reduces: false; readonly why: string };

const ZERO = new Decimal(0);

/**
 * Whether `intent` only reduces the signed position `positionQuantity`: it trades against the position
 * for at most its size, so it can neither open, increase nor flip it. `positionEffect: 'open'` is taken
 * at its word (never reducing); `'close'` is a claim, verified like any other order.
 * `workingSameSide` (shares or contracts, default 0) is what the caller's other working orders on the
 * intent's side already take from the position: the intent must fit in what is left of it, so that it
 * cannot flip the position once they all fill.
 */
export function positionReduction(
  intent: Pick<OrderIntent, 'side' | 'quantity' | 'positionEffect'>,
  positionQuantity: Decimal,
  workingSameSide: Decimal = ZERO,
): PositionReduction {
  const order = `${intent.side} ${toDecimalString(intent.quantity)}`;
  if (intent.positionEffect === 'open') {
    return { reduces: false, why: `${order} is marked to open a position` };
  }
  if (positionQuantity.isZero()) {
    return { reduces: false, why: `${order} would open a position from flat` };
  }
  const long = positionQuantity.isPositive();
  const position = `the ${long ? 'long' : 'short'} position of ${toDecimalString(positionQuantity.abs())}`;
  if ((intent.side === 'sell') !== long) {
    return { reduces: false, why: `${order} would increase ${position}` };
  }
  if (intent.quantity.plus(workingSameSide).greaterThan(positionQuantity.abs())) {
    const working = workingSameSide.isZero()
      ? ''
      : ` with working ${intent.side} orders of ${toDecimalString(workingSameSide)}`;
    return { reduces: false, why: `${order}${working} would flip ${position}` };
  }
  return { reduces: true };
}

export function reducesPosition(
  intent: Pick<OrderIntent, 'side' | 'quantity' | 'positionEffect'>,
  positionQuantity: Decimal,
  workingSameSide: Decimal = ZERO,
): boolean {
  return positionReduction(intent, positionQuantity, workingSameSide).reduces;
}
