import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, readFile, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { crc32 } from 'node:zlib';

/**
 * A local, append-only, fsynced spool of row batches: where the writer puts a batch ClickHouse
 * did not take, so it can still acknowledge it (issue 4). `append` resolves only after the bytes
 * are on disk; `replay` sends the batches back and deletes a segment only after every row in it
 * was inserted, so a row is always in ClickHouse, in the spool, or both (a crash between the
 * insert and the delete replays it again; the ledger folds the duplicate by event_id).
 *
 * Layout: one directory, owned by one process (a `LOCK` file holds its pid; a second live owner
 * is refused). Segments `seg-<16-digit seq>.ndjson` are replayed in name order. Each record is
 * one line: `<crc32 of the JSON, 8 hex> <row count> <JSON array of rows>\n` (JSON.stringify never
 * writes a raw newline). A record that is incomplete or fails its checksum at the end of a segment
 * is a write torn by a crash: it was never fsynced, so never acknowledged, and is ignored. A bad
 * record before the end is damage: the valid records are replayed and the segment is kept aside
 * as `*.corrupt` for a person to look at, never deleted.
 */
export interface SpoolOptions {
  /** Bytes on disk (all segments) beyond which `append` refuses with SpoolFullError. */
  maxBytes: number;
  /** A segment takes appends until it is this large; a new one is started after. */
  segmentBytes?: number;
  /** Rows per insert when replaying (records of one segment are merged up to this). */
  replayChunkRows?: number;
  /** A damaged record (not a torn tail) was found in `file` on line `line` (1-based). */
  onCorrupt?(file: string, line: number): void;
}

export interface Spool<R> {
  /** Write one batch and fsync it. Rejects with SpoolFullError when the bound would be passed. */
  append(rows: readonly R[]): Promise<void>;
  /**
   * Send every stored batch through `insert`, oldest first, deleting each segment once all its
   * rows are inserted. Resolves with the number of rows sent; rejects with the insert's error
   * (the segment being replayed stays). Concurrent calls share one run.
   */
  replay(insert: (rows: R[]) => Promise<void>): Promise<number>;
  pendingRows(): number;
  pendingBytes(): number;
  /** Finish the append in progress, release the directory (removed when it holds nothing). */
  close(): Promise<void>;
}

export class SpoolFullError extends Error {
  override name = 'SpoolFullError';
}

export class SpoolLockedError extends Error {
  override name = 'SpoolLockedError';
}

interface Segment {
  file: string;
  bytes: number;
  rows: number;
}

interface Current extends Segment {
  handle: FileHandle;
}

const SEGMENT = /^seg-(\d{16})\.ndjson$/;
const LOCK = 'LOCK';
/** 8 MiB: a segment replays as a few inserts and is read into memory whole. */
const DEFAULT_SEGMENT_BYTES = 8 * 1024 * 1024;
const DEFAULT_REPLAY_CHUNK_ROWS = 5_000;
/** Directories open in this process (a pid in LOCK equal to ours may be a stale one from before a restart). */
const openDirs = new Set<string>();

