import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Response } from 'express';
import { z } from 'zod';
import type { Account } from '../accounts/account.js';
import { VisibleAccount } from '../accounts/visible-account.decorator.js';
import { AuditedChange } from '../audit/audit-context.guard.js';
import { type AuthenticatedRequest, Public, RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { authorizationRequestSchema, callbackQuerySchema } from './broker-connection.schema.js';
import {
  type AuthorizationStart,
  type BrokerConnectionDto,
  BrokerConnectionsService,
} from './broker-connections.service.js';
import { CALLBACK_PAGE_HEADERS, callbackPage } from './callback-page.js';

@Controller('v1/accounts/:accountId/broker-connection')
export class BrokerConnectionsController {
  constructor(private readonly connections: BrokerConnectionsService) {}

  /** `POST …/broker-connection` `{ redirectUri? }` (role admin) → `{ authorizeUrl, state, expiresAt }`. */
  @Post()
  @RequireRole('admin')
  start(
    @Req() req: AuthenticatedRequest,
    @VisibleAccount() account: Account,
    @Body(new ZodPipe(authorizationRequestSchema.optional()))
    body: z.infer<typeof authorizationRequestSchema> | undefined,
  ): Promise<AuthorizationStart> {
    return this.connections.start(account, req.principal, body?.redirectUri);
  }

  /** `GET …/broker-connection` → the connection's status, expiries and last refresh. */
  @Get()
  @RequireRole('admin')
  get(@VisibleAccount() account: Account): Promise<BrokerConnectionDto> {
    return this.connections.describe(account);
  }

  /** `DELETE …/broker-connection` (role admin): revokes at the broker where it can, and forgets (204). */
  @Delete()
  @HttpCode(204)
  @RequireRole('admin')
  async disconnect(@VisibleAccount() account: Account): Promise<void> {
    await this.connections.disconnect(account);
  }
}

/** The broker's redirect back to the gateway: no bearer token (a browser brings it), checked by `state`. */
@Controller('v1/oauth/:broker/callback')
@Public()
export class OAuthCallbackController {
  constructor(private readonly connections: BrokerConnectionsService) {}

  /** `GET /v1/oauth/{broker}/callback?code=&state=` → a small HTML page saying what happened (200, 4xx, 502). */
  @Get()
  @AuditedChange()
  async callback(
    @Param('broker') broker: string,
    @Query() query: Record<string, unknown>,
    @Res({ passthrough: true }) res: Response,
  ): Promise<string> {
    const parsed = callbackQuerySchema.safeParse(query);
    const outcome = await this.connections.complete(broker, parsed.success ? parsed.data : {});
    res.status(outcome.status).set(CALLBACK_PAGE_HEADERS);
    return callbackPage(outcome);
  }
}
