import { z } from 'zod';
import { can, type SessionUser } from '../../contracts/auth';
import { createApiKey, revokeApiKey } from '../auth/api-key';
import type { ClickHouseClient } from '../db/clickhouse';
import { listApiKeys } from '../db/queries/identity';
import type { AdminFailure, AdminResult } from './users';

/**
 * Ingest key administration for the /admin/api-keys page, free of SvelteKit so the integration
 * tests can drive it. Keys are created in and revoked within the actor's organisation only.
 */

/** What the page may show about a key: never the secret or its hash. */
export interface ApiKeySummary {
  keyId: string;
  name: string;
  /** epoch ms */
  createdAt: number;
  revoked: boolean;
}

export const newApiKeySchema = z.object({
  name: z.string().trim().min(1, 'Enter a name for the key.').max(100, 'Keep the name to 100 characters or fewer.')
});
export type NewApiKey = z.infer<typeof newApiKeySchema>;

export const apiKeyRefSchema = z.object({ keyId: z.string().min(1, 'Choose a key.').max(100) });
export type ApiKeyRef = z.infer<typeof apiKeyRefSchema>;

const forbidden: AdminFailure = { ok: false, status: 403, message: 'Your role does not allow managing API keys.' };

export async function listOrgApiKeys(client: ClickHouseClient, actor: SessionUser): Promise<ApiKeySummary[]> {
  const keys = await listApiKeys(client, actor.orgId);
  return keys.map(({ keyId, name, createdAt, revoked }) => ({ keyId, name, createdAt, revoked }));
}

/** Creates a key for the actor's organisation; the token is returned this once and never stored. */
export async function createOrgApiKey(
  client: ClickHouseClient,
  actor: SessionUser,
  input: NewApiKey
): Promise<AdminResult<{ keyId: string; name: string; token: string }>> {
  if (!can(actor.role, 'api-keys:manage')) return forbidden;
  const { keyId, token } = await createApiKey(client, actor.orgId, input.name);
  return { ok: true, keyId, name: input.name, token };
}

/**
 * Revokes a key of the actor's organisation. A key of another organisation is "not found":
 * revokeApiKey compares the key's organisation with the one passed from the session. Agents
 * holding the key stop within API_KEY_CACHE_MS, the verifier's cache lifetime.
 */
export async function revokeOrgApiKey(
  client: ClickHouseClient,
  actor: SessionUser,
  input: ApiKeyRef
): Promise<AdminResult<{ keyId: string }>> {
  if (!can(actor.role, 'api-keys:manage')) return forbidden;
  if (!(await revokeApiKey(client, actor.orgId, input.keyId))) {
    return { ok: false, status: 404, message: 'No such API key in your organisation.' };
  }
  return { ok: true, keyId: input.keyId };
}
