import type { CountryCode } from 'libphonenumber-js';
import type { AgentEvent } from '../../src/lib/contracts/events';
import type { ClickHouseClient } from '../../src/lib/server/db/clickhouse';
import { loadIdentityGraph, saveIdentities, saveLinks, type IdentityGraph } from '../../src/lib/server/db/queries/contacts';
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
        if (into === lead) continue;
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

const signalOf = (identity: string): LeadMerge['signal'] => (identity.startsWith('email:') ? 'email' : 'phone');
export type { Identity };
