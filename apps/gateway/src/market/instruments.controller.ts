import { parseInstrument } from '@gateway/oms';
import type { MarketDataFeed } from '@gateway/brokers';
import { Controller, Get, Inject, Query } from '@nestjs/common';
import { z } from 'zod';
import { ApiError } from '../common/api-error.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { type InstrumentDto, listInstruments } from './instruments.js';
import { instrumentsQuery } from './instruments.schema.js';
import { MARKET_DATA } from './market.tokens.js';

@Controller('v1/instruments')
export class InstrumentsController {
  constructor(@Inject(MARKET_DATA) private readonly market: MarketDataFeed) {}

  /**
   * `GET /v1/instruments?symbol=&root=` → `{ instruments }`: what this deployment can trade now
   * (`listInstruments`), any role. A `symbol` that is neither a ticker nor an OSI symbol, or a bad
   * `root` or unknown parameter, is `422 validation.failed`; a well-formed one not traded here lists nothing.
   */
  @Get()
  list(@Query(new ZodPipe(instrumentsQuery)) q: z.infer<typeof instrumentsQuery>): { instruments: InstrumentDto[] } {
    let symbol: string | undefined;
    if (q.symbol !== undefined) {
      const instrument = parseInstrument(q.symbol);
      if (!instrument) {
        throw ApiError.validation([{ path: 'symbol', message: 'is not an equity ticker or an OCC/OSI option symbol' }]);
      }
      symbol = instrument.symbol;
    }
    return {
      instruments: listInstruments(this.market, {
        ...(symbol === undefined ? {} : { symbol }),
        ...(q.root === undefined ? {} : { root: q.root }),
      }),
    };
  }
}
