import { z } from 'zod';
import { roles } from './auth';

/** What a socket says it is looking at. Lead ids follow the ingest contract's id rule. */
export const presenceViewSchema = z.discriminatedUnion('page', [
  z.object({ page: z.literal('wall') }),
  z.object({ page: z.literal('leads') }),
  z.object({ page: z.literal('inbox') }),
  z.object({ page: z.literal('lead'), leadId: z.string().min(1).max(128).regex(/^[A-Za-z0-9._:@-]+$/) })
]);
export type PresenceView = z.infer<typeof presenceViewSchema>;

/** One person watching, however many tabs they have open: each tab's view is listed. */
export const viewerSchema = z.object({
  userId: z.string(),
  name: z.string(),
  role: z.enum(roles),
  views: z.array(presenceViewSchema)
});
export type Viewer = z.infer<typeof viewerSchema>;

export const viewersSchema = z.array(viewerSchema);
