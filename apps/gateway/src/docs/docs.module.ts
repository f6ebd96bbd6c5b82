import { Module } from '@nestjs/common';
import { DocsController } from './docs.controller.js';

/** `GET /docs` and `GET /docs/openapi.json`: the OpenAPI document and its UI. Exports nothing. */
@Module({
  controllers: [DocsController],
})
export class DocsModule {}
