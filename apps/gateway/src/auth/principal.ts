/** Roles of API.md: `viewer` reads, `trader` places and cancels orders, `risk` sets limits and halts, `admin` runs the gateway. */
export const ROLES = ['viewer', 'trader', 'risk', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, from a verified access token. `accounts` is the grant: every account (`*`) or a list. */
export class Principal {
  constructor(
    readonly subject: string,
    readonly roles: ReadonlySet<Role>,
    readonly accounts: '*' | ReadonlySet<string>,
  ) {}

  hasRole(role: Role): boolean {
    return this.roles.has(role);
  }

  canSeeAccount(accountId: string): boolean {
    return this.accounts === '*' || this.accounts.has(accountId);
  }
}
