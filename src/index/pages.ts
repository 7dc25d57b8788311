/**
 * Index pages as text: `file://` pages read from disk, HTTP pages kept in the cache and
 * reused while fresh by their `Cache-Control: max-age`, otherwise revalidated with
 * ETag / Last-Modified; and the check that recorded pages still read the same (the plan
 * cache's question). Parsing the pages is simple.ts's job.
 */
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { type CachedPage, sha256Hex } from "../cache/index.js";
import { PylayerError, redactUrl } from "../errors.js";
import { type IndexContext, isHttpUrl, isMissing, offlineMiss } from "./context.js";
import { concatChunks, readBody, stripCredentials, TransientError } from "./http.js";
import { responseTooLarge } from "./limits.js";
import { SIMPLE_ACCEPT } from "./simple.js";

export interface PageContent {
  body: string;
  contentType: string | undefined;
  /** Base for relative links. */
  baseUrl: string;
}

/**
 * `max-age` of a Cache-Control header as `{ maxAgeSeconds }`, or nothing when the
 * response may not be reused without asking (`no-cache`, `no-store`, no max-age).
 */
export function maxAgeOf(cacheControl: string | null): { maxAgeSeconds?: number } {
  if (cacheControl === null) return {};
  const directives = cacheControl
    .toLowerCase()
    .split(",")
    .map((directive) => directive.trim());
  if (directives.some((directive) => directive === "no-cache" || directive === "no-store")) {
    return {};
  }
  for (const directive of directives) {
    const match = /^max-age\s*=\s*"?(\d+)"?$/.exec(directive);
    if (match !== null) {
      const seconds = Number(match[1]);
      return seconds > 0 ? { maxAgeSeconds: seconds } : {};
    }
  }
  return {};
}

/** Whether a cached page is still within the max-age its index gave it. */
export function isFresh(page: CachedPage, now: number): boolean {
  if (page.maxAgeSeconds === undefined) return false;
  const age = now - Date.parse(page.storedAt);
  // A stored time in the future (clock changes) makes the entry stale, not fresh forever.
  return age >= 0 && age < page.maxAgeSeconds * 1000;
}

export class PageReader {
  constructor(private readonly context: IndexContext) {}

  /** A page from an http(s) or `file://` URL (a folder means its `index.html`); null: none. */
  read(url: string): Promise<PageContent | null> {
    return isHttpUrl(url) ? this.readHttpPage(url) : this.readLocalPage(url, true);
  }

  /**
   * Whether every page still reads as recorded (sha256 of its body; null: no page):
   * `file://` pages are read again; HTTP pages fresh by their max-age are taken from the
   * cache, the others (all of them with `refresh`) are revalidated with the index, in
   * parallel. Any failure counts as "changed".
   */
  async unchanged(pages: Record<string, string | null>): Promise<boolean> {
    const { cache, offline, refresh } = this.context;
    const now = Date.now();
    const digest = (page: PageContent | null) => (page === null ? null : sha256Hex(page.body));
    const checks = Object.entries(pages).map(async ([url, recorded]) => {
      if (!isHttpUrl(url)) {
        const page = await this.readLocalPage(url, true).catch(() => undefined);
        return page !== undefined && digest(page) === recorded;
      }
      const cached = cache === null ? null : await cache.getPage(url);
      if (cached !== null && !refresh && (offline || isFresh(cached, now))) {
        return (cached.status === 404 ? null : sha256Hex(cached.body)) === recorded;
      }
      if (offline) return false;
      const page = await this.readHttpPage(url).catch(() => undefined);
      return page !== undefined && digest(page) === recorded;
    });
    return (await Promise.all(checks)).every(Boolean);
  }

