import { resolve } from 'node:path';
import { packageRoot } from '@gateway/brokers';
import { z } from 'zod';
import { type LockdownConfig, lockdownConfigFrom } from './lockdown-config.js';
import { type RateLimitConfig, rateRulesFrom } from './rate-rules.js';

const intFrom = (def: number, min = 0) => z.coerce.number().int().min(min).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0'])
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1');
const timeOfDay = z.string().regex(/^\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?$/, 'expected HH:MM:SS[.mmm] (America/New_York)');

/**
 * One broker's OAuth2 client (its app registration): `OAUTH_<BROKER>_CLIENT_ID` and `_CLIENT_SECRET` (unset:
 * the broker cannot be connected over OAuth), the authorize and token URLs (the broker's own by default; a
 * fake's in tests), the gateway's callback URL registered with the broker (`_REDIRECT_URI`, ending in
 * `/v1/oauth/<broker>/callback`), PKCE S256 on or off, the scope asked for, and an RFC 7009 revocation URL
 * where the broker has one.
 */
function oauthClientSettings<B extends string>(
  broker: B,
  defaults: { authorize: string; token: string; scope: string },
) {
  const p = `OAUTH_${broker}` as const;
  return {
    [`${p}_CLIENT_ID`]: z.string().min(1).optional(),
    [`${p}_CLIENT_SECRET`]: z.string().min(1).optional(),
    [`${p}_AUTHORIZE_URL`]: z.url().default(defaults.authorize),
    [`${p}_TOKEN_URL`]: z.url().default(defaults.token),
    [`${p}_REDIRECT_URI`]: z.url().optional(),
    [`${p}_PKCE`]: bool(false),
    [`${p}_SCOPE`]: z.string().default(defaults.scope),
    [`${p}_REVOKE_URL`]: z.url().optional(),
  } as Record<
    `${typeof p}_${'CLIENT_ID' | 'CLIENT_SECRET' | 'REDIRECT_URI' | 'REVOKE_URL'}`,
    z.ZodOptional<z.ZodString>
  > &
    Record<`${typeof p}_${'AUTHORIZE_URL' | 'TOKEN_URL' | 'SCOPE'}`, z.ZodDefault<z.ZodString>> &
    Record<`${typeof p}_PKCE`, ReturnType<typeof bool>>;
}

/**
 * Every setting the gateway reads, from environment variables, validated once at boot. Names are the
 * environment variables; the README lists them with their defaults.
 */
