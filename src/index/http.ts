/**
 * HTTP for the index client: `node:http(s)` exchanges (see transport.ts) behind a
 * shared concurrency limit, with credentials, an idle timeout and a progress deadline,
 * bounded retries with exponential backoff, bodies read within a size limit, and errors
 * that never show a credential.
 */
import { PylayerError, redactUrl } from "../errors.js";
import { count, formatBytes } from "../strings.js";
import { type LimitedKind, responseTooLarge } from "./limits.js";
import { type Netrc, netrcLookup } from "./netrc.js";
import { send, type TransportResponse } from "./transport.js";
import type { IndexEvent } from "./types.js";

/** Runs at most `limit` tasks at once, in call order. */
export class Limiter {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly limit: number) {}

  async run<T>(task: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.active++;
    }
    try {
      return await task();
    } finally {
      const next = this.waiting.shift();
      if (next === undefined) this.active--;
      else next();
    }
  }
}

/** URL without user-info, for requests and cache keys. */
export function stripCredentials(url: string): string {
  const parsed = new URL(url);
  if (parsed.username === "" && parsed.password === "") return parsed.href;
  parsed.username = "";
  parsed.password = "";
  return parsed.href;
}

function basicAuthorization(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`, "utf8").toString("base64")}`;
}

/**
 * A credential that expires and can be fetched again (an AWS CodeArtifact token): sent as
 * Basic auth to every URL under `origin`. It lives in memory only, never in a URL, so it
 * reaches no cache key, message or event.
 */
export interface TokenCredential {
  /** `https://host:port` the credential is for. */
  origin: string;
  /** The Authorization header value to send now (renewed first when it is about to expire). */
  authorization(): Promise<string>;
  /**
   * A new credential after `refused` was answered 401/403; concurrent callers share one
   * renewal. Returns the same value when another caller already renewed.
   */
  renew(refused: string): Promise<string>;
}

/**
 * Decides which credentials go with which request. Credentials come from a URL's
 * user-info or from netrc, and are sent only to the hosts of the configured indexes
 * and find-links locations: a file link to another host gets none.
 */
export class CredentialStore {
  private readonly byOrigin = new Map<string, string>();
  private readonly sourceHosts = new Set<string>();
  private readonly tokens = new Map<string, TokenCredential>();

  constructor(
    sources: string[],
    private readonly netrc: Netrc | null,
    tokens: readonly TokenCredential[] = [],
  ) {
    for (const token of tokens) this.tokens.set(new URL(token.origin).origin, token);
    for (const source of sources) {
      let url: URL;
      try {
        url = new URL(source);
      } catch {
        continue;
      }
      if (url.protocol !== "http:" && url.protocol !== "https:") continue;
      this.sourceHosts.add(url.hostname.toLowerCase());
      if (url.username !== "" || url.password !== "") {
        const authorization = basicAuthorization(
          decodeURIComponent(url.username),
          decodeURIComponent(url.password),
        );
        if (!this.byOrigin.has(url.origin)) this.byOrigin.set(url.origin, authorization);
      }
    }
  }

  /** The expiring credential for a URL's origin, if one was configured. */
  tokenFor(url: string): TokenCredential | undefined {
    return this.tokens.get(new URL(url).origin);
  }

  /** The URL to fetch (no user-info) and the Authorization header to send, if any. */
  prepare(url: string): { url: string; authorization: string | undefined } {
    const parsed = new URL(url);
    if (parsed.username !== "" || parsed.password !== "") {
      const authorization = basicAuthorization(
        decodeURIComponent(parsed.username),
        decodeURIComponent(parsed.password),
      );
      return { url: stripCredentials(url), authorization };
    }
    const known = this.byOrigin.get(parsed.origin);
    if (known !== undefined) return { url: parsed.href, authorization: known };
    if (this.netrc !== null && this.sourceHosts.has(parsed.hostname.toLowerCase())) {
      const entry = netrcLookup(this.netrc, parsed.hostname);
      if (entry !== undefined && (entry.login !== "" || entry.password !== "")) {
        return { url: parsed.href, authorization: basicAuthorization(entry.login, entry.password) };
      }
    }
    return { url: parsed.href, authorization: undefined };
  }
}

