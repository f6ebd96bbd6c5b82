import { type DynamicModule, Module } from '@nestjs/common';
import { BrokerCredentialRepository } from './broker-credential.repository.js';
import { CREDENTIAL_VAULT } from './broker-secrets.js';
import { EnvelopeCredentialVault } from './envelope-credential-vault.js';
import { KEY_PROVIDER, type KeyProvider } from './key-provider.js';
import { KeyRotation } from './key-rotation.js';
import { KeyRotationJobs } from './key-rotation.jobs.js';

/** What main.ts opens before Nest starts: the key provider (key-providers.ts). */
export interface CredentialsDependencies {
  readonly keyProvider: KeyProvider;
}

/**
 * Broker credentials (global: the broker registry, the OAuth connection and the jobs read them):
 * the envelope-encrypting vault under `CREDENTIAL_VAULT`, the key provider under `KEY_PROVIDER`, and
 * `KeyRotation` (for the CLI's `keys rotate --in-process`), and the `key-rotation` queue's processor
 * (`KeyRotationJobs`, which the CLI's `keys rotate` enqueues for).
 */
@Module({})
export class CredentialsModule {
  static register(deps: CredentialsDependencies): DynamicModule {
    return {
      module: CredentialsModule,
      global: true,
      providers: [
        { provide: KEY_PROVIDER, useValue: deps.keyProvider },
        BrokerCredentialRepository,
        EnvelopeCredentialVault,
        { provide: CREDENTIAL_VAULT, useExisting: EnvelopeCredentialVault },
        KeyRotation,
        KeyRotationJobs,
      ],
      exports: [CREDENTIAL_VAULT, KEY_PROVIDER, KeyRotation],
    };
  }
}