const schema = z.object({
  PORT: intFrom(8080),
  HOST: z.string().default('0.0.0.0'),
  DATABASE_URL: z.string().default('postgres://postgres@127.0.0.1:5432/gateway'),
  /**
   * `apply`: an instance applies pending migrations at start (under an advisory lock; the single-machine
   * default). `require`: it changes no schema and refuses to start on a database that lacks one, for
   * deployments that run `gateway migrate up` as a step of their own (the Helm chart's pre-upgrade Job).
   */
  DATABASE_MIGRATIONS: z.enum(['apply', 'require']).default('apply'),
  /** Most connections the gateway's own pool opens (PostgreSQL's max_connections is shared by every instance). */
  DATABASE_POOL_SIZE: intFrom(20, 2),
  /** On SIGTERM, how long readiness is false while requests are still answered, before the instance closes. */
  SHUTDOWN_DRAIN_MS: intFrom(5_000),
  REDIS_URL: z.string().default('redis://127.0.0.1:6379'),
  /** Prefix for every Redis key and channel, so test runs and deployments sharing a Redis stay apart. */
  REDIS_PREFIX: z.string().default('gw:'),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** Largest accepted request body, in bytes. */
  BODY_LIMIT_BYTES: intFrom(64 * 1024, 1),
  /** How long a broker submission may take before its outcome is `unknown` (ARCHITECTURE.md, step 4). */
  BROKER_SUBMIT_TIMEOUT_MS: intFrom(5_000, 1),
  /**
   * How long an order must have been uncertain before the broker's "no such order" is taken as proof
   * that it was never received (`rejected`, `not_submitted`): a request can still be on its way.
   */
  RECONCILE_MISSING_AFTER_MS: intFrom(30_000, 0),
  /** How far back the account reconciliation pass asks the broker for orders and fills (default 24 h). */
  RECONCILE_LOOKBACK_MS: intFrom(86_400_000, 1),
  /** How often each account's reconciliation pass runs (a repeatable BullMQ job; one instance at a time). */
  RECONCILE_INTERVAL_MS: intFrom(60_000, 10),
  /**
   * BullMQ workers (jobs/): how long a running job's lock lasts without renewal, and how often each
   * instance looks for jobs whose lock lapsed (their instance died) to take them over.
   */
  JOBS_LOCK_DURATION_MS: intFrom(30_000, 100),
  JOBS_STALLED_INTERVAL_MS: intFrom(30_000, 100),
  /**
   * The paper venue as a separate process (`npm run venue`), spoken to over HTTP; unset: the paper venue
   * runs inside the gateway. Several gateway instances on one database need the external venue.
   */
  PAPER_VENUE_URL: z.url().optional(),
  /**
   * The brokers this deployment serves, comma-separated (an account's `broker` must be one of them). Each
   * broker but `paper` names its adapter in BROKER_<NAME>_ADAPTER (and what the adapter needs, see
   * `brokerAdapterFrom`); `paper` is the paper venue (in process, or PAPER_VENUE_URL).
   */
  BROKERS: z
    .string()
    .default('paper')
    .transform((v) => [...new Set(v.split(',').map((x) => x.trim()))])
    .pipe(z.array(z.string().regex(/^[a-z][a-z0-9_]{0,31}$/, 'broker names are lower-case [a-z0-9_]')).min(1)),
  /** Where the real market data lives; read in place, never copied. */
  MARKET_DATA_DIR: z.string().optional(),
  /** Replay speed: 1 = real time, N = N×, 0 = paused (step it through the replay control route). */
  PAPER_SPEED: z.coerce.number().min(0).default(1),
  PAPER_START_TIME: timeOfDay.default('09:30:00'),
  PAPER_ACK_LATENCY_MS: intFrom(5),
  /** USD each paper account starts with: `GET …/balances` computes cash from it and the account's fills. */
  PAPER_STARTING_CASH: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .default('1000000'),
  /** Recorded date of the SPXW option quotes to replay (YYYYMMDD); 20210104 has its 0DTE expiries. */
  PAPER_SPXW_DATE: z
    .string()
    .regex(/^\d{8}$/)
    .default('20210104'),
  /** Create the `paper-demo` account on first start. */
  SEED_DEMO_ACCOUNT: bool(true),
  /**
   * An in-process paper venue takes a PostgreSQL session advisory lock for its life, and a gateway that
   * cannot take it (another instance with one is live on the same database) refuses to start: two venues
   * would fill the same account's orders at different prices on different replay clocks. `false` lets
   * it start anyway, only for tests that simulate exactly that split.
   */
  PAPER_VENUE_EXCLUSIVE: bool(true),
  /**
   * Whether the in-process paper venue's book commits synchronously. Default off: the venue stands in
   * for a broker, and what asynchronous commit risks is bounded (VENUE_BOOK_COMMIT of libs/brokers).
   */
  PAPER_VENUE_SYNCHRONOUS_COMMIT: bool(false),
  /**
   * The environments this deployment serves, comma-separated (`paper`, `live`). Without `live` the
   * gateway refuses to start when the database holds a live account, and no live account is ever
   * visible or tradable through it. Default `paper`: live trading is switched on deliberately.
   */
  GATEWAY_ENVIRONMENTS: z
    .string()
    .default('paper')
    .transform((v) => [...new Set(v.split(',').map((x) => x.trim()))])
    .pipe(z.array(z.enum(['paper', 'live'])).min(1)),
  AUTH_ISSUER: z.string().default('urn:gateway:dev-issuer'),
  AUTH_AUDIENCE: z.string().default('execution-gateway'),
  /** Lifetime of tokens the dev issuer signs, in seconds. */
  DEV_TOKEN_TTL_SECONDS: intFrom(12 * 3600, 60),
  /**
   * OAuth2/OIDC access tokens, when AUTH_ISSUER is not the dev issuer: the JWKS address (unset: the
   * `jwks_uri` of AUTH_ISSUER's discovery document), the JWS algorithms accepted (asymmetric only), the
   * clock skew allowed on `exp`/`nbf`, the claim holding roles (a dotted name reaches into objects), the
   * scope prefix that grants roles too (`gateway:trader`; empty: scopes grant none), and the JWKS
   * refetch cooldown on an unknown `kid`, cache age and HTTP timeout.
   */
  AUTH_JWKS_URL: z.url().optional(),
  AUTH_ALGORITHMS: z
    .string()
    .default('RS256,PS256,ES256,EdDSA')
    .transform((v) => [...new Set(v.split(',').map((x) => x.trim()))])
    .pipe(
      z
        .array(z.enum(['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA']))
        .min(1),
    ),
  AUTH_CLOCK_TOLERANCE_SECONDS: z.coerce.number().int().min(0).max(300).default(30),
  AUTH_ROLES_CLAIM: z.string().min(1).default('roles'),
  AUTH_ROLE_SCOPE_PREFIX: z.string().default('gateway:'),
  AUTH_JWKS_COOLDOWN_MS: intFrom(30_000),
  AUTH_JWKS_CACHE_MAX_AGE_MS: intFrom(600_000, 1_000),
  AUTH_HTTP_TIMEOUT_MS: intFrom(5_000, 100),
  /**
   * Risk limits of an account that risk staff have not set its own for (version 0 of its limits;
   * `PUT /v1/accounts/{id}/risk-limits` sets them per account, in PostgreSQL).
   */
  RISK_MAX_ORDER_QUANTITY: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .default('10000'),
  RISK_MAX_ORDER_NOTIONAL: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .default('1000000'),
  RISK_PRICE_COLLAR_PERCENT: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .default('10'),
  RISK_MAX_QUOTE_AGE_MS: intFrom(120_000),
  /**
   * Largest position per symbol in shares or contracts, counting working orders at their worst case
   * (`risk.max_position`); unset: no limit. Largest number of working orders per account
   * (`risk.max_working_orders`); unset: no limit.
   */
  RISK_MAX_POSITION_QUANTITY: z
    .string()
    .regex(/^\d+(\.\d+)?$/)
    .optional(),
  RISK_MAX_WORKING_ORDERS: z.coerce.number().int().min(1).optional(),
  /**
   * Minutes before an expiring option stops trading after which no opening order in it is accepted
   * (`risk.opening_cutoff`, 0DTE). 0 switches the cut-off off.
   */
  RISK_ZERO_DTE_CUTOFF_MINUTES: z.coerce.number().int().min(0).max(1440).default(10),
  /** How often each instance looks for working orders of halted accounts to cancel (the kill switch's backstop). */
  KILL_SWITCH_SWEEP_MS: intFrom(2_000, 10),
  /** WebSocket: ping interval (a client missing two pings is dropped) and the send buffer cap (close 4408). */
  WS_PING_INTERVAL_MS: intFrom(15_000, 10),
  WS_MAX_BUFFERED_BYTES: intFrom(4 * 1024 * 1024, 1024),
  WS_AUTH_TIMEOUT_MS: intFrom(5_000, 10),
  /**
   * Operations cockpit (monitoring/, apps/monitor): how often each instance publishes its snapshot to
   * Redis (ms; 0 switches publishing off) and re-reads the database state in it (accounts, gates,
   * orders, queues); where the monitor listens, and the gateway URL it forwards the kill switch to.
   */
  /**
   * Order events exported to NATS JetStream (README, "Exporting events"): `nats` runs the relay in this
   * instance (one instance relays at a time; the others stand by), `off` (default) runs none. NATS_URL,
   * EVENT_EXPORT_STREAM (created when missing), EVENT_EXPORT_DUPLICATE_WINDOW_MS (JetStream's duplicate
   * window), EVENT_EXPORT_POLL_MS, EVENT_EXPORT_LAG_ALERT_MS (lag above zero this long: an alert).
   */
  EVENT_EXPORT: z.enum(['nats', 'off']).default('off'),
  NATS_URL: z.string().default('nats://127.0.0.1:4222'),
  EVENT_EXPORT_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('GATEWAY_EVENTS'),
  /** The stream of the outbox's messages (trading-state changes, reconciliation breaks), apart from the order events'. */
  EVENT_EXPORT_CONTROL_STREAM: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/)
    .default('GATEWAY_CONTROL'),
  EVENT_EXPORT_DUPLICATE_WINDOW_MS: intFrom(120_000, 1_000),
  EVENT_EXPORT_POLL_MS: intFrom(100, 10),
  EVENT_EXPORT_LAG_ALERT_MS: intFrom(30_000, 100),
  MONITOR_SNAPSHOT_MS: intFrom(250, 0),
  MONITOR_STATE_MS: intFrom(1_000, 100),
  MONITOR_PORT: intFrom(8090, 0),
  MONITOR_HOST: z.string().default('127.0.0.1'),
  MONITOR_GATEWAY_URL: z.url().default('http://127.0.0.1:8080'),
  /** A cockpit client whose frames the monitor has skipped (send buffer full) for this long is closed, ms. */
  MONITOR_SLOW_CLIENT_MS: intFrom(5_000, 100),
  /**
   * Abuse limits (rate-limit/), shared by every instance through Redis: comma-separated
   * `<requests>/<window>` rules (window `1s`, `10s`, `1m`, `1h`...), all enforced, or `off`. REQUESTS:
   * every non-public request per token subject; ORDERS: order placements and replacements per subject,
   * on top; UNAUTHENTICATED: requests refused for want of a valid token, per remote IP. Over one: 429
   * `rate_limit.exceeded` with Retry-After. Generous by default (trading pace is the risk engine's
   * message-rate check); the stream allows WS_MAX_SUBSCRIPTIONS per connection (more: an error frame)
   * and WS_MAX_CONNECTIONS_PER_PRINCIPAL per subject across instances (more: close 4429).
   */
  RATE_LIMIT_REQUESTS: rateRulesFrom('1000/1s,50000/1m'),
  RATE_LIMIT_ORDERS: rateRulesFrom('500/1s,25000/1m'),
  RATE_LIMIT_UNAUTHENTICATED: rateRulesFrom('50/1s,600/1m'),
  WS_MAX_SUBSCRIPTIONS: intFrom(200, 1),
  WS_MAX_CONNECTIONS_PER_PRINCIPAL: intFrom(20, 1),
  /**
   * Broker credentials are envelope-encrypted (credentials/): each under a fresh data key wrapped by
   * KEY_PROVIDER. `local` (default, for the quick start): master keys in LOCAL_MASTER_KEY_FILE (relative
   * to the working directory; made with mode 0600 on first start; whoever reads it reads every credential).
   * `aws-kms`: AWS KMS, the key KMS_KEY_ID (key id, ARN, alias or alias ARN; required), in KMS_REGION
   * (unset: the SDK's AWS_REGION/profile lookup), at KMS_ENDPOINT (unset: the region's; set for a VPC
   * endpoint or a local KMS), with AWS credentials from the SDK's default chain.
   */
  KEY_PROVIDER: z.enum(['local', 'aws-kms']).default('local'),
  KMS_KEY_ID: z.string().min(1).optional(),
  KMS_REGION: z.string().min(1).optional(),
  KMS_ENDPOINT: z.url().optional(),
  LOCAL_MASTER_KEY_FILE: z.string().min(1).default('.gateway/master-key.json'),
  ...oauthClientSettings('SCHWAB', {
    authorize: 'https://api.schwabapi.com/v1/oauth/authorize',
    token: 'https://api.schwabapi.com/v1/oauth/token',
    scope: '',
  }),
  ...oauthClientSettings('ALPACA', {
    authorize: 'https://app.alpaca.markets/oauth/authorize',
    token: 'https://api.alpaca.markets/oauth/token',
    scope: 'account:write trading',
  }),
  /**
   * Broker connections (OAuth2): how long an authorize URL's `state` stays good; how long before the
   * access token expires it is refreshed, plus a random 0..JITTER (so that accounts connected together
   * do not all refresh together), and the wait before a failed refresh is tried again; how often each
   * instance looks for refreshes due when no job queue schedules them.
   */
  OAUTH_STATE_TTL_SECONDS: intFrom(600, 30),
  OAUTH_REFRESH_BEFORE_EXPIRY_SECONDS: intFrom(300, 1),
  OAUTH_REFRESH_JITTER_SECONDS: intFrom(60),
  OAUTH_REFRESH_RETRY_SECONDS: intFrom(30, 1),
  OAUTH_REFRESH_POLL_MS: intFrom(5_000, 50),
});

