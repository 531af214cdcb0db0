import { randomBytes } from 'node:crypto';
import type { Role } from '../../src/lib/contracts/auth';
import { createApiKey } from '../../src/lib/server/auth/api-key';
import { hashPassword } from '../../src/lib/server/auth/password';
import { createSession } from '../../src/lib/server/auth/session';
import type { ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { saveUser, upsertOrganisation } from '../../src/lib/server/db/queries/identity';

export interface SeededUser {
  userId: string;
  email: string;
  password: string;
  role: Role;
  /** A valid session token, for the pw_session cookie. */
  sessionToken: string;
}

export interface SeededOrg {
  orgId: string;
  name: string;
  apiKey: string;
  user: SeededUser;
  /** The first user's session token (same as user.sessionToken). */
  sessionToken: string;
}

const suffix = () => randomBytes(4).toString('hex');

/** A user with a live session in an existing organisation; names are unique per call. */
export async function seedUser(client: ClickHouseClient, orgId: string, role: Role): Promise<SeededUser> {
  const id = suffix();
  const user = { userId: `user-${id}`, email: `${role}-${id}@example.test`, password: `pw-${id}-secret`, role };
  await saveUser(client, {
    orgId,
    userId: user.userId,
    email: user.email,
    name: `${role[0]!.toUpperCase()}${role.slice(1)} ${id}`,
    role,
    passwordHash: await hashPassword(user.password),
    active: true
  });
  const { token } = await createSession(client, { orgId, userId: user.userId }, { ttlMs: 3_600_000 });
  return { ...user, sessionToken: token };
}

/** A new organisation with one user (with a session) and an ingest key. */
export async function seedOrganisation(client: ClickHouseClient, name: string, role: Role = 'manager'): Promise<SeededOrg> {
  const orgId = `org-${suffix()}`;
  await upsertOrganisation(client, { orgId, name });
  const user = await seedUser(client, orgId, role);
  const { token: apiKey } = await createApiKey(client, orgId, 'test key');
  return { orgId, name, apiKey, user, sessionToken: user.sessionToken };
}
