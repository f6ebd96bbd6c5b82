/** Building blocks of the OpenAPI document. */
export const decimal = { type: 'string', pattern: '^-?(0|[1-9][0-9]*)(\\.[0-9]+)?$', description: 'decimal string' };
export const nullable = (schema: Record<string, unknown>) => ({ anyOf: [schema, { type: 'null' }] });
export const time = { type: 'string', format: 'date-time', description: 'ISO-8601 UTC with milliseconds' };
export const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

export const problem = (description: string) => ({
  description,
  content: { 'application/problem+json': { schema: ref('Problem') } },
});
export const json = (description: string, schema: Record<string, unknown>) => ({
  description,
  content: { 'application/json': { schema } },
});
export const accountParam = {
  name: 'accountId',
  in: 'path',
  required: true,
  schema: { type: 'string', format: 'uuid' },
};
export const orderParam = { name: 'orderId', in: 'path', required: true, schema: { type: 'string', format: 'uuid' } };
export const query = (name: string, schema: Record<string, unknown>, description?: string) => ({
  name,
  in: 'query',
  required: false,
  schema,
  ...(description ? { description } : {}),
});
export const common = {
  '401': problem('auth.unauthenticated: missing, invalid or expired token'),
  '404': problem('account.not_found (also for accounts that are not yours), order.not_found'),
};
