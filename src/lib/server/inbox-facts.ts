import type { LeadException } from '../contracts/exceptions';
import type { LeadScore } from '../contracts/model-registry';
import type { ClickHouseClient } from './db/clickhouse';
import { findExceptions, leadValues, type ValueRow } from './db/queries/exceptions';
import { latestScores } from './db/queries/models';
import { loadExceptionSettings } from './db/queries/org-settings';

/** The organisation-wide part of an inbox: every lead's value, latest scores and exceptions. */
export interface OrgFacts {
  at: number;
  values: Map<string, ValueRow>;
  scores: Map<string, Omit<LeadScore, 'scope'>>;
  exceptions: LeadException[];
}

/** As fresh as the wall's exceptions (recomputed at most every 5 s per watched organisation). */
export const ORG_FACTS_TTL_MS = 5_000;

/**
 * Shares the organisation-wide reads between inboxes. Every `inbox:changed` push makes each open
 * inbox refetch; the per-lead fold (owner, snooze, review, activity) is read per request, so a
 * claim shows at once, but values, scores and exceptions cover the whole organisation (seconds at
 * a million events) and are read at most once per ORG_FACTS_TTL_MS per organisation, however
 * many people watch. Concurrent requests share the read in flight.
 */
export function createOrgFactsCache(clickhouse: ClickHouseClient, ttlMs = ORG_FACTS_TTL_MS) {
  const cache = new Map<string, Promise<OrgFacts>>();

  async function read(orgId: string, now: number): Promise<OrgFacts> {
    const settings = await loadExceptionSettings(clickhouse, orgId);
    const [values, scores, exceptions] = await Promise.all([
      leadValues(clickhouse, orgId, now, null),
      latestScores(clickhouse, orgId, null),
      findExceptions(clickhouse, orgId, now, settings, { includeSnoozed: true })
    ]);
    return { at: now, values, scores, exceptions };
  }

  return {
    /** Facts at most `ttlMs` older than `now` (and never from `now`'s future: a test may move the clock back). */
    async get(orgId: string, now: number): Promise<OrgFacts> {
      const held = cache.get(orgId);
      if (held) {
        const facts = await held.catch(() => null);
        if (facts && facts.at <= now && now - facts.at < ttlMs) return facts;
        if (cache.get(orgId) !== held) return this.get(orgId, now);
      }
      const next = read(orgId, now);
      cache.set(orgId, next);
      const forget = () => {
        if (cache.get(orgId) === next) cache.delete(orgId);
      };
      // A failed read is not kept: the next request tries again. A stale one is dropped, so an
      // organisation nobody watches any more does not keep every lead's facts in memory.
      next.catch(forget);
      if (Number.isFinite(ttlMs)) setTimeout(forget, 2 * ttlMs).unref();
      return next;
    }
  };
}

export type OrgFactsCache = ReturnType<typeof createOrgFactsCache>;
