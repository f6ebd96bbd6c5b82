import { type DynamicModule, Module } from '@nestjs/common';
import { TokenVerifier } from './token-verifier.js';

/** What main.ts built for authentication before Nest starts. */
export interface AuthDependencies {
  /** The access-token check (issuer keys loaded, audience and roles configured). */
  readonly verifier: TokenVerifier;
}

/**
 * The access-token check, global: the `AuthGuard` of every HTTP route and the WebSocket stream's
 * handshake verify tokens with the same `TokenVerifier`. The guard itself is registered by AppModule,
 * among the global guards, in their order.
 */
@Module({})
export class AuthModule {
  static register(deps: AuthDependencies): DynamicModule {
    return {
      module: AuthModule,
      global: true,
      providers: [{ provide: TokenVerifier, useValue: deps.verifier }],
      exports: [TokenVerifier],
    };
  }
}
