/**
 * GET over HTTP/1.1 on `node:net` / `node:tls` sockets that read into one reused buffer per
 * connection (the sockets' `onread`), for bodies read chunk by chunk: wheel and sdist
 * downloads. node:http reads every 64 KiB into fresh memory and its parser copies each
 * body chunk into fresh memory once more; on a machine where a page touched for the first
 * time costs about 10 µs, receiving 32 MB that way took 210–300 ms of CPU over loopback
 * and 255–310 ms over TLS, against 50–85 ms and 55–65 ms here.
 *
 * The body's chunks are lent: each is a view into the connection's buffer, valid until the
 * reader asks for the next chunk or awaits anything that is not already settled (the next
 * read overwrites it). While a chunk waits for the reader the connection stops reading.
 *
 * What it speaks: HTTP/1.1 and 1.0 answers whose bodies are framed by Content-Length, by
 * the chunked transfer coding, or by the end of the connection; informational (1xx)
 * answers are skipped; connections are kept alive and reused per origin. An answer with
 * a content coding (the request asks for identity) is not read here: `exchangeLent`
 * returns undefined and the caller asks node:http, which decodes it.
 */
import { isIP, connect as netConnect, type OnReadOpts, type Socket } from "node:net";
import type { ConnectionOptions, connect as tlsConnect } from "node:tls";

/** An answer as transport.ts's `TransportResponse` has it, with the body's chunks lent. */
export interface LentResponse {
  status: number;
  url: string;
  headers: { get(name: string): string | null };
  body: (AsyncIterable<Uint8Array> & { cancel(): Promise<void> }) | null;
}

/** Bytes one read of a connection can bring (the socket's buffer, reused). */
const READ_BUFFER_BYTES = 64 * 1024;
/** The most bytes a response head may have. */
const MAX_HEAD_BYTES = 64 * 1024;
/** The longest line of a chunked body's framing (size line or trailer). */
const MAX_FRAMING_LINE_BYTES = 8 * 1024;
/** An idle kept-alive connection is closed after this long. */
const IDLE_TIMEOUT_MS = 4_000;
/** Idle connections kept per origin. */
const IDLE_PER_ORIGIN = 16;

const CRLF_CRLF = Buffer.from("\r\n\r\n", "latin1");

/** The end of a connection before an answer ended: worth another attempt. */
function closedEarly(what: string): Error {
  return Object.assign(new Error(`the connection closed ${what}`), { code: "ECONNRESET" });
}

function protocolError(message: string): Error {
  return Object.assign(new Error(`malformed HTTP answer: ${message}`), {
    code: "ERR_MALFORMED_HTTP",
  });
}

/** What a connection does with what it reads; returns false to stop reading for now. */
interface Receiver {
  data(bytes: Buffer): boolean;
  end(): void;
  error(error: Error): void;
}

class Connection {
  readonly socket: Socket;
  private receiver: Receiver | undefined;
  /** Set once anything failed or the peer closed: never reused. */
  closed = false;

  /** `connectTls`: node:tls's `connect`, for https URLs (loaded by the caller when needed). */
  constructor(
    readonly origin: string,
    url: URL,
    connectTls: typeof tlsConnect | undefined,
  ) {
    const buffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const secure = url.protocol === "https:";
    const port = url.port === "" ? (secure ? 443 : 80) : Number(url.port);
    const onread = {
      buffer,
      callback: (length: number, into: Uint8Array): boolean => {
        const bytes = Buffer.from(into.buffer, into.byteOffset, length);
        if (this.receiver === undefined) {
          // Bytes nobody asked for (on an idle connection): it cannot be reused.
          this.destroy();
          return false;
        }
        return this.receiver.data(bytes);
      },
    };
    // node:tls takes `onread` as node:net does (since Node.js 14.18 and 15.1); its type
    // declarations do not list it.
    const tlsOptions: ConnectionOptions & { onread: OnReadOpts } = {
      host,
      port,
      ...(isIP(host) === 0 ? { servername: host } : {}),
      onread,
    };
    this.socket =
      secure && connectTls !== undefined
        ? connectTls(tlsOptions)
        : netConnect({ host, port, onread });
    this.socket.setNoDelay(true);
    this.socket.on("end", () => {
      this.closed = true;
      this.receiver?.end();
      if (this.receiver === undefined) this.destroy();
    });
    this.socket.on("error", (error) => {
      this.closed = true;
      this.receiver?.error(error);
    });
    this.socket.on("close", () => {
      this.closed = true;
      this.receiver?.error(closedEarly("before the answer ended"));
      forget(this);
    });
    this.socket.on("timeout", () => this.destroy());
  }

