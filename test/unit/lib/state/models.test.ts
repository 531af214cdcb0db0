import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AckResult } from '$lib/contracts/realtime';
import type { RealtimeSocket } from '$lib/realtime/client';
import { ModelsState, RETRAIN_URL, ROLLBACK_URL } from '$lib/state/models.svelte';
import { buildModelPage, buildModelVersion, buildPriorModelPage, buildTrainingRun } from '../../../fixtures/model';

/** Just enough of a socket.io client socket for ModelsState.connect. */
class FakeSocket {
  connected = false;
  active = true;
  readonly handlers = new Map<string, Set<(...args: unknown[]) => void>>();
  readonly joins: string[] = [];
  joinAnswer: AckResult = { ok: true };

  on(event: string, handler: (...args: unknown[]) => void) {
    const set = this.handlers.get(event) ?? new Set();
    set.add(handler);
    this.handlers.set(event, set);
    return this;
  }

  off(event: string, handler: (...args: unknown[]) => void) {
    this.handlers.get(event)?.delete(handler);
    return this;
  }

  connect() {
    return this;
  }

  emit(event: string, room: string, ack: (result: AckResult) => void) {
    if (event === 'room:join') {
      this.joins.push(room);
      ack(this.joinAnswer);
    }
    return this;
  }

  fire(event: string, ...args: unknown[]) {
    for (const handler of this.handlers.get(event) ?? []) handler(...args);
  }

  listenerCount(): number {
    return [...this.handlers.values()].reduce((sum, set) => sum + set.size, 0);
  }

  asSocket(): RealtimeSocket {
    return this as unknown as RealtimeSocket;
  }
}

/** A fetch that answers once with `status` and `body`, recording what it was asked. */
function fakeFetch(status: number, body: unknown) {
  const calls: { url: string; init: RequestInit | undefined }[] = [];
  const fn = (async (url: string, init?: RequestInit) => {
    calls.push({ url, init });
    return new Response(typeof body === 'string' ? body : JSON.stringify(body), { status });
  }) as unknown as typeof fetch;
  return { fn, calls };
}

describe('ModelsState', () => {
  it('opens on the active version and follows a pick while that version exists', () => {
    const models = new ModelsState(buildModelPage());
    const first = models.version?.versionId;
    models.pick('v2');
    const picked = models.version?.versionId;
    models.applyPage(buildModelPage({ versions: buildModelPage().versions.filter((v) => v.versionId !== 'v2') }));

    expect([first, picked, models.version?.versionId]).toEqual(['v3', 'v2', 'v3']);
  });

  it('has no version to show before any was trained', () => {
    expect(new ModelsState(buildModelPage({ versions: [], activeVersionId: null, scoredBy: 'none' })).version).toBeNull();
  });

  it('replaces the whole page on a registry change', () => {
    let now = 1;
    const models = new ModelsState(buildModelPage(), () => now);
    now = 2;
    const next = buildPriorModelPage();

    models.applyPage(next);

    expect([models.page, models.lastUpdateAt]).toEqual([next, 2]);
  });

  it('keeps a finished run readable when the page that follows carries no run', () => {
    const models = new ModelsState(buildModelPage());
    const done = buildTrainingRun({ progress: { phase: 'done' }, result: { versionId: 'v3', decision: 'promoted', reason: '' } });
    models.applyTraining(done);

    models.applyPage(buildModelPage({ training: null }));

    expect(models.training).toEqual(done);
  });

  it('drops a running run the server no longer reports', () => {
    const models = new ModelsState(buildModelPage({ training: buildTrainingRun() }));

    models.applyPage(buildModelPage({ training: null }));

    expect(models.training).toBeNull();
  });

  it("ignores an older run's late progress", () => {
    const models = new ModelsState(buildModelPage());
    const newer = buildTrainingRun({ runId: 'run-2', startedAt: 2_000 });
    models.applyTraining(newer);

    models.applyTraining(buildTrainingRun({ runId: 'run-1', startedAt: 1_000, progress: { phase: 'evaluate' } }));

    expect(models.training).toEqual(newer);
  });
});

