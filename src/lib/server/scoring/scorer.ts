import { join } from 'node:path';
import type { LedgerEvent } from '../../contracts/events';
import type { LeadScore } from '../../contracts/model-registry';
import { tfReady } from '../../../../ml/backend';
import { explainScore } from '../../../../ml/explain';
import { leadFeatures, leadOutcome } from '../../../../ml/features';
import { loadModel, readModelMeta, type LeadModel } from '../../../../ml/model';
import { encode, type FeatureSpec } from '../../../../ml/normalize';
import type { ClickHouseClient } from '../db/clickhouse';
import type { EventRow } from '../db/queries/events';
import { activeVersionId, insertLeadScores, latestScores, listDecisions, listModelVersions, type ScoreRow, type StoredVersion } from '../db/queries/models';
import { loadOrgLeadEvents } from '../db/queries/training-events';
import type { Logger } from '../log';
import { ensureArtifacts } from './artifact-store';
import { createLeadHistories } from './lead-histories';

/**
 * Scores open leads with the organisation's active model (issue 6 item 7). The model is loaded
 * once per version and kept; a promotion or rollback calls `forget`. Scoring runs in the app's
 * process: a forward pass of a few hundred leads is milliseconds, so only training goes to a
 * child process.
 */

export interface LoadedModel {
  version: StoredVersion;
  model: LeadModel;
  spec: FeatureSpec;
}

export interface Scorer {
  /** The active version with its model, or null when the organisation has none yet. */
  active(orgId: string): Promise<LoadedModel | null>;
  /** Load any version's artifacts (comparisons on a new holdout). The caller must not dispose it. */
  load(orgId: string, version: StoredVersion): Promise<LoadedModel>;
  /** Score these leads (all open leads of the organisation when null), store and return the scores. */
  scoreLeads(orgId: string, leadIds: readonly string[] | null, now?: number): Promise<LeadScore[]>;
  /** Committed ledger rows, so held lead histories stay current without a read. */
  noteCommitted(rows: readonly EventRow[]): void;
  /** Drop the cached active model (after a promotion or rollback). */
  forget(orgId: string): void;
  /**
   * Drop every held history and cached active model: this process just became the active
   * trainer (issue 8), and while another process scored, rows it held went unnoted.
   */
  reset(): void;
  close(): void;
}

/**
 * Leads per forward pass when scoring many. Features are computed on the app's event loop, so a
 * whole organisation is scored in slices with a yield between them: sign-ins and socket pushes
 * must not wait behind a promotion's rescoring (a CI run showed a 5 s sign-in stall without it).
 */
const SCORE_CHUNK = 250;

