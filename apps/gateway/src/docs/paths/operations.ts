import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { liveSchema, prometheusText, readySchema } from '../../health/health.schema.js';
import { documentSchema, pageText } from '../docs.schema.js';
import { json } from '../responses.js';

const tags = ['Operations'];
const open = { tags, security: [] };

/** Health, metrics and these docs: no token needed. */
export const operationPaths: ZodOpenApiPathsObject = {
  '/health/live': { get: { ...open, summary: 'The process is up', responses: { '200': json('', liveSchema) } } },
  '/health/ready': {
    get: {
      ...open,
      summary: 'Ready to take orders: PostgreSQL, Redis and the broker session answer',
      responses: { '200': json('', readySchema), '503': json('A check is down', readySchema) },
    },
  },
  '/metrics': {
    get: {
      ...open,
      responses: {
        '200': { description: 'Prometheus text format', content: { 'text/plain': { schema: prometheusText } } },
      },
    },
  },
  '/docs': {
    get: {
      ...open,
      summary: 'This document in a browsable UI (swagger-ui)',
      responses: { '200': { description: 'HTML page', content: { 'text/html': { schema: pageText } } } },
    },
  },
  '/docs/init.js': {
    get: {
      ...open,
      summary: "The UI page's start script",
      responses: { '200': { description: 'JavaScript', content: { 'application/javascript': { schema: pageText } } } },
    },
  },
  '/docs/openapi.json': {
    get: { ...open, summary: 'This OpenAPI 3.1 document', responses: { '200': json('', documentSchema) } },
  },
};
