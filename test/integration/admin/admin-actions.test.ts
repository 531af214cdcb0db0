import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SessionUser } from '../../../src/lib/contracts/auth';
import { createOrgApiKey, listOrgApiKeys, newApiKeySchema, revokeOrgApiKey } from '../../../src/lib/server/admin/api-keys';
import {
  activateUser,
  changeUserRole,
  createUser,
  deactivateUser,
  listOrgUsers,
  newUserSchema
} from '../../../src/lib/server/admin/users';
import { createApiKeyVerifier } from '../../../src/lib/server/auth/api-key';
import { verifyPassword } from '../../../src/lib/server/auth/password';
import { createSession, validateSessionToken } from '../../../src/lib/server/auth/session';
import { findUser, findUserByEmail, listApiKeys } from '../../../src/lib/server/db/queries/identity';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

const policy = { ttlMs: 3_600_000 };

let db: TestDatabase;
let orgA: SeededOrg;
let orgB: SeededOrg;
/** The admin of organisation A, as the session would present them. */
let adminA: SessionUser;

const actorOf = (org: SeededOrg): SessionUser => ({
  userId: org.user.userId,
  orgId: org.orgId,
  email: org.user.email,
  name: `${org.user.role} of ${org.name}`,
  role: org.user.role
});

/** A fresh user in A, created through the admin function itself. */
async function addUser(role: SessionUser['role'] = 'rep') {
  const email = `${role}-${crypto.randomUUID()}@example.test`;
  const result = await createUser(db.client, adminA, { name: `New ${role}`, email, role });
  if (!result.ok) throw new Error(`could not create a user: ${result.message}`);
  return result;
}

beforeAll(async () => {
  db = await createTestDatabase('admin_actions_test');
  orgA = await seedOrganisation(db.client, 'Org A', 'admin');
  orgB = await seedOrganisation(db.client, 'Org B', 'manager');
  adminA = actorOf(orgA);
});
afterAll(async () => {
  await db.drop();
});

describe('user administration', () => {
  it('creates an active user in the admin’s organisation whose temporary password signs in', async () => {
    const result = await createUser(db.client, adminA, { name: 'Nina New', email: 'nina@example.test', role: 'rep' });
    expect(result).toMatchObject({ ok: true, user: { name: 'Nina New', email: 'nina@example.test', role: 'rep', active: true } });
    if (!result.ok) return;
    expect(result.temporaryPassword).toMatch(/^[a-z2-7]{16}$/);
    const stored = await findUserByEmail(db.client, 'nina@example.test');
    expect(stored).toMatchObject({ orgId: orgA.orgId, userId: result.user.userId, role: 'rep', active: true });
    expect(stored?.passwordHash).not.toContain(result.temporaryPassword);
    expect(await verifyPassword(stored?.passwordHash ?? '', result.temporaryPassword)).toBe(true);
    expect((await listOrgUsers(db.client, adminA)).map((u) => u.email)).toContain('nina@example.test');
    expect((await listOrgUsers(db.client, actorOf(orgB))).map((u) => u.email)).not.toContain('nina@example.test');
  });

  it('lists users without their password hashes', async () => {
    const users = await listOrgUsers(db.client, adminA);
    expect(users.length).toBeGreaterThan(0);
    for (const user of users) expect(Object.keys(user).sort()).toEqual(['active', 'email', 'name', 'role', 'userId']);
  });

  it('trims and lowercases the email from the form', () => {
    const parsed = newUserSchema.safeParse({ name: ' Ola ', email: '  Ola.Admin@Example.TEST ', role: 'manager' });
    expect(parsed).toEqual({ success: true, data: { name: 'Ola', email: 'ola.admin@example.test', role: 'manager' } });
    expect(newUserSchema.safeParse({ name: 'x', email: 'not-an-email', role: 'rep' }).success).toBe(false);
    expect(newUserSchema.safeParse({ name: 'x', email: 'x@example.test', role: 'owner' }).success).toBe(false);
  });

  it('refuses an email already in use, in any organisation', async () => {
    const result = await createUser(db.client, adminA, { name: 'Copycat', email: orgB.user.email, role: 'rep' });
    expect(result).toEqual({ ok: false, status: 400, message: 'Email already in use.' });
    expect(await findUserByEmail(db.client, orgB.user.email)).toMatchObject({ orgId: orgB.orgId, userId: orgB.user.userId });
  });

  it('refuses a caller whose role does not manage users', async () => {
    const result = await createUser(db.client, actorOf(orgB), { name: 'Sneaky', email: 'sneaky@example.test', role: 'admin' });
    expect(result).toMatchObject({ ok: false, status: 403 });
    expect(await findUserByEmail(db.client, 'sneaky@example.test')).toBeNull();
  });

  it('changes a user’s role', async () => {
    const { user } = await addUser('rep');
    expect(await changeUserRole(db.client, adminA, { userId: user.userId, role: 'manager' })).toMatchObject({
      ok: true,
      user: { userId: user.userId, role: 'manager' }
    });
    expect(await findUser(db.client, orgA.orgId, user.userId)).toMatchObject({ role: 'manager', active: true });
  });

  it('does not let an admin remove their own admin role', async () => {
    const result = await changeUserRole(db.client, adminA, { userId: adminA.userId, role: 'manager' });
    expect(result).toEqual({ ok: false, status: 400, message: 'You cannot remove your own admin role.' });
    expect(await findUser(db.client, orgA.orgId, adminA.userId)).toMatchObject({ role: 'admin', active: true });
  });

  it('deactivating a user signs them out everywhere and stops them signing in', async () => {
    const { user } = await addUser('rep');
    const laptop = await createSession(db.client, { orgId: orgA.orgId, userId: user.userId }, policy);
    const phone = await createSession(db.client, { orgId: orgA.orgId, userId: user.userId }, policy);
    expect(await validateSessionToken(db.client, laptop.token, policy)).not.toBeNull();

    expect(await deactivateUser(db.client, adminA, { userId: user.userId })).toMatchObject({ ok: true, user: { active: false } });
    expect(await validateSessionToken(db.client, laptop.token, policy)).toBeNull();
    expect(await validateSessionToken(db.client, phone.token, policy)).toBeNull();
    expect(await findUser(db.client, orgA.orgId, user.userId)).toMatchObject({ active: false });

    // Activating lets them sign in again, but the revoked sessions stay revoked.
    expect(await activateUser(db.client, adminA, { userId: user.userId })).toMatchObject({ ok: true, user: { active: true } });
    expect(await findUser(db.client, orgA.orgId, user.userId)).toMatchObject({ active: true });
    expect(await validateSessionToken(db.client, laptop.token, policy)).toBeNull();
  });

  it('does not let an admin deactivate themselves', async () => {
    const result = await deactivateUser(db.client, adminA, { userId: adminA.userId });
    expect(result).toEqual({ ok: false, status: 400, message: 'You cannot deactivate yourself.' });
    expect(await findUser(db.client, orgA.orgId, adminA.userId)).toMatchObject({ active: true });
    expect(await validateSessionToken(db.client, orgA.sessionToken, policy)).not.toBeNull();
  });

  it('answers 404 for a user of another organisation and leaves them unchanged', async () => {
    const target = { userId: orgB.user.userId };
    const notFound = { ok: false, status: 404, message: 'No such user in your organisation.' };
    expect(await changeUserRole(db.client, adminA, { ...target, role: 'rep' })).toEqual(notFound);
    expect(await deactivateUser(db.client, adminA, target)).toEqual(notFound);
    expect(await activateUser(db.client, adminA, target)).toEqual(notFound);
    expect(await changeUserRole(db.client, adminA, { userId: 'no-such-user', role: 'rep' })).toEqual(notFound);

    expect(await findUser(db.client, orgB.orgId, orgB.user.userId)).toMatchObject({ role: 'manager', active: true });
    expect(await validateSessionToken(db.client, orgB.sessionToken, policy)).not.toBeNull();
  });
});

