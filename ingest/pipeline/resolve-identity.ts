import type { CountryCode } from 'libphonenumber-js';
import type { AgentEvent } from '../../src/lib/contracts/events';
import type { ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { loadIdentityGraph, saveIdentities, saveLinks, splitKey, type IdentityGraph } from '../../src/lib/server/db/queries/contacts';
import { contactSignals, type Identity } from './normalise-identity';

/**
 * One person, one lead: when a lead shows a strong identity (normalised email, E.164 phone) that
 * an earlier lead already showed, the later lead is linked into the earlier one and a
 * `leads_merged` event is written. The ledger keeps every event under the id the agent sent
 * (history kept); reads fold linked leads into their canonical lead.
 *
 * Each organisation's graph is loaded once and changed under a per-organisation lock, so two
 * requests in this process cannot both claim one identity. Several processes can race on a new
 * identity; reads take the earliest claim (argMin), so they still agree on the owner.
 *
 * A person can undo a wrong merge (src/lib/server/lead-actions.ts): the pair is then marked as
 * split in `lead_links`, and two groups are never merged while any lead of one was split from
 * any lead of the other, whatever identity they share.
 */
export interface LeadMerge {
  /** The surviving lead. */
  into: string;
  merged: string;
  signal: 'email' | 'phone';
  /** When the signal that caused it happened (event time, ISO). */
  at: string;
}

export interface Resolution {
  /** Derived enrichment per event (same index as the input), to store with it. */
  derived: (Record<string, string | boolean> | undefined)[];
  merges: LeadMerge[];
}

export function createIdentityResolver(client: ClickHouseClient, options: { defaultRegion?: CountryCode; now?: () => number } = {}) {
  const now = options.now ?? Date.now;
  const graphs = new Map<string, Promise<IdentityGraph>>();
  const locks = new Map<string, Promise<unknown>>();

  function graphOf(orgId: string): Promise<IdentityGraph> {
    let g = graphs.get(orgId);
    if (!g) {
      g = loadIdentityGraph(client, orgId);
      graphs.set(orgId, g);
      g.catch(() => graphs.delete(orgId));
    }
    return g;
  }

  async function resolveLocked(orgId: string, events: readonly AgentEvent[]): Promise<Resolution> {
    const derived: Resolution['derived'] = events.map(() => undefined);
    if (!events.some((e) => e.type === 'contact_enriched')) return { derived, merges: [] };
    const graph = await graphOf(orgId);
    const canonical = (lead: string) => graph.links.get(lead) ?? lead;
    const owners: { identity: string; leadId: string }[] = [];
    const links: { leadId: string; canonicalLeadId: string; identity: string }[] = [];
    const merges: LeadMerge[] = [];

    events.forEach((e, i) => {
      if (e.type !== 'contact_enriched') return;
      const signals = contactSignals(e, options.defaultRegion);
      if (Object.keys(signals.derived).length) derived[i] = signals.derived;
      for (const identity of signals.identities) {
        const lead = canonical(e.leadId);
        const owner = graph.owners.get(identity);
        if (owner === undefined) {
          graph.owners.set(identity, lead);
          owners.push({ identity, leadId: lead });
          continue;
        }
        const into = canonical(owner);
        if (into === lead || wasSplit(graph, into, lead)) continue;
        // Keep links flat: whatever pointed at the merged lead now points at the survivor.
        for (const [linked, target] of graph.links) {
          if (target === lead) {
            graph.links.set(linked, into);
            links.push({ leadId: linked, canonicalLeadId: into, identity });
          }
        }
        graph.links.set(lead, into);
        links.push({ leadId: lead, canonicalLeadId: into, identity });
        merges.push({ into, merged: lead, signal: signalOf(identity), at: e.occurredAt });
      }
    });

    try {
      if (owners.length) await saveIdentities(client, orgId, owners, now());
      if (links.length) await saveLinks(client, orgId, links);
    } catch (err) {
      // The in-memory graph ran ahead of what was stored: forget it and reload next time.
      graphs.delete(orgId);
      throw err;
    }
    return { derived, merges };
  }

  return {
    /**
     * Drop the cached graph of one organisation, so the next batch reloads it from ClickHouse
     * (after an unmerge). Dropped now and again once the batches already queued for the
     * organisation are done, since one of them may hold the old graph. Only this process's cache:
     * another process holding the graph keeps it until it reloads (issue 8).
     */
    forget(orgId: string): void {
      graphs.delete(orgId);
      const queued = locks.get(orgId);
      if (queued) void queued.catch(() => undefined).then(() => graphs.delete(orgId));
    },
    /** Enrichment and merges for a batch of one organisation's valid events; persisted before it returns. */
    resolve(orgId: string, events: readonly AgentEvent[]): Promise<Resolution> {
      const previous = locks.get(orgId) ?? Promise.resolve();
      const run = previous.catch(() => undefined).then(() => resolveLocked(orgId, events));
      locks.set(orgId, run);
      void run.finally(() => {
        if (locks.get(orgId) === run) locks.delete(orgId);
      }).catch(() => undefined);
      return run;
    }
  };
}

export type IdentityResolver = ReturnType<typeof createIdentityResolver>;

/** Whether a person split any lead of one group (canonical `a` and the leads linked into it) from any of the other. */
function wasSplit(graph: IdentityGraph, a: string, b: string): boolean {
  if (graph.splits.size === 0) return false;
  if (graph.splits.has(splitKey(a, b))) return true;
  // Only reached when a merge is about to happen in an organisation that has splits: rare.
  const members = (root: string) => [root, ...[...graph.links].filter(([, target]) => target === root).map(([lead]) => lead)];
  const others = members(b);
  return members(a).some((x) => others.some((y) => graph.splits.has(splitKey(x, y))));
}

const signalOf = (identity: string): LeadMerge['signal'] => (identity.startsWith('email:') ? 'email' : 'phone');
export type { Identity };
