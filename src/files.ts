/**
 * Small file-system helpers: `pathExists` for the input readers, and the one way pylayer
 * writes a user-visible file (zips, runtime archives, lock, export and report files).
 *
 * Write contract: every output is written to `.NAME.PID.RANDOM.tmp` in the output's own
 * folder (same file system) and renamed onto NAME, so a reader, a concurrent build or a
 * process killed at any instant leaves either the old file or the new one, never a partial
 * file. A temporary file whose process is gone is removed by the next write to that folder.
 *
 * This module imports only Node built-ins.
 */
import { createHash, randomBytes } from "node:crypto";
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  read as readCallback,
  type Stats,
  statSync,
  writeSync,
  writev as writevCallback,
} from "node:fs";
import { access, copyFile, link, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";

/**
 * The part of `FileHandle` pylayer reads and writes files through (zips, wheels, downloads).
 */
export interface RandomAccessFile {
  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }>;
  writev(buffers: readonly Uint8Array[], position: number): Promise<{ bytesWritten: number }>;
  stat(): Promise<{ size: number }>;
  close(): Promise<void>;
}

/**
 * Opens `path` (`flags` as `fs.open` takes them) with a synchronous call; reads and writes
 * still go through libuv's thread pool, so the copy to or from the page cache runs beside
 * the main thread. On a 2-vCPU VM each hand-off to the pool and back costs the main thread
 * 40–130 µs of CPU, where a synchronous `open`, `fstat` or `close` costs 2–10 µs: a build
 * opens hundreds of files (wheels, zips, downloads). Errors are those of `fs.open`, thrown
 * as a rejection. `close` waits for the transfers in flight (a descriptor closed under a
 * pending read could be reused by the next `open`).
 */
export async function openFile(path: string, flags: string): Promise<RandomAccessFile> {
  return new DescriptorFile(openSync(path, flags));
}

class DescriptorFile implements RandomAccessFile {
  private inFlight = 0;
  private idle: (() => void)[] = [];
  private closed = false;

  constructor(private readonly descriptor: number) {}

  read(
    buffer: Uint8Array,
    offset: number,
    length: number,
    position: number,
  ): Promise<{ bytesRead: number }> {
    return this.transfer((done) =>
      readCallback(this.descriptor, buffer, offset, length, position, (error, bytesRead) =>
        done(error, { bytesRead }),
      ),
    );
  }

  writev(buffers: readonly Uint8Array[], position: number): Promise<{ bytesWritten: number }> {
    return this.transfer((done) =>
      writevCallback(this.descriptor, buffers as Uint8Array[], position, (error, bytesWritten) =>
        done(error, { bytesWritten }),
      ),
    );
  }

  async stat(): Promise<{ size: number }> {
    if (this.closed) throw closedError();
    return fstatSync(this.descriptor);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.idle.push(resolve));
    closeSync(this.descriptor);
  }

  private transfer<T>(
    start: (done: (error: NodeJS.ErrnoException | null, result: T) => void) => void,
  ): Promise<T> {
    if (this.closed) return Promise.reject(closedError());
    this.inFlight++;
    return new Promise<T>((resolve, reject) => {
      start((error, result) => {
        this.inFlight--;
        if (this.inFlight === 0) for (const wake of this.idle.splice(0)) wake();
        if (error) reject(error);
        else resolve(result);
      });
    });
  }
}

function closedError(): Error {
  return Object.assign(new Error("the file is closed"), { code: "EBADF" });
}

/**
 * Block size of whole-file reads that hash (wheels, zips): 1 MiB blocks cost far fewer
 * reads and hash updates than a stream's 64 KiB default.
 */
export const HASHING_READ_SIZE = 1024 * 1024;

/**
 * Reads the file at `path` in HASHING_READ_SIZE blocks into two buffers reused throughout,
 * handing each block to `onBlock` while the next one is read; returns the size. A block
 * is valid only during its call (hash it, do not keep it). No buffer is allocated per
 * block: a 30 MB zip hashed through a stream left most of its time to the garbage
 * collector.
 */
export async function forEachBlock(
  path: string,
  onBlock: (block: Buffer) => void,
): Promise<number> {
  await blockReaders.acquire(1);
  try {
    return await readBlocks(path, onBlock);
  } finally {
    blockReaders.release(1);
  }
}

