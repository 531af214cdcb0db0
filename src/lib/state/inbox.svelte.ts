import { z } from 'zod';
import { SvelteMap } from 'svelte/reactivity';
import { inboxItemSchema, type inboxViews, type InboxItem, type InboxRequest, type InboxResponse, type LeadAction } from '$lib/contracts/inbox';
import type { LeadFilter } from '$lib/contracts/lead-query';
import { joinRoomLive, validated, type ConnectionStatus, type RealtimeSocket } from '$lib/realtime/client';
import { requestJson } from '$lib/components/inbox/post-json';

export type InboxView = (typeof inboxViews)[number];

export const INBOX_URL = '/api/v1/inbox';
/** Pushes come in bursts (a claim, then its score): one fetch per burst. */
export const REFETCH_DEBOUNCE_MS = 250;
/** How long a row that changed stays highlighted. */
export const HIGHLIGHT_MS = 4_000;
/** How long "claimed by Bea just now" stays before the row shows the owner plainly. */
export const CLAIM_NOTE_MS = 60_000;
/**
 * How long a row someone else took off this list stays, greyed, before it goes: a row vanishing
 * under the reader's eyes looks like a bug; one that says who took it does not.
 */
export const GONE_MS = 8_000;

/** `inbox:changed` as the server sends it (contracts/realtime.ts declares the type only). */
const inboxChangeSchema = z.object({ leadIds: z.array(z.string()), byUserId: z.string() });
export type InboxChange = z.infer<typeof inboxChangeSchema>;
const inboxResponseSchema = z.object({
  items: z.array(inboxItemSchema),
  matched: z.number(),
  asOf: z.number(),
  /** Said about the question itself ("No one called Bo in your organisation"). */
  notice: z.string().optional()
});
/** The server's answer: InboxResponse, and sometimes a word about the question. */
export type InboxAnswer = InboxResponse & { notice?: string };

/** The GET URL for a request; the filter travels as JSON in one parameter. */
export function inboxUrl(request: InboxRequest): string {
  const filter = encodeURIComponent(JSON.stringify(request.filter));
  return `${INBOX_URL}?view=${request.view}&filter=${filter}&hidden=${request.includeHidden ? 1 : 0}`;
}

export function leadActionUrl(leadId: string): string {
  return `/api/v1/leads/${encodeURIComponent(leadId)}/actions`;
}

/** Equal keys: the same question, so a new answer is a refresh of the rows on screen. */
export function requestKey(request: InboxRequest): string {
  return JSON.stringify([request.view, request.filter, request.includeHidden]);
}

/**
 * What a reader would notice changing on a row. Risk and exposure are left out: they follow
 * from the fields here, and a row must not flash for a recomputation that shows nothing new.
 */
function signature(item: InboxItem): string {
  return JSON.stringify([
    item.ownerId,
    item.stage,
    item.lastActivityAt,
    item.summary,
    item.intent,
    // A typical value moves for every lead of an intent when a deal closes: not news on each row.
    item.valueSource === 'lead' ? item.value : null,
    item.score ? Math.round(item.score.pWon * 100) : null,
    item.exceptions.map((e) => e.id),
    item.snoozedUntil,
    item.reviewedAt
  ]);
}

/** A row as the list shows it: the server's item and what this page noticed about it. */
export interface InboxRowView {
  item: InboxItem;
  /** Changed since the previous fetch (briefly true). */
  isChanged: boolean;
  /** Someone else claimed it since this page last looked: who, and when (client clock). */
  claimedBy: { name: string; at: number } | null;
  /** It left this list after someone else's action; shown greyed for GONE_MS. */
  goneBy: { name: string; at: number } | null;
}

interface Gone {
  item: InboxItem;
  index: number;
  name: string;
  at: number;
}

export interface InboxStateOptions {
  /** The signed-in user: their own claims are not news. */
  me: string;
  /** userId → name of the organisation's people, for "taken by Bea". */
  people?: Record<string, string>;
  fetch?: typeof fetch;
  now?: () => number;
}