  attach(receiver: Receiver): void {
    this.receiver = receiver;
    this.socket.setTimeout(0);
    this.socket.ref();
  }

  detach(): void {
    this.receiver = undefined;
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  destroy(error?: Error): void {
    this.closed = true;
    this.receiver = undefined;
    this.socket.destroy(error);
  }

  /** Kept for the next exchange with the same origin, or closed. */
  release(): void {
    this.detach();
    const list = idle.get(this.origin) ?? [];
    if (this.closed || list.length >= IDLE_PER_ORIGIN) {
      this.destroy();
      return;
    }
    this.socket.setTimeout(IDLE_TIMEOUT_MS);
    this.socket.unref();
    list.push(this);
    idle.set(this.origin, list);
    // Reading goes on while idle, so that the peer closing it is noticed.
    this.socket.resume();
  }
}

/** Idle kept-alive connections by origin, most recently released last. */
const idle = new Map<string, Connection[]>();

function forget(connection: Connection): void {
  const list = idle.get(connection.origin);
  if (list === undefined) return;
  const index = list.indexOf(connection);
  if (index >= 0) list.splice(index, 1);
  if (list.length === 0) idle.delete(connection.origin);
}

function takeIdle(origin: string): Connection | undefined {
  const list = idle.get(origin);
  while (list !== undefined && list.length > 0) {
    const connection = list.pop()!;
    if (list.length === 0) idle.delete(origin);
    if (!connection.closed) return connection;
  }
  return undefined;
}

interface Head {
  status: number;
  minor: number;
  headers: Map<string, string>;
}

function parseHead(text: string): Head {
  const lines = text.split("\r\n");
  const statusLine = /^HTTP\/1\.([01]) (\d{3})(?: .*)?$/.exec(lines[0] ?? "");
  if (statusLine === null) throw protocolError(`status line ${JSON.stringify(lines[0])}`);
  const headers = new Map<string, string>();
  let last: string | undefined;
  for (const line of lines.slice(1)) {
    if (line === "") continue;
    if ((line.startsWith(" ") || line.startsWith("\t")) && last !== undefined) {
      // Obsolete line folding (RFC 9112, section 5.2): part of the previous value.
      headers.set(last, `${headers.get(last)} ${line.trim()}`);
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || !/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(line.slice(0, colon))) {
      throw protocolError(`header line ${JSON.stringify(line)}`);
    }
    const name = line.slice(0, colon).toLowerCase();
    const value = line.slice(colon + 1).trim();
    const before = headers.get(name);
    headers.set(name, before === undefined ? value : `${before}, ${value}`);
    last = name;
  }
  return { status: Number(statusLine[2]), minor: Number(statusLine[1]), headers };
}

type Framing =
  | { kind: "none" }
  | { kind: "length"; remaining: number }
  | { kind: "chunked" }
  | { kind: "close" };

function framingOf(head: Head): Framing {
  // Only GET is sent: an answer has no body when its status says so.
  if (head.status === 204 || head.status === 304) return { kind: "none" };
  const coding = head.headers.get("transfer-encoding");
  if (coding !== undefined) {
    const codings = coding.split(",").map((part) => part.trim().toLowerCase());
    // A body whose last coding is not chunked runs to the end of the connection.
    return codings.at(-1) === "chunked" ? { kind: "chunked" } : { kind: "close" };
  }
  const length = head.headers.get("content-length");
  if (length !== undefined) {
    const values = new Set(length.split(",").map((part) => part.trim()));
    const [only] = values;
    if (values.size !== 1 || only === undefined || !/^\d+$/.test(only)) {
      throw protocolError(`Content-Length ${JSON.stringify(length)}`);
    }
    return { kind: "length", remaining: Number(only) };
  }
  return { kind: "close" };
}

/**
 * One request and its answer on `connection`: parses the head, then lends the body's
 * chunks to one reader.
 */
class Exchange implements Receiver {
  private headParts: Buffer[] = [];
  private headBytes = 0;
  private head: Head | undefined;
  private framing: Framing = { kind: "none" };
  /** Chunked framing: where in a chunk's framing the parser is. */
  private chunkState: "size" | "data" | "data-end" | "trailer" = "size";
  private chunkRemaining = 0;
  private line: Buffer[] = [];
  private lineBytes = 0;
  /** Set when the answer was seen to its end (the connection may be reused). */
  private complete = false;
  private failure: Error | undefined;
  private readonly queue: Buffer[] = [];
  private waiting:
    | { resolve: (chunk: Buffer | null) => void; reject: (error: Error) => void }
    | undefined;
  private paused = false;
  private settled = false;
  /** Whether any byte of the answer arrived (a reused connection closed before: ask again). */
  received = false;

