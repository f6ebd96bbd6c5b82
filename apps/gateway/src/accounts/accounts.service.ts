import { Inject, Injectable } from '@nestjs/common';
import type { Environment, Principal, Role } from '../auth/principal.js';
import { AccountBrokers } from '../market/account-brokers.js';
import { GATEWAY_CONFIG, type GatewayConfig } from '../config/config.js';
import { ApiError } from '../common/api-error.js';
import { isUuid } from '../common/ids.js';
import type { Account, AccountGrant } from './account.js';
import { AccountGrantRepository } from './account-grant.repository.js';
import { type AccountDto, toAccountDto } from './account.mapper.js';
import { AccountRepository } from './account.repository.js';
import { TradingStateRepository } from './trading-state.repository.js';

/**
 * Which accounts a caller reaches. An account is visible when the token is granted it and its
 * environment, and the deployment serves that environment (`GATEWAY_ENVIRONMENTS`); anything else answers
 * exactly as an account that does not exist (404, no existence leak). Every route and the stream resolve
 * accounts here, so a paper-only token never reads, places or cancels anything of a live account.
 */
@Injectable()
export class AccountsService {
  private readonly environments: ReadonlySet<Environment>;

  constructor(
    private readonly accounts: AccountRepository,
    private readonly grants: AccountGrantRepository,
    private readonly tradingStates: TradingStateRepository,
    private readonly brokers: AccountBrokers,
    @Inject(GATEWAY_CONFIG) config: GatewayConfig,
  ) {
    this.environments = new Set(config.environments);
  }

  /** The accounts the principal may see (its token's `accounts` claim and its database grants), by name. */
  async listVisible(principal: Principal): Promise<Account[]> {
    const environments = [...this.environments].filter((e) => principal.canUseEnvironment(e));
    if (environments.length === 0) {
      return [];
    }
    if (principal.accounts === '*') {
      return this.accounts.list(environments);
    }
    const granted = await this.grants.accountIdsOf(principal.subject);
    const ids = [...new Set([...principal.accounts, ...granted])].filter((id) => isUuid(id));
    return ids.length === 0 ? [] : this.accounts.list(environments, ids);
  }

  /**
   * The account, if the principal may see it: granted by its token's `accounts` claim (with all the
   * token's roles) or by a database grant (with the token's roles cut down to the grant's), in an
   * environment the token and the deployment both have. Otherwise `404 account.not_found`, exactly as
   * for a missing account. Visible through a grant whose roles, cut down to the token's, include none the
   * route needs (`principal.routeRoles`; any role for a read): `403 auth.forbidden`.
   */
  async getVisible(principal: Principal, accountId: string): Promise<Account> {
    if (!isUuid(accountId)) {
      throw ApiError.accountNotFound(accountId);
    }
    const grant = principal.canSeeAccount(accountId) ? null : await this.grants.find(principal.subject, accountId);
    if (!principal.canSeeAccount(accountId) && !grant) {
      throw ApiError.accountNotFound(accountId);
    }
    const account = await this.accounts.findById(accountId);
    if (!account || !this.environments.has(account.environment) || !principal.canUseEnvironment(account.environment)) {
      throw ApiError.accountNotFound(accountId);
    }
    // Through a database grant the token's roles are cut down to the granted ones.
    const effective = grant ? grant.roles.filter((r) => principal.hasRole(r as Role)) : null;
    if (effective && !principal.routeRoles.some((r) => effective.includes(r))) {
      throw ApiError.forbidden(
        `On account ${accountId} you may act as ${effective.join(', ') || 'nothing'} (your token's roles within your grant); this needs one of: ${principal.routeRoles.join(', ')}.`,
      );
    }
    return account;
  }

  /** The public Accounts (API.md), with their effective trading state. */
  async describe(accounts: readonly Account[]): Promise<AccountDto[]> {
    const global = await this.tradingStates.global();
    const connections = await this.accounts.brokerConnections(accounts.map((a) => a.id));
    return accounts.map((a) =>
      toAccountDto(a, global, this.brokers.entriesBlockedReason(a), connections.get(a.id) ?? null),
    );
  }

  async describeOne(account: Account): Promise<AccountDto> {
    const connections = await this.accounts.brokerConnections([account.id]);
    return toAccountDto(
      account,
      await this.tradingStates.global(),
      this.brokers.entriesBlockedReason(account),
      connections.get(account.id) ?? null,
    );
  }

