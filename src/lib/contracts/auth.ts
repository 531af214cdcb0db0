import { z } from 'zod';

/**
 * manager: the whole organisation, live wall, claims. revops: model pages, retraining, settings.
 * rep: their own leads and the shared at-risk queue. admin: users and API keys.
 */
export const roles = ['manager', 'revops', 'rep', 'admin'] as const;
export const roleSchema = z.enum(roles);
export type Role = z.infer<typeof roleSchema>;

/** What the browser may know about the signed-in user. */
export interface SessionUser {
  userId: string;
  orgId: string;
  email: string;
  name: string;
  role: Role;
}