async function readBlocks(path: string, onBlock: (block: Buffer) => void): Promise<number> {
  const handle = await openFile(path, "r");
  const buffers = [takeBlock(), takeBlock()];
  try {
    let size = 0;
    let turn = 0;
    let pending = handle.read(buffers[0]!, 0, HASHING_READ_SIZE, 0);
    for (;;) {
      const { bytesRead } = await pending;
      if (bytesRead === 0) return size;
      const current = buffers[turn]!;
      size += bytesRead;
      turn = 1 - turn;
      pending = handle.read(buffers[turn]!, 0, HASHING_READ_SIZE, size);
      onBlock(current.subarray(0, bytesRead));
    }
  } finally {
    await handle.close();
    // The read in flight when `onBlock` threw has settled: closing waits for it.
    for (const buffer of buffers) returnBlock(buffer);
  }
}

/**
 * Reads in flight (bytes, or files), counted together for every loop that shares the
 * budget (concurrent or nested reads of one process), so that two loops do not each hold a
 * budget's worth. A cost over the limit waits until nothing else is in flight, then runs
 * alone. Contract: nothing waits on the budget while it holds a share of it (no nested
 * acquires).
 */
export class ReadBudget {
  private inFlight = 0;
  private waiting: (() => void)[] = [];

  constructor(readonly limit: number) {}

  /** What is held now. */
  get held(): number {
    return this.inFlight;
  }

  async acquire(cost: number): Promise<void> {
    while (this.inFlight > 0 && this.inFlight + cost > this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.inFlight += cost;
  }

  /** `acquire` when the cost fits now (never beyond the limit); false instead of waiting. */
  tryAcquire(cost: number): boolean {
    if (this.inFlight + cost > this.limit) return false;
    this.inFlight += cost;
    return true;
  }

  release(cost: number): void {
    this.inFlight -= cost;
    const waiting = this.waiting;
    this.waiting = [];
    for (const resolve of waiting) resolve();
  }
}

/**
 * How many files `forEachBlock` reads at once, process-wide. Hashing is CPU work on the
 * main thread: the 36 cached wheels of a build (32 MB) hashed all at once took 115 ms,
 * two at a time 40 ms (each with its two blocks reused, the next block read while one is
 * hashed).
 */
const blockReaders = new ReadBudget(2);

/**
 * Block buffers kept for the next `forEachBlock` (two per file read at once): memory the
 * process has touched once costs nothing to use again, while a fresh buffer costs a page
 * fault per 4 KiB written.
 */
const spareBlocks: Buffer[] = [];
const SPARE_BLOCKS = 4;

function takeBlock(): Buffer {
  return spareBlocks.pop() ?? Buffer.allocUnsafeSlow(HASHING_READ_SIZE);
}

function returnBlock(buffer: Buffer): void {
  if (spareBlocks.length < SPARE_BLOCKS) spareBlocks.push(buffer);
}

/**
 * Buffers of files read whole (the zip writer's source wheels, the check's wheels), kept
 * for the next file read whole, process-wide: the check of a zip reads the wheels its
 * writer has just released, and each zip of a matrix the buffers of the one before. At
 * most SPARE_WHOLE_FILES are kept, the largest, each of at most SPARE_WHOLE_FILE_LIMIT
 * bytes; files under 1 MiB are not worth keeping memory for.
 */
const spareWholeFiles: Buffer[] = [];
const SPARE_WHOLE_FILES = 2;
export const SPARE_WHOLE_FILE_LIMIT = 10 * 1024 * 1024;
const WHOLE_FILE_GRAIN = 1024 * 1024;

/**
 * A buffer of at least `size` bytes for a file read whole; give it back with
 * `returnWholeFileBuffer` once nothing refers to its bytes.
 */
export function takeWholeFileBuffer(size: number): Buffer {
  if (size < WHOLE_FILE_GRAIN) return Buffer.allocUnsafe(size);
  const spare = takeSmallestFitting(spareWholeFiles, size);
  if (spare !== undefined) return spare;
  // Whole MiBs, so that the same wheel of another target (a few bytes larger) fits too; the
  // pages past the file are never touched.
  return Buffer.allocUnsafeSlow(Math.ceil(size / WHOLE_FILE_GRAIN) * WHOLE_FILE_GRAIN);
}

/** Removes from `buffers` and returns the smallest that holds `size` bytes, if any does. */
export function takeSmallestFitting(buffers: Buffer[], size: number): Buffer | undefined {
  let best = -1;
  for (const [index, buffer] of buffers.entries()) {
    if (buffer.length >= size && (best === -1 || buffer.length < buffers[best]!.length)) {
      best = index;
    }
  }
  return best === -1 ? undefined : buffers.splice(best, 1)[0];
}

/** Keeps `buffer` for a later `takeWholeFileBuffer` when it is among the largest worth keeping. */
export function returnWholeFileBuffer(buffer: Buffer): void {
  if (buffer.length < WHOLE_FILE_GRAIN || buffer.length > SPARE_WHOLE_FILE_LIMIT) return;
  if (spareWholeFiles.includes(buffer)) return;
  spareWholeFiles.push(buffer);
  spareWholeFiles.sort((left, right) => right.length - left.length);
  spareWholeFiles.length = Math.min(spareWholeFiles.length, SPARE_WHOLE_FILES);
}

/** Reads `length` bytes at `position` into the start of `buffer`; false when the file ends first. */
export async function readFully(
  handle: RandomAccessFile,
  buffer: Uint8Array,
  length: number,
  position: number,
): Promise<boolean> {
  let filled = 0;
  while (filled < length) {
    const { bytesRead } = await handle.read(buffer, filled, length - filled, position + filled);
    if (bytesRead === 0) return false;
    filled += bytesRead;
  }
  return true;
}

/** The sha256 and size of the file at `path` (read by `forEachBlock`). */
export async function hashFile(path: string): Promise<{ size: number; digest: Buffer }> {
  const hash = createHash("sha256");
  const size = await forEachBlock(path, (block) => hash.update(block));
  return { size, digest: hash.digest() };
}

/** Writes `buffers` at `position` with gathered writes, resuming after short ones. */
export async function writeBuffersAt(
  handle: RandomAccessFile,
  buffers: readonly Uint8Array[],
  position: number,
): Promise<void> {
  let rest = [...buffers];
  let at = position;
  while (rest.length > 0) {
    // At most 1024 buffers per call (IOV_MAX on Linux and macOS).
    const batch = rest.length > 1024 ? rest.slice(0, 1024) : rest;
    const { bytesWritten } = await handle.writev(batch, at);
    if (bytesWritten === 0) throw new Error("the file accepted no more bytes");
    at += bytesWritten;
    let skip = bytesWritten;
    let index = 0;
    while (index < rest.length && skip >= rest[index]!.length) {
      skip -= rest[index]!.length;
      index++;
    }
    rest = rest.slice(index);
    if (skip > 0) rest[0] = rest[0]!.subarray(skip);
  }
}

/**
 * A file written in order from many small chunks (a download, a zip): chunks are gathered
 * and written about `batchBytes` at a time with gathered writes and one write in flight,
 * instead of one write (a thread-pool round trip) per chunk. Every write names its file
 * position. A chunk given is kept until written: the caller must not change it meanwhile.
 */
export class BatchedWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** File position of the next batch submitted. */
  private submitted = 0;
  private inFlight: Promise<void> = Promise.resolve();