export function createScorer(deps: { clickhouse: ClickHouseClient; log: Logger; modelDir: string; now?: () => number }): Scorer {
  const { clickhouse, log, modelDir } = deps;
  const clock = deps.now ?? Date.now;
  let histories = createLeadHistories();
  /** Artifacts by directory: a version's model is read once, whichever version row names it. */
  const loaded = new Map<string, Promise<Omit<LoadedModel, 'version'>>>();

  async function loadVersion(orgId: string, version: StoredVersion): Promise<LoadedModel> {
    const key = version.artifactDir;
    let entry = loaded.get(key);
    if (!entry) {
      entry = (async () => {
        await tfReady();
        // MODEL_DIR is a cache of what ClickHouse holds (a trainer that took over has no files yet).
        await ensureArtifacts(clickhouse, modelDir, orgId, version.artifactDir);
        const dir = join(modelDir, version.artifactDir);
        const [model, meta] = await Promise.all([loadModel(dir), readModelMeta(dir)]);
        const spec = (meta.extra as { spec?: FeatureSpec } | undefined)?.spec;
        if (!spec) throw new Error(`model ${version.versionId} has no feature spec in ${dir}/meta.json`);
        return { model, spec };
      })();
      loaded.set(key, entry);
      entry.catch(() => loaded.delete(key));
    }
    return { ...(await entry), version };
  }

  /** Per organisation, cached until `forget` (a promotion or rollback in this process). */
  const activeByOrg = new Map<string, Promise<LoadedModel | null>>();
  function active(orgId: string): Promise<LoadedModel | null> {
    let entry = activeByOrg.get(orgId);
    if (!entry) {
      entry = (async () => {
        const [decisions, versions] = await Promise.all([listDecisions(clickhouse, orgId), listModelVersions(clickhouse, orgId)]);
        const id = activeVersionId(decisions);
        const version = versions.find((v) => v.versionId === id);
        return version ? loadVersion(orgId, version) : null;
      })();
      activeByOrg.set(orgId, entry);
      entry.catch(() => activeByOrg.delete(orgId));
    }
    return entry;
  }

  function scoreEvents(m: LoadedModel, leads: [string, LedgerEvent[]][], now: number): ScoreRow[] {
    const open = leads.filter(([, events]) => events.length > 0 && !leadOutcome(events));
    if (open.length === 0) return [];
    const rows = open.map(([, events]) => leadFeatures(events, now + 1));
    const x = encode(m.spec, rows.map((r) => r.features));
    const p = m.model.predict(x, open.length);
    const c = m.model.contributions(x, open.length);
    const width = m.spec.width;
    return open.map(([leadId], i) => {
      const { features, evidence } = rows[i]!;
      const { reasons } = explainScore({ contributions: c.subarray(i * width, (i + 1) * width), columns: m.spec.columns, features, evidence });
      return {
        leadId,
        scoredAt: now,
        versionId: m.version.versionId,
        score: p[i]!,
        channel: features.categorical.channel ?? '',
        reasons: reasons.map(({ text, direction, weight, eventId }) => ({ text, direction, weight, ...(eventId ? { eventId } : {}) }))
      };
    });
  }

  return {
    active,
    load: (orgId, version) => loadVersion(orgId, version),
    async scoreLeads(orgId, leadIds, now = clock()) {
      const m = await active(orgId);
      if (!m || (leadIds && leadIds.length === 0)) return [];
      let leads: [string, LedgerEvent[]][];
      if (leadIds) {
        // Leads held in memory need no read; the others are read once and held from now on.
        const missing = leadIds.filter((id) => !histories.get(orgId, id));
        if (missing.length > 0) {
          histories.reading(orgId, missing);
          try {
            for (const [id, events] of await loadOrgLeadEvents(clickhouse, orgId, { leadIds: missing })) histories.put(orgId, id, events);
          } finally {
            histories.doneReading(orgId, missing);
          }
        }
        leads = leadIds.flatMap((id): [string, LedgerEvent[]][] => {
          const events = histories.get(orgId, id);
          return events ? [[id, events]] : [];
        });
      } else {
        leads = [...(await loadOrgLeadEvents(clickhouse, orgId))];
      }
      const rows: ScoreRow[] = [];
      for (let i = 0; i < leads.length; i += SCORE_CHUNK) {
        if (i > 0) await new Promise((resolve) => setImmediate(resolve));
        rows.push(...scoreEvents(m, leads.slice(i, i + SCORE_CHUNK), now));
      }
      if (rows.length === 0) return [];
      const unknown = rows.filter((r) => histories.lastScore(orgId, r.leadId) === undefined).map((r) => r.leadId);
      const before = unknown.length > 0 ? await latestScores(clickhouse, orgId, leadIds ? unknown : null) : new Map();
      const scores = rows.map((r) => {
        const previous = histories.lastScore(orgId, r.leadId) ?? before.get(r.leadId)?.score ?? null;
        histories.setScore(orgId, r.leadId, r.score);
        return { ...r, previous, scope: m.version.scope };
      });
      // Stored before it is returned (and pushed): the page and the at-risk list read the history.
      await insertLeadScores(clickhouse, orgId, rows);
      log.debug({ orgId, scored: rows.length, version: m.version.versionId }, 'leads scored');
      return scores;
    },
    noteCommitted(rows) {
      histories.note(rows);
    },
    forget(orgId) {
      activeByOrg.delete(orgId);
    },
    reset() {
      histories = createLeadHistories();
      activeByOrg.clear();
    },
    close() {
      for (const entry of loaded.values()) entry.then((m) => m.model.dispose(), () => {});
      loaded.clear();
    }
  };
}
