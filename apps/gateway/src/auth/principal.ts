/** Roles of API.md: `viewer` reads, `trader` places and cancels orders, `risk` sets limits and halts, `admin` runs the gateway. */
export const ROLES = ['viewer', 'trader', 'risk', 'admin'] as const;
export type Role = (typeof ROLES)[number];

export const ENVIRONMENTS = ['paper', 'live'] as const;
export type Environment = (typeof ENVIRONMENTS)[number];

/**
 * Who is calling, from a verified access token. `accounts` is the grant: every account (`*`) or a list.
 * `environments`: the trading environments the token is granted (claim `environments`, or the scopes
 * `trade:paper` / `trade:live`); a token that names none is granted `paper` only, so nothing reaches a
 * live account without saying so.
 */
export class Principal {
  constructor(
    readonly subject: string,
    readonly roles: ReadonlySet<Role>,
    readonly accounts: '*' | ReadonlySet<string>,
    readonly environments: ReadonlySet<Environment> = new Set<Environment>(['paper']),
    /**
     * The roles the route being served needs (one of them), set by the AuthGuard: an account reached
     * through a database grant is checked against the roles granted there (AccountsService.getVisible).
     * Default: any role (a read, as the stream's subscriptions are).
     */
    readonly routeRoles: readonly Role[] = ROLES,
  ) {}

  /** The same principal, serving a route that needs one of `roles`. */
  forRoute(roles: readonly Role[]): Principal {
    return new Principal(this.subject, this.roles, this.accounts, this.environments, roles);
  }

  canUseEnvironment(environment: Environment): boolean {
    return this.environments.has(environment);
  }

  hasRole(role: Role): boolean {
    return this.roles.has(role);
  }

  /** Whether the token carries any role of the gateway (one with none may do nothing, not even read). */
  hasAnyRole(): boolean {
    return ROLES.some((r) => this.roles.has(r));
  }

  canSeeAccount(accountId: string): boolean {
    return this.accounts === '*' || this.accounts.has(accountId);
  }
}
