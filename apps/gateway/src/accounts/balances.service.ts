import { type Clock, Decimal, toDecimalString } from '@gateway/oms';
import type { MarketDataFeed } from '@gateway/brokers';
import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { CLOCK, MARKET_DATA } from '../market/market.tokens.js';
import { multiplierOf, valuePosition } from '../market/position-valuation.js';
import type { Account } from './account.js';
import { type Balances, computePaperBalances } from './balances.js';
import { BalancesRepository } from './balances.repository.js';

export interface BalancesDto {
  cash: string;
  buyingPower: string;
  equity: string;
  currency: 'USD';
  asOf: string;
  source: 'broker' | 'computed';
}

export function toBalancesDto(b: Balances): BalancesDto {
  return {
    cash: toDecimalString(b.cash),
    buyingPower: toDecimalString(b.buyingPower),
    equity: toDecimalString(b.equity),
    currency: b.currency,
    asOf: new Date(b.asOf).toISOString(),
    source: b.source,
  };
}

/**
 * An account's balances: a `paper` account's computed (`computePaperBalances` from PAPER_STARTING_CASH,
 * its applied executions and its positions at the current mark); another broker's as the broker reports
 * them (`ExecutionClient.balances`, Alpaca's `GET /v2/account`). A broker whose adapter reports no
 * balances, or that does not answer, is `503 service.unavailable` with why: figures we cannot vouch
 * for are never made up.
 */
@Injectable()
export class BalancesService {
  constructor(
    private readonly records: BalancesRepository,
    private readonly brokers: AccountBrokers,
    @Inject(MARKET_DATA) private readonly market: MarketDataFeed,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async of(account: Account): Promise<BalancesDto> {
    if (account.broker === 'paper') {
      return toBalancesDto(await this.computed(account));
    }
    const client = await this.brokers.clientFor(account);
    if (client.balances === undefined) {
      throw ApiError.unavailable(`The ${account.broker} adapter does not report balances for account ${account.id}.`);
    }
    try {
      const report = await client.balances();
      return toBalancesDto({
        cash: report.cash,
        buyingPower: report.buyingPower,
        equity: report.equity,
        currency: 'USD',
        asOf: report.asOf,
        source: 'broker',
      });
    } catch (error) {
      this.logger.warn({ accountId: account.id, broker: account.broker, err: error }, 'broker balances not read');
      throw ApiError.unavailable(`The ${account.broker} broker did not report the balances of account ${account.id}.`);
    }
  }

  private async computed(account: Account): Promise<Balances> {
    const [flows, positions] = await Promise.all([
      this.records.cashFlows(account.id),
      this.records.positions(account.id),
    ]);
    const maxAge = this.config.risk.maxQuoteAgeMs;
    return computePaperBalances({
      startingCash: new Decimal(this.config.paper.startingCash),
      flows,
      positions,
      multiplierOf,
      marketValueOf: (p) => valuePosition(p, this.market, maxAge).marketValue,
      asOf: this.clock.now(),
    });
  }
}
