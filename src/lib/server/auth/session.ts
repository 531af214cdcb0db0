import type { SessionUser } from '../../contracts/auth';
import type { ClickHouseClient } from '../db/clickhouse';
import { findSession, findUser, listUserSessions, saveSession, type SessionRecord } from '../db/queries/identity';
import { hashSecret, randomId, secretMatches, splitToken } from './token';

/**
 * Sessions as lucia-auth.com teaches now that the `lucia` package is retired: the cookie holds
 * "<sessionId>.<secret>", ClickHouse holds only the secret's hash, and the expiry slides forward
 * when a session is used in the second half of its life. Revocation is a newer row.
 */
export interface SessionPolicy {
  ttlMs: number;
}

export interface ValidSession {
  session: SessionRecord;
  user: SessionUser;
  /** True when the expiry moved: the caller must send the cookie again with the new expiry. */
  refreshed: boolean;
}

export async function createSession(
  client: ClickHouseClient,
  user: { orgId: string; userId: string },
  policy: SessionPolicy,
  now = Date.now()
): Promise<{ token: string; session: SessionRecord }> {
  const sessionId = randomId();
  const secret = randomId();
  const session: SessionRecord = {
    orgId: user.orgId,
    sessionId,
    userId: user.userId,
    secretHash: hashSecret(secret),
    createdAt: now,
    expiresAt: now + policy.ttlMs,
    revoked: false
  };
  await saveSession(client, session);
  return { token: `${sessionId}.${secret}`, session };
}

/** The session and its user, or null for an unknown, forged, expired or revoked token. */
export async function validateSessionToken(
  client: ClickHouseClient,
  token: string,
  policy: SessionPolicy,
  now = Date.now()
): Promise<ValidSession | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const session = await findSession(client, parts.id);
  if (!session || session.revoked || !secretMatches(parts.secret, session.secretHash)) return null;
  if (now >= session.expiresAt) return null;
  const user = await findUser(client, session.orgId, session.userId);
  if (!user || !user.active) return null;
  let refreshed = false;
  if (now >= session.expiresAt - policy.ttlMs / 2) {
    session.expiresAt = now + policy.ttlMs;
    await saveSession(client, session);
    refreshed = true;
  }
  return {
    session,
    user: { userId: user.userId, orgId: user.orgId, email: user.email, name: user.name, role: user.role },
    refreshed
  };
}

export async function invalidateSession(client: ClickHouseClient, session: SessionRecord): Promise<void> {
  await saveSession(client, { ...session, revoked: true });
}

/** "Log out everywhere". */
export async function invalidateUserSessions(client: ClickHouseClient, orgId: string, userId: string): Promise<void> {
  for (const s of await listUserSessions(client, orgId, userId)) await invalidateSession(client, s);
}
