import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeAll, describe, expect, it } from 'vitest';
import { type RegisteredRoute, registeredRoutes } from '../../../../test/support/registered-routes.js';
import { openApiDocument } from './openapi.js';

interface Operation {
  tags?: string[];
  security?: unknown[];
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
}
interface Doc {
  tags?: { name: string }[];
  paths?: Record<string, Partial<Record<(typeof METHODS)[number], Operation>>>;
}

/** A copy through JSON: exactly what GET /docs/openapi.json serves. */
const served = (): Doc => JSON.parse(JSON.stringify(openApiDocument())) as Doc;
const document = served();
const METHODS = ['get', 'put', 'post', 'patch', 'delete'] as const;

/** Every operation of the document, keyed `GET /v1/accounts/{accountId}`. */
function operations(doc: Doc): Map<string, Operation> {
  const found = new Map<string, Operation>();
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (op) {
        found.set(`${method.toUpperCase()} ${path}`, op);
      }
    }
  }
  return found;
}

/** What the document lacks for the routes Nest registered: a route, its success status, a response schema. */
function gaps(doc: Doc, routes: readonly RegisteredRoute[]): string[] {
  const ops = operations(doc);
  const missing: string[] = [];
  for (const route of routes) {
    const key = `${route.method} ${route.path}`;
    const op = ops.get(key);
    if (!op) {
      missing.push(`${key}: not in the document`);
      continue;
    }
    const success = op.responses[String(route.status)];
    if (!success) {
      missing.push(`${key}: no ${route.status} response`);
    }
    for (const [status, response] of Object.entries(op.responses)) {
      const media = Object.values(response.content ?? {});
      // 204 has no body; every other answer, success or problem, names the schema of its body.
      if (status !== '204' && (media.length === 0 || media.some((m) => m.schema === undefined))) {
        missing.push(`${key}: no schema for the ${status} response`);
      }
    }
  }
  return missing;
}

let routes: RegisteredRoute[];

beforeAll(async () => {
  routes = await registeredRoutes();
});

describe('the OpenAPI document', () => {
  it('validates as OpenAPI 3.1', async () => {
    const validator = new Validator();
    const result = await validator.validate(document as Record<string, unknown>);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
  });

  it('has every route Nest registered, its success status and a schema for each response body', () => {
    // Nest's own route table: a walk that found nothing would prove nothing.
    expect(routes.length).toBeGreaterThanOrEqual(36);
    expect(routes.map((r) => `${r.method} ${r.path}`)).toContain('POST /v1/accounts/{accountId}/orders');
    expect(gaps(document, routes)).toEqual([]);
    // And nothing documented that no route serves.
    const registered = new Set(routes.map((r) => `${r.method} ${r.path}`));
    expect([...operations(document).keys()].filter((key) => !registered.has(key))).toEqual([]);
  });

  it('catches a route or a response schema missing from it', () => {
    const doc = served();
    const paths = doc.paths!;
    delete paths['/v1/accounts/{accountId}/positions'];
    delete paths['/v1/accounts/{accountId}/orders']!.post!.responses['201']!.content;
    delete paths['/v1/kill-switch']!.post!.responses['202'];
    expect(gaps(doc, routes)).toEqual([
      'POST /v1/accounts/{accountId}/orders: no schema for the 201 response',
      'GET /v1/accounts/{accountId}/positions: not in the document',
      'POST /v1/kill-switch: no 202 response',
    ]);
  });

  it('groups every operation under a declared tag, and says which need no token', () => {
    const declared = new Set((document.tags ?? []).map((t) => t.name));
    for (const [key, op] of operations(document)) {
      const tags = op.tags ?? [];
      expect(tags.length, key).toBeGreaterThan(0);
      expect(
        tags.every((t) => declared.has(t)),
        key,
      ).toBe(true);
    }
    const open = [...operations(document)].filter(([, op]) => op.security?.length === 0).map(([key]) => key);
    expect(open.sort()).toEqual(
      [
        '/docs',
        '/docs/init.js',
        '/docs/openapi.json',
        '/health/live',
        '/health/ready',
        '/metrics',
        '/v1/oauth/{broker}/callback',
      ].map((p) => `GET ${p}`),
    );
  });
});
