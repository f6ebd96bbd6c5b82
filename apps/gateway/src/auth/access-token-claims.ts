import type { JWTPayload } from 'jose';
import { TokenRefused } from './access-token-check.js';
import { type Environment, ENVIRONMENTS, Principal, type Role, ROLES } from './principal.js';

/** Where the roles of a verified token are read from. */
export interface ClaimMapping {
  /**
   * The claim holding role names (AUTH_ROLES_CLAIM): an array of strings or one space-separated string.
   * When no claim has that literal name, a dotted name is followed into objects (`realm_access.roles`),
   * so URL-named claims (`https://example.com/roles`) and nested ones both work.
   */
  readonly rolesClaim: string;
  /**
   * Scopes `<prefix><role>` grant the role too (AUTH_ROLE_SCOPE_PREFIX, e.g. `gateway:trader`), for
   * client-credentials clients whose issuer speaks scopes, not role claims. null: scopes grant no role.
   */
  readonly roleScopePrefix: string | null;
}

function claimAt(claims: JWTPayload, name: string): unknown {
  if (Object.hasOwn(claims, name) || !name.includes('.')) {
    return claims[name];
  }
  let value: unknown = claims;
  for (const part of name.split('.')) {
    value = value !== null && typeof value === 'object' ? (value as Record<string, unknown>)[part] : undefined;
  }
  return value;
}

/** An absent claim is no strings; a string is space-separated (RFC 6749 §3.3 scopes); else an array of strings. */
function strings(claims: JWTPayload, name: string): string[] {
  const value = claimAt(claims, name);
  if (value === undefined) {
    return [];
  }
  if (typeof value === 'string') {
    return value.split(/\s+/).filter((s) => s !== '');
  }
  if (Array.isArray(value) && value.every((v) => typeof v === 'string')) {
    return value;
  }
  throw new TokenRefused('invalid_claims', `the "${name}" claim is neither a string nor an array of strings`);
}

const isRole = (name: string): name is Role => (ROLES as readonly string[]).includes(name);
const isEnvironment = (name: string): name is Environment => (ENVIRONMENTS as readonly string[]).includes(name);

/**
 * The Principal of a verified token: `sub`; roles from the roles claim plus role scopes (`scope` of
 * RFC 9068 §2.2.3, or `scp` as some issuers send it), names that are not gateway roles ignored (an
 * issuer's role list covers other applications too); the `accounts` claim as the grant (default none);
 * the environments from the `environments` claim or `trade:<environment>` scopes (default `paper` only).
 * Throws TokenRefused (`missing_claims`, `invalid_claims`).
 */
export function principalFromClaims(claims: JWTPayload, mapping: ClaimMapping): Principal {
  if (typeof claims.sub !== 'string' || claims.sub === '') {
    throw new TokenRefused('missing_claims', 'the "sub" claim is missing or empty');
  }
  const names = strings(claims, mapping.rolesClaim);
  const prefix = mapping.roleScopePrefix;
  const scopes = [...strings(claims, 'scope'), ...strings(claims, 'scp')];
  if (prefix !== null) {
    for (const scope of scopes) {
      if (scope.startsWith(prefix)) {
        names.push(scope.slice(prefix.length));
      }
    }
  }
  const accounts = strings(claims, 'accounts');
  // Environments: the `environments` claim, or scopes `trade:paper` / `trade:live`; none named: paper only.
  const environments = [
    ...strings(claims, 'environments'),
    ...scopes.filter((s) => s.startsWith('trade:')).map((s) => s.slice('trade:'.length)),
  ].filter(isEnvironment);
  return new Principal(
    claims.sub,
    new Set(names.filter(isRole)),
    accounts.includes('*') ? '*' : new Set(accounts),
    new Set<Environment>(environments.length > 0 ? environments : ['paper']),
  );
}