/**
 * How one broker of the deployment is served (BROKER_<NAME>_ADAPTER; `paper` needs none):
 * - `paper`: the paper venue inside the gateway (the `paper` broker only, without PAPER_VENUE_URL);
 * - `paper-http`: a paper-venue process over HTTP at BROKER_<NAME>_URL (for `paper`: PAPER_VENUE_URL),
 *   standing in for a real broker until its adapter exists; its orders and executions carry the broker's
 *   name as their venue. Paper accounts only, no credentials.
 * A real broker's adapter (`alpaca`, `schwab`) is one more member here and one factory in
 * market/broker-adapters.ts.
 */
export type BrokerAdapterConfig =
  | { readonly adapter: 'paper' }
  | { readonly adapter: 'paper-http'; readonly url: string }
  | {
      readonly adapter: 'alpaca';
      /** REST base and `trade_updates` stream per environment (paper and live have their own hosts and keys). */
      readonly paper: { readonly url: string; readonly streamUrl: string };
      readonly live: { readonly url: string; readonly streamUrl: string };
      /** No frame and no Pong to the client's Pings for this long, ms: the stream is taken for stalled. */
      readonly streamStallMs: number;
    }
  | {
      readonly adapter: 'schwab';
      /** Trader API base (`…/trader/v1`). */
      readonly url: string;
      /** The streamer; null: the one `GET /userPreference` names. */
      readonly streamerUrl: string | null;
      /** No stream message and no heartbeat for this long, ms: the stream is taken for stalled. */
      readonly streamStallMs: number;
      /** The app's order rate limit at Schwab (place, cancel, replace per rolling minute); null: not enforced here. */
      readonly orderRatePerMinute: number | null;
    };

