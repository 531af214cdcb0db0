import { modelPageSchema, trainingRunSchema, type ModelPage, type ModelVersion, type TrainingRun } from '$lib/contracts/model-registry';
import { joinRoomLive, validated, type ConnectionStatus, type RealtimeSocket } from '$lib/realtime/client';
import { defaultVersionId } from '$lib/charts/model-summary';

/** Where the page's two buttons post; the server checks `models:manage` again. */
export const RETRAIN_URL = '/api/v1/models/retrain';
export const ROLLBACK_URL = '/api/v1/models/rollback';

type Fetch = typeof fetch;

/**
 * Live state of the model page: the registry as the server last sent it, the training run in
 * progress, and which version the viewer picked. The apply* methods are plain, so tests need no
 * socket.
 */
export class ModelsState {
  /** The registry as the server last sent it; replaced whole, never patched. */
  page: ModelPage;
  /** The latest run: running, or finished with its result (kept so the result stays readable). */
  training = $state.raw<TrainingRun | null>(null);
  /** The viewer's pick; null follows the default (active, else newest) as the registry changes. */
  pickedVersionId = $state<string | null>(null);
  status = $state<ConnectionStatus>('connecting');
  hasConnected = $state(false);
  /** epoch ms by the client's clock of the last push applied. */
  lastUpdateAt = $state(0);

  /** The version the charts show: the pick while it still exists, else the default; null with no versions. */
  version: ModelVersion | null = $derived.by(() => {
    const { versions } = this.page;
    const picked = versions.find((v) => v.versionId === this.pickedVersionId);
    if (picked) return picked;
    const fallback = defaultVersionId(this.page);
    return versions.find((v) => v.versionId === fallback) ?? null;
  });

  #now: () => number;

  constructor(page: ModelPage, now: () => number = Date.now) {
    this.#now = now;
    this.page = $state.raw(page);
    this.applyPage(page);
  }

  /**
   * The page is the whole registry, so it replaces everything. Its `training` is the server's
   * current run; when it has none, a finished run we already show stays, so "v8 promoted: …" is
   * still readable after the registry update that the same promotion caused.
   */
  applyPage(page: ModelPage): void {
    this.page = page;
    if (page.training) this.applyTraining(page.training);
    else if (this.training && this.training.result === null) this.training = null;
    this.lastUpdateAt = this.#now();
  }

  /** A progress or result of a run. An older run's late message never replaces a newer run. */
  applyTraining(run: TrainingRun): void {
    const current = this.training;
    if (current && current.runId !== run.runId && run.startedAt < current.startedAt) return;
    this.training = run;
    this.lastUpdateAt = this.#now();
  }

  pick(versionId: string | null): void {
    this.pickedVersionId = versionId;
  }

  /** Ask the server to train now. Resolves to '' when accepted, else the text to show. */
  retrain(fetchFn: Fetch = fetch): Promise<string> {
    return this.#post(fetchFn, RETRAIN_URL, {});
  }

  /** Ask the server to make `versionId` active again. Resolves to '' when accepted, else the text to show. */
  rollBack(versionId: string, fetchFn: Fetch = fetch): Promise<string> {
    return this.#post(fetchFn, ROLLBACK_URL, { versionId });
  }

  /**
   * Everyone on the page sees the outcome through the server's pushes; the answer is applied too
   * when it is a page or a run, so the one who pressed the button does not wait for the push.
   */
  async #post(fetchFn: Fetch, url: string, body: object): Promise<string> {
    let res: Response;
    try {
      res = await fetchFn(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    } catch {
      return 'No answer from the server: try again.';
    }
    const text = await res.text().catch(() => '');
    const answer = parseJson(text);
    if (!res.ok) return errorText(answer, text, res.status);
    const page = modelPageSchema.safeParse(answer);
    if (page.success) this.applyPage(page.data);
    const run = trainingRunSchema.safeParse(answer);
    if (run.success) this.applyTraining(run.data);
    return '';
  }

  /**
   * Wires the socket's model events to this state, joins `room` on every connect (rooms do not
   * survive a reconnect), and returns a function that unwires them. Closing the socket stays
   * with whoever opened it.
   */
  connect(socket: RealtimeSocket, room: string): () => void {
    // Every push is validated with its contract before it touches state.
    return joinRoomLive(socket, room, this, {
      'model:training-progressed': validated('model:training-progressed', trainingRunSchema, (v) => this.applyTraining(v)),
      'model:changed': validated('model:changed', modelPageSchema, (v) => this.applyPage(v))
    });
  }
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null; // not JSON (a proxy's HTML error page): the caller falls back to the status
  }
}

/** SvelteKit's `error()` answers `{ message }`; anything else falls back to the status. */
function errorText(answer: unknown, text: string, status: number): string {
  if (answer && typeof answer === 'object' && 'message' in answer && typeof answer.message === 'string' && answer.message) return answer.message;
  const plain = text.trim();
  if (plain && answer === null && plain.length <= 200 && !plain.startsWith('<')) return plain;
  return `The server refused (status ${status}).`;
}
