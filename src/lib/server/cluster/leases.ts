import type { Coordinator } from './coordinator';

/**
 * A lease one process keeps for as long as it runs (the active trainer): asked for every
 * `ttlMs / 3`, so two renewals can fail before it lapses. When Redis does not answer, the holder
 * keeps acting until its own lease would have expired, then stops: by then another process may
 * have taken it, and two trainers must not both promote models.
 */
export function keepLease(
  coordinator: Coordinator,
  name: string,
  options: { ttlMs: number; onChange: (held: boolean) => void; now?: () => number }
) {
  const now = options.now ?? Date.now;
  let heldUntil = 0;
  let held = false;
  let stopped = false;

  async function tick(): Promise<void> {
    const asked = now();
    const answer = await coordinator.hold(name, options.ttlMs);
    if (stopped) return;
    if (answer === true) heldUntil = asked + options.ttlMs;
    // A safety margin for clock drift between this process and Redis.
    const nowHeld = answer === true || (answer === null && held && now() < heldUntil - options.ttlMs / 3);
    if (answer === false) heldUntil = 0;
    if (nowHeld !== held) {
      held = nowHeld;
      options.onChange(held);
    }
  }

  const timer = setInterval(() => void tick(), Math.max(50, Math.floor(options.ttlMs / 3)));
  timer.unref();
  void tick();
  return {
    isHeld: () => held,
    async stop(): Promise<void> {
      stopped = true;
      clearInterval(timer);
      if (held) {
        held = false;
        options.onChange(false);
      }
      await coordinator.release(name);
    }
  };
}

export type KeptLease = ReturnType<typeof keepLease>;

/**
 * Per-room leases for work that must run once per organisation however many processes have
 * watchers of it (the wall's recounts, the inbox's coalesced pushes). Only a process with a
 * watcher of the room asks, so the owner is always one that has someone to serve. Answers are
 * cached: a held lease is renewed when half its time is gone, a refused one asked again after
 * `retryMs`. When Redis does not answer, this process computes anyway: two processes pushing the
 * same numbers is better than a wall that stops.
 */
export function createRoomOwnership(coordinator: Coordinator, options: { ttlMs?: number; retryMs?: number; now?: () => number } = {}) {
  // Short: a dead owner's organisations go without recounts until it ends (renewal at half-life
  // costs one Redis call per owned room every 2.5 s).
  const ttlMs = options.ttlMs ?? 5_000;
  const retryMs = options.retryMs ?? 1_000;
  const now = options.now ?? Date.now;
  const known = new Map<string, { held: boolean; until: number; askedAt: number }>();
  const asking = new Map<string, Promise<boolean>>();

  function ask(room: string): Promise<boolean> {
    const going = asking.get(room);
    if (going) return going;
    const askedAt = now();
    const answer = coordinator.hold(`room:${room}`, ttlMs).then((held) => {
      asking.delete(room);
      // Not knowing counts as held for retryMs, then Redis is asked again.
      const until = held === true ? askedAt + ttlMs : held === null ? askedAt + ttlMs / 2 + retryMs : 0;
      known.set(room, { held: held !== false, until, askedAt });
      return held !== false;
    });
    asking.set(room, answer);
    return answer;
  }

  return {
    /** Whether this process should compute the room's pushes now. */
    owns(room: string): Promise<boolean> {
      const k = known.get(room);
      const at = now();
      if (k?.held && k.until - at > ttlMs / 2) return Promise.resolve(true);
      if (k && !k.held && at - k.askedAt < retryMs) return Promise.resolve(false);
      return ask(room);
    },
    /** The last local watcher left: let another process with watchers take the room at once. */
    release(room: string): void {
      if (!known.get(room)?.held) return;
      known.delete(room);
      void coordinator.release(`room:${room}`);
    },
    releaseAll(): Promise<void> {
      const rooms = [...known].filter(([, k]) => k.held).map(([room]) => room);
      known.clear();
      return Promise.all(rooms.map((room) => coordinator.release(`room:${room}`))).then(() => undefined);
    }
  };
}

export type RoomOwnership = ReturnType<typeof createRoomOwnership>;
