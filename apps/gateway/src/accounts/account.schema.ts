import { TRADING_STATES } from '@gateway/risk';
import { z } from 'zod';
import { environmentSchema, isoTime } from '../common/api.schema.js';
import { typesAgree, typesNarrow } from '../common/type-agreement.js';
import { ROLES } from '../auth/principal.js';
import type { AccountDto } from './account.mapper.js';
import type { GrantDto } from './account.mapper.js';

/** An account's broker connection as the Account shows it (API.md "Additions"). */
export const brokerConnectionSummarySchema = z
  .object({
    status: z.enum(['connected', 'refresh_failing', 'reauth_required', 'disconnected']),
    accessExpiresAt: isoTime.nullable(),
    refreshExpiresAt: isoTime.nullable(),
  })
  .meta({ id: 'BrokerConnectionSummary' });

/** The public Account (API.md "Accounts"), as `toAccountDto` makes it. */
export const accountSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    environment: environmentSchema,
    broker: z.string().meta({ description: "the broker the account trades at (one of the deployment's BROKERS)" }),
    brokerAccountId: z.string().nullable().meta({ description: "the account's number at its broker" }),
    brokerConnection: brokerConnectionSummarySchema.nullable().meta({
      description:
        "the account's OAuth2 connection to its broker (GET …/broker-connection has the rest); null when it has none",
    }),
    liveEnabled: z.boolean().meta({
      description: 'a live account takes orders only when set (403 account.live_not_enabled otherwise)',
    }),
    tradingState: z.enum(TRADING_STATES).meta({
      description:
        "effective: the account's own state, or the global one when more restrictive. active: every order subject to the checks; " +
        'reducing: only orders that reduce a position without flipping it; halted (kill switch): no entries, exits only as marketable limit orders inside the price collar',
    }),
    tradingStateReason: z.string().nullable(),
    entriesBlocked: z.boolean().meta({
      description:
        'entry authority withdrawn (state, unknown order, restart, its broker disconnected or not yet reconciled after a reconnect); exits stay possible',
    }),
    entriesBlockedReason: z.string().nullable(),
  })
  .meta({ id: 'Account' });
typesAgree<z.infer<typeof accountSchema>, AccountDto>(true);

const role = z.enum(ROLES);

/** A grant of an account to a subject, as `GET|PUT …/grants` answer it. */
export const accountGrantSchema = z
  .object({
    subject: z.string(),
    accountId: z.string(),
    roles: z.array(role),
    grantedBy: z.string(),
    grantedAt: isoTime,
  })
  .meta({ id: 'Grant' });
// The DTO types roles as plain strings; what a grant holds are roles (the body below).
typesAgree<Omit<z.infer<typeof accountGrantSchema>, 'roles'>, Omit<GrantDto, 'roles'>>(true);
typesNarrow<z.infer<typeof accountGrantSchema>, GrantDto>(true);

export const grantListSchema = z.object({ grants: z.array(accountGrantSchema) });

/** Body of `PUT /v1/accounts/{accountId}/grants/{subject}`. */
export const grantSchema = z.strictObject({ roles: z.array(role).min(1) });
/** Body of `POST /v1/accounts` (role admin with the `*` grant). */
export const accountCreateSchema = z
  .strictObject({
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/, '1–64 of [A-Za-z0-9._:-], starting with a letter or digit')
      .meta({ description: 'unique (409 account.name_taken)' }),
    broker: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,31}$/, 'a broker name: lower-case [a-z0-9_]')
      .meta({
        description:
          "one of the deployment's BROKERS (paper, alpaca, schwab…); another: 422 account.broker_not_configured",
      }),
    environment: environmentSchema.meta({
      description: 'one the deployment and the broker serve (422 account.environment_not_served otherwise)',
    }),
    brokerAccountId: z.string().min(1).max(128).optional().meta({ description: "the account's number at its broker" }),
  })
  .meta({ id: 'AccountCreate' });

/** Body of `PATCH /v1/accounts/{accountId}`. */
export const accountPatchSchema = z.strictObject({ liveEnabled: z.boolean() });
/** Path parameter `subject` of the grant routes: a user or client id. */
export const subjectParam = z.string().min(1).max(256);