  readonly headReady: Promise<Head>;
  private resolveHead!: (head: Head) => void;
  private rejectHead!: (error: Error) => void;

  constructor(private readonly connection: Connection) {
    this.headReady = new Promise((resolve, reject) => {
      this.resolveHead = resolve;
      this.rejectHead = reject;
    });
    this.headReady.catch(() => undefined);
  }

  data(bytes: Buffer): boolean {
    if (this.settled) return false;
    this.received = true;
    try {
      let rest: Buffer | undefined = bytes;
      if (this.head === undefined) rest = this.takeHead(bytes);
      if (rest !== undefined && rest.length > 0) this.takeBody(rest);
    } catch (error) {
      this.fail(error as Error);
      return false;
    }
    if (this.queue.length > 0) {
      this.paused = true;
      return false;
    }
    return true;
  }

  end(): void {
    if (this.head !== undefined && this.framing.kind === "close" && !this.complete) {
      this.complete = true;
      this.deliver(null);
      return;
    }
    if (!this.complete) this.fail(closedEarly("before the answer ended"));
  }

  error(error: Error): void {
    if (!this.complete) this.fail(error);
  }

  private fail(error: Error): void {
    if (this.failure !== undefined || this.settled) return;
    this.failure = error;
    this.rejectHead(error);
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(error);
    this.connection.destroy();
  }

  /** Collects the head (copied: it is small); returns the bytes after it. */
  private takeHead(bytes: Buffer): Buffer | undefined {
    this.headParts.push(Buffer.from(bytes));
    this.headBytes += bytes.length;
    const joined = this.headParts.length === 1 ? this.headParts[0]! : Buffer.concat(this.headParts);
    const end = joined.indexOf(CRLF_CRLF);
    if (end < 0) {
      if (this.headBytes > MAX_HEAD_BYTES)
        throw protocolError(`a head over ${MAX_HEAD_BYTES} bytes`);
      this.headParts = [joined];
      return undefined;
    }
    const head = parseHead(joined.subarray(0, end).toString("latin1"));
    const afterHead = joined.length - (end + 4);
    const rest = bytes.subarray(bytes.length - afterHead);
    this.headParts = [];
    this.headBytes = 0;
    if (head.status >= 100 && head.status < 200) {
      // An informational answer: the final one follows.
      return rest.length > 0 ? this.takeHead(rest) : undefined;
    }
    this.head = head;
    this.framing = framingOf(head);
    this.resolveHead(head);
    if (
      this.framing.kind === "none" ||
      (this.framing.kind === "length" && this.framing.remaining === 0)
    ) {
      this.complete = true;
      if (rest.length > 0) this.connection.closed = true;
      this.deliver(null);
      return undefined;
    }
    return rest;
  }

