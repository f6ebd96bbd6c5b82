import { type PipeTransform } from '@nestjs/common';
import { type ZodError, type ZodType } from 'zod';
import { ApiError, type FieldError } from './api-error.js';

export function zodFieldErrors(error: ZodError): FieldError[] {
  return error.issues.map((issue) => ({
    path: issue.path.length > 0 ? issue.path.map(String).join('.') : '(body)',
    message: issue.message,
  }));
}

/** Validates a body, query or param with a zod schema; failures answer 422 `validation.failed`. */
export class ZodPipe<T> implements PipeTransform<unknown, T> {
  constructor(private readonly schema: ZodType<T>) {}

  transform(value: unknown): T {
    const result = this.schema.safeParse(value);
    if (!result.success) {
      throw ApiError.validation(zodFieldErrors(result.error));
    }
    return result.data;
  }
}
