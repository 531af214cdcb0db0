import type { ClickHouseClient } from '../db/clickhouse';
import { findApiKey, saveApiKey } from '../db/queries/identity';
import { hashSecret, randomId, secretMatches, splitToken } from './token';

/**
 * Ingest keys for AI agents: "pw_<keyId>_<secret>", shown once, stored as a hash, revocable.
 * The key alone decides the organisation an event lands in; the payload never does.
 */
const PREFIX = 'pw_';

export async function createApiKey(
  client: ClickHouseClient,
  orgId: string,
  name: string,
  now = Date.now()
): Promise<{ keyId: string; token: string }> {
  const keyId = randomId();
  const secret = randomId();
  await saveApiKey(client, { orgId, keyId, name, secretHash: hashSecret(secret), createdAt: now, revoked: false });
  return { keyId, token: `${PREFIX}${keyId}_${secret}` };
}

export async function revokeApiKey(client: ClickHouseClient, orgId: string, keyId: string): Promise<boolean> {
  const key = await findApiKey(client, keyId);
  if (!key || key.orgId !== orgId) return false;
  await saveApiKey(client, { ...key, revoked: true });
  return true;
}

export interface ApiKeyIdentity {
  orgId: string;
  keyId: string;
}

/**
 * Validates bearer tokens with a short in-memory cache: agents send many requests per second
 * and a ClickHouse lookup for each would cost more than the insert. A revocation therefore
 * takes effect within `cacheMs`.
 */
export function createApiKeyVerifier(client: ClickHouseClient, cacheMs: number) {
  const cache = new Map<string, { identity: ApiKeyIdentity | null; until: number }>();
  return async function verifyApiKey(token: string, now = Date.now()): Promise<ApiKeyIdentity | null> {
    const hit = cache.get(token);
    if (hit && hit.until > now) return hit.identity;
    if (!token.startsWith(PREFIX)) return null;
    const parts = splitToken(token.slice(PREFIX.length), '_');
    if (!parts) return null;
    const key = await findApiKey(client, parts.id);
    const identity =
      key && !key.revoked && secretMatches(parts.secret, key.secretHash) ? { orgId: key.orgId, keyId: key.keyId } : null;
    if (cache.size > 10_000) cache.clear(); // bound memory against random-token floods
    cache.set(token, { identity, until: now + cacheMs });
    return identity;
  };
}