/**
 * The rep's inbox (issue 7): the view and filter being asked, the server's answer, and what
 * changed between answers. Never optimistic: an action waits for the server, then the list is
 * fetched again, so what the page shows is always what the server said.
 */
export class InboxState {
  view = $state<InboxView>('queue');
  filter = $state.raw<LeadFilter>({});
  includeHidden = $state(false);

  items = $state.raw<InboxItem[]>([]);
  matched = $state(0);
  /** epoch ms, server clock, of the answer shown. */
  asOf = $state(0);
  /** The server's word about the question shown, '' when it had none. */
  notice = $state('');
  /** requestKey() of the answer shown: equal to requestKey(request) once the list caught up. */
  shownKey = $state('');
  loading = $state(false);
  /** Why the last fetch failed; the previous list stays up. '' when the last fetch worked. */
  error = $state('');
  status = $state<ConnectionStatus>('connecting');
  hasConnected = $state(false);
  /** Leads with an action under way: being saved, or saved and the list being fetched again. */
  readonly busy = new SvelteMap<string, 'saving' | 'updating'>();
  /**
   * While the person's pointer or focus is on the list, refreshed answers to the same question
   * wait: a row must not move away just as someone clicks its button. A new question, and the
   * refresh after the person's own action, are shown at once.
   */
  held = $state(false);
  /** A refreshed answer waiting for the hold to end. */
  #parked = $state.raw<{ answer: InboxAnswer; key: string; actors: Map<string, string> } | null>(null);

  #changedAt = $state.raw<Record<string, number>>({});
  #claims = $state.raw<Record<string, { name: string; at: number }>>({});
  #gone = $state.raw<Gone[]>([]);
  /** leadId → the colleague whose push named it since the last answer. */
  // eslint-disable-next-line svelte/prefer-svelte-reactivity -- bookkeeping between fetches, never rendered
  #actors = new Map<string, string>();

  #me: string;
  #people: Record<string, string>;
  #fetch: typeof fetch;
  #now: () => number;
  #debounce: ReturnType<typeof setTimeout> | undefined;
  #sweep: ReturnType<typeof setTimeout> | undefined;
  #runner: Promise<void> | null = null;
  #again = false;
  /** Fetches started, and callers of refresh() waiting for the fetch numbered `gen` to end. */
  #started = 0;
  #waiters: { gen: number; resolve: () => void }[] = [];

  constructor(request: InboxRequest, response: InboxAnswer, options: InboxStateOptions) {
    this.#me = options.me;
    this.#people = options.people ?? {};
    this.#fetch = options.fetch ?? ((...args) => fetch(...args));
    this.#now = options.now ?? Date.now;
    this.view = request.view;
    this.filter = request.filter;
    this.includeHidden = request.includeHidden;
    this.#show(response, requestKey(request));
  }

  get request(): InboxRequest {
    return { view: this.view, filter: this.filter, includeHidden: this.includeHidden };
  }

  /** A newer list is waiting for the hold to end. */
  get hasWaiting(): boolean {
    return this.#parked !== null;
  }

  /** Hold the list still (pointer or focus on it), or let a waiting answer in. */
  hold(isHeld: boolean): void {
    this.held = isHeld;
    if (!isHeld) this.showWaiting();
  }

  /** Show the waiting answer now. */
  showWaiting(): void {
    const parked = this.#parked;
    this.#parked = null;
    if (parked && parked.key === this.shownKey) this.#show(parked.answer, parked.key, parked.actors);
  }

  /** True while the rows on screen answer an older question than the one asked. */
  get isStale(): boolean {
    return this.shownKey !== requestKey(this.request);
  }

