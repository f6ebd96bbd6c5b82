import { pino, type Logger } from 'pino';

export const LOGGER = Symbol('LOGGER');

/**
 * The process logger (JSON lines on stdout), every line stamped with the deployment's environments
 * (`GATEWAY_ENVIRONMENTS`). Credentials are redacted wherever they could appear:
 * request headers (Authorization, Cookie), token fields and anything named like a secret.
 */
export function createLogger(level: string, environments: readonly string[] = ['paper']): Logger {
  return pino({
    level,
    // Every line says which environments this deployment serves (README, "Paper and live"); lines about one order or
    // account also name that account's `environment`.
    base: { service: 'execution-gateway', environments: environments.join(',') },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        'headers.authorization',
        'headers.cookie',
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
