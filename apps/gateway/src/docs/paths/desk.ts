import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { balancesSchema } from '../../accounts/balances.schema.js';
import { instrumentListSchema, instrumentsQuery } from '../../market/instruments.schema.js';
import { accountPath, json, problem } from '../responses.js';

/** Accounts and instruments as a desk sees them: balances and the tradable instruments. */
export const deskPaths: ZodOpenApiPathsObject = {
  '/v1/accounts/{accountId}/balances': {
    get: {
      tags: ['Accounts'],
      summary:
        "Cash, buying power and equity in USD. An account at a broker that reports them (Alpaca: GET /v2/account): the broker's figures, source broker, asOf when they were read. " +
        'A paper account: computed, source computed: cash = PAPER_STARTING_CASH − Σ buys + Σ sells (quantity × price × multiplier, no fees), ' +
        'equity = cash + the positions at the current mark (mid, else last; at cost without a current quote), buying power = cash floored at 0 (a cash account)',
      requestParams: { path: accountPath },
      responses: {
        '200': json('', balancesSchema),
        '401': problem('auth.unauthenticated: missing, invalid or expired token'),
        '404': problem('account.not_found (also for accounts that are not yours)'),
        '503': problem("service.unavailable: the account's broker does not report balances, or did not answer"),
      },
    },
  },
  '/v1/instruments': {
    get: {
      tags: ['Market data'],
      summary:
        "What this deployment can trade now, with each product's rules: every symbol the market data quotes (the symbols an order may name) " +
        'that is a supported product, options not yet past their last trading time on the market clock. Products without quotes ' +
        '(QQQ and IWM with the recorded data of the paper venue) are not listed. Filters: symbol (exact; OSI padded or not), root (OSI root or ticker)',
      requestParams: { query: instrumentsQuery },
      responses: {
        '200': json('', instrumentListSchema),
        '401': problem('auth.unauthenticated: missing, invalid or expired token'),
        '422': problem('validation.failed: symbol neither a ticker nor an OSI symbol, bad root, unknown parameter'),
      },
    },
  },
};
