import { randomBytes } from 'node:crypto';
import type { Role } from '../../src/lib/contracts/auth';
import { createApiKey } from '../../src/lib/server/auth/api-key';
import { hashPassword } from '../../src/lib/server/auth/password';
import { createSession } from '../../src/lib/server/auth/session';
import type { ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { saveUser, upsertOrganisation } from '../../src/lib/server/db/queries/identity';

export interface SeededOrg {
  orgId: string;
  name: string;
  apiKey: string;
  user: { userId: string; email: string; password: string; role: Role };
  /** A valid session token for `user`, for the pw_session cookie. */
  sessionToken: string;
}

/** A new organisation with one user, a session and an ingest key; names are unique per call. */
export async function seedOrganisation(client: ClickHouseClient, name: string, role: Role = 'manager'): Promise<SeededOrg> {
  const suffix = randomBytes(4).toString('hex');
  const orgId = `org-${suffix}`;
  await upsertOrganisation(client, { orgId, name });
  const user = { userId: `user-${suffix}`, email: `${role}-${suffix}@example.test`, password: `pw-${suffix}-secret`, role };
  await saveUser(client, {
    orgId,
    userId: user.userId,
    email: user.email,
    name: `${role} ${suffix}`,
    role,
    passwordHash: await hashPassword(user.password),
    active: true
  });
  const { token } = await createSession(client, { orgId, userId: user.userId }, { ttlMs: 3_600_000 });
  const { token: apiKey } = await createApiKey(client, orgId, 'test key');
  return { orgId, name, apiKey, user, sessionToken: token };
}