describe('ModelsState.connect', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  function connected() {
    const socket = new FakeSocket();
    const models = new ModelsState(buildModelPage(), () => 42);
    const unwire = models.connect(socket.asSocket(), 'models:org-1');
    return { socket, models, unwire };
  }

  it('joins the models room on every connect and applies pushes', () => {
    const { socket, models } = connected();
    const run = buildTrainingRun({ progress: { phase: 'train', kind: 'mlp', epoch: 3, maxEpochs: 10 } });
    const page = buildPriorModelPage();

    socket.fire('connect');
    socket.fire('disconnect', 'transport close');
    socket.fire('connect');
    socket.fire('model:training-progressed', run);
    const training = models.training;
    socket.fire('model:changed', page);

    expect([socket.joins, models.status, training, models.page]).toEqual([['models:org-1', 'models:org-1'], 'live', run, page]);
  });

  it('is offline when the server refuses the room', () => {
    const { socket, models } = connected();
    socket.joinAnswer = { ok: false, code: 'forbidden' };

    socket.fire('connect');

    expect(models.status).toBe('offline');
  });

  it('drops a malformed push and keeps its state', () => {
    vi.spyOn(console, 'error').mockImplementation(() => {});
    const { socket, models } = connected();
    const before = models.page;

    socket.fire('model:changed', { ...buildModelPage(), versions: 'nope' });
    socket.fire('model:training-progressed', { runId: 'x' });

    expect([models.page, models.training]).toEqual([before, null]);
  });

  it('unwires everything it wired', () => {
    const { socket, unwire } = connected();

    unwire();

    expect(socket.listenerCount()).toBe(0);
  });
});

describe('ModelsState actions', () => {
  it('posts a retrain as JSON and applies a run in the answer', async () => {
    const models = new ModelsState(buildModelPage());
    const run = buildTrainingRun({ progress: { phase: 'prepare' } });
    const { fn, calls } = fakeFetch(202, run);

    const error = await models.retrain(fn);

    expect([error, calls[0]?.url, calls[0]?.init?.method, calls[0]?.init?.body, models.training]).toEqual(['', RETRAIN_URL, 'POST', '{}', run]);
  });

  it('posts the version to roll back to', async () => {
    const models = new ModelsState(buildModelPage());
    const { fn, calls } = fakeFetch(200, { ok: true });

    const error = await models.rollBack('v1', fn);

    expect([error, calls[0]?.url, calls[0]?.init?.body]).toEqual(['', ROLLBACK_URL, JSON.stringify({ versionId: 'v1' })]);
  });

  it("shows the server's message when it refuses", async () => {
    const models = new ModelsState(buildModelPage());

    const refused = await models.retrain(fakeFetch(409, { message: 'A training run is already in progress' }).fn);
    const html = await models.retrain(fakeFetch(502, '<html>Bad gateway</html>').fn);
    const plain = await models.rollBack('v1', fakeFetch(403, 'Forbidden').fn);

    expect([refused, html, plain]).toEqual(['A training run is already in progress', 'The server refused (status 502).', 'Forbidden']);
  });

  it('says so when the server does not answer', async () => {
    const models = new ModelsState(buildModelPage());
    const failing = (() => Promise.reject(new TypeError('Failed to fetch'))) as unknown as typeof fetch;

    expect(await models.retrain(failing)).toBe('No answer from the server: try again.');
  });

  it('applies a page in the answer to a roll back', async () => {
    const models = new ModelsState(buildModelPage());
    const page = buildModelPage({ activeVersionId: 'v1', versions: [buildModelVersion({ versionId: 'v1' })] });

    await models.rollBack('v1', fakeFetch(200, page).fn);

    expect(models.page).toEqual(page);
  });
});
