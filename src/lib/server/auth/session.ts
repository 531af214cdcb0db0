import type { SessionUser } from '../../contracts/auth';
import type { ServerConfig } from '../config';
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
  /**
   * Trust a validated session this long (ms) without asking ClickHouse again (SESSION_CACHE_MS).
   * 0 or unset: ask every time. See "Validation cache" below.
   */
  cacheMs?: number;
}

/** The policy the app runs with: sliding lifetime and cache window from the config. */
export function sessionPolicy(config: Pick<ServerConfig, 'SESSION_TTL_HOURS' | 'SESSION_CACHE_MS'>): SessionPolicy {
  return { ttlMs: config.SESSION_TTL_HOURS * 3_600_000, cacheMs: config.SESSION_CACHE_MS };
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

/*
 * Validation cache. Every page request and socket handshake validates the cookie, which costs
 * two ClickHouse queries (about 9 ms p50 measured by `npm run bench`). With `cacheMs` set, a
 * validated session and its user are kept in this process for at most that long, so a burst of
 * requests from one tab costs one lookup. Revocation stays correct here: invalidateSession and
 * invalidateUserSessions evict at once, and a lookup that was in flight during an invalidation is
 * not cached (the epoch check). Another process sees a revocation, a deactivated user or a role
 * change within `cacheMs`. Only valid sessions are cached, so forged tokens cannot fill it.
 */
interface CachedSession {
  session: SessionRecord;
  user: SessionUser;
  /** epoch ms after which ClickHouse is asked again */
  until: number;
}

interface SessionCache {
  entries: Map<string, CachedSession>;
  /** Bumped by every invalidation; a lookup that started under an older epoch is not kept. */
  epoch: number;
}

const MAX_CACHED_SESSIONS = 10_000;
/** One cache per ClickHouse client, so two databases in one process (tests) never share one. */
const caches = new WeakMap<ClickHouseClient, SessionCache>();

function cacheOf(client: ClickHouseClient): SessionCache {
  let cache = caches.get(client);
  if (!cache) caches.set(client, (cache = { entries: new Map(), epoch: 0 }));
  return cache;
}

function remember(cache: SessionCache, entry: CachedSession): void {
  cache.entries.delete(entry.session.sessionId);
  // Oldest first in a Map: drop it when full.
  if (cache.entries.size >= MAX_CACHED_SESSIONS) cache.entries.delete(cache.entries.keys().next().value as string);
  cache.entries.set(entry.session.sessionId, entry);
}

/**
 * Drop this process's cached sessions of a user, e.g. after a role change, so the next request
 * reads the user again. invalidateUserSessions does this itself.
 */
export function forgetCachedSessions(client: ClickHouseClient, orgId: string, userId: string): void {
  forget(client, (s) => s.orgId === orgId && s.userId === userId);
}

function forget(client: ClickHouseClient, matches: (s: SessionRecord) => boolean): void {
  const cache = caches.get(client);
  if (!cache) return;
  cache.epoch++;
  for (const [id, entry] of cache.entries) if (matches(entry.session)) cache.entries.delete(id);
}

const copyOf = (entry: { session: SessionRecord; user: SessionUser }, refreshed: boolean): ValidSession => ({
  session: { ...entry.session },
  user: { ...entry.user },
  refreshed
});

/** The session and its user, or null for an unknown, forged, expired or revoked token. */
export async function validateSessionToken(
  client: ClickHouseClient,
  token: string,
  policy: SessionPolicy,
  now = Date.now()
): Promise<ValidSession | null> {
  const parts = splitToken(token);
  if (!parts) return null;
  const cache = policy.cacheMs ? cacheOf(client) : undefined;
  const hit = cache?.entries.get(parts.id);
  if (hit && now < hit.until) return secretMatches(parts.secret, hit.session.secretHash) ? copyOf(hit, false) : null;
  const epoch = cache?.epoch;

  const session = await findSession(client, parts.id);
  if (!session || session.revoked || !secretMatches(parts.secret, session.secretHash)) return null;
  if (now >= session.expiresAt) return null;
  const found = await findUser(client, session.orgId, session.userId);
  if (!found || !found.active) return null;
  let refreshed = false;
  if (now >= session.expiresAt - policy.ttlMs / 2) {
    session.expiresAt = now + policy.ttlMs;
    await saveSession(client, session);
    refreshed = true;
  }
  const user: SessionUser = { userId: found.userId, orgId: found.orgId, email: found.email, name: found.name, role: found.role };
  if (cache && policy.cacheMs && cache.epoch === epoch) {
    remember(cache, { session: { ...session }, user: { ...user }, until: Math.min(now + policy.cacheMs, session.expiresAt) });
  }
  return { session, user, refreshed };
}

export async function invalidateSession(client: ClickHouseClient, session: SessionRecord): Promise<void> {
  await saveSession(client, { ...session, revoked: true });
  forget(client, (s) => s.sessionId === session.sessionId);
}

/** "Log out everywhere". */
export async function invalidateUserSessions(client: ClickHouseClient, orgId: string, userId: string): Promise<void> {
  for (const s of await listUserSessions(client, orgId, userId)) await invalidateSession(client, s);
  // Also any cached session the list did not return (one created while the list was read).
  forgetCachedSessions(client, orgId, userId);
}
