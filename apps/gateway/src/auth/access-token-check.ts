import {
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
} from 'jose';

/**
 * Why a bearer token was refused: the `reason` label of `gateway_auth_failures_total`.
 * - `malformed`: not a compact JWS with a JSON header and a JSON claims set.
 * - `bad_algorithm`: the header's `alg` is not on the allow-list (`none`, every HS*, anything not configured).
 * - `bad_type`: the header's `typ` is neither `at+jwt` (RFC 9068) nor `JWT` (an ID token, a logout token...).
 * - `unknown_key`: no key of the issuer's JWKS matches the header's `kid`, even after a refetch.
 * - `bad_signature`: the signature does not verify (a tampered header or payload, or a wrong key).
 * - `bad_issuer` / `bad_audience`: `iss` is not exactly AUTH_ISSUER / `aud` does not name AUTH_AUDIENCE.
 * - `expired` / `not_yet_valid`: `exp` passed / `nbf` not reached, beyond the clock tolerance.
 * - `missing_claims`: `iss`, `aud`, `sub` or `exp` is absent.
 * - `invalid_claims`: a claim has the wrong shape (`exp` not a number, `roles` or `accounts` not strings).
 * - `issuer_unavailable`: the issuer's discovery document or JWKS could not be fetched (answered 503, not 401).
 */
export const AUTH_FAILURE_REASONS = [
  'malformed',
  'bad_algorithm',
  'bad_type',
  'unknown_key',
  'bad_signature',
  'bad_issuer',
  'bad_audience',
  'expired',
  'not_yet_valid',
  'missing_claims',
  'invalid_claims',
  'issuer_unavailable',
] as const;
export type AuthFailureReason = (typeof AUTH_FAILURE_REASONS)[number];

/** A token refused for `reason`. `detail` is safe to log: it never holds the token or its claims. */
export class TokenRefused extends Error {
  override name = 'TokenRefused';

  constructor(
    readonly reason: AuthFailureReason,
    readonly detail: string,
  ) {
    super(`${reason}: ${detail}`);
  }
}

/**
 * The only JWS algorithms an access token may be verified with: asymmetric ones (RFC 7518 §3, RFC 8037).
 * A symmetric one would let anyone holding the issuer's public key (everyone) sign tokens.
 */
export const ASYMMETRIC_ALGORITHMS: readonly string[] = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
  'Ed25519',
];

/** What a valid access token must satisfy. */
export interface AccessTokenPolicy {
  /** The exact `iss`. */
  readonly issuer: string;
  /** A value `aud` must hold. */
  readonly audience: string;
  /** Accepted `alg` values, each one of ASYMMETRIC_ALGORITHMS. */
  readonly algorithms: readonly string[];
  /** Seconds of clock skew allowed on `exp` and `nbf`. */
  readonly clockToleranceSeconds: number;
}

/** `typ` values accepted: RFC 9068 §2.1 `at+jwt`, and `JWT` which many issuers still send (or none at all). */
const ACCEPTED_TYPES = new Set(['at+jwt', 'jwt']);

/** RFC 7515 §4.1.9: media types compare case-insensitively and the `application/` prefix may be left out. */
function mediaSubtype(typ: string): string {
  const lower = typ.toLowerCase();
  return lower.startsWith('application/') ? lower.slice('application/'.length) : lower;
}

/** A header value fit for a log line: short and plain, or a placeholder. */
function printable(value: unknown): string {
  return typeof value === 'string' && /^[\w+./-]{1,24}$/.test(value) ? value : '(unprintable)';
}

