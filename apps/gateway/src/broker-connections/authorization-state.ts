import { createCipheriv, createDecipheriv, createHash, hkdfSync, randomBytes } from 'node:crypto';

/*
 * A pending authorization's secrets at rest. The `state` travels in the browser's URLs and comes back on
 * the callback: PostgreSQL keeps only its SHA-256, to find the authorization by. The PKCE verifier must be
 * sent with the code, so it is kept too, as AES-256-GCM ciphertext under a key derived from the state
 * (HKDF-SHA256): the table alone yields no verifier, and each authorization's key is its own. It lives
 * minutes (OAUTH_STATE_TTL_SECONDS) and is deleted when the callback takes it; the credential vault is for
 * the account's lasting credentials, which this is not.
 */

/** The hex SHA-256 of a `state`, as `broker_authorizations.state_hash` keeps it. */
export function hashState(state: string): string {
  return createHash('sha256').update(state, 'utf8').digest('hex');
}

function keyOf(state: string): Buffer {
  return Buffer.from(hkdfSync('sha256', state, 'gateway:broker-authorization', 'pkce-verifier', 32));
}

/** `iv (12) | tag (16) | ciphertext` of the verifier under the state's key. */
export function sealVerifier(state: string, verifier: string): Buffer {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', keyOf(state), iv);
  const body = Buffer.concat([cipher.update(verifier, 'utf8'), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]);
}

/** The verifier sealed under `state`; throws when the state is not the one it was sealed under. */
export function openVerifier(state: string, sealed: Buffer): string {
  const decipher = createDecipheriv('aes-256-gcm', keyOf(state), sealed.subarray(0, 12));
  decipher.setAuthTag(sealed.subarray(12, 28));
  return Buffer.concat([decipher.update(sealed.subarray(28)), decipher.final()]).toString('utf8');
}
