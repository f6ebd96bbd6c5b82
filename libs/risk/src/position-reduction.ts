import { toDecimalString, type Decimal } from '@gateway/oms';
import type { OrderIntent } from './order-intent.js';

export type PositionReduction = { readonly reduces: true } | { readonly reduces: false; readonly why: string };

/**
 * Whether `intent` only reduces the signed position `positionQuantity`: it trades against the position
 * for at most its size, so it can neither open, increase nor flip it. `positionEffect: 'open'` is taken
 * at its word (never reducing); `'close'` is a claim, verified like any other order. Other working
 * orders in the symbol are not counted here (a later reduce-only check across working orders will).
 */
export function positionReduction(
  intent: Pick<OrderIntent, 'side' | 'quantity' | 'positionEffect'>,
  positionQuantity: Decimal,
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
  if (intent.quantity.greaterThan(positionQuantity.abs())) {
    return { reduces: false, why: `${order} would flip ${position}` };
  }
  return { reduces: true };
}

export function reducesPosition(
  intent: Pick<OrderIntent, 'side' | 'quantity' | 'positionEffect'>,
  positionQuantity: Decimal,
): boolean {
  return positionReduction(intent, positionQuantity).reduces;
}
