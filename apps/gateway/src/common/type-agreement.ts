/** `true` when A and B are assignable both ways: a zod schema's inferred type and the DTO it describes agree. */
export type Agrees<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

/** `true` when every A is a B: the schema names the values of a field the DTO types more widely (a string). */
export type Narrows<A, B> = [A] extends [B] ? true : false;

/**
 * A compile-time check, a no-op at run time: `typesAgree<z.infer<typeof orderSchema>, OrderDto>(true)`
 * stops type checking when the response schema of the OpenAPI document and the DTO the route returns drift.
 */
export function typesAgree<A, B>(check: Agrees<A, B>): void {
  void check;
}

/** Like `typesAgree`, one way: every value the schema allows is one the DTO type allows. */
export function typesNarrow<A, B>(check: Narrows<A, B>): void {
  void check;
}
