import { z } from 'zod';

/** Stable codes for a rejected item; they are API surface and metric labels, so never rename one. */
export const rejectCodes = [
  'not_an_object',
  'unknown_type',
  'invalid_field',
  'unknown_field',
  'missing_field',
  'invalid_json'
] as const;
export type RejectCode = (typeof rejectCodes)[number];

export const rejectedItemSchema = z.object({
  /** Position of the item in the request body, from 0. */
  index: z.number().int().nonnegative(),
  code: z.enum(rejectCodes),
  /** Dotted path of the offending field, '' for the item itself. */
  field: z.string(),
  message: z.string()
});
export type RejectedItem = z.infer<typeof rejectedItemSchema>;

/** Body of every answer from POST /api/v1/events that got as far as reading items. */
export const ingestResponseSchema = z.object({
  accepted: z.number().int().nonnegative(),
  rejected: z.array(rejectedItemSchema)
});
export type IngestResponse = z.infer<typeof ingestResponseSchema>;

/** Body of a request-level failure (bad JSON, no key, too large). */
export const apiErrorSchema = z.object({ error: z.string(), message: z.string() });
export type ApiError = z.infer<typeof apiErrorSchema>;