  constructor(
    private readonly handle: RandomAccessFile,
    private readonly batchBytes = 1024 * 1024,
  ) {}

  /** Bytes given so far (written or pending): the file position after them. */
  get position(): number {
    return this.submitted + this.pendingBytes;
  }

  /** Bytes given but not yet submitted. */
  get unsubmitted(): number {
    return this.pendingBytes;
  }

  /** A batch is ready to be written. */
  get full(): boolean {
    return this.pendingBytes >= this.batchBytes;
  }

  push(chunk: Uint8Array): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
  }

  /** `push`, then `submit` when a batch is ready. */
  async add(chunk: Uint8Array): Promise<void> {
    this.push(chunk);
    if (this.full) await this.submit();
  }

  /** Starts writing what is pending once the previous write is done (one in flight). */
  async submit(): Promise<void> {
    if (this.pendingBytes === 0) return;
    const buffers = this.pending;
    const position = this.submitted;
    this.submitted += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    // A failed write surfaces here, at the next batch, or at `finish`.
    await this.inFlight;
    const write = writeBuffersAt(this.handle, buffers, position);
    write.catch(() => undefined);
    this.inFlight = write;
  }

  /** Writes what is pending and waits until every byte is in the file. */
  async finish(): Promise<void> {
    await this.submit();
    await this.inFlight;
  }

  /** Waits for the write in flight, whether it succeeds or not (before closing the file). */
  async settle(): Promise<void> {
    await this.inFlight.catch(() => undefined);
  }
}

/**
 * A new file written in order with synchronous writes, for lent chunks (views into a buffer
 * their owner reuses once it gets control back, as a download's socket does): a chunk is
 * in the page cache when `add` returns, so nothing holds it and no memory is set aside for
 * it. An asynchronous write would need each chunk copied first, into memory of its own,
 * and a thread-pool round trip per write. Errors are those of `fs.openSync`/`writeSync`.
 */
