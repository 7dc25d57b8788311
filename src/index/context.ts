/**
 * What the parts of the index client share: the lazily created HTTP client, the cache,
 * the offline/refresh switches and the event sink (see `IndexClient`, which builds
 * one `IndexContext` and hands it to the page reader, the metadata loader and the
 * downloader); and the small URL and file-error helpers they all use.
 */
import type { Cache } from "../cache/index.js";
import { PylayerError } from "../errors.js";
import type { HttpClient } from "./http.js";
import type { ResponseLimits } from "./limits.js";
import type { IndexEvent } from "./types.js";

export interface IndexContext {
  /** The shared HTTP client (concurrency limit, credentials, retries), created on first use. */
  http(): Promise<HttpClient>;
  /** null: no cache. */
  cache: Cache | null;
  /** Cache only: a missing entry is an `offline-miss` error. */
  offline: boolean;
  /** Revalidate every cached page, even a fresh one. */
  refresh: boolean;
  /** Bounds on decoded response sizes (see limits.ts). */
  limits: ResponseLimits;
  emit(event: IndexEvent): void;
}

export function isHttpUrl(url: string): boolean {
  return url.startsWith("http://") || url.startsWith("https://");
}

/** Whether a file-system error means "no such file". */
export function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function stripFragment(url: string): string {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

export function offlineMiss(what: string): PylayerError {
  return new PylayerError(
    "offline-miss",
    `${what} is not in the cache, and offline mode forbids network access.`,
    { hint: "Run the same build once without --offline to fill the cache." },
  );
}

/**
 * One in-flight or finished promise per key, shared by concurrent callers; a failure is
 * forgotten so that a later call tries again.
 */
export function shared<T>(
  promises: Map<string, Promise<T>>,
  key: string,
  start: () => Promise<T>,
): Promise<T> {
  let result = promises.get(key);
  if (result === undefined) {
    result = start();
    promises.set(key, result);
    result.catch(() => promises.delete(key));
  }
  return result;
}
