import { parseInstrument } from '@gateway/oms';
import type { MarketDataFeed } from '@gateway/brokers';
import { Controller, Get, Inject, Param } from '@nestjs/common';
import { ApiError } from '../common/api-error.js';
import { MARKET_DATA } from './market.tokens.js';
import { type QuoteDto, toQuoteDto } from './quote.mapper.js';

@Controller('v1/quotes')
export class QuotesController {
  constructor(@Inject(MARKET_DATA) private readonly market: MarketDataFeed) {}

  /** `GET /v1/quotes/{symbol}`: the latest quote; an OSI symbol may be padded (URL-encoded) or unpadded. */
  @Get(':symbol')
  get(@Param('symbol') symbol: string): QuoteDto {
    const instrument = parseInstrument(symbol);
    const quote = instrument ? this.market.getQuote(instrument.symbol) : undefined;
    if (!quote) {
      throw new ApiError(404, 'quote.not_found', 'No quote', `No quote for ${JSON.stringify(symbol)}.`);
    }
    return toQuoteDto(quote, this.market);
  }
}
