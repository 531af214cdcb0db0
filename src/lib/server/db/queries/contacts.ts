import { insertRows, queryRows, type ClickHouseClient } from '../clickhouse';
import { sql, type SqlFragment } from '../sql';
import { nextVersion } from './identity';

/** The organisation's identity graph as the resolver holds it in memory. */
export interface IdentityGraph {
  /** identity ("email:…", "phone:+…") → the lead that first showed it */
  owners: Map<string, string>;
  /** lead → canonical lead, for merged leads only */
  links: Map<string, string>;
  /** `splitKey(a, b)` of every pair a person split apart: never merge these two again. */
  splits: Set<string>;
}

/**
 * A person's "these are not the same customer" (an unmerge) is kept in `lead_links` itself, so it
 * needs no table of its own: a row whose `lead_id` is this key (never a real lead id: ids cannot
 * contain a space, see contracts/events.ts) and whose `canonical_lead_id` is '' (so it folds no
 * lead into anything: readers treat '' as "not merged"). The key is the same for (a, b) and
 * (b, a), and its own ReplacingMergeTree key, so no later link of either lead replaces it.
 */
export function splitKey(a: string, b: string): string {
  return a < b ? `split:${a} ${b}` : `split:${b} ${a}`;
}

const isSplitRow = (r: { lead_id: string; canonical: string }) => r.canonical === '' && r.lead_id.startsWith('split:');

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
    links: new Map(links.filter((r) => r.canonical !== r.lead_id && !isSplitRow(r)).map((r) => [r.lead_id, r.canonical])),
    splits: new Set(links.filter(isSplitRow).map((r) => r.lead_id))
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

export interface MergedLead {
  leadId: string;
  /** The identity that linked it ("email:ana@acme.io", "phone:+34…"). */
  identity: string;
  /** epoch ms when the link was written. */
  linkedAt: number;
  /** The link row's version: a retried unmerge of the same link derives the same event id from it. */
  version: string;
}

/** Leads currently folded into `survivor` (not itself), oldest link first: the "wrongly merged?" choices. */
export async function mergedInto(client: ClickHouseClient, orgId: string, survivor: string): Promise<MergedLead[]> {
  // Aliases differ from the columns: 18.16 would read `version` inside argMax as the alias.
  const rows = await queryRows<{ lead_id: string; link_identity: string; link_version: string }>(
    client,
    sql`SELECT lead_id, link_identity, link_version FROM (
          SELECT lead_id, argMax(canonical_lead_id, version) AS canonical, argMax(identity, version) AS link_identity,
                 max(version) AS link_version
          FROM lead_links WHERE org_id = ${orgId} GROUP BY lead_id
        ) WHERE canonical = ${survivor} AND lead_id != ${survivor}
        ORDER BY link_version, lead_id`
  );
  // Versions are microseconds (identity.ts nextVersion): milliseconds for people.
  return rows.map((r) => ({
    leadId: r.lead_id,
    identity: r.link_identity,
    linkedAt: Math.floor(Number(r.link_version) / 1000),
    version: r.link_version
  }));
}

/**
 * Undo a merge: `merged` stands on its own again (a link to itself at a newer version) and the
 * pair is marked as split so identity resolution never merges them again. One insert, so both
 * land or neither does.
 */
export async function saveSplit(client: ClickHouseClient, orgId: string, split: { survivor: string; merged: string }): Promise<void> {
  const identity = `split:${split.survivor}`;
  await insertRows(client, 'lead_links', ['org_id', 'lead_id', 'canonical_lead_id', 'identity', 'version'], [
    { org_id: orgId, lead_id: split.merged, canonical_lead_id: split.merged, identity, version: nextVersion() },
    { org_id: orgId, lead_id: splitKey(split.survivor, split.merged), canonical_lead_id: '', identity, version: nextVersion() }
  ]);
}
