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

/**
 * What each role may do. The one source of truth for access: server guards check it, and pages
 * use it only to hide links a role cannot follow. The README's access table is the spec that
 * test/e2e/access-matrix.spec.ts walks against the running server.
 */
export const permissions = [
  'wall:view',
  'leads:view-all',
  'leads:view-own',
  'leads:assign',
  /**
   * Work a lead one may see: claim, snooze, mark reviewed, correct what the AI wrote, add notes,
   * draft and approve follow-ups. Reps may see their own leads and the unclaimed shared queue.
   */
  'leads:work',
  /** Acknowledge, snooze or claim an exception the system raised. */
  'exceptions:act',
  /** The organisation's thresholds (exceptions now, model settings with issue 6). */
  'settings:manage',
  /** The model page: versions, accuracy, drift, the promotion log. */
  'models:view',
  /** Retrain now, roll back to an earlier version. */
  'models:manage',
  'users:manage',
  'api-keys:manage'
] as const;
export type Permission = (typeof permissions)[number];

const grants: Record<Role, readonly Permission[]> = {
  manager: ['wall:view', 'leads:view-all', 'leads:assign', 'leads:work', 'exceptions:act', 'models:view'],
  revops: ['wall:view', 'settings:manage', 'models:view', 'models:manage'],
  rep: ['leads:view-own', 'leads:work'],
  admin: ['users:manage', 'api-keys:manage']
};

export function can(role: Role, permission: Permission): boolean {
  return grants[role].includes(permission);
}

/** Where each role lands after signing in. */
export function homeFor(role: Role): string {
  return { manager: '/', revops: '/', rep: '/inbox', admin: '/admin/users' }[role];
}
