import type { LeadScore } from '../../contracts/model-registry';
import { modelsRoom, wallRoom } from '../../contracts/realtime';
import type { ClickHouseClient } from '../db/clickhouse';
import type { EventRow } from '../db/queries/events';
import type { Logger } from '../log';
import type { RealtimeServer } from '../realtime/wall-fanout';
import { createScorer, type Scorer } from './scorer';
import { createTrainer, type Trainer, type TrainerSettings } from './trainer';

/**
 * The app's side of the learning loop: committed events rescore their leads (and count toward
 * retraining), a promotion rescores every open lead, and scores, training progress and registry
 * changes go to the organisation's rooms. The only module the rest of the server talks to.
 */
export interface ModelService {
  scorer: Scorer;
  trainer: Trainer;
  /** Committed ledger rows: rescore their leads; outcomes count toward retraining. */
  committed(rows: readonly EventRow[]): void;
  /** Resolves when scoring queued so far has finished (tests, shutdown). */
  idle(): Promise<void>;
  bind(io: RealtimeServer): void;
  stop(): void;
}

const OUTCOME_TYPES = new Set(['deal_won', 'deal_lost']);
/** Pause between scoring rounds while events keep coming: at most ~5 rounds a second per organisation. */
const BUSY_GAP_MS = 200;

export function createModelService(deps: {
  clickhouse: ClickHouseClient;
  log: Logger;
  modelDir: string;
  settings: TrainerSettings;
  now?: () => number;
}): ModelService {
  const { log } = deps;
  let io: RealtimeServer | undefined;
  const scorer = createScorer(deps);
  /** Per organisation: leads waiting to be scored, and the scoring in flight (one at a time). */
  const waiting = new Map<string, Set<string> | 'all'>();
  const running = new Map<string, Promise<void>>();

  const pushScores = (orgId: string, scores: LeadScore[]) => {
    if (scores.length > 0) io?.to(wallRoom(orgId)).emit('leads:scored', scores);
  };

  function drain(orgId: string): Promise<void> {
    const going = running.get(orgId);
    if (going) return going;
    const run = (async () => {
      for (let next = waiting.get(orgId), first = true; next; next = waiting.get(orgId), first = false) {
        // Back-to-back rounds mean events arrive faster than they are scored: leave ingest and
        // the wall's queries some room, and let the waiting set grow into one bigger round.
        if (!first) await new Promise((resolve) => setTimeout(resolve, BUSY_GAP_MS));
        next = waiting.get(orgId) ?? next;
        waiting.delete(orgId);
        try {
          pushScores(orgId, await scorer.scoreLeads(orgId, next === 'all' ? null : [...next]));
        } catch (err) {
          // Scores are derived data: the next event of the lead (or the next promotion) scores it again.
          log.warn({ err, orgId }, 'scoring failed');
        }
      }
    })().finally(() => running.delete(orgId));
    running.set(orgId, run);
    return run;
  }

  function queue(orgId: string, leadIds: Iterable<string> | 'all'): void {
    const current = waiting.get(orgId);
    if (leadIds === 'all' || current === 'all') waiting.set(orgId, 'all');
    else waiting.set(orgId, new Set([...(current ?? []), ...leadIds]));
    void drain(orgId);
  }

  const trainer = createTrainer({
    ...deps,
    scorer,
    events: {
      progressed: (orgId, run) => io?.to(modelsRoom(orgId)).emit('model:training-progressed', run),
      changed: (orgId, page) => io?.to(modelsRoom(orgId)).emit('model:changed', page),
      promoted: (orgId) => queue(orgId, 'all')
    }
  });

  return {
    scorer,
    trainer,
    committed(rows) {
      scorer.noteCommitted(rows);
      const leads = new Map<string, Set<string>>();
      const outcomes = new Map<string, number>();
      for (const r of rows) {
        const orgId = String(r.org_id);
        const set = leads.get(orgId) ?? new Set<string>();
        set.add(String(r.lead_id));
        leads.set(orgId, set);
        if (OUTCOME_TYPES.has(String(r.type))) outcomes.set(orgId, (outcomes.get(orgId) ?? 0) + 1);
      }
      for (const [orgId, ids] of leads) {
        trainer.ensureModel(orgId);
        queue(orgId, ids);
      }
      for (const [orgId, n] of outcomes) trainer.noteOutcomes(orgId, n);
    },
    async idle() {
      while (running.size > 0) await Promise.all(running.values());
    },
    bind(server) {
      io = server;
    },
    stop() {
      trainer.stop();
      scorer.close();
    }
  };
}