export const BROKER_ADAPTERS = ['paper', 'paper-http', 'alpaca', 'schwab'] as const;

/**
 * `schwab`: BROKER_<NAME>_URL (the Trader API base, default https://api.schwabapi.com/trader/v1),
 * BROKER_<NAME>_STREAMER_URL (default: the one `GET /userPreference` names), BROKER_<NAME>_STREAM_STALL_MS
 * (default 30000, at least 500: no message and no heartbeat for this long and the stream is reconnected),
 * BROKER_<NAME>_ORDER_RATE_PER_MINUTE (default 120, schwab-py's recommendation; `0` turns the gateway's own
 * count off): the app's order rate limit as registered at Schwab, counted across instances in Redis.
 */
function schwabAdapterFrom(name: string, env: NodeJS.ProcessEnv): BrokerAdapterConfig | string {
  const url = z.url().safeParse(env[`${name}_URL`] ?? 'https://api.schwabapi.com/trader/v1');
  if (!url.success) {
    return `${name}_URL: an http(s) URL is required`;
  }
  const streamer = env[`${name}_STREAMER_URL`];
  const streamerUrl = streamer === undefined ? null : z.url().safeParse(streamer);
  if (streamerUrl !== null && !streamerUrl.success) {
    return `${name}_STREAMER_URL: a ws(s) URL is required`;
  }
  const stall = Number(env[`${name}_STREAM_STALL_MS`] ?? '30000');
  if (!Number.isInteger(stall) || stall < 500) {
    return `${name}_STREAM_STALL_MS: a whole number of ms, at least 500`;
  }
  const rate = Number(env[`${name}_ORDER_RATE_PER_MINUTE`] ?? '120');
  if (!Number.isInteger(rate) || rate < 0 || rate === 1) {
    return `${name}_ORDER_RATE_PER_MINUTE: a whole number of requests per minute, at least 2 (0: off)`;
  }
  return {
    adapter: 'schwab',
    url: url.data.replace(/\/$/, ''),
    streamerUrl: streamerUrl === null ? null : streamerUrl.data,
    streamStallMs: stall,
    orderRatePerMinute: rate === 0 ? null : rate,
  };
}

