import { parseInstrument } from '@gateway/oms';
import { ApiError } from '../../common/api-error.js';
import type { PlaceOrderRequest } from '../place-order.request.js';

/**
 * The checks of a place-order request that need more than its shape (the edge's zod schema has checked
 * that): the symbol is an equity ticker or an OCC/OSI option symbol, one this venue trades
 * (`tradableSymbols`, the market data's symbols, known only at run time), and an option's quantity is
 * whole contracts. Returns the request with the symbol in its canonical form (the form the idempotency
 * hash covers); throws `422 validation.failed` at `symbol` or `quantity` otherwise.
 */
export function validatePlaceOrder(request: PlaceOrderRequest, tradableSymbols: readonly string[]): PlaceOrderRequest {
  const instrument = parseInstrument(request.symbol);
  if (!instrument) {
    throw ApiError.validation([{ path: 'symbol', message: 'is not an equity ticker or an OCC/OSI option symbol' }]);
  }
  if (!tradableSymbols.includes(instrument.symbol)) {
    throw ApiError.validation([{ path: 'symbol', message: `unknown symbol ${instrument.symbol}: not tradable here` }]);
  }
  if (instrument.kind === 'option' && !request.quantity.isInteger()) {
    throw ApiError.validation([{ path: 'quantity', message: 'options trade in whole contracts' }]);
  }
  return { ...request, symbol: instrument.symbol };
}
