import type { Clock } from '@gateway/oms';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Account } from '../accounts/account.js';
import type { Principal } from '../auth/principal.js';
import { ApiError } from '../common/api-error.js';
import { LOGGER } from '../common/logger.js';
import { GATEWAY_CONFIG, type GatewayConfig, OAUTH_BROKERS, type OAuthBroker } from '../config/config.js';
import { CREDENTIAL_VAULT, type CredentialOwner, type CredentialVault } from '../credentials/broker-secrets.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { CLOCK } from '../market/market.tokens.js';
import { hashState, openVerifier, sealVerifier } from './authorization-state.js';
import { type BrokerConnection, type ConnectionStatus, isOAuthBroker } from './broker-connection.js';
import { BrokerConnectionRepository } from './broker-connection.repository.js';
import { BrokerOAuthClient, TokenEndpointError, type TokenSet } from './broker-oauth-client.js';
import { refreshTime } from './refresh-schedule.js';

/** `POST …/broker-connection`'s answer. */
export interface AuthorizationStart {
  readonly authorizeUrl: string;
  readonly state: string;
  readonly expiresAt: string;
}

/** `GET …/broker-connection`'s answer (API.md "Additions"). Times ISO-8601. */
export interface BrokerConnectionDto {
  readonly status: ConnectionStatus;
  readonly accessExpiresAt: string | null;
  readonly refreshExpiresAt: string | null;
  readonly lastRefreshAt: string | null;
  readonly lastRefreshOutcome: string | null;
}

/** What the callback page says: its HTTP status, a title and one sentence. Never a secret. */
export interface CallbackOutcome {
  readonly status: number;
  readonly title: string;
  readonly message: string;
}

const iso = (t: number | null) => (t === null ? null : new Date(t).toISOString());

export function toConnectionDto(c: BrokerConnection | null): BrokerConnectionDto {
  return c === null
    ? {
        status: 'disconnected',
        accessExpiresAt: null,
        refreshExpiresAt: null,
        lastRefreshAt: null,
        lastRefreshOutcome: null,
      }
    : {
        status: c.status,
        accessExpiresAt: iso(c.accessExpiresAt),
        refreshExpiresAt: iso(c.refreshExpiresAt),
        lastRefreshAt: iso(c.lastRefreshAt),
        lastRefreshOutcome: c.lastRefreshOutcome,
      };
}

export const ownerOf = (a: Pick<Account, 'id' | 'broker' | 'environment'>): CredentialOwner => ({
  accountId: a.id,
  broker: a.broker,
  environment: a.environment,
});

/**
 * Connecting an account to its broker with the OAuth2 authorization-code grant (README, "Connecting a
 * broker"): the authorize URL with a single-use `state` (and PKCE where configured), the callback that
 * checks the state, exchanges the code once and stores the tokens through the credential vault, the
 * connection's status, and forgetting it. One OAuth client per configured broker (`OAUTH_<BROKER>_*`).
 */
@Injectable()
export class BrokerConnectionsService {
  private readonly clients = new Map<OAuthBroker, BrokerOAuthClient>();

  constructor(
    private readonly repository: BrokerConnectionRepository,
    @Inject(CREDENTIAL_VAULT) private readonly vault: CredentialVault,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(AccountBrokers) private readonly brokers: AccountBrokers | null = null,
  ) {
    for (const broker of OAUTH_BROKERS) {
      const client = config.oauth.clients[broker];
      if (client) {
        this.clients.set(broker, new BrokerOAuthClient(broker, client, () => this.clock.now()));
      }
    }
  }

  /** The OAuth client of `broker`, or null when it is not configured. */
  client(broker: string): BrokerOAuthClient | null {
    return isOAuthBroker(broker) ? (this.clients.get(broker) ?? null) : null;
  }

  /**
   * Starts an authorization for the account: 422 `broker_connection.unsupported` when its broker does not
   * connect over OAuth here, 422 `validation.failed` for a `redirectUri` that is not this broker's callback.
   */
  async start(account: Account, by: Principal, redirectUri: string | undefined): Promise<AuthorizationStart> {
    const client = this.client(account.broker);
    if (client === null || !isOAuthBroker(account.broker)) {
      throw new ApiError(
        422,
        'broker_connection.unsupported',
        'Broker does not connect over OAuth',
        `Accounts at ${account.broker} do not connect over OAuth2 in this deployment (OAUTH_<BROKER>_CLIENT_ID unset).`,
      );
    }
    const redirect = redirectUri ?? client.config.redirectUri;
    if (!isCallbackOf(redirect, account.broker)) {
      throw ApiError.validation([
        { path: 'redirectUri', message: `must be an http(s) URL ending in /v1/oauth/${account.broker}/callback` },
      ]);
    }
    const now = this.clock.now();
    const { url, state, verifier } = await client.authorization(redirect);
    const expiresAt = now + this.config.oauth.stateTtlSeconds * 1000;
    await this.repository.addPending(
      hashState(state),
      {
        accountId: account.id,
        broker: account.broker,
        redirectUri: redirect,
        sealedVerifier: verifier === null ? null : sealVerifier(state, verifier),
        expiresAt,
      },
      by.subject,
      now,
    );
    this.logger.info({ accountId: account.id, broker: account.broker }, 'broker authorization started');
    return { authorizeUrl: url, state, expiresAt: new Date(expiresAt).toISOString() };
  }

