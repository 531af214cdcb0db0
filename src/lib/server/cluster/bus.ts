import type { TrainingRun } from '../../contracts/model-registry';
import type { EventRow } from '../db/queries/events';
import type { Logger } from '../log';
import type { RealtimeServer } from '../realtime/wall-fanout';
import type { RedisClient } from './coordinator';

/** What the app asks of the active trainer, wherever it runs. */
export type ModelCommand =
  | { kind: 'retrain'; orgId: string }
  | { kind: 'rollback'; orgId: string; versionId: string; actor: string }
  | { kind: 'run'; orgId: string };
export type ModelCommandAnswer =
  | { kind: 'retrain'; run: TrainingRun }
  | { kind: 'rollback'; result: { ok: true } | { ok: false; reason: string } }
  | { kind: 'run'; run: TrainingRun | null };

/**
 * Requests between processes that need an answer, through socket.io's `serverSideEmit` (the
 * adapter sends these over Redis pub/sub: a request nobody hears fails and is retried by the
 * person, which is right for a button press).
 */
export interface InterServerEvents {
  /** For the active trainer; every other process answers null. */
  'model:command': (command: ModelCommand, reply: (answer: ModelCommandAnswer | null) => void) => void;
}

/**
 * News every process must hear, even across a Redis restart: a Redis stream of its own (the
 * adapter sends serverSideEmit over pub/sub, which drops what is published while a subscriber
 * reconnects). Each process reads it from where it stopped.
 */
type BusMessage = { from: string; kind: 'rows'; rows: EventRow[] } | { from: string; kind: 'identity'; orgId: string };

/**
 * Rows per message. A batch can hold thousands; the stream keeps its last REDIS_STREAM_MAX_LEN
 * messages, so their size bounds Redis's memory (~200 rows ≈ 80 KB).
 */
const ROWS_PER_MESSAGE = 200;

/**
 * The process-to-process side of issue 8. Every committed row reaches every process once: this
 * one directly, the others through Redis. What each process then does with it — wall pushes,
 * inbox pushes, scoring — is decided by the handlers (and the leases behind them), so work that
 * must happen once happens once. Without Redis it is a plain in-process call.
 */
export function createClusterBus(deps: { redis: RedisClient | null; processId: string; streamKey: string; maxLen: number; log: Logger }) {
  const { redis, log } = deps;
  const clustered = redis !== null;
  let io: RealtimeServer | undefined;
  const onRows: ((rows: readonly EventRow[]) => void)[] = [];
  const onForgotten: ((orgId: string) => void)[] = [];
  let onCommand: ((command: ModelCommand) => Promise<ModelCommandAnswer | null>) | undefined;
  let stopped = false;

  /**
   * Into the stream. While Redis is away the client queues the command and sends it on
   * reconnect, so a message is delayed, not dropped (unless this process dies meanwhile: the
   * rows are in ClickHouse, only their live pushes are lost).
   */
  function send(message: BusMessage): void {
    if (!redis) return;
    redis
      .xadd(deps.streamKey, 'MAXLEN', '~', deps.maxLen, '*', 'm', JSON.stringify(message))
      .catch((err: unknown) => log.warn({ err, kind: message.kind }, 'could not tell the other processes'));
  }

  function received(message: BusMessage): void {
    if (message.from === deps.processId) return; // delivered here when sent
    if (message.kind === 'rows') deliver(onRows, message.rows, 'rows:committed');
    else deliver(onForgotten, message.orgId, 'identity:forgotten');
  }

  /**
   * A second connection blocks on XREAD (a blocked connection cannot send). It starts at the
   * stream's end and keeps the last id it read, so after a Redis restart (with persistence) it
   * resumes where it stopped.
   */
  const reader: Promise<RedisClient | null> = redis ? readStream(redis) : Promise.resolve(null);
  async function readStream(client: RedisClient): Promise<RedisClient> {
    const blocking = client.duplicate();
    blocking.on('error', () => undefined); // the main client reports connection trouble once
    void (async () => {
      let lastId = '$';
      while (!stopped) {
        try {
          const answer = await blocking.xread('COUNT', 100, 'BLOCK', 5_000, 'STREAMS', deps.streamKey, lastId);
          for (const [, entries] of answer ?? []) {
            for (const [id, fields] of entries) {
              lastId = id;
              // Fields come as [name, value, …]; the one field is `m`.
              received(JSON.parse(fields[1] ?? 'null') as BusMessage);
            }
          }
        } catch (err) {
          if (stopped) return;
          log.debug({ err }, 'bus read failed; retrying');
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    })();
    return blocking;
  }

  function deliver<T>(handlers: ((value: T) => void)[], value: T, what: string): void {
    for (const handler of handlers) {
      try {
        handler(value);
      } catch (err) {
        // One consumer failing (a bug) must not keep the rows from the others.
        log.error({ err, what }, 'cluster message handler failed');
      }
    }
  }

  return {
    bind(server: RealtimeServer): void {
      io = server;
      if (!clustered) return;
      server.on('model:command', (command, reply) => {
        const run = onCommand?.(command) ?? Promise.resolve(null);
        run.then(reply, (err: unknown) => {
          log.error({ err, command: command.kind }, 'model command failed');
          reply(null);
        });
      });
    },
    /** Rows are in ClickHouse: tell this process and every other. */
    committed(rows: readonly EventRow[]): void {
      if (rows.length === 0) return;
      deliver(onRows, rows, 'rows:committed');
      for (let i = 0; i < rows.length; i += ROWS_PER_MESSAGE) send({ from: deps.processId, kind: 'rows', rows: rows.slice(i, i + ROWS_PER_MESSAGE) });
    },
    identityForgotten(orgId: string): void {
      deliver(onForgotten, orgId, 'identity:forgotten');
      send({ from: deps.processId, kind: 'identity', orgId });
    },
    /**
     * Run a model command on the active trainer: here when this process is it, otherwise the
     * first process that answers (only the trainer does). Null when no trainer answered.
     */
    async modelCommand(command: ModelCommand): Promise<ModelCommandAnswer | null> {
      const here = await onCommand?.(command);
      if (here || !clustered || !io) return here ?? null;
      const server = io;
      return new Promise((resolve) => {
        // The adapter waits for every live process (5 s at most); a late or missing one leaves
        // the answers that came.
        server.serverSideEmit('model:command', command, (_err: Error | null, answers: (ModelCommandAnswer | null)[]) =>
          resolve(answers.find((a) => a !== null) ?? null)
        );
      });
    },
    onCommitted(handler: (rows: readonly EventRow[]) => void): void {
      onRows.push(handler);
    },
    onIdentityForgotten(handler: (orgId: string) => void): void {
      onForgotten.push(handler);
    },
    /** The trainer's handler: answers null while this process is not the active trainer. */
    handleModelCommands(handler: (command: ModelCommand) => Promise<ModelCommandAnswer | null>): void {
      onCommand = handler;
    },
    /** Stop reading the stream (what this process sent is already in Redis's queue). */
    close(): Promise<void> {
      stopped = true;
      return reader.then((r) => r?.disconnect()).catch(() => undefined);
    }
  };
}

export type ClusterBus = ReturnType<typeof createClusterBus>;
