import { Body, Controller, HttpCode, Inject, Put } from '@nestjs/common';
import type { z } from 'zod';
import { RequireRole } from '../auth/auth.guard.js';
import { ZodPipe } from '../common/zod-body.pipe.js';
import { CREDENTIAL_VAULT, type CredentialVault } from '../credentials/broker-secrets.js';
import { AccountBrokers } from '../market/account-brokers.js';
import type { Account } from './account.js';
import { brokerCredentialsSchema } from './broker-credentials.schema.js';
import { VisibleAccount } from './visible-account.decorator.js';

@Controller('v1/accounts/:accountId/broker-credentials')
export class BrokerCredentialsController {
  constructor(
    @Inject(CREDENTIAL_VAULT) private readonly vault: CredentialVault,
    private readonly brokers: AccountBrokers,
  ) {}

  /**
   * `PUT /v1/accounts/{accountId}/broker-credentials` `{ kind: "api_key", keyId, secret }` (role admin)
   * → 204: stores the account's API key pair encrypted (replacing what it had), bound to the account,
   * its broker and environment. Write-only: no route answers it back. Audited as every admin change,
   * with the account id only (the audit log copies no body field of this route). The account's running
   * broker client, if any, is retired: the next order builds one with the new keys (no restart).
   */
  @Put()
  @HttpCode(204)
  @RequireRole('admin')
  async put(
    @VisibleAccount() account: Account,
    @Body(new ZodPipe(brokerCredentialsSchema)) body: z.infer<typeof brokerCredentialsSchema>,
  ): Promise<void> {
    await this.vault.store(
      { accountId: account.id, broker: account.broker, environment: account.environment },
      { kind: 'api_key', keyId: body.keyId, secret: body.secret },
    );
    this.brokers.credentialsChanged(account);
  }
}