  private takeBody(bytes: Buffer): void {
    const framing = this.framing;
    if (this.complete) {
      // Bytes past the end of the answer: the connection cannot be reused.
      this.connection.closed = true;
      return;
    }
    if (framing.kind === "close") {
      this.deliver(bytes);
      return;
    }
    if (framing.kind === "length") {
      const taken = Math.min(framing.remaining, bytes.length);
      framing.remaining -= taken;
      if (taken > 0) this.deliver(bytes.subarray(0, taken));
      if (framing.remaining === 0) {
        this.complete = true;
        if (taken < bytes.length) this.connection.closed = true;
        this.deliver(null);
      }
      return;
    }
    if (framing.kind === "chunked") this.takeChunked(bytes);
  }

  /** The chunked transfer coding (RFC 9112, section 7.1). */
  private takeChunked(bytes: Buffer): void {
    let at = 0;
    while (at < bytes.length && !this.complete) {
      if (this.chunkState === "data") {
        const taken = Math.min(this.chunkRemaining, bytes.length - at);
        this.deliver(bytes.subarray(at, at + taken));
        this.chunkRemaining -= taken;
        at += taken;
        if (this.chunkRemaining === 0) this.chunkState = "data-end";
        continue;
      }
      const newline = bytes.indexOf(0x0a, at);
      const end = newline < 0 ? bytes.length : newline + 1;
      this.line.push(Buffer.from(bytes.subarray(at, end)));
      this.lineBytes += end - at;
      at = end;
      if (this.lineBytes > MAX_FRAMING_LINE_BYTES)
        throw protocolError("a chunk framing line too long");
      if (newline < 0) break;
      const line = Buffer.concat(this.line)
        .toString("latin1")
        .replace(/\r?\n$/, "");
      this.line = [];
      this.lineBytes = 0;
      if (this.chunkState === "data-end") {
        if (line !== "") throw protocolError("chunk data longer than its size");
        this.chunkState = "size";
      } else if (this.chunkState === "size") {
        const size = /^([0-9A-Fa-f]{1,13})[ \t]*(?:;.*)?$/.exec(line);
        if (size === null) throw protocolError(`chunk size ${JSON.stringify(line)}`);
        this.chunkRemaining = Number.parseInt(size[1]!, 16);
        this.chunkState = this.chunkRemaining === 0 ? "trailer" : "data";
      } else if (line === "") {
        this.complete = true;
        if (at < bytes.length) this.connection.closed = true;
        this.deliver(null);
      }
    }
  }

  /**
   * Hands a chunk (or the end: null) to a waiting reader, lent; else queues a copy. The
   * reader uses a lent chunk before the connection reads again (Node.js runs the reader's
   * promise reactions after each read callback, before the next read), whereas a queued
   * chunk waits for a reader that is busy elsewhere: a TLS connection may deliver more
   * bytes into the buffer even after it was told to pause.
   */
  private deliver(chunk: Buffer | null): void {
    if (this.waiting !== undefined && this.queue.length === 0) {
      const waiting = this.waiting;
      this.waiting = undefined;
      if (chunk === null) this.finish();
      waiting.resolve(chunk);
      return;
    }
    this.queue.push(chunk === null ? END : Buffer.from(chunk));
  }

  /** The answer has no body (204, 304). */
  get bodyless(): boolean {
    return this.framing.kind === "none";
  }

