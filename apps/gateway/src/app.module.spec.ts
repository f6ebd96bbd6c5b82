import 'reflect-metadata';
import type { DynamicModule, Provider, Type } from '@nestjs/common';
import { MODULE_METADATA } from '@nestjs/common/constants.js';
import { APP_GUARD } from '@nestjs/core';
import { describe, expect, it } from 'vitest';
import { AppModule, type GatewayDependencies } from './app.module.js';
import { AuditContextGuard } from './audit/audit-context.guard.js';
import { AuthGuard } from './auth/auth.guard.js';
import { AddressRateLimitGuard } from './rate-limit/address-rate-limit.guard.js';
import { ClientRateLimitGuard } from './rate-limit/client-rate-limit.guard.js';

type ModuleImport = Type | DynamicModule;

/** What a module declares, static (`@Module`) and dynamic (`register()`) parts together. */
function declared(entry: ModuleImport): {
  name: string;
  imports: ModuleImport[];
  providers: Provider[];
  controllers: Type[];
} {
  const type = 'module' in entry ? entry.module : entry;
  const dynamic: Partial<DynamicModule> = 'module' in entry ? entry : {};
  const meta = <T>(key: string): T[] => (Reflect.getMetadata(key, type) as T[] | undefined) ?? [];
  return {
    name: type.name,
    imports: [...meta<ModuleImport>(MODULE_METADATA.IMPORTS), ...((dynamic.imports ?? []) as ModuleImport[])],
    providers: [...meta<Provider>(MODULE_METADATA.PROVIDERS), ...(dynamic.providers ?? [])],
    controllers: [...meta<Type>(MODULE_METADATA.CONTROLLERS), ...(dynamic.controllers ?? [])],
  };
}

function tokenOf(provider: Provider): unknown {
  return typeof provider === 'function' ? provider : provider.provide;
}

/** Every module reachable from the application module, once each. */
function modules(root: ModuleImport): ReturnType<typeof declared>[] {
  const seen = new Map<string, ReturnType<typeof declared>>();
  const visit = (entry: ModuleImport) => {
    const module = declared(entry);
    if (!seen.has(module.name)) {
      seen.set(module.name, module);
      module.imports.forEach(visit);
    }
  };
  visit(root);
  return [...seen.values()];
}

const app = AppModule.register({} as GatewayDependencies);

describe('AppModule', () => {
  it('declares the global guards only, in the order they must run, and no controller', () => {
    const { providers, controllers } = declared(app);
    expect(providers.map(tokenOf)).toEqual([APP_GUARD, APP_GUARD, APP_GUARD, APP_GUARD]);
    expect(providers.map((p) => (p as { useClass?: unknown }).useClass)).toEqual([
      AuditContextGuard,
      AddressRateLimitGuard,
      AuthGuard,
      ClientRateLimitGuard,
    ]);
    expect(controllers).toEqual([]);
  });

  it('reaches every provider and controller through exactly one feature module', () => {
    const owners = new Map<unknown, string[]>();
    for (const module of modules(app).filter((m) => m.name !== 'AppModule')) {
      for (const token of [...module.providers.map(tokenOf), ...module.controllers]) {
        owners.set(token, [...(owners.get(token) ?? []), module.name]);
      }
    }
    const twice = [...owners]
      .filter(([, names]) => names.length > 1)
      .map(([token, names]) => [typeof token === 'function' ? token.name : String(token), names]);
    expect(twice).toEqual([]);
  });
});