/**
 * `alpaca`: BROKER_<NAME>_URL (paper accounts; default https://paper-api.alpaca.markets) and
 * BROKER_<NAME>_LIVE_URL (live accounts; default https://api.alpaca.markets), each stream at the same
 * host's `/stream` unless BROKER_<NAME>_STREAM_URL / BROKER_<NAME>_LIVE_STREAM_URL say otherwise;
 * BROKER_<NAME>_STREAM_STALL_MS (default 30000, at least 500): no frame and no Pong to the client's WebSocket
 * Pings (sent every fifth of it) for this long and the stream is reconnected and healed.
 */
function alpacaAdapterFrom(name: string, env: NodeJS.ProcessEnv): BrokerAdapterConfig | string {
  const endpoint = (urlVar: string, streamVar: string, fallback: string) => {
    const url = z.url().safeParse(env[urlVar] ?? fallback);
    if (!url.success) {
      return `${urlVar}: an http(s) URL is required`;
    }
    const base = url.data.replace(/\/$/, '');
    const stream = z.url().safeParse(env[streamVar] ?? `${base.replace(/^http/, 'ws')}/stream`);
    return stream.success ? { url: base, streamUrl: stream.data } : `${streamVar}: a ws(s) URL is required`;
  };
  const paper = endpoint(`${name}_URL`, `${name}_STREAM_URL`, 'https://paper-api.alpaca.markets');
  const live = endpoint(`${name}_LIVE_URL`, `${name}_LIVE_STREAM_URL`, 'https://api.alpaca.markets');
  if (typeof paper === 'string') {
    return paper;
  }
  if (typeof live === 'string') {
    return live;
  }
  const stall = Number(env[`${name}_STREAM_STALL_MS`] ?? '30000');
  if (!Number.isInteger(stall) || stall < 500) {
    return `${name}_STREAM_STALL_MS: a whole number of ms, at least 500`;
  }
  return { adapter: 'alpaca', paper, live, streamStallMs: stall };
}

/** The BROKER_<NAME>_* variables of one broker, e.g. BROKER_ALPACA_ADAPTER=paper-http, BROKER_ALPACA_URL=http://…. */
function brokerAdapterFrom(
  broker: string,
  env: NodeJS.ProcessEnv,
  paperVenueUrl: string | undefined,
): BrokerAdapterConfig | string {
  const name = `BROKER_${broker.toUpperCase()}`;
  const adapter = env[`${name}_ADAPTER`] ?? (broker === 'paper' ? (paperVenueUrl ? 'paper-http' : 'paper') : undefined);
  switch (adapter) {
    case undefined:
      return `${name}_ADAPTER: required for broker ${broker} (one of ${BROKER_ADAPTERS.join(', ')})`;
    case 'paper':
      return broker === 'paper'
        ? { adapter: 'paper' }
        : `${name}_ADAPTER: the in-process paper venue serves the paper broker only; use paper-http`;
    case 'paper-http': {
      const url = z.url().safeParse(env[`${name}_URL`] ?? (broker === 'paper' ? paperVenueUrl : undefined));
      return url.success ? { adapter: 'paper-http', url: url.data } : `${name}_URL: a paper venue URL is required`;
    }
    case 'alpaca':
      return alpacaAdapterFrom(name, env);
    case 'schwab':
      return schwabAdapterFrom(name, env);
    default:
      return `${name}_ADAPTER: unknown adapter ${adapter} (one of ${BROKER_ADAPTERS.join(', ')})`;
  }
}

/** What the relay needs; EVENT_EXPORT_* in the README. */
export interface EventExportOptions {
  readonly databaseUrl: string;
  readonly natsUrl: string;
  /** The JetStream stream holding `gateway.*.*.orders`; created when missing. */
  readonly stream: string;
  /** The stream holding `gateway.*.*.trading_state` and `gateway.*.*.reconciliation`; created when missing. */
  readonly controlStream: string;
  /** JetStream's duplicate window: a republish of the same `Nats-Msg-Id` inside it is dropped. */
  readonly duplicateWindowMs: number;
  /** How often the relay looks for unpublished events, ms. */
  readonly pollMs: number;
  /** How long the lag may stay above zero before the `event_export_lagging` alert, ms. */
  readonly lagAlertMs: number;
}