export function openSpool<R>(directory: string, options: SpoolOptions): Spool<R> {
  const dir = resolve(directory);
  const segmentBytes = options.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
  const chunkRows = options.replayChunkRows ?? DEFAULT_REPLAY_CHUNK_ROWS;
  mkdirSync(dir, { recursive: true });
  lockDirectory(dir);

  // Everything found at open was written by an earlier run: sealed, replay only.
  const sealed: Segment[] = [];
  let nextSeq = 1;
  for (const file of readdirSync(dir).filter((f) => SEGMENT.test(f)).sort()) {
    nextSeq = Math.max(nextSeq, Number(SEGMENT.exec(file)?.[1]) + 1);
    const path = join(dir, file);
    const { records } = parseSegment(readFileSync(path));
    const rows = records.reduce((n, r) => n + r.rows, 0);
    if (rows === 0) unlinkSync(path); // only a torn first record: nothing was acknowledged
    else sealed.push({ file, bytes: statSync(path).size, rows });
  }

  let current: Current | undefined;
  /** Appends and seals run one at a time, in call order. */
  let queue: Promise<unknown> = Promise.resolve();
  let replaying: Promise<number> | undefined;
  let closed = false;

  const totalRows = () => sealed.reduce((n, s) => n + s.rows, 0) + (current?.rows ?? 0);
  const totalBytes = () => sealed.reduce((n, s) => n + s.bytes, 0) + (current?.bytes ?? 0);

  function serially<T>(task: () => Promise<T>): Promise<T> {
    const run = queue.then(task);
    queue = run.catch(() => undefined);
    return run;
  }

  async function seal(): Promise<void> {
    if (!current) return;
    const segment = current;
    current = undefined;
    if (segment.rows > 0) sealed.push({ file: segment.file, bytes: segment.bytes, rows: segment.rows });
    await segment.handle.close();
    if (segment.rows === 0) await unlink(join(dir, segment.file));
  }

  async function startSegment(): Promise<Current> {
    const file = `seg-${String(nextSeq++).padStart(16, '0')}.ndjson`;
    const handle = await open(join(dir, file), 'wx');
    // The new name must survive a crash too, or the fsynced records would be unreachable.
    syncDirectory(dir);
    return { file, handle, bytes: 0, rows: 0 };
  }

  async function appendRecord(line: Buffer, rows: number): Promise<void> {
    if (closed) throw new Error('spool is closed');
    if (totalBytes() + line.length > options.maxBytes) {
      throw new SpoolFullError(`spool holds ${totalBytes()} bytes; ${line.length} more would pass its bound of ${options.maxBytes}`);
    }
    if (current && current.bytes > 0 && current.bytes + line.length > segmentBytes) await seal();
    current ??= await startSegment();
    const segment = current;
    try {
      const { bytesWritten } = await segment.handle.write(line, 0, line.length, segment.bytes);
      if (bytesWritten !== line.length) throw new Error(`short write: ${bytesWritten} of ${line.length} bytes (disk full?)`);
      // fdatasync also persists the new file size, which is all a reader needs.
      await segment.handle.datasync();
    } catch (err) {
      // After a failed write or fsync the file's tail is unknown (the kernel may have dropped the
      // dirty pages): cut the partial record and seal the segment, so the next record starts a
      // fresh file. Should the cut fail too, the partial record is a torn tail, which replay ignores.
      await segment.handle.truncate(segment.bytes).catch(() => undefined);
      await seal().catch(() => undefined);
      throw new Error('spool write failed', { cause: err });
    }
    segment.bytes += line.length;
    segment.rows += rows;
  }

  async function replaySegment(segment: Segment, insert: (rows: R[]) => Promise<void>): Promise<number> {
    const path = join(dir, segment.file);
    const { records, damagedLines } = parseSegment(await readFile(path));
    let sent = 0;
    let chunk: R[] = [];
    for (const record of records) {
      chunk.push(...(JSON.parse(record.json) as R[]));
      if (chunk.length >= chunkRows) {
        await insert(chunk);
        sent += chunk.length;
        chunk = [];
      }
    }
    if (chunk.length > 0) {
      await insert(chunk);
      sent += chunk.length;
    }
    if (damagedLines.length > 0) {
      for (const line of damagedLines) options.onCorrupt?.(segment.file, line);
      await rename(path, `${path}.corrupt`);
    } else {
      await unlink(path);
    }
    syncDirectory(dir);
    return sent;
  }

  async function replayAll(insert: (rows: R[]) => Promise<void>): Promise<number> {
    let sent = 0;
    for (;;) {
      // The open segment is sealed only once the older ones are gone, so an outage with a
      // replay attempt every second does not cut appends into a segment per attempt.
      if (sealed.length === 0 && current && current.rows > 0 && !closed) await serially(seal);
      const segment = sealed[0];
      if (!segment || closed) return sent;
      sent += await replaySegment(segment, insert);
      sealed.shift();
    }
  }

  return {
    append(rows) {
      if (rows.length === 0) return Promise.resolve();
      const json = JSON.stringify(rows);
      const line = Buffer.from(`${checksum(json)} ${rows.length} ${json}\n`);
      return serially(() => appendRecord(line, rows.length));
    },
    replay(insert) {
      replaying ??= replayAll(insert).finally(() => (replaying = undefined));
      return replaying;
    },
    pendingRows: totalRows,
    pendingBytes: totalBytes,
    async close() {
      if (closed) return;
      closed = true;
      await queue;
      await replaying?.catch(() => undefined); // its failure was reported to its caller
      await seal();
      rmSyncQuiet(join(dir, LOCK));
      openDirs.delete(dir);
      if (sealed.length === 0) {
        try {
          rmdirSync(dir);
        } catch {
          // Something else lives in the directory (a *.corrupt segment, a file of the user's): keep it.
        }
      }
    }
  };
}

const checksum = (json: string) => crc32(json).toString(16).padStart(8, '0');

interface ParsedRecord {
  rows: number;
  json: string;
}

/** The valid records of a segment, and the 1-based lines of damaged ones (a torn tail is neither). */
export function parseSegment(bytes: Buffer): { records: ParsedRecord[]; damagedLines: number[] } {
  const records: ParsedRecord[] = [];
  const bad: number[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < bytes.length) {
    lineNo++;
    const end = bytes.indexOf(0x0a, start);
    if (end === -1) break; // no newline: the last write was cut short
    const record = parseRecord(bytes.toString('utf8', start, end));
    if (record) records.push(record);
    else bad.push(lineNo);
    start = end + 1;
  }
  // A bad final line is a torn write (e.g. a length extended by the crash but zero-filled).
  if (bad.length > 0 && bad[bad.length - 1] === lineNo && start >= bytes.length) bad.pop();
  return { records, damagedLines: bad };
}

function parseRecord(line: string): ParsedRecord | undefined {
  const m = /^([0-9a-f]{8}) (\d+) (.*)$/s.exec(line);
  if (!m || checksum(m[3]!) !== m[1]) return undefined;
  return { rows: Number(m[2]), json: m[3]! };
}

function syncDirectory(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function rmSyncQuiet(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Already gone: the lock is released either way.
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One owner per directory: two processes replaying and deleting the same segments would race.
 * A LOCK left by a process that died (kill -9) is taken over.
 */
function lockDirectory(dir: string): void {
  const path = join(dir, LOCK);
  if (openDirs.has(dir)) throw new SpoolLockedError(`spool ${dir} is already open in this process`);
  try {
    writeFileSync(path, String(process.pid), { flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    const owner = Number(readFileSync(path, 'utf8'));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && isAlive(owner)) {
      throw new SpoolLockedError(`spool ${dir} belongs to running process ${owner}; give each process its own INGEST_SPOOL_DIR`);
    }
    writeFileSync(path, String(process.pid));
  }
  openDirs.add(dir);
}