/** A failure worth another attempt (5xx, 429, reset, timeout, short body). */
export class TransientError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = "TransientError";
  }
}

const UNREACHABLE_CODES = new Set([
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EADDRNOTAVAIL",
]);
const TRANSIENT_CODES = new Set([
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ECONNABORTED",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "UND_ERR_CLOSED",
]);

/** The first system error code in an error's cause chain. */
export function networkErrorCode(error: unknown, depth = 0): string | undefined {
  if (depth > 8 || typeof error !== "object" || error === null) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (UNREACHABLE_CODES.has(code) || TRANSIENT_CODES.has(code))) {
    return code;
  }
  if (error instanceof AggregateError) {
    for (const inner of error.errors) {
      const found = networkErrorCode(inner, depth + 1);
      if (found !== undefined) return found;
    }
  }
  const cause = (error as { cause?: unknown }).cause;
  const fromCause = networkErrorCode(cause, depth + 1);
  if (fromCause !== undefined) return fromCause;
  return typeof code === "string" ? code : undefined;
}

/** Seconds or an HTTP date, in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface HttpClientOptions {
  credentials: CredentialStore;
  concurrency: number;
  /** Further attempts after the first for transient failures. */
  retries: number;
  /** A request fails when no bytes arrive for this long (pip's `--timeout`). */
  timeoutMs: number;
  /**
   * The progress deadline (curl's `--speed-limit`/`--speed-time`): once the headers are
   * in, a transfer fails when fewer than this many bytes per second arrive on average
   * over a `timeoutMs` stretch (stretches are checked back to back). A server that sends
   * a byte now and then keeps the idle timeout from firing, not this. 0: no floor.
   */
  minimumBytesPerSecond: number;
  /** Backoff before retry n is `retryBaseDelayMs * 2^(n-1)`, capped at `maxRetryDelayMs`. */
  retryBaseDelayMs: number;
  maxRetryDelayMs: number;
  sleep: (milliseconds: number) => Promise<void>;
  onEvent: (event: IndexEvent) => void;
}

export interface HttpRequest {
  url: string;
  method?: "GET" | "HEAD";
  headers?: Record<string, string>;
  /** Statuses handed to `consume`; other non-retryable statuses become errors. */
  acceptStatuses: number[];
  /** `consume` uses each body chunk before it asks for the next (see `TransportRequest`). */
  lentChunks?: boolean;
}

/**
 * Passed to `consume`: call `touch(bytes)` whenever bytes arrive (the idle timeout starts
 * again, and the bytes count towards the progress deadline).
 */
export interface ResponseContext {
  touch(bytes?: number): void;
  /** The redacted URL, for messages. */
  label: string;
}

export class HttpClient {
  private readonly limiter: Limiter;

  constructor(private readonly options: HttpClientOptions) {
    this.limiter = new Limiter(options.concurrency);
  }