export interface GatewayConfig {
  readonly port: number;
  readonly host: string;
  readonly databaseUrl: string;
  readonly databaseMigrations: 'apply' | 'require';
  readonly databasePoolSize: number;
  readonly shutdownDrainMs: number;
  readonly redisUrl: string;
  readonly redisPrefix: string;
  readonly logLevel: z.infer<typeof schema>['LOG_LEVEL'];
  readonly bodyLimitBytes: number;
  readonly brokerSubmitTimeoutMs: number;
  readonly reconcileMissingAfterMs: number;
  readonly reconcileLookbackMs: number;
  readonly reconcileIntervalMs: number;
  readonly jobs: { readonly lockDurationMs: number; readonly stalledIntervalMs: number };
  readonly paperVenueUrl: string | null;
  /** The deployment's brokers (BROKERS, in that order) and how each is served. */
  readonly brokers: Readonly<Record<string, BrokerAdapterConfig>>;
  readonly paper: {
    readonly marketDataDir: string;
    readonly speed: number;
    readonly startTime: string;
    readonly ackLatencyMs: number;
    readonly spxwDate: string;
    /** USD a paper account starts with (decimal string). */
    readonly startingCash: string;
  };
  readonly seedDemoAccount: boolean;
  readonly paperVenueExclusive: boolean;
  /** PAPER_VENUE_SYNCHRONOUS_COMMIT: the in-process paper venue's book commits synchronously. */
  readonly paperVenueSynchronousCommit: boolean;
  readonly environments: readonly ('paper' | 'live')[];
  readonly auth: {
    readonly issuer: string;
    readonly audience: string;
    readonly devTokenTtlSeconds: number;
    readonly jwksUrl: string | null;
    readonly algorithms: readonly string[];
    readonly clockToleranceSeconds: number;
    readonly rolesClaim: string;
    readonly roleScopePrefix: string | null;
    readonly jwksCooldownMs: number;
    readonly jwksCacheMaxAgeMs: number;
    readonly httpTimeoutMs: number;
  };
  readonly risk: {
    readonly maxOrderQuantity: string;
    readonly maxOrderNotional: string;
    readonly priceCollarPercent: string;
    readonly maxQuoteAgeMs: number;
    readonly maxPositionQuantity: string | null;
    readonly maxWorkingOrders: number | null;
    readonly zeroDteCutoffMinutes: number | null;
  };
  readonly killSwitchSweepMs: number;
  /** The RTT lockdown (LOCKDOWN_*, config/lockdown-config.ts). */
  readonly lockdown: LockdownConfig;
  readonly ws: { readonly pingIntervalMs: number; readonly maxBufferedBytes: number; readonly authTimeoutMs: number };
  /** The cockpit's snapshot publisher (monitoring/) and the monitor process (apps/monitor). */
  /** EVENT_EXPORT and its settings; null when off. */
  readonly eventExport: EventExportOptions | null;
  readonly monitor: {
    readonly snapshotMs: number;
    readonly stateMs: number;
    readonly port: number;
    readonly host: string;
    readonly gatewayUrl: string;
    readonly slowClientMs: number;
  };
  readonly rateLimit: RateLimitConfig;
  readonly credentials: {
    readonly keyProvider: 'local' | 'aws-kms';
    /** Set when keyProvider is `aws-kms`. */
    readonly kms: { readonly keyId: string; readonly region: string | null; readonly endpoint: string | null } | null;
    /** Absolute path. */
    readonly localMasterKeyFile: string;
  };
  readonly oauth: {
    /** The brokers that can be connected over OAuth2 (their client id is set). */
    readonly clients: Readonly<Partial<Record<OAuthBroker, OAuthClientConfig>>>;
    readonly stateTtlSeconds: number;
    readonly refreshBeforeExpirySeconds: number;
    readonly refreshJitterSeconds: number;
    readonly refreshRetrySeconds: number;
    readonly refreshPollMs: number;
  };
}

/** The brokers whose accounts connect with the OAuth2 authorization-code grant. */
export const OAUTH_BROKERS = ['schwab', 'alpaca'] as const;
export type OAuthBroker = (typeof OAUTH_BROKERS)[number];

