import type { JWTPayload } from 'jose';
import { describe, expect, it } from 'vitest';
import { type ClaimMapping, principalFromClaims } from './access-token-claims.js';

const DEFAULT: ClaimMapping = { rolesClaim: 'roles', roleScopePrefix: 'gateway:' };
const roles = (claims: JWTPayload, mapping = DEFAULT) =>
  [...principalFromClaims({ sub: 'u', ...claims }, mapping).roles].sort();

describe('principalFromClaims', () => {
  it('reads roles from the configured claim, ignoring names that are not gateway roles', () => {
    expect(roles({ roles: ['trader', 'offline_access', 'viewer'] })).toEqual(['trader', 'viewer']);
    expect(roles({ roles: 'risk admin' })).toEqual(['admin', 'risk']);
    expect(roles({})).toEqual([]);
  });

  it('follows a dotted claim name into objects unless a claim has that literal name', () => {
    const keycloak = { rolesClaim: 'realm_access.roles', roleScopePrefix: null };
    expect(roles({ realm_access: { roles: ['risk'] } }, keycloak)).toEqual(['risk']);
    const auth0 = { rolesClaim: 'https://gateway.example/roles', roleScopePrefix: null };
    expect(roles({ 'https://gateway.example/roles': ['admin'] }, auth0)).toEqual(['admin']);
  });

  it('adds roles from prefixed scopes (`scope` string or `scp` array) unless the prefix is off', () => {
    expect(roles({ scope: 'openid gateway:trader gateway:nobody trader' })).toEqual(['trader']);
    expect(roles({ scp: ['gateway:viewer'], roles: ['risk'] })).toEqual(['risk', 'viewer']);
    expect(roles({ scope: 'gateway:admin' }, { rolesClaim: 'roles', roleScopePrefix: null })).toEqual([]);
  });

  it('takes the subject and the account grant', () => {
    const all = principalFromClaims({ sub: 'desk', accounts: ['*'] }, DEFAULT);
    expect(all.subject).toBe('desk');
    expect(all.accounts).toBe('*');
    const some = principalFromClaims({ sub: 'desk', accounts: ['a1', 'a2'] }, DEFAULT);
    expect(some.canSeeAccount('a1') && !some.canSeeAccount('a3')).toBe(true);
    expect(principalFromClaims({ sub: 'desk' }, DEFAULT).canSeeAccount('a1')).toBe(false);
  });

  it('refuses a missing subject and claims of the wrong shape', () => {
    const reason = (claims: JWTPayload) => {
      try {
        principalFromClaims(claims, DEFAULT);
        return 'accepted';
      } catch (error) {
        return (error as { reason: string }).reason;
      }
    };
    expect(reason({ roles: ['trader'] })).toBe('missing_claims');
    expect(reason({ sub: '' })).toBe('missing_claims');
    expect(reason({ sub: 'u', roles: { trader: true } })).toBe('invalid_claims');
    expect(reason({ sub: 'u', accounts: [1, 2] })).toBe('invalid_claims');
  });
});

describe('principalFromClaims: environments', () => {
  const mapping = { rolesClaim: 'roles', roleScopePrefix: 'gateway:' };
  it.each([
    ['no claim, no scope: paper only', { sub: 's' }, ['paper']],
    ['the environments claim', { sub: 's', environments: ['paper', 'live'] }, ['live', 'paper']],
    ['a trade:live scope', { sub: 's', scope: 'gateway:trader trade:live' }, ['live']],
    ['unknown names ignored', { sub: 's', environments: ['prod'] }, ['paper']],
  ])('%s', (_name, claims, expected) => {
    const p = principalFromClaims(claims, mapping);
    expect([...p.environments].sort()).toEqual(expected);
  });
});
