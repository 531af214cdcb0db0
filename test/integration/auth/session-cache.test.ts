import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createSession,
  forgetCachedSessions,
  invalidateSession,
  invalidateUserSessions,
  validateSessionToken
} from '../../../src/lib/server/auth/session';
import { findUser, saveSession, saveUser } from '../../../src/lib/server/db/queries/identity';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';
import { seedOrganisation, type SeededOrg } from '../../helpers/seed';

const HOUR = 3_600_000;
const cached = { ttlMs: 10 * HOUR, cacheMs: 2_000 };
let db: TestDatabase;
let org: SeededOrg;
const who = () => ({ orgId: org.orgId, userId: org.user.userId });

beforeAll(async () => {
  db = await createTestDatabase('session_cache_test');
  org = await seedOrganisation(db.client, 'Session Cache Org');
});
afterAll(() => db.drop());

describe('session validation cache', () => {
  it('trusts a validated session for at most cacheMs after a revocation written elsewhere', async () => {
    const t0 = Date.now();
    const { token, session } = await createSession(db.client, who(), cached, t0);
    expect(await validateSessionToken(db.client, token, cached, t0)).not.toBeNull();
    // Another process logs the session out: a newer row this process does not know about.
    await saveSession(db.client, { ...session, revoked: true });
    expect(await validateSessionToken(db.client, token, cached, t0 + 1_999)).not.toBeNull();
    expect(await validateSessionToken(db.client, token, cached, t0 + 2_000)).toBeNull();
    // Without a cache the same revocation is seen at once.
    const other = await createSession(db.client, who(), cached, t0);
    await saveSession(db.client, { ...other.session, revoked: true });
    expect(await validateSessionToken(db.client, other.token, { ttlMs: cached.ttlMs }, t0)).toBeNull();
  });

  it('forgets a session at once when this process invalidates it', async () => {
    const t0 = Date.now();
    const { token, session } = await createSession(db.client, who(), cached, t0);
    expect(await validateSessionToken(db.client, token, cached, t0)).not.toBeNull();
    await invalidateSession(db.client, session);
    expect(await validateSessionToken(db.client, token, cached, t0 + 1)).toBeNull();
  });

  it('forgets every cached session of a user on "log out everywhere", and no one else’s', async () => {
    const t0 = Date.now();
    const other = await seedOrganisation(db.client, 'Bystander Org');
    const a = await createSession(db.client, who(), cached, t0);
    const b = await createSession(db.client, who(), cached, t0);
    for (const token of [a.token, b.token, other.sessionToken]) {
      expect(await validateSessionToken(db.client, token, cached, t0)).not.toBeNull();
    }
    await invalidateUserSessions(db.client, org.orgId, org.user.userId);
    expect(await validateSessionToken(db.client, a.token, cached, t0 + 1)).toBeNull();
    expect(await validateSessionToken(db.client, b.token, cached, t0 + 1)).toBeNull();
    expect(await validateSessionToken(db.client, other.sessionToken, cached, t0 + 1)).not.toBeNull();
  });

  it('does not keep a lookup that was in flight while the session was invalidated', async () => {
    const t0 = Date.now();
    const { token, session } = await createSession(db.client, who(), cached, t0);
    const inFlight = validateSessionToken(db.client, token, cached, t0);
    await invalidateSession(db.client, session);
    await inFlight; // valid or not, depending on which query ClickHouse saw first
    expect(await validateSessionToken(db.client, token, cached, t0 + 1)).toBeNull();
  });

  it('refuses a forged secret for a cached session id', async () => {
    const t0 = Date.now();
    const { token } = await createSession(db.client, who(), cached, t0);
    expect(await validateSessionToken(db.client, token, cached, t0)).not.toBeNull();
    const [id] = token.split('.') as [string];
    expect(await validateSessionToken(db.client, `${id}.${'a'.repeat(24)}`, cached, t0 + 1)).toBeNull();
    expect(await validateSessionToken(db.client, token, cached, t0 + 1)).not.toBeNull();
  });

  it('reads the user again after forgetCachedSessions, e.g. after a role change', async () => {
    const t0 = Date.now();
    const changed = await seedOrganisation(db.client, 'Role Change Org');
    expect((await validateSessionToken(db.client, changed.sessionToken, cached, t0))?.user.role).toBe('manager');
    const user = await findUser(db.client, changed.orgId, changed.user.userId);
    await saveUser(db.client, { ...user!, role: 'rep' });
    expect((await validateSessionToken(db.client, changed.sessionToken, cached, t0 + 1))?.user.role).toBe('manager');
    forgetCachedSessions(db.client, changed.orgId, changed.user.userId);
    expect((await validateSessionToken(db.client, changed.sessionToken, cached, t0 + 2))?.user.role).toBe('rep');
  });
});
