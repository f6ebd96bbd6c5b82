import 'reflect-metadata';
import { RequestMethod } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants.js';
import { NestFactory } from '@nestjs/core';
import type { Express } from 'express';
import { AppModule, type GatewayDependencies } from '../../apps/gateway/src/app.module.js';

/** One route as Express holds it after Nest registered the controllers. */
export interface RegisteredRoute {
  /** Upper case: `GET`, `POST`... */
  readonly method: string;
  /** OpenAPI form: `/v1/accounts/{accountId}` (Express form `/v1/accounts/:accountId`). */
  readonly path: string;
  /** The status Nest answers with unless the handler sets another: `@HttpCode`, else 201 for POST, 200. */
  readonly status: number;
}

/**
 * Every HTTP route of the gateway, as Nest registers them on Express: the application module is built in
 * Nest's preview mode, which resolves modules and registers every controller's routes without creating
 * a provider, so no database, Redis or broker is needed and nothing is read from `deps`.
 */
export async function registeredRoutes(): Promise<RegisteredRoute[]> {
  const deps = {} as GatewayDependencies;
  const app = await NestFactory.create(AppModule.register(deps), { preview: true, logger: false, bodyParser: false });
  try {
    await app.init();
    const express = app.getHttpAdapter().getInstance() as Express;
    return express.router.stack.flatMap((layer) =>
      (layer.route?.stack ?? []).map((handler) => {
        const method = handler.method.toUpperCase();
        const declared: unknown = Reflect.getMetadata(HTTP_CODE_METADATA, handler.handle);
        return {
          method,
          path: layer.route!.path.replace(/:(\w+)/g, '{$1}'),
          status: typeof declared === 'number' ? declared : method === RequestMethod[RequestMethod.POST] ? 201 : 200,
        };
      }),
    );
  } finally {
    await app.close();
  }
}