  /** The list in the server's order, with rows someone else just took kept where they were. */
  rows: InboxRowView[] = $derived.by(() => {
    const rows: InboxRowView[] = this.items.map((item) => ({
      item,
      isChanged: item.leadId in this.#changedAt,
      claimedBy: this.#claims[item.leadId] ?? null,
      goneBy: null
    }));
    for (const g of [...this.#gone].sort((a, b) => a.index - b.index)) {
      if (rows.some((r) => r.item.leadId === g.item.leadId)) continue;
      rows.splice(Math.min(g.index, rows.length), 0, { item: g.item, isChanged: false, claimedBy: null, goneBy: { name: g.name, at: g.at } });
    }
    return rows;
  });

  setView(view: InboxView): void {
    if (view === this.view) return;
    this.view = view;
    this.schedule();
  }

  setFilter(filter: LeadFilter): void {
    this.filter = filter;
    this.schedule();
  }

  setIncludeHidden(includeHidden: boolean): void {
    if (includeHidden === this.includeHidden) return;
    this.includeHidden = includeHidden;
    this.schedule();
  }

  /** A push: some of the organisation's leads changed. Refetch (debounced); remember who acted. */
  applyChange(change: InboxChange): void {
    if (change.byUserId && change.byUserId !== this.#me) for (const id of change.leadIds) this.#actors.set(id, change.byUserId);
    this.schedule();
  }

  /** Fetch after a quiet REFETCH_DEBOUNCE_MS; a later call restarts the wait. */
  schedule(delay = REFETCH_DEBOUNCE_MS): void {
    clearTimeout(this.#debounce);
    this.#debounce = setTimeout(() => {
      this.#debounce = undefined;
      void this.refresh();
    }, delay);
  }

  /**
   * Fetch now. At most one request is in flight: a call while one runs makes the loop ask once
   * more when it returns, with the question as it is then (the latest wins). Resolves when a
   * fetch that started after this call has ended, not when the loop goes quiet: under a steady
   * stream of pushes it never does, and an action's caller must not wait for that.
   */
  refresh(): Promise<void> {
    clearTimeout(this.#debounce);
    this.#debounce = undefined;
    this.#again = true;
    const done = new Promise<void>((resolve) => this.#waiters.push({ gen: this.#started + 1, resolve }));
    if (!this.#runner) this.#runner = this.#loop();
    return done;
  }

  async #loop(): Promise<void> {
    this.loading = true;
    try {
      while (this.#again) {
        this.#again = false;
        const gen = ++this.#started;
        try {
          await this.#fetchOnce();
        } finally {
          const ready = this.#waiters.filter((w) => w.gen <= gen);
          this.#waiters = this.#waiters.filter((w) => w.gen > gen);
          for (const w of ready) w.resolve();
        }
      }
    } finally {
      // No await between the loop's last check and here: a refresh() now starts a new loop.
      this.#runner = null;
      this.loading = false;
    }
  }

  async #fetchOnce(): Promise<void> {
    const request = this.request;
    const key = requestKey(request);
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- a snapshot local to this fetch, never observed
    const actors = new Map(this.#actors);
    const answer = await requestJson<unknown>(inboxUrl(request), undefined, this.#fetch);
    // The question changed while this one was out: the loop asks again; this answer is dropped.
    if (key !== requestKey(this.request)) return;
    if (!answer.ok) {
      this.error = answer.message;
      return;
    }
    const parsed = inboxResponseSchema.safeParse(answer.body);
    if (!parsed.success) {
      this.error = 'The server answered with something this page cannot read. Reload the page.';
      return;
    }
    for (const id of actors.keys()) this.#actors.delete(id);
    this.error = '';
    if (this.held && key === this.shownKey) {
      // Keep who acted on what across answers that wait one after another.
      for (const [id, by] of this.#parked?.actors ?? []) if (!actors.has(id)) actors.set(id, by);
      this.#parked = { answer: parsed.data, key, actors };
      return;
    }
    this.#parked = null;
    this.#show(parsed.data, key, actors);
  }

  #show(response: InboxAnswer, key: string, actors: ReadonlyMap<string, string> | null = null): void {
    const now = this.#now();
    if (key === this.shownKey) this.#noticeChanges(response.items, now, actors);
    else {
      this.#changedAt = {};
      this.#claims = {};
      this.#gone = [];
    }
    this.items = response.items;
    this.matched = response.matched;
    this.asOf = response.asOf;
    this.notice = response.notice ?? '';
    this.shownKey = key;
    this.#scheduleSweep();
  }

  /** Compare a refreshed answer with the rows on screen: highlight, "claimed by", "taken by". */
  #noticeChanges(next: readonly InboxItem[], now: number, actors: ReadonlyMap<string, string> | null): void {
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- scratch maps local to this call, never observed
    const before = new Map(this.items.map((item, index) => [item.leadId, { item, index }]));
    const changedAt = { ...this.#changedAt };
    const claims = { ...this.#claims };
    for (const item of next) {
      const prev = before.get(item.leadId)?.item;
      if (!prev || signature(prev) !== signature(item)) changedAt[item.leadId] = now;
      if (prev && prev.ownerId !== item.ownerId) {
        if (item.ownerId && item.ownerId !== this.#me) claims[item.leadId] = { name: item.ownerName || this.#nameOf(item.ownerId), at: now };
        else delete claims[item.leadId];
      }
    }
    // eslint-disable-next-line svelte/prefer-svelte-reactivity -- scratch set local to this call, never observed
    const present = new Set(next.map((i) => i.leadId));
    const gone = this.#gone.filter((g) => !present.has(g.item.leadId));
    for (const [leadId, { item, index }] of before) {
      const actor = actors?.get(leadId);
      if (present.has(leadId) || !actor) continue;
      gone.push({ item, index, name: this.#nameOf(actor), at: now });
    }
    this.#changedAt = changedAt;
    this.#claims = claims;
    this.#gone = gone;
  }

  #nameOf(userId: string): string {
    return this.#people[userId] ?? 'a colleague';
  }

  /** Drop highlights and notes that have had their time, then wait for the next to expire. */
  expire(): void {
    const now = this.#now();
    const fresh = <T>(entries: Record<string, T>, at: (v: T) => number, ttl: number) =>
      Object.fromEntries(Object.entries(entries).filter(([, v]) => now - at(v) < ttl));
    this.#changedAt = fresh(this.#changedAt, (v) => v, HIGHLIGHT_MS);
    this.#claims = fresh(this.#claims, (v) => v.at, CLAIM_NOTE_MS);
    this.#gone = this.#gone.filter((g) => now - g.at < GONE_MS);
    this.#scheduleSweep();
  }

  #scheduleSweep(): void {
    clearTimeout(this.#sweep);
    const due = [
      ...Object.values(this.#changedAt).map((at) => at + HIGHLIGHT_MS),
      ...Object.values(this.#claims).map((c) => c.at + CLAIM_NOTE_MS),
      ...this.#gone.map((g) => g.at + GONE_MS)
    ];
    if (due.length === 0) return;
    this.#sweep = setTimeout(() => this.expire(), Math.max(0, Math.min(...due) - this.#now()));
  }

  /**
   * Send an action and wait for the server's answer, then fetch the list again. `onStored` runs
   * as soon as the server has stored it (the refetch can take a moment longer). Resolves to ''
   * when it was stored, else the words to show.
   */
  async act(leadId: string, action: LeadAction, onStored?: () => void): Promise<string> {
    this.busy.set(leadId, 'saving');
    try {
      const answer = await requestJson<unknown>(leadActionUrl(leadId), action, this.#fetch);
      if (!answer.ok) return answer.message;
      this.busy.set(leadId, 'updating');
      onStored?.();
      await this.refresh();
      // The person's own action: show its result even while the list is held.
      this.showWaiting();
      return '';
    } finally {
      this.busy.delete(leadId);
    }
  }

  /**
   * Joins the organisation's inbox room on every connect, refetches on every connect (pushes
   * missed while away are not replayed), and follows `inbox:changed`. Returns the unwiring
   * function; closing the socket stays with whoever opened it.
   */
  connect(socket: RealtimeSocket, room: string): () => void {
    const unjoin = joinRoomLive(socket, room, this, {
      'inbox:changed': validated('inbox:changed', inboxChangeSchema, (v) => this.applyChange(v))
    });
    const onConnect = () => this.schedule();
    socket.on('connect', onConnect);
    return () => {
      unjoin();
      socket.off('connect', onConnect);
      clearTimeout(this.#debounce);
      clearTimeout(this.#sweep);
    };
  }
}
