import { z } from 'zod';
import { can, roleSchema, type Role, type SessionUser } from '../../contracts/auth';
import { hashPassword } from '../auth/password';
import { invalidateUserSessions, forgetCachedSessions } from '../auth/session';
import { randomId } from '../auth/token';
import type { ClickHouseClient } from '../db/clickhouse';
import { findUser, findUserByEmail, listUsers, saveUser, type UserRecord } from '../db/queries/identity';

/**
 * User administration for the /admin/users page, kept free of SvelteKit so the integration tests
 * can drive it against ClickHouse. The organisation is always the actor's (from the session);
 * a user id from a form is looked up inside that organisation only, so an admin of one
 * organisation gets "not found" for another's users rather than a way to change them.
 */

/** An expected refusal; the page turns it into `fail(status, { message })`. */
export interface AdminFailure {
  ok: false;
  status: 400 | 403 | 404;
  message: string;
}

export type AdminResult<T extends object> = ({ ok: true } & T) | AdminFailure;

/** What the page may show about a user: never the password hash. */
export interface UserSummary {
  userId: string;
  name: string;
  email: string;
  role: Role;
  active: boolean;
}

export const newUserSchema = z.object({
  name: z.string().trim().min(1, 'Enter a name.').max(100, 'Keep the name under 100 characters.'),
  email: z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.email('Enter a valid email address.').max(254, 'That email address is too long.')),
  role: roleSchema
});
export type NewUser = z.infer<typeof newUserSchema>;

const userIdSchema = z.string().min(1, 'Choose a user.').max(100);

export const roleChangeSchema = z.object({ userId: userIdSchema, role: roleSchema });
export type RoleChange = z.infer<typeof roleChangeSchema>;

export const userRefSchema = z.object({ userId: userIdSchema });
export type UserRef = z.infer<typeof userRefSchema>;

/**
 * The first problem with a submitted form as a sentence for the page. The role select is the
 * one field whose schema (shared from contracts) carries no message of its own.
 */
export function describeFormProblem(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return 'Check the form and try again.';
  return issue.path[0] === 'role' ? 'Choose one of the roles.' : issue.message;
}

const forbidden: AdminFailure = { ok: false, status: 403, message: 'Your role does not allow managing users.' };
const notFound: AdminFailure = { ok: false, status: 404, message: 'No such user in your organisation.' };

const summarise = (u: UserRecord): UserSummary => ({
  userId: u.userId,
  name: u.name,
  email: u.email,
  role: u.role,
  active: u.active
});

export async function listOrgUsers(client: ClickHouseClient, actor: SessionUser): Promise<UserSummary[]> {
  return (await listUsers(client, actor.orgId)).map(summarise);
}

/**
 * Creates an active user in the actor's organisation with a random temporary password, which is
 * returned once (only its argon2 hash is stored). Emails are unique across organisations because
 * the login form identifies a user by email alone.
 */
export async function createUser(
  client: ClickHouseClient,
  actor: SessionUser,
  input: NewUser
): Promise<AdminResult<{ user: UserSummary; temporaryPassword: string }>> {
  if (!can(actor.role, 'users:manage')) return forbidden;
  if (await findUserByEmail(client, input.email)) return { ok: false, status: 400, message: 'Email already in use.' };
  const temporaryPassword = randomId().slice(0, 16); // 80 bits: base32, 5 bits a character
  const user: UserRecord = {
    orgId: actor.orgId,
    userId: randomId(),
    email: input.email,
    name: input.name,
    role: input.role,
    passwordHash: await hashPassword(temporaryPassword),
    active: true
  };
  await saveUser(client, user);
  return { ok: true, user: summarise(user), temporaryPassword };
}

/** Changes a user's role. An admin cannot take away their own right to manage users. */
export async function changeUserRole(
  client: ClickHouseClient,
  actor: SessionUser,
  input: RoleChange
): Promise<AdminResult<{ user: UserSummary }>> {
  if (!can(actor.role, 'users:manage')) return forbidden;
  const user = await findUser(client, actor.orgId, input.userId);
  if (!user) return notFound;
  if (user.userId === actor.userId && !can(input.role, 'users:manage')) {
    return { ok: false, status: 400, message: 'You cannot remove your own admin role.' };
  }
  if (user.role !== input.role) {
    await saveUser(client, { ...user, role: input.role });
    // The new role applies to open sessions at once in this process (others within SESSION_CACHE_MS).
    forgetCachedSessions(client, user.orgId, user.userId);
  }
  return { ok: true, user: summarise({ ...user, role: input.role }) };
}

/**
 * Deactivates a user (a newer row with active = 0) and revokes all their sessions, so they are
 * signed out of every browser at once and cannot sign in again.
 */
export async function deactivateUser(
  client: ClickHouseClient,
  actor: SessionUser,
  input: UserRef
): Promise<AdminResult<{ user: UserSummary }>> {
  if (!can(actor.role, 'users:manage')) return forbidden;
  const user = await findUser(client, actor.orgId, input.userId);
  if (!user) return notFound;
  if (user.userId === actor.userId) return { ok: false, status: 400, message: 'You cannot deactivate yourself.' };
  if (user.active) await saveUser(client, { ...user, active: false });
  // Also when already inactive: a retried request must still leave no live session behind.
  await invalidateUserSessions(client, actor.orgId, user.userId);
  return { ok: true, user: summarise({ ...user, active: false }) };
}

/** Lets a deactivated user sign in again; their old sessions stay revoked. */
export async function activateUser(
  client: ClickHouseClient,
  actor: SessionUser,
  input: UserRef
): Promise<AdminResult<{ user: UserSummary }>> {
  if (!can(actor.role, 'users:manage')) return forbidden;
  const user = await findUser(client, actor.orgId, input.userId);
  if (!user) return notFound;
  if (!user.active) await saveUser(client, { ...user, active: true });
  return { ok: true, user: summarise({ ...user, active: true }) };
}
