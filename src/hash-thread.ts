/**
 * The sha256 of a file being written, computed on a worker thread behind the writer: the
 * zip writer's output (30 MB per zip on the API set; a 12-target matrix writes twelve)
 * costs about 25 ms of SHA-256 per zip that the main thread no longer spends.
 *
 * The thread reads the file back through its own descriptor, one range at a time as the
 * writer reports each range written, so nothing is copied between threads and the digest
 * is that of the bytes on disk. One thread per process, started on first use, holding the
 * process open only while a hash is pending. When no thread can be started, the file is
 * hashed on the main thread once written. The thread's program is CommonJS passed as
 * source (`eval`), so that every bundle of pylayer (the CLI, the single executable, the
 * factory's Lambda builder) carries it without an extra file.
 */
import { Worker } from "node:worker_threads";
import { hashFile } from "./files.js";

/**
 * Requests, in order per stream: `open` (names the file, opened at its first range),
 * `extend` (hash up to `end`), then `finish` (hash up to `end`; replies with the digest and
 * size, or the first error) or `abandon` (replies once the file is closed).
 */
const THREAD_SOURCE = `
const { parentPort } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const { openSync, readSync, closeSync } = require("node:fs");
const block = Buffer.allocUnsafeSlow(1024 * 1024);
const streams = new Map();
const failure = (error) => ({ code: error && error.code, message: String(error && error.message) });
function hashUpTo(stream, end) {
  if (stream.fd === undefined) stream.fd = openSync(stream.path, "r");
  while (stream.done < end) {
    const read = readSync(stream.fd, block, 0, Math.min(block.length, end - stream.done), stream.done);
    if (read === 0) throw Object.assign(new Error("the file ended before the bytes written to it"), { code: "ESHORT" });
    stream.hash.update(read === block.length ? block : block.subarray(0, read));
    stream.done += read;
  }
}
parentPort.on("message", (request) => {
  const { id, op } = request;
  if (op === "open") {
    streams.set(id, { path: request.path, fd: undefined, hash: createHash("sha256"), done: 0, error: undefined });
    return;
  }
  const stream = streams.get(id);
  if (stream === undefined) return;
  if ((op === "extend" || op === "finish") && stream.error === undefined) {
    try {
      hashUpTo(stream, request.end);
    } catch (error) {
      stream.error = failure(error);
    }
  }
  if (op === "extend") return;
  streams.delete(id);
  try {
    if (stream.fd !== undefined) closeSync(stream.fd);
  } catch {}
  if (op === "abandon") parentPort.postMessage({ id });
  else if (stream.error !== undefined) parentPort.postMessage({ id, error: stream.error });
  else parentPort.postMessage({ id, size: stream.done, digest: stream.hash.digest() });
});
`;

interface Reply {
  id: number;
  size?: number;
  digest?: Uint8Array;
  error?: { code: string | undefined; message: string };
}

interface Waiter {
  resolve: (reply: Reply) => void;
  reject: (error: Error) => void;
}

let thread: Worker | undefined;
/** False once a thread could not be started (or for tests): hash on the main thread. */
let threadEnabled = true;
let nextId = 1;
const waiters = new Map<number, Waiter>();
/** Threads that failed: their streams end with an error instead of waiting forever. */
const deadThreads = new WeakSet<Worker>();
/** Open streams per thread: a thread keeps the process alive only while it has some. */
const openStreams = new Map<Worker, number>();

/** For tests: whether hashing uses the thread (false: the main-thread fallback). */
export function setHashThreadEnabled(enabled: boolean): void {
  threadEnabled = enabled;
}

function hashThread(): Worker | undefined {
  if (!threadEnabled) return undefined;
  if (thread !== undefined) return thread;
  let started: Worker;
  try {
    // No inherited flags: `--input-type=module` would make the program a module.
    started = new Worker(THREAD_SOURCE, { eval: true, execArgv: [] });
  } catch {
    threadEnabled = false;
    return undefined;
  }
  started.unref();
  started.on("message", (reply: Reply) => {
    const waiter = waiters.get(reply.id);
    waiters.delete(reply.id);
    waiter?.resolve(reply);
  });
  const fail = (error: Error) => {
    deadThreads.add(started);
    if (thread === started) thread = undefined;
    const pending = [...waiters.values()];
    waiters.clear();
    for (const waiter of pending) waiter.reject(error);
  };
  started.on("error", fail);
  started.on("exit", (code) => fail(new Error(`the hashing thread exited with code ${code}`)));
  thread = started;
  return started;
}

/**
 * Starts the thread ahead of its first use (a build does so before installing, so that
 * the thread is ready by the time its first zip is written). Idle, it holds nothing open.
 */
export function startHashThread(): void {
  hashThread();
}

function hold(worker: Worker): void {
  const count = openStreams.get(worker) ?? 0;
  if (count === 0) worker.ref();
  openStreams.set(worker, count + 1);
}

function release(worker: Worker): void {
  const count = (openStreams.get(worker) ?? 1) - 1;
  if (count > 0) {
    openStreams.set(worker, count);
    return;
  }
  openStreams.delete(worker);
  worker.unref();
}

/**
 * The sha256 of a file written from its start, in order: after each write completes,
 * `written(end)` lets the thread hash the file up to `end`; `finish(size)`, once every write
 * is done, gives the digest of its first `size` bytes (rejecting when the file holds fewer);
 * `abandon()` ends it without one. One of the two must be called: until then the stream
 * holds the thread, and the thread the process.
 */
export class WrittenFileHash {
  private readonly worker: Worker | undefined;
  private readonly id = nextId++;
  private ended = false;

  constructor(private readonly path: string) {
    this.worker = hashThread();
    if (this.worker === undefined) return;
    hold(this.worker);
    this.worker.postMessage({ op: "open", id: this.id, path });
  }

  written(end: number): void {
    if (!this.ended) this.worker?.postMessage({ op: "extend", id: this.id, end });
  }

  async finish(size: number): Promise<Buffer> {
    if (this.ended) throw new Error(`the hash of ${this.path} has already ended`);
    this.ended = true;
    if (this.worker === undefined) {
      const hashed = await hashFile(this.path);
      if (hashed.size < size) throw shortFile(this.path, hashed.size, size);
      if (hashed.size > size)
        throw new Error(`${this.path} holds more than the ${size} bytes written`);
      return hashed.digest;
    }
    try {
      const reply = await this.request("finish", size);
      if (reply.error !== undefined) {
        throw Object.assign(new Error(`hashing ${this.path}: ${reply.error.message}`), {
          code: reply.error.code,
        });
      }
      const digest = reply.digest!;
      return Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength);
    } finally {
      release(this.worker);
    }
  }

  async abandon(): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    if (this.worker === undefined) return;
    try {
      await this.request("abandon");
    } catch {
      // A thread that failed has closed its files with it.
    } finally {
      release(this.worker);
    }
  }

  private request(op: "finish" | "abandon", end?: number): Promise<Reply> {
    const worker = this.worker!;
    if (deadThreads.has(worker)) {
      return Promise.reject(new Error(`the hashing thread of ${this.path} has stopped`));
    }
    return new Promise<Reply>((resolve, reject) => {
      waiters.set(this.id, { resolve, reject });
      worker.postMessage({ op, id: this.id, end });
    });
  }
}

function shortFile(path: string, actual: number, expected: number): Error {
  return Object.assign(new Error(`${path} holds ${actual} bytes, not the ${expected} written`), {
    code: "ESHORT",
  });
}