/** Maps a jose failure to the reason it stands for. Anything unexpected is refused too (fail closed). */
function refusal(error: unknown): TokenRefused {
  if (error instanceof TokenRefused) {
    return error;
  }
  if (error instanceof errors.JWTExpired) {
    return new TokenRefused('expired', 'the token has expired');
  }
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing') {
      return new TokenRefused('missing_claims', `the "${printable(error.claim)}" claim is missing`);
    }
    switch (error.claim) {
      case 'iss':
        return new TokenRefused('bad_issuer', 'the token is from another issuer');
      case 'aud':
        return new TokenRefused('bad_audience', 'the token is for another audience');
      case 'nbf':
        return new TokenRefused('not_yet_valid', 'the token is not valid yet');
      default:
        return new TokenRefused('invalid_claims', `the "${printable(error.claim)}" claim is not valid`);
    }
  }
  if (error instanceof errors.JWKSNoMatchingKey) {
    return new TokenRefused('unknown_key', "no key of the issuer's JWKS matches the token");
  }
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenRefused('bad_signature', 'the signature does not verify');
  }
  if (error instanceof errors.JOSEAlgNotAllowed) {
    return new TokenRefused('bad_algorithm', 'the algorithm is not allowed');
  }
  const name = error instanceof Error ? error.name : typeof error;
  return new TokenRefused('malformed', `the token could not be verified (${name})`);
}

/**
 * Verifies an access token (a compact JWS) against an issuer's keys: allow-listed algorithm, accepted
 * `typ`, signature, exact `iss`, `aud`, `exp`/`nbf` within the tolerance, `sub` present. Framework-free;
 * the key resolver is the dev issuer's local JWKS or an OIDC issuer's remote one.
 */
export class AccessTokenCheck {
  private readonly allowed: ReadonlySet<string>;
  private readonly options: JWTVerifyOptions;

  /** Throws TypeError when `policy.algorithms` is empty or names a non-asymmetric algorithm. */
  constructor(
    private readonly keys: JWTVerifyGetKey,
    policy: AccessTokenPolicy,
  ) {
    const refused = policy.algorithms.filter((alg) => !ASYMMETRIC_ALGORITHMS.includes(alg));
    if (policy.algorithms.length === 0 || refused.length > 0) {
      throw new TypeError(`access tokens need asymmetric algorithms, not: ${refused.join(', ') || '(none given)'}`);
    }
    this.allowed = new Set(policy.algorithms);
    this.options = {
      issuer: policy.issuer,
      audience: policy.audience,
      algorithms: [...policy.algorithms],
      clockTolerance: policy.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    };
  }

  /** The verified claims of `token`; throws TokenRefused naming why not. */
  async verify(token: string): Promise<JWTPayload> {
    this.checkHeader(token);
    try {
      return (await jwtVerify(token, this.keys, this.options)).payload;
    } catch (error) {
      if (error instanceof errors.JWKSMultipleMatchingKeys) {
        return this.verifyWithEach(token, error);
      }
      throw refusal(error);
    }
  }

  /** Refuses before any key lookup: a header naming a wrong algorithm or type never costs a JWKS fetch. */
  private checkHeader(token: string): void {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      throw new TokenRefused('malformed', 'the token is not a JWS with a JSON header');
    }
    if (typeof header.alg !== 'string' || !this.allowed.has(header.alg)) {
      throw new TokenRefused('bad_algorithm', `algorithm ${printable(header.alg)} is not allowed`);
    }
    if (header.typ !== undefined && (typeof header.typ !== 'string' || !ACCEPTED_TYPES.has(mediaSubtype(header.typ)))) {
      throw new TokenRefused('bad_type', `type ${printable(header.typ)} is not an access token`);
    }
  }

  /** A token without `kid` while the JWKS holds several keys for its algorithm: try each (jose's recipe). */
  private async verifyWithEach(token: string, candidates: errors.JWKSMultipleMatchingKeys): Promise<JWTPayload> {
    for await (const key of candidates) {
      try {
        return (await jwtVerify(token, key, this.options)).payload;
      } catch (error) {
        if (!(error instanceof errors.JWSSignatureVerificationFailed)) {
          throw refusal(error);
        }
      }
    }
    throw new TokenRefused('bad_signature', 'no key of the issuer verifies the signature');
  }
}
