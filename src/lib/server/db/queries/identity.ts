import type { Role } from '../../../contracts/auth';
import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { sql } from '../sql';

/**
 * Organisations, users, sessions and API keys. Each table is a ReplacingMergeTree keyed by
 * version: a change is a newer row, and reads take the latest with FINAL.
 */

let lastVersion = 0;
/** Monotonic within the process, so two changes in one millisecond still order correctly. */
export function nextVersion(now = Date.now()): number {
  lastVersion = Math.max(now * 1000, lastVersion + 1);
  return lastVersion;
}

export interface Organisation {
  orgId: string;
  name: string;
}

export async function upsertOrganisation(client: ClickHouseClient, org: Organisation): Promise<void> {
  const now = Date.now();
  await insertRows(client, 'organisations', ['org_id', 'name', 'created_at', 'version'], [
    { org_id: org.orgId, name: org.name, created_at: now, version: nextVersion(now) }
  ]);
}

export async function findOrganisation(client: ClickHouseClient, orgId: string): Promise<Organisation | null> {
  const rows = await queryRows<{ org_id: string; name: string }>(
    client,
    sql`SELECT org_id, name FROM organisations FINAL WHERE org_id = ${orgId}`
  );
  const row = rows[0];
  return row ? { orgId: row.org_id, name: row.name } : null;
}

export interface UserRecord {
  orgId: string;
  userId: string;
  email: string;
  name: string;
  role: Role;
  passwordHash: string;
  active: boolean;
}

const USER_COLUMNS = ['org_id', 'user_id', 'email', 'name', 'role', 'password_hash', 'active', 'created_at', 'version'];

export async function saveUser(client: ClickHouseClient, user: UserRecord): Promise<void> {
  const now = Date.now();
  await insertRows(client, 'users', USER_COLUMNS, [
    {
      org_id: user.orgId,
      user_id: user.userId,
      email: user.email,
      name: user.name,
      role: user.role,
      password_hash: user.passwordHash,
      active: user.active ? 1 : 0,
      created_at: now,
      version: nextVersion(now)
    }
  ]);
}

interface UserRow {
  org_id: string;
  user_id: string;
  email: string;
  name: string;
  role: Role;
  password_hash: string;
  active: number;
}

const toUser = (r: UserRow): UserRecord => ({
  orgId: r.org_id,
  userId: r.user_id,
  email: r.email,
  name: r.name,
  role: r.role,
  passwordHash: r.password_hash,
  active: r.active === 1
});

/** Emails are unique across organisations: the login form does not ask for one. */
export async function findUserByEmail(client: ClickHouseClient, email: string): Promise<UserRecord | null> {
  const rows = await queryRows<UserRow>(
    client,
    sql`SELECT org_id, user_id, email, name, role, password_hash, active
        FROM users FINAL WHERE email = ${email} ORDER BY version DESC LIMIT 1`
  );
  return rows[0] ? toUser(rows[0]) : null;
}

export async function findUser(client: ClickHouseClient, orgId: string, userId: string): Promise<UserRecord | null> {
  const rows = await queryRows<UserRow>(
    client,
    sql`SELECT org_id, user_id, email, name, role, password_hash, active
        FROM users FINAL WHERE org_id = ${orgId} AND user_id = ${userId}`
  );
  return rows[0] ? toUser(rows[0]) : null;
}

export interface SessionRecord {
  orgId: string;
  sessionId: string;
  userId: string;
  secretHash: string;
  /** epoch ms */
  createdAt: number;
  /** epoch ms */
  expiresAt: number;
  revoked: boolean;
}

export async function saveSession(client: ClickHouseClient, s: SessionRecord): Promise<void> {
  await insertRows(
    client,
    'sessions',
    ['org_id', 'session_id', 'user_id', 'secret_hash', 'created_at', 'expires_at', 'revoked', 'version'],
    [
      {
        org_id: s.orgId,
        session_id: s.sessionId,
        user_id: s.userId,
        secret_hash: s.secretHash,
        created_at: s.createdAt,
        expires_at: s.expiresAt,
        revoked: s.revoked ? 1 : 0,
        version: nextVersion()
      }
    ]
  );
}

