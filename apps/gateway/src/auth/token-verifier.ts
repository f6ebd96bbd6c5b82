import { z } from 'zod';
import { ApiError } from '../common/api-error.js';
import type { DevIssuer } from './dev-issuer.js';
import { Principal, ROLES } from './principal.js';

const claims = z.object({
  sub: z.string().min(1),
  roles: z.array(z.enum(ROLES)).default([]),
  accounts: z.array(z.string()).default([]),
});

/**
 * Turns a bearer token into a Principal. The port that the OAuth2/OIDC resource-server verifier of the
 * identity issue will also implement; for now it verifies tokens of the dev issuer.
 */
export class TokenVerifier {
  constructor(private readonly issuer: DevIssuer) {}

  async verify(token: string): Promise<Principal> {
    let payload: Record<string, unknown>;
    try {
      payload = await this.issuer.verify(token);
    } catch {
      throw ApiError.unauthenticated('The access token is invalid or expired.');
    }
    const parsed = claims.safeParse(payload);
    if (!parsed.success) {
      throw ApiError.unauthenticated('The access token lacks the required claims.');
    }
    const { sub, roles, accounts } = parsed.data;
    return new Principal(sub, new Set(roles), accounts.includes('*') ? '*' : new Set(accounts));
  }
}

/** The token of an `Authorization: Bearer <token>` header, or null. */
export function bearerToken(header: string | undefined): string | null {
  const match = header ? /^Bearer\s+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header) : null;
  return match?.[1] ?? null;
}
