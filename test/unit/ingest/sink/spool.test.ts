import { appendFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSpool, SpoolFullError, SpoolLockedError, type Spool } from '../../../../ingest/sink/spool';

const root = mkdtempSync(join(tmpdir(), 'pipewall-spool-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = () => join(root, `s${++n}`);

const segments = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('seg-')).sort();

/** What a disk holds after a crash: the files as they are, with nobody's handle open on them. */
function crashCopy(dir: string): string {
  const copy = freshDir();
  cpSync(dir, copy, { recursive: true });
  return copy;
}

async function replayAll<R>(spool: Spool<R>): Promise<R[][]> {
  const inserts: R[][] = [];
  await spool.replay(async (rows) => {
    inserts.push(rows);
  });
  return inserts;
}

describe('openSpool', () => {
  it('replays appended batches oldest first, then deletes their segments', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    await spool.append([1, 2]);
    await spool.append([3]);
    expect(spool.pendingRows()).toBe(3);
    expect(await replayAll(spool)).toEqual([[1, 2, 3]]);
    expect(spool.pendingRows()).toBe(0);
    expect(segments(dir)).toEqual([]);
    await spool.close();
    expect(existsSync(dir)).toBe(false);
  });

  it('keeps acknowledged batches across a crash and replays them from the next open', async () => {
    const dir = freshDir();
    const spool = openSpool<{ id: string }>(dir, { maxBytes: 1_000_000 });
    await spool.append([{ id: 'a' }, { id: 'b' }]);
    await spool.append([{ id: 'c\nwith newline' }]);
    const after = openSpool<{ id: string }>(crashCopy(dir), { maxBytes: 1_000_000 });
    expect(after.pendingRows()).toBe(3);
    expect(await replayAll(after)).toEqual([[{ id: 'a' }, { id: 'b' }, { id: 'c\nwith newline' }]]);
    await Promise.all([spool.close(), after.close()]);
  });

  it('ignores a torn last record (cut short, or complete but failing its checksum) and reports no damage', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    await spool.append([1, 2]);
    await spool.append([3]);
    const [segment] = segments(dir);
    const record = readFileSync(join(dir, segment!), 'utf8').split('\n')[0]!;

    const cut = crashCopy(dir);
    appendFileSync(join(cut, segment!), record.slice(0, 12));
    const zeroed = crashCopy(dir);
    appendFileSync(join(zeroed, segment!), Buffer.alloc(64));
    const badSum = crashCopy(dir);
    appendFileSync(join(badSum, segment!), `00000000 ${record.slice(9)}\n`);

    for (const copy of [cut, zeroed, badSum]) {
      const damaged: number[] = [];
      const reopened = openSpool<number>(copy, { maxBytes: 1_000_000, onCorrupt: (_f, line) => damaged.push(line) });
      expect(reopened.pendingRows()).toBe(3);
      expect(await replayAll(reopened)).toEqual([[1, 2, 3]]);
      expect(damaged).toEqual([]);
      expect(segments(copy)).toEqual([]);
      await reopened.close();
    }
    await spool.close();
  });

  it('drops a segment holding only a torn first record at open: nothing in it was acknowledged', async () => {
    const dir = freshDir();
    mkdirSync(dir);
    writeFileSync(join(dir, 'seg-0000000000000007.ndjson'), '1a2b3c4d 2 [1,');
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    expect(spool.pendingRows()).toBe(0);
    expect(segments(dir)).toEqual([]);
    await spool.append([5]);
    // Numbering carries on after the highest segment seen, so replay order stays creation order.
    expect(segments(dir)).toEqual(['seg-0000000000000008.ndjson']);
    await spool.close();
  });

  it('replays the valid records around a damaged one and keeps that segment aside as *.corrupt', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    await spool.append([1]);
    await spool.append([2]);
    await spool.append([3]);
    const copy = crashCopy(dir);
    const [segment] = segments(copy);
    const lines = readFileSync(join(copy, segment!), 'utf8').split('\n');
    lines[1] = lines[1]!.replace('[2]', '[9]');
    writeFileSync(join(copy, segment!), lines.join('\n'));
    const damaged: number[] = [];
    const reopened = openSpool<number>(copy, { maxBytes: 1_000_000, onCorrupt: (_f, line) => damaged.push(line) });
    expect(await replayAll(reopened)).toEqual([[1, 3]]);
    expect(damaged).toEqual([2]);
    expect(readdirSync(copy).filter((f) => f.endsWith('.corrupt'))).toEqual([`${segment}.corrupt`]);
    await Promise.all([spool.close(), reopened.close()]);
  });

  it('deletes a segment only after its rows were inserted, and keeps it when an insert fails', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000, replayChunkRows: 2 });
    await spool.append([1, 2]);
    await spool.append([3, 4]);
    const seen: string[][] = [];
    let calls = 0;
    await expect(
      spool.replay(async () => {
        seen.push(segments(dir));
        if (++calls === 2) throw new Error('Code: 210, connection refused');
      })
    ).rejects.toThrow('connection refused');
    expect(seen).toEqual([['seg-0000000000000001.ndjson'], ['seg-0000000000000001.ndjson']]);
    expect(spool.pendingRows()).toBe(4);

    // The next run sends the whole segment again (the first chunk twice in all: the ledger folds it).
    const inserted: number[][] = [];
    await spool.replay(async (rows) => {
      expect(segments(dir)).toEqual(['seg-0000000000000001.ndjson']);
      inserted.push(rows);
    });
    expect(inserted).toEqual([
      [1, 2],
      [3, 4]
    ]);
    expect(segments(dir)).toEqual([]);
    await spool.close();
  });

  it('refuses an append beyond maxBytes with SpoolFullError, and takes appends again once replayed', async () => {
    const dir = freshDir();
    const spool = openSpool<string>(dir, { maxBytes: 200 });
    const batch = ['x'.repeat(60)];
    await spool.append(batch);
    await spool.append(batch);
    await expect(spool.append(batch)).rejects.toBeInstanceOf(SpoolFullError);
    expect(spool.pendingRows()).toBe(2);
    expect(spool.pendingBytes()).toBeLessThanOrEqual(200);
    await replayAll(spool);
    await spool.append(batch);
    expect(spool.pendingRows()).toBe(1);
    await spool.close();
  });

  it('rolls to a new segment beyond segmentBytes and replays the segments in order', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000, segmentBytes: 40 });
    for (const i of [1, 2, 3, 4, 5]) await spool.append([i, i]);
    expect(segments(dir).length).toBeGreaterThan(1);
    expect((await replayAll(spool)).flat()).toEqual([1, 1, 2, 2, 3, 3, 4, 4, 5, 5]);
    await spool.close();
  });

  it('takes appends made during a replay and replays them in the same run', async () => {
    const dir = freshDir();
    const spool = openSpool<number>(dir, { maxBytes: 1_000_000 });
    await spool.append([1]);
    const inserted: number[][] = [];
    await spool.replay(async (rows) => {
      inserted.push(rows);
      if (rows[0] === 1) await spool.append([2]);
    });
    expect(inserted).toEqual([[1], [2]]);
    expect(spool.pendingRows()).toBe(0);
    await spool.close();
  });

  it('refuses a directory a live process owns, and takes over one left by a dead process', async () => {
    const owned = freshDir();
    mkdirSync(owned);
    writeFileSync(join(owned, 'LOCK'), String(process.ppid));
    expect(() => openSpool(owned, { maxBytes: 1_000 })).toThrow(SpoolLockedError);

    const abandoned = freshDir();
    mkdirSync(abandoned);
    writeFileSync(join(abandoned, 'LOCK'), '4194305'); // above Linux's largest pid: no such process
    const spool = openSpool(abandoned, { maxBytes: 1_000 });
    expect(readFileSync(join(abandoned, 'LOCK'), 'utf8')).toBe(String(process.pid));
    expect(() => openSpool(abandoned, { maxBytes: 1_000 })).toThrow(SpoolLockedError);
    await spool.close();
    expect(existsSync(abandoned)).toBe(false);
  });
});
