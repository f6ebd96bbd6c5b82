import { z } from 'zod';

/** `GET /docs` and `/docs/init.js`: the OpenAPI UI's page and its start script. */
export const pageText = z.string();

/** `GET /docs/openapi.json`: this document. */
export const documentSchema = z.looseObject({
  openapi: z.string(),
  info: z.object({}).loose(),
  paths: z.object({}).loose(),
});