export class ImmediateWriter {
  private readonly descriptor: number;
  private position = 0;

  constructor(path: string) {
    this.descriptor = openSync(path, "w");
  }

  add(chunk: Uint8Array): void {
    let offset = 0;
    while (offset < chunk.length) {
      const written = writeSync(
        this.descriptor,
        chunk,
        offset,
        chunk.length - offset,
        this.position,
      );
      if (written === 0) throw new Error("the file accepted no more bytes");
      offset += written;
      this.position += written;
    }
  }

  close(): void {
    closeSync(this.descriptor);
  }
}

/** The file's status, or null when it cannot be read (missing, or any other error). */
export function statOrNull(path: string): Stats | null {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

/** Whether something exists at `path` (any error reads as "no"). */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The temporary name beside `path` for a write-then-rename: `.NAME.PID.RANDOM.tmp`, hidden,
 * in the same folder, carrying the writer's process id for `removeStaleTemporaries`.
 */
export function temporarySiblingOf(path: string): string {
  return join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString("hex")}.tmp`,
  );
}

/** `.NAME.PID.RANDOM.tmp`, optionally followed by `.zip` (temporaries that must look like zips). */
const TEMPORARY_SIBLING = /^\.(.+)\.(\d+)\.([0-9a-f]{12})\.tmp(?:\.zip)?$/;

/** Whether a process with this id is running on this machine (EPERM: it is, under another user). */
export function processIsAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as { code?: unknown }).code === "EPERM";
  }
}

/**
 * Removes the temporary siblings (`temporarySiblingOf`) in `folder` left by processes that
 * are no longer running (killed mid-write). Those of live processes, this one's included,
 * are in use and kept. Errors are ignored: cleaning up is best effort. Returns what it removed.
 */
export async function removeStaleTemporaries(folder: string): Promise<string[]> {
  const names = await readdir(folder).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const match = TEMPORARY_SIBLING.exec(name);
    if (match === null || processIsAlive(Number(match[2]))) continue;
    const path = join(folder, name);
    await rm(path, { force: true }).then(
      () => removed.push(path),
      () => undefined,
    );
  }
  return removed;
}

/** Writes `data` to `path` through a temporary sibling and a rename (see the module comment). */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: { mode?: number } = {},
): Promise<void> {
  await removeStaleTemporaries(dirname(path));
  const temporary = temporarySiblingOf(path);
  try {
    await writeFile(temporary, data, options.mode === undefined ? {} : { mode: options.mode });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

export interface CopiedFile {
  size: number;
  sha256: string;
  sha256Base64: string;
  /** The destination is a hard link to the source (`link`), not a copy. */
  linked: boolean;
}

/**
 * Copies `source` onto `destination` through a temporary sibling and a rename. The
 * digest is computed from the bytes of the copy (read back), so it describes what the
 * destination holds; when it is not `expectedSha256`, the copy is deleted, the
 * destination is left as it was and the result is null. With `link`, the temporary
 * sibling is a hard link to `source` when the file system allows one (else a copy): for
 * sources that are only ever replaced, never written in place (the cache's built layers),
 * so the destination gets the same bytes without writing them again.
 */
export async function copyFileVerified(
  source: string,
  destination: string,
  expectedSha256: string,
  options: { link?: boolean } = {},
): Promise<CopiedFile | null> {
  await removeStaleTemporaries(dirname(destination));
  const temporary = temporarySiblingOf(destination);
  try {
    const linked =
      options.link === true &&
      (await link(source, temporary).then(
        () => true,
        () => false,
      ));
    if (!linked) await copyFile(source, temporary, constants.COPYFILE_FICLONE);
    const { size, digest } = await hashFile(temporary);
    if (digest.toString("hex") !== expectedSha256.toLowerCase()) {
      await rm(temporary, { force: true });
      return null;
    }
    await rename(temporary, destination);
    // Renaming a link onto another link of the same file does nothing: the name stays.
    if (linked) await rm(temporary, { force: true });
    return {
      size,
      sha256: digest.toString("hex"),
      sha256Base64: digest.toString("base64"),
      linked,
    };
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/**
 * The nearest existing ancestor of `path` that is not a folder (a file where a folder
 * must be created), or undefined when every existing ancestor is a folder.
 */
export async function fileInTheWay(path: string): Promise<string | undefined> {
  for (let folder = dirname(path); ; folder = dirname(folder)) {
    const info = await stat(folder).catch(() => null);
    if (info !== null) return info.isDirectory() ? undefined : folder;
    if (dirname(folder) === folder) return undefined;
  }
}
