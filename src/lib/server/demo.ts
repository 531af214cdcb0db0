import { roles, type Role } from '../contracts/auth';
import { createApiKey, revokeApiKey } from './auth/api-key';
import { hashPassword } from './auth/password';
import { randomId } from './auth/token';
import type { ClickHouseClient } from './db/clickhouse';
import { humanEventRow, insertEventRows } from './db/queries/events';
import { findUserByEmail, listApiKeys, saveUser, upsertOrganisation } from './db/queries/identity';
import { listLeads } from './db/queries/leads';

export const DEMO_ORG = { orgId: 'demo', name: 'Bright Smile Clinics' } as const;
const DEMO_KEY_NAME = 'demo simulator';

export interface DemoCredentials {
  orgName: string;
  users: { email: string; password: string; role: Role; name: string }[];
  apiKey: string;
}

const names: Record<Role, string> = { manager: 'Maya Manager', revops: 'Ravi RevOps', rep: 'Rosa Rep', admin: 'Ada Admin' };

/**
 * The demo organisation with one user per role and a fresh ingest key. Passwords and the key
 * are new on every start and only printed: a demo left running on a shared network must not
 * have guessable credentials. Older demo keys are revoked.
 */
export async function seedDemo(client: ClickHouseClient): Promise<DemoCredentials> {
  await upsertOrganisation(client, DEMO_ORG);
  const users: DemoCredentials['users'] = [];
  for (const role of roles) {
    const email = `${role}@demo.pipewall.test`;
    const password = randomId().slice(0, 16);
    const existing = await findUserByEmail(client, email);
    await saveUser(client, {
      orgId: DEMO_ORG.orgId,
      userId: existing?.userId ?? `demo-${role}`,
      email,
      name: names[role],
      role,
      passwordHash: await hashPassword(password),
      active: true
    });
    users.push({ email, password, role, name: names[role] });
  }
  for (const key of await listApiKeys(client, DEMO_ORG.orgId)) {
    if (key.name === DEMO_KEY_NAME && !key.revoked) await revokeApiKey(client, DEMO_ORG.orgId, key.keyId);
  }
  const { token } = await createApiKey(client, DEMO_ORG.orgId, DEMO_KEY_NAME);
  return { orgName: DEMO_ORG.name, users, apiKey: token };
}

/**
 * Give the demo rep a desk of work: every third recently active lead is assigned to them by the
 * demo manager, as the human events a manager's clicks would write.
 */
export async function assignDemoLeads(client: ClickHouseClient, now = Date.now()): Promise<number> {
  const leads = await listLeads(client, DEMO_ORG.orgId, { count: 90 });
  const mine = leads.filter((l, i) => i % 3 === 0 && l.ownerId === '');
  await insertEventRows(
    client,
    mine.map((l) =>
      humanEventRow({
        orgId: DEMO_ORG.orgId,
        eventId: `human-${randomId()}`,
        leadId: l.leadId,
        type: 'lead_assigned',
        userId: 'demo-manager',
        summary: `${names.manager} assigned the lead to ${names.rep}`,
        properties: { ownerId: 'demo-rep' },
        at: now
      })
    )
  );
  return mine.length;
}