  /** The next lent chunk, or null at the end. */
  next(): Promise<Buffer | null> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const queued = this.queue.shift();
    if (queued !== undefined) {
      if (queued === END) {
        this.finish();
        return Promise.resolve(null);
      }
      if (this.queue.length === 0 && this.paused) {
        // The chunk is used before the connection reads again: reads resume only after
        // the reader's synchronous work, when control is back in the event loop.
        this.paused = false;
        this.connection.resume();
      }
      return Promise.resolve(queued);
    }
    if (this.settled) return Promise.resolve(null);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
    });
  }

  /** The answer was read to its end: the connection goes back to the pool. */
  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    const reusable =
      this.head !== undefined &&
      this.head.minor === 1 &&
      this.framing.kind !== "close" &&
      !(this.head.headers.get("connection") ?? "")
        .toLowerCase()
        .split(/\s*,\s*/)
        .includes("close");
    if (!reusable) this.connection.closed = true;
    this.connection.release();
  }

  /** The reader stops early: the rest of the answer is not read. */
  cancel(): void {
    if (this.settled) return;
    this.settled = true;
    this.queue.length = 0;
    this.connection.destroy();
  }
}

/** The end of a body, in an exchange's queue. */
const END = Buffer.alloc(0);

function requestHead(url: URL, headers: Record<string, string>): string {
  const lines = [`GET ${url.pathname}${url.search} HTTP/1.1`, `Host: ${url.host}`];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n\0]/.test(name) || /[\r\n\0]/.test(value)) {
      throw Object.assign(new TypeError(`invalid character in header ${JSON.stringify(name)}`), {
        code: "ERR_INVALID_CHAR",
      });
    }
    lines.push(`${name}: ${value}`);
  }
  return `${lines.join("\r\n")}\r\n\r\n`;
}

// node:tls is loaded on first use (a build from an http or file:// index never needs it).
let tls: Promise<typeof tlsConnect> | undefined;
function loadTls(): Promise<typeof tlsConnect> {
  tls ??= import("node:tls").then((module) => module.connect);
  return tls;
}

/**
 * One GET of `url` (no redirects followed): the answer with its body lent chunk by chunk,
 * or undefined when the answer has a content coding (then nothing of it was read and the
 * caller asks node:http). A kept-alive connection that turns out closed before any byte of
 * the answer arrived is replaced by a new one, once.
 */
export async function exchangeLent(
  url: URL,
  headers: Record<string, string>,
  signal: AbortSignal,
): Promise<LentResponse | undefined> {
  signal.throwIfAborted();
  const origin = url.origin;
  const connectTls = url.protocol === "https:" ? await loadTls() : undefined;
  const head = requestHead(url, { ...headers, "Accept-Encoding": "identity" });
  for (let attempt = 0; ; attempt++) {
    const reused = attempt === 0 ? takeIdle(origin) : undefined;
    const connection = reused ?? new Connection(origin, url, connectTls);
    const exchange = new Exchange(connection);
    connection.attach(exchange);
    const onAbort = () => exchange.error(signal.reason as Error);
    signal.addEventListener("abort", onAbort, { once: true });
    const release = () => signal.removeEventListener("abort", onAbort);
    connection.socket.write(head);
    let answer: Head;
    try {
      answer = await exchange.headReady;
    } catch (error) {
      release();
      if (reused !== undefined && !exchange.received && !signal.aborted) continue;
      throw error;
    }
    const coding = (answer.headers.get("content-encoding") ?? "identity").trim().toLowerCase();
    if (coding !== "identity" && coding !== "") {
      release();
      exchange.cancel();
      return undefined;
    }
    if (exchange.bodyless) {
      await exchange.next();
      release();
    }
    const body = exchange.bodyless ? null : answerBody(exchange, release);
    return {
      status: answer.status,
      url: url.href,
      headers: {
        get: (name: string) => answer.headers.get(name.toLowerCase()) ?? null,
      },
      body,
    };
  }
}

function answerBody(
  exchange: Exchange,
  done: () => void,
): AsyncIterable<Uint8Array> & { cancel(): Promise<void> } {
  return {
    [Symbol.asyncIterator]() {
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          try {
            const chunk = await exchange.next();
            if (chunk === null) {
              done();
              return { done: true, value: undefined };
            }
            return { done: false, value: chunk };
          } catch (error) {
            done();
            throw error;
          }
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          exchange.cancel();
          done();
          return { done: true, value: undefined };
        },
      };
    },
    async cancel(): Promise<void> {
      exchange.cancel();
      done();
    },
  };
}
