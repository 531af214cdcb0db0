import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { sql, type SqlFragment } from '../sql';
import { nextVersion } from './identity';

/** The organisation's identity graph as the resolver holds it in memory. */
export interface IdentityGraph {
  /** identity ("email:…", "phone:+…") → the lead that first showed it */
  owners: Map<string, string>;
  /** lead → canonical lead, for merged leads only */
  links: Map<string, string>;
}

export async function loadIdentityGraph(client: ClickHouseClient, orgId: string): Promise<IdentityGraph> {
  const [owners, links] = await Promise.all([
    queryRows<{ identity: string; lead_id: string }>(
      client,
      sql`SELECT identity, argMin(lead_id, created_at) AS lead_id FROM contact_identities WHERE org_id = ${orgId} GROUP BY identity`
    ),
    queryRows<{ lead_id: string; canonical: string }>(
      client,
      sql`SELECT lead_id, argMax(canonical_lead_id, version) AS canonical FROM lead_links WHERE org_id = ${orgId} GROUP BY lead_id`
    )
  ]);
  return {
    owners: new Map(owners.map((r) => [r.identity, r.lead_id])),
    links: new Map(links.filter((r) => r.canonical !== r.lead_id).map((r) => [r.lead_id, r.canonical]))
  };
}

export async function saveIdentities(client: ClickHouseClient, orgId: string, rows: { identity: string; leadId: string }[], at: number): Promise<void> {
  await insertRows(
    client,
    'contact_identities',
    ['org_id', 'identity', 'lead_id', 'created_at'],
    rows.map((r) => ({ org_id: orgId, identity: r.identity, lead_id: r.leadId, created_at: at }))
  );
}

export async function saveLinks(
  client: ClickHouseClient,
  orgId: string,
  rows: { leadId: string; canonicalLeadId: string; identity: string }[]
): Promise<void> {
  await insertRows(
    client,
    'lead_links',
    ['org_id', 'lead_id', 'canonical_lead_id', 'identity', 'version'],
    rows.map((r) => ({ org_id: orgId, lead_id: r.leadId, canonical_lead_id: r.canonicalLeadId, identity: r.identity, version: nextVersion() }))
  );
}

/**
 * `lead_id → canonical` as a subquery for `ANY LEFT JOIN … USING lead_id`: every lead-level read
 * folds merged leads into the surviving one with it. A miss gives '' (no join_use_nulls).
 */
export function canonicalLeads(orgId: string): SqlFragment {
  return sql`(SELECT lead_id, argMax(canonical_lead_id, version) AS canonical FROM lead_links WHERE org_id = ${orgId} GROUP BY lead_id)`;
}

/** The canonical id of a lead (itself when it was never merged). */
export async function canonicalLeadId(client: ClickHouseClient, orgId: string, leadId: string): Promise<string> {
  const rows = await queryRows<{ canonical: string }>(
    client,
    sql`SELECT argMax(canonical_lead_id, version) AS canonical FROM lead_links WHERE org_id = ${orgId} AND lead_id = ${leadId}`
  );
  return rows[0]?.canonical || leadId;
}

/** Every lead id that folds into `canonical`, itself included. */
export async function leadIdsOf(client: ClickHouseClient, orgId: string, canonical: string): Promise<string[]> {
  const rows = await queryRows<{ lead_id: string }>(
    client,
    sql`SELECT lead_id FROM ${canonicalLeads(orgId)} WHERE canonical = ${canonical}`
  );
  return [canonical, ...rows.map((r) => r.lead_id).filter((id) => id !== canonical)];
}
