const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Whether `id` has the form of the ids this API issues (UUIDs); anything else cannot name a row. */
export function isUuid(id: string): boolean {
  return UUID.test(id);
}
