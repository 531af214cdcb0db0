import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createEventSource, replayHistory, type EventSink } from '../../../ingest/simulator';
import type { AgentEvent } from '../../../src/lib/contracts/events';
import { insertEventRows, toEventRow } from '../../../src/lib/server/db/queries/events';
import { createLogger } from '../../../src/lib/server/log';
import { ensureArtifacts, publishArtifacts } from '../../../src/lib/server/scoring/artifact-store';
import { createModelService } from '../../../src/lib/server/scoring/model-service';
import { createTestDatabase, type TestDatabase } from '../../helpers/clickhouse';

/**
 * Issue 8: model files live in ClickHouse beside their registry row, so a trainer on another
 * machine (another MODEL_DIR) takes an organisation's model over with no shared disk.
 */
let db: TestDatabase;
const dirs: string[] = [];
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'pipewall-artifacts-'));
  dirs.push(d);
  return d;
};

beforeAll(async () => {
  db = await createTestDatabase('artifact_store_test');
});
afterAll(async () => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  await db.drop();
});

describe('model artifacts in ClickHouse', () => {
  it('a version published from one MODEL_DIR is written, byte for byte, into another that lacks it', async () => {
    const [from, to] = [tempDir(), tempDir()];
    const files = { 'org-1/v1-abc/mlp/model.json': '{"format":"layers-model"}', 'org-1/v1-abc/mlp/weights.bin': Buffer.from([0, 255, 1, 254, 10, 13]) };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(from, path, '..'), { recursive: true });
      writeFileSync(join(from, path), content);
    }
    await publishArtifacts(db.client, from, 'org-1', 'org-1/v1-abc/mlp', 1_000);
    await ensureArtifacts(db.client, to, 'org-1', 'org-1/v1-abc/mlp');
    for (const [path, content] of Object.entries(files)) expect(readFileSync(join(to, path))).toEqual(Buffer.from(content));
    // Another organisation's name for the same directory finds nothing.
    await expect(ensureArtifacts(db.client, tempDir(), 'org-2', 'org-1/v1-abc/mlp')).rejects.toThrow(/neither in .* nor in ClickHouse/);
  });

  it('a second trainer with an empty MODEL_DIR scores with the model the first one trained', async () => {
    const orgId = 'org-takeover';
    let clock = Date.UTC(2026, 0, 1);
    const source = createEventSource({ seed: 3, runId: orgId, leads: 40, now: () => clock });
    const sink: EventSink = {
      async send(batch) {
        const list = Array.isArray(batch) ? (batch as AgentEvent[]) : [batch as AgentEvent];
        await insertEventRows(db.client, list.map((e) => toEventRow(e, orgId, Date.parse(e.occurredAt))));
        return { accepted: list.map((e) => e.eventId), rejected: [] };
      }
    };
    await replayHistory(sink, source, { fromMs: clock, toMs: clock + 2 * 86_400_000, events: 300, setClock: (ms) => (clock = ms) });
    const settings = { minWon: 40, minLost: 40, retrainAfterOutcomes: 1_000_000, retrainIntervalMs: 3_600_000, seed: 7 };
    const first = createModelService({ clickhouse: db.client, log: createLogger('silent'), modelDir: tempDir(), settings });
    const second = createModelService({ clickhouse: db.client, log: createLogger('silent'), modelDir: tempDir(), settings });
    try {
      first.trainer.retrain(orgId, 'start'); // the prior: no outcomes yet
      await first.trainer.settled(orgId);
      const fromFirst = await first.scorer.scoreLeads(orgId, null);
      const fromSecond = await second.scorer.scoreLeads(orgId, null);
      expect(fromFirst.length).toBeGreaterThan(0);
      expect(fromSecond.map((s) => [s.leadId, s.score.toFixed(6), s.versionId])).toEqual(fromFirst.map((s) => [s.leadId, s.score.toFixed(6), s.versionId]));
    } finally {
      first.stop();
      second.stop();
    }
  });
});