  /**
   * The callback: finds and consumes the pending authorization by `state` (wrong, expired or used: 400),
   * exchanges the code once, stores the tokens encrypted and marks the connection `connected` (lifting an
   * entry block for a needed login). Answers what the page says; never throws for the caller's input.
   */
  async complete(
    broker: string,
    query: { code?: unknown; state?: unknown; error?: unknown },
  ): Promise<CallbackOutcome> {
    const refuse = (message: string, status = 400): CallbackOutcome => ({
      status,
      title: 'Broker not connected',
      message,
    });
    const client = this.client(broker);
    if (client === null || !isOAuthBroker(broker)) {
      return refuse(`This gateway does not connect ${broker.slice(0, 40)} accounts over OAuth.`, 404);
    }
    const state = typeof query.state === 'string' ? query.state : '';
    if (!/^[A-Za-z0-9_-]{16,128}$/.test(state)) {
      return refuse(
        'The authorization request is missing or malformed (no valid state). Start again from the gateway.',
      );
    }
    const now = this.clock.now();
    const pending = await this.repository.takePending(hashState(state), broker, now);
    if (pending === null) {
      return refuse(
        'This authorization is unknown or has already been used. Start a new one (POST /v1/accounts/{id}/broker-connection).',
      );
    }
    if (pending.expiresAt <= now) {
      return refuse('This authorization has expired. Start a new one.');
    }
    if (typeof query.error === 'string') {
      const error = /^[a-z_]{1,64}$/.test(query.error) ? query.error : 'error';
      return refuse(`The broker did not authorize the gateway (${error}).`);
    }
    const code = typeof query.code === 'string' ? query.code : '';
    if (code === '' || code.length > 2048) {
      return refuse('The broker sent no authorization code.');
    }
    const target = await this.repository.account(pending.accountId);
    if (target === null) {
      return refuse('The account of this authorization no longer exists.', 404);
    }
    let tokens: TokenSet;
    try {
      const verifier = pending.sealedVerifier === null ? null : openVerifier(state, pending.sealedVerifier);
      tokens = await client.exchange(code, state, pending.redirectUri, verifier);
    } catch (error) {
      const e = error instanceof TokenEndpointError ? error : new TokenEndpointError('exchange_failed', false, null);
      this.logger.warn({ accountId: target.id, broker, code: e.code, status: e.status }, 'broker code exchange failed');
      return e.permanent || (e.status !== null && e.status < 500)
        ? refuse(`The broker refused the authorization code (${e.code}). Start a new authorization.`)
        : refuse(`The broker could not be reached to complete the authorization (${e.code}). Try again.`, 502);
    }
    await this.vault.store(ownerOf(target), {
      kind: 'oauth',
      accessToken: tokens.accessToken,
      accessExpiresAt: tokens.accessExpiresAt,
      refreshToken: tokens.refreshToken,
      refreshExpiresAt: tokens.refreshExpiresAt,
    });
    this.brokers?.credentialsChanged(target); // its client, if running, is rebuilt with the new tokens
    await this.repository.connected(
      target.id,
      broker,
      {
        status: 'connected',
        accessExpiresAt: tokens.accessExpiresAt,
        refreshExpiresAt: tokens.refreshExpiresAt,
        nextRefreshAt:
          tokens.refreshToken === null ? null : refreshTime(tokens.accessExpiresAt, now, this.config.oauth),
        lastRefreshAt: null,
        lastRefreshOutcome: null,
        refreshFailures: 0,
      },
      now,
    );
    this.logger.info(
      { accountId: target.id, broker, accessExpiresAt: iso(tokens.accessExpiresAt) },
      'broker connected over OAuth',
    );
    return {
      status: 200,
      title: 'Broker connected',
      message: `Account ${target.name.slice(0, 100)} is connected to ${broker}. You can close this page.`,
    };
  }

  async describe(account: Account): Promise<BrokerConnectionDto> {
    return toConnectionDto(await this.repository.find(account.id));
  }

  /**
   * Revokes the account's tokens at the broker where it has a revocation endpoint (a failure there is logged,
   * and the tokens are forgotten all the same), then forgets the credential and the connection.
   */
  async disconnect(account: Account): Promise<void> {
    const client = this.client(account.broker);
    if (client !== null && client.config.revokeUrl !== null) {
      try {
        const secrets = await this.vault.load(ownerOf(account));
        if (secrets?.kind === 'oauth') {
          await client.revoke(
            secrets.refreshToken ?? secrets.accessToken,
            secrets.refreshToken ? 'refresh_token' : 'access_token',
          );
        }
      } catch (error) {
        const code = error instanceof TokenEndpointError ? error.code : (error as Error).name;
        this.logger.warn(
          { accountId: account.id, broker: account.broker, code },
          'broker token revocation failed; forgetting the tokens anyway',
        );
      }
    }
    await this.vault.forget(account.id);
    this.brokers?.credentialsChanged(account);
    await this.repository.forget(account.id);
    this.logger.info({ accountId: account.id, broker: account.broker }, 'broker connection forgotten');
  }
}

/** An http(s) URL whose path ends in the gateway's callback of `broker` (so the code comes back here). */
function isCallbackOf(uri: string, broker: OAuthBroker): boolean {
  try {
    const url = new URL(uri);
    return (
      (url.protocol === 'https:' || url.protocol === 'http:') && url.pathname.endsWith(`/v1/oauth/${broker}/callback`)
    );
  } catch {
    return false;
  }
}