  /**
   * `POST /v1/accounts` (role admin with the `*` grant): a new account on one of this deployment's brokers.
   * `403 auth.forbidden` without the `*` grant or the environment in the token; `422
   * account.environment_not_served` for an environment the deployment (GATEWAY_ENVIRONMENTS) or the
   * broker's adapter does not serve (a live account in a paper-only deployment); `422
   * account.broker_not_configured` for a broker not in BROKERS; `409 account.name_taken`.
   */
  async create(
    by: Principal,
    request: { name: string; broker: string; environment: Environment; brokerAccountId?: string | undefined },
  ): Promise<Account> {
    if (by.accounts !== '*') {
      throw ApiError.forbidden('Creating an account needs a grant on every account (*).');
    }
    if (!this.environments.has(request.environment)) {
      throw new ApiError(
        422,
        'account.environment_not_served',
        'Environment not served',
        `This deployment serves ${[...this.environments].join(', ')} accounts only (GATEWAY_ENVIRONMENTS): no ${request.environment} account is created.`,
        {},
        [{ path: 'environment', message: `not served by this deployment` }],
      );
    }
    const configured = this.brokers.registry.brokers();
    const adapter = this.brokers.registry.adapterOf(request.broker);
    if (!adapter) {
      throw new ApiError(
        422,
        'account.broker_not_configured',
        'Broker not configured',
        `Broker ${request.broker} is not configured in this deployment (BROKERS: ${configured.join(', ')}).`,
        {},
        [{ path: 'broker', message: `not one of ${configured.join(', ')}` }],
      );
    }
    if (!this.brokers.serves(request.broker, request.environment)) {
      throw new ApiError(
        422,
        'account.environment_not_served',
        'Environment not served',
        `Broker ${request.broker} (adapter ${adapter.name}) serves ${adapter.environments.join(', ')} accounts only.`,
        {},
        [{ path: 'environment', message: `not served by broker ${request.broker}` }],
      );
    }
    if (!by.canUseEnvironment(request.environment)) {
      throw ApiError.forbidden(`Your token is not granted the ${request.environment} environment.`);
    }
    const created = await this.accounts.create({
      name: request.name,
      broker: request.broker,
      environment: request.environment,
      brokerAccountId: request.brokerAccountId ?? null,
    });
    if (!created) {
      throw new ApiError(409, 'account.name_taken', 'Account name taken', `An account named ${request.name} exists.`);
    }
    return created;
  }

  /** `PATCH /v1/accounts/{id}` (role admin): whether a live account takes orders; the account after it. */
  async setLiveEnabled(account: Account, liveEnabled: boolean): Promise<Account> {
    await this.accounts.setLiveEnabled(account.id, liveEnabled);
    return (await this.accounts.findById(account.id)) ?? account;
  }

  /** `GET /v1/accounts/{id}/grants`: the account's database grants. */
  listGrants(accountId: string): Promise<AccountGrant[]> {
    return this.grants.listForAccount(accountId);
  }

  /** Grants `subject` the `roles` on the account (replacing an earlier grant); recorded with who granted it. */
  async putGrant(by: Principal, accountId: string, subject: string, roles: readonly Role[]): Promise<AccountGrant> {
    const grant: AccountGrant = {
      subject,
      accountId,
      roles: [...new Set(roles)],
      grantedBy: by.subject,
      grantedAt: new Date(),
    };
    await this.grants.put(grant);
    return grant;
  }

  /** Withdraws a grant; 404 `grant.not_found` when there is none. */
  async deleteGrant(accountId: string, subject: string): Promise<void> {
    if (!(await this.grants.delete(subject, accountId))) {
      throw new ApiError(404, 'grant.not_found', 'Grant not found', `${subject} has no grant on account ${accountId}.`);
    }
  }

  /**
   * Refuses orders for an account that may not trade through this gateway: a live account without its
   * `liveEnabled` flag (`403 account.live_not_enabled`), or a live account whose broker's adapter does not
   * serve live accounts here (`503 service.unavailable`): a paper venue never receives a live account's order.
   */
  assertTradable(account: Account): void {
    if (account.environment !== 'live') {
      return;
    }
    if (!account.liveEnabled) {
      throw new ApiError(
        403,
        'account.live_not_enabled',
        'Live trading not enabled',
        `Account ${account.id} is live and its liveEnabled flag is off: no order is accepted.`,
      );
    }
    if (!this.brokers.serves(account.broker, 'live')) {
      throw ApiError.unavailable(`No live broker is configured for account ${account.id} (${account.broker}).`);
    }
  }

  /** Creates the named paper account on the paper venue if it is missing (the demo account); returns it. */
  ensurePaperAccount(name: string): Promise<Account> {
    return this.accounts.ensurePaperAccount(name);
  }
}
