import { pino, type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/**
 * The process logger (JSON lines on stdout). Credentials are redacted wherever they could appear:
 * request headers, token fields and anything named like a secret.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: { service: 'execution-gateway' },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'token',
        '*.token',
        'accessToken',
        '*.accessToken',
        'secret',
        '*.secret',
        'password',
        '*.password',
        'privateJwk',
        '*.privateJwk',
      ],
      censor: '[redacted]',
    },
  });
}
