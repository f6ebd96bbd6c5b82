import { type ArgumentMetadata, type PipeTransform } from '@nestjs/common';
import { type ZodError, type ZodType } from 'zod';
import { ApiError, type FieldError } from './api-error.js';

/** Where a validated value came from: the request body, its query string or a path parameter. */
export type FieldSource = Pick<ArgumentMetadata, 'type' | 'data'>;

const BODY: FieldSource = { type: 'body' };

/**
 * One `{ path, message }` per zod issue. `path` names the field: for the body, its dotted path inside the
 * body (`(body)` for the body as a whole); for a query string, the query parameter (an unknown parameter
 * is named too); for a path parameter, its name.
 */
export function zodFieldErrors(error: ZodError, source: FieldSource = BODY): FieldError[] {
  const prefix = source.data ? [source.data] : [];
  const whole = source.type === 'query' ? '(query)' : source.type === 'param' ? '(params)' : '(body)';
  return error.issues.flatMap((issue) => {
    const inside = [...prefix, ...issue.path.map(String)];
    // A strict query schema refuses unknown parameters in one issue at the query's root: name each.
    if (source.type === 'query' && issue.code === 'unrecognized_keys' && inside.length === 0) {
      return issue.keys.map((key) => ({ path: key, message: `Unknown query parameter "${key}"` }));
    }
    return [{ path: inside.length > 0 ? inside.join('.') : whole, message: issue.message }];
  });
}

/** Validates a body, query or param with a zod schema; failures answer 422 `validation.failed`. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown, metadata?: ArgumentMetadata): T {
    const result = this.schema.safeParse(value);
    if (!result.success) {
      throw ApiError.validation(zodFieldErrors(result.error, metadata ?? BODY));
    }
    return result.data;
  }
}
