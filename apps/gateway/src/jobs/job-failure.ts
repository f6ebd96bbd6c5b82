/** Longest failure reason kept with a failed job (and shown by `GET /v1/ops/jobs`). */
const MAX_REASON_LENGTH = 300;

const SECRET_NAMES =
  '(?:access_?token|refresh_?token|id_?token|token|secret|password|passwd|api_?key|client_secret|authorization|code|credentials?|plaintext|ciphertext)';

/**
 * The reason a job failed, as BullMQ keeps it and `GET /v1/ops/jobs` shows it: the error's name and
 * message, with anything shaped like a secret taken out (bearer and basic credentials, URL user info and
 * query strings, `name=value` and `"name": "value"` pairs whose name says secret, long opaque strings), and
 * cut to 300 characters. Processors should throw messages without secrets in the first place; this is
 * the second line.
 */
export function safeFailureReason(error: unknown): string {
  const raw =
    error instanceof Error
      ? `${error.name && error.name !== 'Error' ? `${error.name}: ` : ''}${error.message}`
      : typeof error === 'string'
        ? error
        : 'job failed';
  const redacted = raw
    .replace(/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi, '$1 [redacted]')
    .replace(/(\w+:\/\/)[^/\s@]+@/g, '$1[redacted]@')
    .replace(/(\w+:\/\/[^\s?#]+)\?[^\s#]*/g, '$1?[redacted]')
    .replace(new RegExp(`("?${SECRET_NAMES}"?\\s*[:=]\\s*)("[^"]*"|'[^']*'|[^\\s,;&}]+)`, 'gi'), '$1[redacted]')
    .replace(/[A-Za-z0-9+/_-]{40,}={0,2}/g, '[redacted]');
  return redacted.length > MAX_REASON_LENGTH ? `${redacted.slice(0, MAX_REASON_LENGTH - 1)}…` : redacted;
}