  /**
   * A page from a `file://` URL; a folder means its `index.html` (pip's behaviour) when
   * `folderIsIndex`, else null. null when missing.
   */
  async readLocalPage(url: string, folderIsIndex: boolean): Promise<PageContent | null> {
    let path = fileURLToPath(url);
    let baseUrl = url;
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        if (!folderIsIndex) return null;
        path = join(path, "index.html");
        baseUrl = url.endsWith("/") ? url : `${url}/`;
        const page = await stat(path);
        if (page.size > this.context.limits.pageBytes) {
          throw responseTooLarge(redactUrl(url), "pageBytes", this.context.limits.pageBytes);
        }
      } else if (info.size > this.context.limits.pageBytes) {
        throw responseTooLarge(redactUrl(url), "pageBytes", this.context.limits.pageBytes);
      }
      const body = await readFile(path, "utf8");
      return {
        body,
        contentType: path.endsWith(".json") ? "application/json" : "text/html",
        baseUrl,
      };
    } catch (error) {
      if (isMissing(error)) return null;
      if (error instanceof PylayerError) throw error;
      throw new PylayerError("index-read-failed", `${redactUrl(url)} cannot be read.`, {
        cause: error,
        hint: "Check the path and its permissions.",
      });
    }
  }

  /**
   * An HTTP page, revalidated against the cache with ETag / Last-Modified. null
   * for 404/410. Offline, the cached copy (or `offline-miss`).
   */
  async readHttpPage(
    url: string,
    accept = SIMPLE_ACCEPT,
    /** A body longer than this is a `page-too-large` error (and is not cached). */
    maxBytes?: number,
  ): Promise<PageContent | null> {
    const { cache, emit } = this.context;
    const key = stripCredentials(url);
    const label = redactUrl(url);
    const cached = cache === null ? null : await cache.getPage(key);
    const fromCache = (page: CachedPage): PageContent | null =>
      page.status === 404
        ? null
        : { body: page.body, contentType: page.contentType, baseUrl: page.finalUrl };
    if (this.context.offline) {
      if (cached === null) throw offlineMiss(`The index page ${label}`);
      emit({ type: "cache-hit", kind: "page", url: label });
      return fromCache(cached);
    }
    if (cached !== null && !this.context.refresh && isFresh(cached, Date.now())) {
      emit({ type: "cache-hit", kind: "page", url: label, fresh: true });
      return fromCache(cached);
    }
    const headers: Record<string, string> = { Accept: accept };
    if (cached !== null && cached.status === 200) {
      if (cached.etag !== undefined) headers["If-None-Match"] = cached.etag;
      if (cached.lastModified !== undefined) headers["If-Modified-Since"] = cached.lastModified;
    }
    const http = await this.context.http();
    const page = await http.request(
      { url, headers, acceptStatuses: [200, 304, 404, 410] },
      async (response, context): Promise<CachedPage> => {
        const storedAt = new Date().toISOString();
        if (response.status === 304) {
          await response.body?.cancel().catch(() => undefined);
          if (cached === null || cached.status !== 200) {
            throw new TransientError("304 Not Modified without a cached page");
          }
          emit({ type: "cache-hit", kind: "page", url: label, revalidated: true });
          // A 304 carries the current Cache-Control (RFC 9111, 4.3.4).
          const { maxAgeSeconds: _previous, ...page } = cached;
          return { ...page, storedAt, ...maxAgeOf(response.headers.get("cache-control")) };
        }
        if (response.status === 404 || response.status === 410) {
          await response.body?.cancel().catch(() => undefined);
          return {
            url: key,
            finalUrl: key,
            status: 404,
            contentType: undefined,
            etag: undefined,
            lastModified: undefined,
            body: "",
            storedAt,
          };
        }
        const chunks = await readBody(response, context, {
          limit: {
            bytes: Math.min(
              maxBytes ?? this.context.limits.pageBytes,
              this.context.limits.pageBytes,
            ),
            kind: "pageBytes",
          },
        });
        const body = Buffer.from(concatChunks(chunks)).toString("utf8");
        return {
          url: key,
          finalUrl: response.url === "" ? key : stripCredentials(response.url),
          status: 200,
          contentType: response.headers.get("content-type") ?? undefined,
          etag: response.headers.get("etag") ?? undefined,
          lastModified: response.headers.get("last-modified") ?? undefined,
          body,
          storedAt,
          ...maxAgeOf(response.headers.get("cache-control")),
        };
      },
    );
    await cache?.putPage(page);
    return fromCache(page);
  }
}