  /**
   * Sends the request and hands the response to `consume` (which must read or
   * cancel the body). Transient failures, including ones raised by `consume` as
   * `TransientError` or body read errors, restart the whole request.
   */
  async request<T>(
    request: HttpRequest,
    consume: (response: TransportResponse, context: ResponseContext) => Promise<T>,
  ): Promise<T> {
    const { options } = this;
    const label = redactUrl(request.url);
    const method = request.method ?? "GET";
    for (let attempt = 1; ; attempt++) {
      let reason: string;
      let retryAfterMs: number | undefined;
      try {
        return await this.limiter.run(() => this.attempt(request, method, label, attempt, consume));
      } catch (error) {
        if (error instanceof PylayerError) throw error;
        if (error instanceof TransientError) {
          reason = error.message;
          retryAfterMs = error.retryAfterMs;
        } else {
          const code = networkErrorCode(error);
          if (code !== undefined && UNREACHABLE_CODES.has(code)) {
            throw new PylayerError("network-unreachable", `${label} cannot be reached (${code}).`, {
              hint: "Check the URL, your network connection and proxy settings.",
              details: { url: label, errorCode: code },
            });
          }
          // A known code decides (TLS and similar errors are not retried); without one, a
          // connection dropped mid-exchange is treated as transient.
          const transient =
            code !== undefined
              ? TRANSIENT_CODES.has(code)
              : error instanceof Error &&
                /socket hang up|aborted|terminated|other side closed/i.test(error.message);
          if (transient) {
            reason = code ?? (error as Error).message;
          } else {
            throw new PylayerError("network", `${method} ${label} failed: ${describe(error)}.`, {
              cause: error,
              hint: "Check the URL and your network connection.",
            });
          }
        }
      }
      if (attempt > options.retries) {
        throw new PylayerError(
          "network",
          `${method} ${label} failed after ${count(attempt, "attempt")}: ${reason}.`,
          {
            hint: "The server had trouble; try again later, or use another index or --offline with a filled cache.",
            details: { url: label, attempts: attempt, reason },
          },
        );
      }
      const backoff = options.retryBaseDelayMs * 2 ** (attempt - 1);
      const delayMs = Math.min(retryAfterMs ?? backoff, options.maxRetryDelayMs);
      options.onEvent({ type: "retry", url: label, attempt, delayMs, reason });
      await options.sleep(delayMs);
    }
  }

  private async attempt<T>(
    request: HttpRequest,
    method: "GET" | "HEAD",
    label: string,
    attempt: number,
    consume: (response: TransportResponse, context: ResponseContext) => Promise<T>,
  ): Promise<T> {
    const { options } = this;
    const prepared = options.credentials.prepare(request.url);
    const token = options.credentials.tokenFor(request.url);
    const headers: Record<string, string> = {
      "User-Agent": "pylayer",
      ...request.headers,
    };
    let authorization =
      prepared.authorization ?? (token === undefined ? undefined : await token.authorization());
    if (authorization !== undefined) headers.Authorization = authorization;
    const controller = new AbortController();
    let timedOut = false;
    let tooSlow = false;
    let timer: NodeJS.Timeout | undefined;
    let progressTimer: NodeJS.Timeout | undefined;
    let bytesThisStretch = 0;
    const touch = (bytes = 0) => {
      bytesThisStretch += bytes;
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, options.timeoutMs);
    };
    touch();
    const event: IndexEvent = { type: "request", method, url: label, attempt };
    if (headers.Range !== undefined) event.range = headers.Range;
    options.onEvent(event);
    try {
      const lentChunks = request.lentChunks === true;
      let response = await send(prepared.url, {
        method,
        headers,
        signal: controller.signal,
        lentChunks,
      });
      touch();
      // An expiring token refused (it expired during a long build, or was revoked): fetch a
      // new one and ask once more; a second refusal is reported like any other.
      if (
        (response.status === 401 || response.status === 403) &&
        token !== undefined &&
        prepared.authorization === undefined &&
        authorization !== undefined
      ) {
        await response.body?.cancel().catch(() => undefined);
        authorization = await token.renew(authorization);
        headers.Authorization = authorization;
        response = await send(prepared.url, {
          method,
          headers,
          signal: controller.signal,
          lentChunks,
        });
        touch();
      }
      if (options.minimumBytesPerSecond > 0) {
        const required = (options.minimumBytesPerSecond * options.timeoutMs) / 1000;
        progressTimer = setInterval(() => {
          if (bytesThisStretch < required) {
            tooSlow = true;
            controller.abort();
          }
          bytesThisStretch = 0;
        }, options.timeoutMs);
      }
      const { status } = response;
      if (status === 401 || status === 403) {
        await response.body?.cancel().catch(() => undefined);
        throw new PylayerError(
          "index-auth",
          `${label} answered ${status} ${status === 401 ? "Unauthorized" : "Forbidden"}.`,
          {
            hint:
              token !== undefined && prepared.authorization === undefined
                ? "A fresh token was refused too: check that your AWS identity may read the repository (codeartifact:ReadFromRepository) and that the token's domain owner is right."
                : prepared.authorization === undefined
                  ? "The index needs credentials: put them in the URL (https://user:token@host/simple/) or in ~/.netrc (machine <host> login <user> password <token>)."
                  : "The credentials sent (from the URL or ~/.netrc) were refused: check the user name, token and its permissions.",
            details: { url: label, status },
          },
        );
      }
      if (status >= 500 || status === 429 || status === 408) {
        const retryAfter = parseRetryAfter(response.headers.get("retry-after"));
        await response.body?.cancel().catch(() => undefined);
        throw new TransientError(`HTTP ${status}`, retryAfter);
      }
      if (!request.acceptStatuses.includes(status)) {
        await response.body?.cancel().catch(() => undefined);
        throw new PylayerError("http-error", `${method} ${label} answered HTTP ${status}.`, {
          hint: "Check the URL; the server refused the request.",
          details: { url: label, status },
        });
      }
      return await consume(response, { touch, label });
    } catch (error) {
      if (tooSlow && !(error instanceof PylayerError)) {
        throw new TransientError(
          `the transfer was slower than ${formatBytes(options.minimumBytesPerSecond)}/s over ${formatSeconds(options.timeoutMs)}`,
        );
      }
      if (timedOut && !(error instanceof PylayerError)) {
        throw new TransientError(`no data for ${formatSeconds(options.timeoutMs)}`);
      }
      throw error;
    } finally {
      clearTimeout(timer);
      clearInterval(progressTimer);
    }
  }
}

