import { Controller, Get, Header } from '@nestjs/common';
import { Public } from '../auth/auth.guard.js';
import { type OpenApiDocument, openApiDocument } from './openapi.js';

const PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Execution gateway API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css"></head>
<body><div id="ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>`;

@Controller('docs')
@Public()
export class DocsController {
  private readonly document = openApiDocument();

  /** `GET /docs`: the OpenAPI UI (swagger-ui-dist, served from node_modules). */
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  page(): string {
    return PAGE;
  }

  @Get('init.js')
  @Header('Content-Type', 'application/javascript; charset=utf-8')
  init(): string {
    return `window.ui = SwaggerUIBundle({ url: '/docs/openapi.json', dom_id: '#ui' });`;
  }

  /** `GET /docs/openapi.json`: the OpenAPI 3.1 document, generated once from the routes' zod schemas. */
  @Get('openapi.json')
  openapi(): OpenApiDocument {
    return this.document;
  }
}