interface SessionRow {
  org_id: string;
  session_id: string;
  user_id: string;
  secret_hash: string;
  created_at: string;
  expires_at: string;
  revoked: number;
}

const toSession = (r: SessionRow): SessionRecord => ({
  orgId: r.org_id,
  sessionId: r.session_id,
  userId: r.user_id,
  secretHash: r.secret_hash,
  createdAt: Number(r.created_at),
  expiresAt: Number(r.expires_at),
  revoked: r.revoked === 1
});

const SESSION_SELECT = sql`SELECT org_id, session_id, user_id, secret_hash, created_at, expires_at, revoked FROM sessions FINAL`;

export async function findSession(client: ClickHouseClient, sessionId: string): Promise<SessionRecord | null> {
  const rows = await queryRows<SessionRow>(client, sql`${SESSION_SELECT} WHERE session_id = ${sessionId}`);
  return rows[0] ? toSession(rows[0]) : null;
}

export async function listUserSessions(client: ClickHouseClient, orgId: string, userId: string): Promise<SessionRecord[]> {
  const rows = await queryRows<SessionRow>(
    client,
    sql`${SESSION_SELECT} WHERE org_id = ${orgId} AND user_id = ${userId} AND revoked = 0`
  );
  return rows.map(toSession);
}

export interface ApiKeyRecord {
  orgId: string;
  keyId: string;
  name: string;
  secretHash: string;
  createdAt: number;
  revoked: boolean;
}

export async function saveApiKey(client: ClickHouseClient, k: ApiKeyRecord): Promise<void> {
  await insertRows(client, 'api_keys', ['org_id', 'key_id', 'name', 'secret_hash', 'created_at', 'revoked', 'version'], [
    {
      org_id: k.orgId,
      key_id: k.keyId,
      name: k.name,
      secret_hash: k.secretHash,
      created_at: k.createdAt,
      revoked: k.revoked ? 1 : 0,
      version: nextVersion()
    }
  ]);
}

interface ApiKeyRow {
  org_id: string;
  key_id: string;
  name: string;
  secret_hash: string;
  created_at: string;
  revoked: number;
}

const toApiKey = (r: ApiKeyRow): ApiKeyRecord => ({
  orgId: r.org_id,
  keyId: r.key_id,
  name: r.name,
  secretHash: r.secret_hash,
  createdAt: Number(r.created_at),
  revoked: r.revoked === 1
});

export async function findApiKey(client: ClickHouseClient, keyId: string): Promise<ApiKeyRecord | null> {
  const rows = await queryRows<ApiKeyRow>(
    client,
    sql`SELECT org_id, key_id, name, secret_hash, created_at, revoked FROM api_keys FINAL WHERE key_id = ${keyId}`
  );
  return rows[0] ? toApiKey(rows[0]) : null;
}

export async function listApiKeys(client: ClickHouseClient, orgId: string): Promise<ApiKeyRecord[]> {
  const rows = await queryRows<ApiKeyRow>(
    client,
    sql`SELECT org_id, key_id, name, secret_hash, created_at, revoked FROM api_keys FINAL
        WHERE org_id = ${orgId} ORDER BY created_at`
  );
  return rows.map(toApiKey);
}

/** Every user of one organisation, active or not, ordered by email. */
export async function listUsers(client: ClickHouseClient, orgId: string): Promise<UserRecord[]> {
  const rows = await queryRows<UserRow>(
    client,
    sql`SELECT org_id, user_id, email, name, role, password_hash, active
        FROM users FINAL WHERE org_id = ${orgId} ORDER BY email`
  );
  return rows.map(toUser);
}