function formatSeconds(milliseconds: number): string {
  return `${Number((milliseconds / 1000).toFixed(3))} s`;
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const code = networkErrorCode(error);
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : "";
    return `${error.message}${cause}${code === undefined ? "" : ` (${code})`}`;
  }
  return String(error);
}

export interface ReadBodyOptions {
  /**
   * The most decoded bytes the body may have: past it, reading stops at once (the
   * connection is closed) with `response-too-large`.
   */
  limit?: { bytes: number; kind: LimitedKind };
  /** Receives each chunk instead of collecting it (the result is then empty). */
  onChunk?: (chunk: Uint8Array) => void | Promise<void>;
}

/**
 * Reads a whole body, telling the request's deadlines about every chunk. A body shorter
 * than its Content-Length (when not content-encoded) is a TransientError.
 */
export async function readBody(
  response: TransportResponse,
  context: ResponseContext,
  options: ReadBodyOptions = {},
): Promise<Uint8Array[]> {
  const { limit, onChunk } = options;
  const chunks: Uint8Array[] = [];
  let received = 0;
  const declared = response.headers.get("content-length");
  const encoded = (response.headers.get("content-encoding") ?? "identity") !== "identity";
  const tooLarge = () => {
    void response.body?.cancel().catch(() => undefined);
    return responseTooLarge(context.label, limit!.kind, limit!.bytes);
  };
  if (
    limit !== undefined &&
    declared !== null &&
    !encoded &&
    /^\d+$/.test(declared) &&
    Number(declared) > limit.bytes
  ) {
    throw tooLarge();
  }
  if (response.body !== null) {
    for await (const chunk of response.body) {
      context.touch(chunk.length);
      received += chunk.length;
      if (limit !== undefined && received > limit.bytes) throw tooLarge();
      if (onChunk === undefined) chunks.push(chunk);
      else await onChunk(chunk);
    }
  }
  if (declared !== null && !encoded && /^\d+$/.test(declared) && Number(declared) !== received) {
    throw new TransientError(`body of ${received} bytes does not match Content-Length ${declared}`);
  }
  return chunks;
}

export function concatChunks(chunks: Uint8Array[]): Uint8Array {
  return Buffer.concat(chunks);
}
