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
  /** Leads left unscored because the queue was full. */
  readonly dropped: number;
  bind(io: RealtimeServer): void;
  stop(): void;
}

const OUTCOME_TYPES = new Set(['deal_won', 'deal_lost']);
/** An outcome for the retraining count: an agent's deal event, or a person closing the lead by a stage correction. */
const isOutcome = (r: EventRow) =>
  OUTCOME_TYPES.has(String(r.type)) || (r.type === 'stage_changed' && String(r.actor).startsWith('human:') && (r.stage === 'won' || r.stage === 'lost'));
/** Pause between scoring rounds while events keep coming: at most ~5 rounds a second per organisation. */
const BUSY_GAP_MS = 200;
/** Leads per scoring round, and leads that may wait for one, per organisation. */
const MAX_LEADS_PER_ROUND = 500;
const MAX_WAITING = 20_000;

export function createModelService(deps: {
  clickhouse: ClickHouseClient;
  log: Logger;
  modelDir: string;
  settings: TrainerSettings;
  now?: () => number;
  /** New scores were stored for these leads (the inboxes rank by them). */
  onScored?: (orgId: string, leadIds: string[]) => void;
  /** Whether this process is the active trainer (issue 8); absent, always. */
  isActive?: () => boolean;
}): ModelService {
  const { log } = deps;
  let io: RealtimeServer | undefined;
  const scorer = createScorer(deps);
  /** Per organisation: leads waiting to be scored, and the scoring in flight (one at a time). */
  const waiting = new Map<string, Set<string> | 'all'>();
  const running = new Map<string, Promise<void>>();
  /** Leads not queued because the queue was full (they score on their next event). */
  let dropped = 0;

  const pushScores = (orgId: string, scores: LeadScore[]) => {
    if (scores.length === 0) return;
    io?.to(wallRoom(orgId)).emit('leads:scored', scores);
    deps.onScored?.(orgId, scores.map((s) => s.leadId));
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
        // A bounded round: what is left waits for the next one, so scoring (derived data) takes
        // at most a slice of the process from ingest under a flood of new leads.
        let ids: string[] | null = null;
        if (next !== 'all') {
          ids = [...next].slice(0, MAX_LEADS_PER_ROUND);
          if (next.size > ids.length) requeue(orgId, [...next].slice(MAX_LEADS_PER_ROUND));
        }
        try {
          pushScores(orgId, await scorer.scoreLeads(orgId, ids));
        } catch (err) {
          // Scores are derived data: the next event of the lead (or the next promotion) scores it again.
          log.warn({ err, orgId }, 'scoring failed');
        }
      }
    })().finally(() => running.delete(orgId));
    running.set(orgId, run);
    return run;
  }

  function requeue(orgId: string, leadIds: Iterable<string> | 'all'): void {
    const current = waiting.get(orgId);
    if (leadIds === 'all' || current === 'all') return void waiting.set(orgId, 'all');
    const set = current ?? new Set<string>();
    for (const id of leadIds) {
      // Beyond this the lead is scored on its next event (or at the next promotion), not now.
      if (set.size >= MAX_WAITING) {
        dropped++;
        continue;
      }
      set.add(id);
    }
    waiting.set(orgId, set);
  }

  function queue(orgId: string, leadIds: Iterable<string> | 'all'): void {
    requeue(orgId, leadIds);
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
        if (isOutcome(r)) outcomes.set(orgId, (outcomes.get(orgId) ?? 0) + 1);
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
    get dropped() {
      return dropped;
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