describe('API key administration', () => {
  it('creates a key whose token authenticates as the admin’s organisation', async () => {
    const result = await createOrgApiKey(db.client, adminA, { name: 'WhatsApp agent' });
    expect(result).toMatchObject({ ok: true, name: 'WhatsApp agent' });
    if (!result.ok) return;
    const verify = createApiKeyVerifier(db.client, 0);
    expect(await verify(result.token)).toEqual({ orgId: orgA.orgId, keyId: result.keyId });
    const listed = (await listOrgApiKeys(db.client, adminA)).find((k) => k.keyId === result.keyId);
    expect(listed).toEqual({ keyId: result.keyId, name: 'WhatsApp agent', createdAt: expect.any(Number), revoked: false });
  });

  it('accepts key names of 1 to 100 characters', () => {
    expect(newApiKeySchema.safeParse({ name: '  ' }).success).toBe(false);
    expect(newApiKeySchema.safeParse({ name: 'x'.repeat(101) }).success).toBe(false);
    expect(newApiKeySchema.safeParse({ name: 'x'.repeat(100) })).toEqual({ success: true, data: { name: 'x'.repeat(100) } });
  });

  it('revokes a key of the admin’s own organisation', async () => {
    const created = await createOrgApiKey(db.client, adminA, { name: 'to revoke' });
    if (!created.ok) throw new Error(created.message);
    expect(await revokeOrgApiKey(db.client, adminA, { keyId: created.keyId })).toEqual({ ok: true, keyId: created.keyId });
    expect(await createApiKeyVerifier(db.client, 0)(created.token)).toBeNull();
    expect((await listOrgApiKeys(db.client, adminA)).find((k) => k.keyId === created.keyId)).toMatchObject({ revoked: true });
  });

  it('answers 404 for a key of another organisation and the key keeps working', async () => {
    const [keyB] = await listApiKeys(db.client, orgB.orgId);
    if (!keyB) throw new Error('seed made no key for org B');
    const result = await revokeOrgApiKey(db.client, adminA, { keyId: keyB.keyId });
    expect(result).toEqual({ ok: false, status: 404, message: 'No such API key in your organisation.' });
    expect(await createApiKeyVerifier(db.client, 0)(orgB.apiKey)).toEqual({ orgId: orgB.orgId, keyId: keyB.keyId });
  });

  it('refuses a caller whose role does not manage keys', async () => {
    expect(await createOrgApiKey(db.client, actorOf(orgB), { name: 'sneaky' })).toMatchObject({ ok: false, status: 403 });
    expect((await listOrgApiKeys(db.client, actorOf(orgB))).map((k) => k.name)).toEqual(['test key']);
  });
});
