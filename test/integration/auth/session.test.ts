import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSession, invalidateSession, invalidateUserSessions, validateSessionToken } from '../../../src/lib/server/auth/session';
import { findSession, saveUser, findUser } from '../../../src/lib/server/db/queries/identity';
import { hashSecret } from '../../../src/lib/server/auth/token';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

const HOUR = 3_600_000;
const policy = { ttlMs: 10 * HOUR };
let db: TestDatabase;
let org: SeededOrg;
const who = () => ({ orgId: org.orgId, userId: org.user.userId });

beforeAll(async () => {
  db = await createTestDatabase('session_test');
  org = await seedOrganisation(db.client, 'Session Org');
});
afterAll(() => db.drop());

describe('sessions', () => {
  it('stores only the hash of the secret, and validates the token it gave out', async () => {
    const t0 = Date.now();
    const { token, session } = await createSession(db.client, who(), policy, t0);
    const [id, secret] = token.split('.') as [string, string];
    const stored = await findSession(db.client, id);
    expect(stored?.secretHash).toBe(hashSecret(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);
    const valid = await validateSessionToken(db.client, token, policy, t0 + 1_000);
    expect(valid).toMatchObject({ user: { userId: org.user.userId, orgId: org.orgId, role: 'manager' }, refreshed: false });
    expect(valid?.session.expiresAt).toBe(session.expiresAt);
  });

  it('slides the expiry forward when used in the second half of its life', async () => {
    const t0 = Date.now();
    const { token } = await createSession(db.client, who(), policy, t0);
    const later = t0 + 6 * HOUR;
    const valid = await validateSessionToken(db.client, token, policy, later);
    expect(valid?.refreshed).toBe(true);
    expect(valid?.session.expiresAt).toBe(later + policy.ttlMs);
    // Still valid past the first expiry, because it was extended.
    expect(await validateSessionToken(db.client, token, policy, t0 + 12 * HOUR)).not.toBeNull();
  });

  it('refuses an expired, a revoked, a forged and a malformed token', async () => {
    const t0 = Date.now();
    const expired = await createSession(db.client, who(), policy, t0 - 11 * HOUR);
    const revoked = await createSession(db.client, who(), policy, t0);
    await invalidateSession(db.client, revoked.session);
    const [id] = revoked.token.split('.') as [string];
    const forged = `${id}.${'a'.repeat(24)}`;
    for (const token of [expired.token, revoked.token, forged, 'not-a-token', '', `${revoked.token}.x`]) {
      expect(await validateSessionToken(db.client, token, policy, t0)).toBeNull();
    }
  });

  it('"log out everywhere" ends every session of the user and no one else’s', async () => {
    const other = await seedOrganisation(db.client, 'Other Session Org');
    const a = await createSession(db.client, who(), policy);
    const b = await createSession(db.client, who(), policy);
    await invalidateUserSessions(db.client, org.orgId, org.user.userId);
    expect(await validateSessionToken(db.client, a.token, policy)).toBeNull();
    expect(await validateSessionToken(db.client, b.token, policy)).toBeNull();
    expect(await validateSessionToken(db.client, other.sessionToken, policy)).not.toBeNull();
  });

  it('refuses the session of a deactivated user', async () => {
    const other = await seedOrganisation(db.client, 'Deactivated Org');
    const user = await findUser(db.client, other.orgId, other.user.userId);
    await saveUser(db.client, { ...user!, active: false });
    expect(await validateSessionToken(db.client, other.sessionToken, policy)).toBeNull();
  });
});