/** One broker's OAuth2 client registration (a secret: never logged or shown). */
export interface OAuthClientConfig {
  readonly clientId: string;
  readonly clientSecret: string;
  readonly authorizeUrl: string;
  readonly tokenUrl: string;
  readonly redirectUri: string;
  readonly pkce: boolean;
  readonly scope: string | null;
  readonly revokeUrl: string | null;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses the environment into a GatewayConfig; throws ConfigError naming every bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ');
    throw new ConfigError(`invalid configuration: ${problems}`);
  }
  const e = parsed.data;
  if (e.KEY_PROVIDER === 'aws-kms' && e.KMS_KEY_ID === undefined) {
    throw new ConfigError('invalid configuration: KMS_KEY_ID: required when KEY_PROVIDER is aws-kms');
  }
  const brokers: Record<string, BrokerAdapterConfig> = {};
  const brokerProblems: string[] = [];
  for (const broker of e.BROKERS) {
    const adapter = brokerAdapterFrom(broker, env, e.PAPER_VENUE_URL);
    if (typeof adapter === 'string') {
      brokerProblems.push(adapter);
    } else {
      brokers[broker] = adapter;
    }
  }
  const lockdown = lockdownConfigFrom(env);
  if (typeof lockdown === 'string') {
    brokerProblems.push(lockdown);
  }
  if (brokerProblems.length > 0 || typeof lockdown === 'string') {
    throw new ConfigError(`invalid configuration: ${brokerProblems.join('; ')}`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    databaseUrl: e.DATABASE_URL,
    databaseMigrations: e.DATABASE_MIGRATIONS,
    databasePoolSize: e.DATABASE_POOL_SIZE,
    shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
    redisUrl: e.REDIS_URL,
    redisPrefix: e.REDIS_PREFIX,
    logLevel: e.LOG_LEVEL,
    bodyLimitBytes: e.BODY_LIMIT_BYTES,
    brokerSubmitTimeoutMs: e.BROKER_SUBMIT_TIMEOUT_MS,
    reconcileMissingAfterMs: e.RECONCILE_MISSING_AFTER_MS,
    reconcileLookbackMs: e.RECONCILE_LOOKBACK_MS,
    reconcileIntervalMs: e.RECONCILE_INTERVAL_MS,
    jobs: { lockDurationMs: e.JOBS_LOCK_DURATION_MS, stalledIntervalMs: e.JOBS_STALLED_INTERVAL_MS },
    paperVenueUrl: e.PAPER_VENUE_URL ?? null,
    brokers,
    paper: {
      marketDataDir: resolve(packageRoot(), e.MARKET_DATA_DIR ?? '../shared/data/market'),
      speed: e.PAPER_SPEED,
      startTime: e.PAPER_START_TIME,
      ackLatencyMs: e.PAPER_ACK_LATENCY_MS,
      spxwDate: e.PAPER_SPXW_DATE,
      startingCash: e.PAPER_STARTING_CASH,
    },
    seedDemoAccount: e.SEED_DEMO_ACCOUNT,
    paperVenueExclusive: e.PAPER_VENUE_EXCLUSIVE,
    paperVenueSynchronousCommit: e.PAPER_VENUE_SYNCHRONOUS_COMMIT,
    environments: e.GATEWAY_ENVIRONMENTS,
    auth: {
      issuer: e.AUTH_ISSUER,
      audience: e.AUTH_AUDIENCE,
      devTokenTtlSeconds: e.DEV_TOKEN_TTL_SECONDS,
      jwksUrl: e.AUTH_JWKS_URL ?? null,
      algorithms: e.AUTH_ALGORITHMS,
      clockToleranceSeconds: e.AUTH_CLOCK_TOLERANCE_SECONDS,
      rolesClaim: e.AUTH_ROLES_CLAIM,
      roleScopePrefix: e.AUTH_ROLE_SCOPE_PREFIX === '' ? null : e.AUTH_ROLE_SCOPE_PREFIX,
      jwksCooldownMs: e.AUTH_JWKS_COOLDOWN_MS,
      jwksCacheMaxAgeMs: e.AUTH_JWKS_CACHE_MAX_AGE_MS,
      httpTimeoutMs: e.AUTH_HTTP_TIMEOUT_MS,
    },
    risk: {
      maxOrderQuantity: e.RISK_MAX_ORDER_QUANTITY,
      maxOrderNotional: e.RISK_MAX_ORDER_NOTIONAL,
      priceCollarPercent: e.RISK_PRICE_COLLAR_PERCENT,
      maxQuoteAgeMs: e.RISK_MAX_QUOTE_AGE_MS,
      maxPositionQuantity: e.RISK_MAX_POSITION_QUANTITY ?? null,
      maxWorkingOrders: e.RISK_MAX_WORKING_ORDERS ?? null,
      zeroDteCutoffMinutes: e.RISK_ZERO_DTE_CUTOFF_MINUTES === 0 ? null : e.RISK_ZERO_DTE_CUTOFF_MINUTES,
    },
    killSwitchSweepMs: e.KILL_SWITCH_SWEEP_MS,
    lockdown,
    ws: {
      pingIntervalMs: e.WS_PING_INTERVAL_MS,
      maxBufferedBytes: e.WS_MAX_BUFFERED_BYTES,
      authTimeoutMs: e.WS_AUTH_TIMEOUT_MS,
    },
    eventExport:
      e.EVENT_EXPORT === 'off'
        ? null
        : {
            databaseUrl: e.DATABASE_URL,
            natsUrl: e.NATS_URL,
            stream: e.EVENT_EXPORT_STREAM,
            controlStream: e.EVENT_EXPORT_CONTROL_STREAM,
            duplicateWindowMs: e.EVENT_EXPORT_DUPLICATE_WINDOW_MS,
            pollMs: e.EVENT_EXPORT_POLL_MS,
            lagAlertMs: e.EVENT_EXPORT_LAG_ALERT_MS,
          },
    monitor: {
      snapshotMs: e.MONITOR_SNAPSHOT_MS,
      stateMs: e.MONITOR_STATE_MS,
      port: e.MONITOR_PORT,
      host: e.MONITOR_HOST,
      gatewayUrl: e.MONITOR_GATEWAY_URL,
      slowClientMs: e.MONITOR_SLOW_CLIENT_MS,
    },
    rateLimit: {
      requests: e.RATE_LIMIT_REQUESTS,
      orders: e.RATE_LIMIT_ORDERS,
      unauthenticated: e.RATE_LIMIT_UNAUTHENTICATED,
      wsMaxSubscriptions: e.WS_MAX_SUBSCRIPTIONS,
      wsMaxConnectionsPerPrincipal: e.WS_MAX_CONNECTIONS_PER_PRINCIPAL,
    },
    credentials: {
      keyProvider: e.KEY_PROVIDER,
      kms:
        e.KEY_PROVIDER === 'aws-kms'
          ? { keyId: e.KMS_KEY_ID!, region: e.KMS_REGION ?? null, endpoint: e.KMS_ENDPOINT ?? null }
          : null,
      localMasterKeyFile: resolve(e.LOCAL_MASTER_KEY_FILE),
    },
    oauth: {
      clients: oauthClients(e),
      stateTtlSeconds: e.OAUTH_STATE_TTL_SECONDS,
      refreshBeforeExpirySeconds: e.OAUTH_REFRESH_BEFORE_EXPIRY_SECONDS,
      refreshJitterSeconds: e.OAUTH_REFRESH_JITTER_SECONDS,
      refreshRetrySeconds: e.OAUTH_REFRESH_RETRY_SECONDS,
      refreshPollMs: e.OAUTH_REFRESH_POLL_MS,
    },
  };
}

