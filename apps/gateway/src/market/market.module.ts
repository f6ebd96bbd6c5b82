import type { Clock } from '@gateway/oms';
import type { BrokerRegistry, MarketDataFeed } from '@gateway/brokers';
import { type DynamicModule, Module } from '@nestjs/common';
import type { BrokerSecrets } from '../credentials/broker-secrets.js';
import { AccountBrokers } from './account-brokers.js';
import { BROKER_REGISTRY, CLOCK, MARKET_DATA, PAPER_REPLAY } from './market.tokens.js';
import { InstrumentsController } from './instruments.controller.js';
import { QuotesController } from './quotes.controller.js';
import { ReplayController } from './replay.controller.js';

/** What main.ts built of the broker side before Nest starts. */
export interface MarketDependencies {
  /** The deployment's brokers: every account's ExecutionClient and their execution reports. */
  readonly brokers: BrokerRegistry<BrokerSecrets>;
  /** Quotes (the risk checks' reference prices, `GET /v1/quotes/{symbol}`, the stream's quotes). */
  readonly marketData: MarketDataFeed;
  /** The paper venue's replay control, when the venue is the paper venue (else `null`). */
  readonly paperReplay: unknown;
  /** The time every order, risk and audit record is stamped with. */
  readonly clock: Clock;
}

/**
 * The broker side and the clock, global: the `BROKER_REGISTRY` and `AccountBrokers` (each account's
 * ExecutionClient, per-broker entry blocks), `MARKET_DATA` and `CLOCK` ports that orders, risk, audit and
 * the stream inject, and the quotes, instruments and paper replay routes. `PAPER_REPLAY` stays inside: only the replay
 * routes use it.
 */
@Module({})
export class MarketModule {
  static register(deps: MarketDependencies): DynamicModule {
    return {
      module: MarketModule,
      global: true,
      controllers: [QuotesController, InstrumentsController, ReplayController],
      providers: [
        { provide: BROKER_REGISTRY, useValue: deps.brokers },
        AccountBrokers,
        { provide: MARKET_DATA, useValue: deps.marketData },
        { provide: PAPER_REPLAY, useValue: deps.paperReplay },
        { provide: CLOCK, useValue: deps.clock },
      ],
      exports: [BROKER_REGISTRY, AccountBrokers, MARKET_DATA, CLOCK],
    };
  }
}
