import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ApiError } from './api-error.js';
import { ZodPipe } from './zod-body.pipe.js';

/** The `errors[]` of the 422 the pipe answers for `value`. */
function errorsOf(pipe: ZodPipe<unknown>, value: unknown, metadata?: Parameters<ZodPipe<unknown>['transform']>[1]) {
  try {
    pipe.transform(value, metadata);
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(422);
    return (error as ApiError).errors?.map((e) => e.path);
  }
  throw new Error('the pipe accepted the value');
}

const query = z.strictObject({ limit: z.coerce.number().int().min(1).default(100), after: z.uuid().optional() });

describe('ZodPipe field paths', () => {
  it('names the body field, and (body) for the body as a whole', () => {
    const body = new ZodPipe(z.strictObject({ order: z.strictObject({ quantity: z.string() }) }));
    expect(errorsOf(body, { order: { quantity: 1 } }, { type: 'body' })).toEqual(['order.quantity']);
    expect(errorsOf(body, [], { type: 'body' })).toEqual(['(body)']);
    expect(errorsOf(body, 'x')).toEqual(['(body)']);
  });

  it('names the query parameter, an unknown one included, never (body)', () => {
    const pipe = new ZodPipe(query);
    expect(errorsOf(pipe, { limit: '0' }, { type: 'query' })).toEqual(['limit']);
    expect(errorsOf(pipe, { limit: '5', access_token: 'x', foo: '1' }, { type: 'query' })).toEqual([
      'access_token',
      'foo',
    ]);
    expect(errorsOf(new ZodPipe(z.coerce.number().int().min(1)), 'abc', { type: 'query', data: 'limit' })).toEqual([
      'limit',
    ]);
  });

  it('names the path parameter', () => {
    const pipe = new ZodPipe(z.string().min(1).max(8));
    expect(errorsOf(pipe, 'x'.repeat(9), { type: 'param', data: 'subject' })).toEqual(['subject']);
  });
});