/** The OAuth clients configured; a client id without its secret or redirect URI is a ConfigError. */
function oauthClients(e: z.infer<typeof schema>): Partial<Record<OAuthBroker, OAuthClientConfig>> {
  const clients: Partial<Record<OAuthBroker, OAuthClientConfig>> = {};
  const settings = {
    schwab: {
      id: e.OAUTH_SCHWAB_CLIENT_ID,
      secret: e.OAUTH_SCHWAB_CLIENT_SECRET,
      authorize: e.OAUTH_SCHWAB_AUTHORIZE_URL,
      token: e.OAUTH_SCHWAB_TOKEN_URL,
      redirect: e.OAUTH_SCHWAB_REDIRECT_URI,
      pkce: e.OAUTH_SCHWAB_PKCE,
      scope: e.OAUTH_SCHWAB_SCOPE,
      revoke: e.OAUTH_SCHWAB_REVOKE_URL,
    },
    alpaca: {
      id: e.OAUTH_ALPACA_CLIENT_ID,
      secret: e.OAUTH_ALPACA_CLIENT_SECRET,
      authorize: e.OAUTH_ALPACA_AUTHORIZE_URL,
      token: e.OAUTH_ALPACA_TOKEN_URL,
      redirect: e.OAUTH_ALPACA_REDIRECT_URI,
      pkce: e.OAUTH_ALPACA_PKCE,
      scope: e.OAUTH_ALPACA_SCOPE,
      revoke: e.OAUTH_ALPACA_REVOKE_URL,
    },
  } satisfies Record<OAuthBroker, unknown>;
  for (const broker of OAUTH_BROKERS) {
    const s = settings[broker];
    if (s.id === undefined) {
      continue;
    }
    const name = `OAUTH_${broker.toUpperCase()}`;
    if (s.secret === undefined || s.redirect === undefined) {
      throw new ConfigError(
        `invalid configuration: ${name}_CLIENT_ID needs ${name}_CLIENT_SECRET and ${name}_REDIRECT_URI`,
      );
    }
    if (!new URL(s.redirect).pathname.endsWith(`/v1/oauth/${broker}/callback`)) {
      throw new ConfigError(`invalid configuration: ${name}_REDIRECT_URI must end in /v1/oauth/${broker}/callback`);
    }
    clients[broker] = {
      clientId: s.id,
      clientSecret: s.secret,
      authorizeUrl: s.authorize,
      tokenUrl: s.token,
      redirectUri: s.redirect,
      pkce: s.pkce,
      scope: s.scope === '' ? null : s.scope,
      revokeUrl: s.revoke ?? null,
    };
  }
  return clients;
}

/** Injection token for the GatewayConfig. */
export const GATEWAY_CONFIG = Symbol('GATEWAY_CONFIG');
