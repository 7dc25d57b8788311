/**
 * The package index client: lists a project's wheels across the configured indexes
 * and find-links locations, reads wheel METADATA as cheaply as the server allows,
 * and downloads wheels into the cache with their hashes verified.
 *
 * Index order and dependency confusion: indexes are asked one after the other and
 * the first one that has the project is the only index used for it. The order is
 * uv's: each extra-index-url in the order given, then index-url (the default index,
 * PyPI unless set) last. The usual setup, a private index added with
 * --extra-index-url next to PyPI, is therefore safe: a public project that takes the
 * name of a private one is never considered. (pip has no order and takes the best
 * version from all indexes, which is the dependency-confusion hole.) find-links
 * locations are always merged in (pip's semantics): they are local or explicitly
 * chosen by the user.
 */
import { createHash, getHashes, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, open, readdir, readFile, rename, rm, stat } from "node:fs/promises";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Cache, type CachedPage, type MetadataKey, sha256Hex } from "../cache/index.js";
import { PylayerError, redactUrl } from "../errors.js";
import {
  CredentialStore,
  concatChunks,
  HttpClient,
  readBody,
  stripCredentials,
  TransientError,
} from "./http.js";
import {
  isSourceDistributionFilename,
  isWheelFilename,
  normalizeProjectName,
  projectNameFromFilename,
} from "./names.js";
import { defaultNetrcPath, loadNetrc } from "./netrc.js";
import { parseSimpleHtml, parseSimplePage, SIMPLE_ACCEPT } from "./simple.js";
import type { DistributionFile, IndexEvent, IndexSettings, ProjectListing } from "./types.js";
import {
  openFileRangeReader,
  type RangeReader,
  readWheelMetadata,
  withKnownTail,
  ZIP_TAIL_LENGTH,
} from "./wheel-metadata.js";

export interface IndexClientOptions {
  settings: IndexSettings;
  /** Where pages, metadata and wheels are kept between runs; null or absent: no cache. */
  cache?: Cache | null;
  /** Requests in flight at once, shared by listing, metadata and downloads. Default 16. */
  concurrency?: number;
  /** Further attempts after a transient failure. Default 3. */
  retries?: number;
  /** Idle timeout per request (no bytes for this long). Default 30 s. */
  timeoutMs?: number;
  onEvent?: (event: IndexEvent) => void;
  /** The netrc file; default `NETRC` or `~/.netrc`. null: read none. */
  netrcPath?: string | null;
  /** Cache only: a missing entry is an `offline-miss` error. */
  offline?: boolean;
  /**
   * Revalidate every cached page, even one still fresh by the `Cache-Control: max-age`
   * its index sent (PyPI: 10 minutes). Default false: fresh pages are used as they are.
   */
  refresh?: boolean;
  /** First retry delay; doubles each retry. Default 500 ms. */
  retryBaseDelayMs?: number;
  /** Cap for any retry delay, Retry-After included. Default 30 s. */
  maxRetryDelayMs?: number;
  /** Injectable for tests. */
  sleep?: (milliseconds: number) => Promise<void>;
}

interface SourceState {
  /** The location as configured (a URL, possibly with credentials). */
  url: string;
  /** Redacted, for messages, events and `DistributionFile.index`. */
  label: string;
  unreachable: boolean;
  /** Settles after the first request to this source, which runs alone. */
  firstContact: Promise<void> | undefined;
}

const UNREACHABLE = Symbol("unreachable");

interface PageContent {
  body: string;
  contentType: string | undefined;
  /** Base for relative links. */
  baseUrl: string;
}

const PROGRESS_STEP_BYTES = 256 * 1024;
const SUPPORTED_HASHES = new Set(getHashes().map((name) => name.toLowerCase()));

function isHttpUrl(url: string): boolean {
  return url.startsWith("http://") || url.startsWith("https://");
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Hashes of `file.hashes` that Node can compute, sha256 always included. */
function hashersFor(file: DistributionFile): Map<string, ReturnType<typeof createHash>> {
  const hashers = new Map([["sha256", createHash("sha256")]]);
  for (const name of Object.keys(file.hashes)) {
    if (!hashers.has(name) && SUPPORTED_HASHES.has(name)) hashers.set(name, createHash(name));
  }
  return hashers;
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

function offlineMiss(what: string): PylayerError {
  return new PylayerError(
    "offline-miss",
    `${what} is not in the cache, and offline mode forbids network access.`,
    { hint: "Run the same build once without --offline to fill the cache." },
  );
}

export class IndexClient {
  readonly warnings: string[] = [];

  private readonly settings: IndexSettings;
  private readonly cache: Cache | null;
  private readonly offline: boolean;
  private readonly refresh: boolean;
  /** Every project page read: credential-free URL → sha256 of its body (null: no page). */
  private readonly consulted = new Map<string, string | null>();
  private readonly emit: (event: IndexEvent) => void;
  private readonly options: IndexClientOptions;
  private readonly indexes: SourceState[];
  private readonly findLinks: SourceState[];
  private httpClient: Promise<HttpClient> | undefined;
  private readonly projects = new Map<string, Promise<ProjectListing>>();
  private readonly findLinksListings = new Map<string, Promise<DistributionFile[]>>();
  private readonly metadata = new Map<string, Promise<string>>();
  private readonly downloads = new Map<string, Promise<{ path: string; sha256: string }>>();
  /** Origins that answered a Range request with the whole file. */
  private readonly noRangeOrigins = new Set<string>();
  private temporaryDirectory: Promise<string> | undefined;

  constructor(options: IndexClientOptions) {
    this.options = options;
    this.settings = options.settings;
    this.cache = options.cache ?? null;
    this.offline = options.offline ?? false;
    this.refresh = options.refresh ?? false;
    const listener = options.onEvent;
    this.emit = (event) => {
      if (event.type === "warning") this.warnings.push(event.message);
      listener?.(event);
    };
    const toState = (url: string): SourceState => ({
      url,
      label: redactUrl(url),
      unreachable: false,
      firstContact: undefined,
    });
    const indexUrls = this.settings.noIndex
      ? []
      : [...new Set([...this.settings.extraIndexUrls, this.settings.indexUrl])];
    this.indexes = indexUrls.map((url) => toState(url.endsWith("/") ? url : `${url}/`));
    this.findLinks = [...new Set(this.settings.findLinks)].map(toState);
  }

  /** All wheels of a project (see `getProject`). */
  async getFiles(project: string): Promise<DistributionFile[]> {
    return (await this.getProject(project)).files;
  }

  /**
   * The project's listing: wheels from the first index that has the project, plus
   * matching find-links entries. Concurrent calls for one project share one lookup.
   * Throws `project-not-found` when no source lists the project at all.
   */
  getProject(project: string): Promise<ProjectListing> {
    const name = normalizeProjectName(project);
    return shared(this.projects, name, () => this.lookUpProject(name));
  }

  /** METADATA of a wheel: PEP 658 file, else Range requests, else the downloaded wheel. */
  getMetadata(file: DistributionFile): Promise<string> {
    return shared(this.metadata, stripCredentials(file.url), () => this.loadMetadata(file));
  }

  /**
   * A local path to the wheel with its hashes verified: a cached copy, or the file
   * itself for `file://` locations. Concurrent calls for one URL share one download.
   */
  download(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    return shared(this.downloads, stripCredentials(file.url), () => this.fetchWheel(file));
  }

  /** Removes the temporary folder used for downloads when there is no cache. */
  async dispose(): Promise<void> {
    if (this.temporaryDirectory !== undefined) {
      const directory = await this.temporaryDirectory.catch(() => undefined);
      if (directory !== undefined) await rm(directory, { recursive: true, force: true });
      this.temporaryDirectory = undefined;
    }
  }

  // -------------------------------------------------------------------------
  // Listing

  private http(): Promise<HttpClient> {
    this.httpClient ??= (async () => {
      const netrcPath =
        this.options.netrcPath === undefined
          ? defaultNetrcPath(process.env, homedir())
          : this.options.netrcPath;
      const netrc = netrcPath === null ? null : await loadNetrc(netrcPath);
      const sources = [...this.indexes, ...this.findLinks].map((source) => source.url);
      return new HttpClient({
        credentials: new CredentialStore(sources, netrc),
        concurrency: this.options.concurrency ?? 16,
        retries: this.options.retries ?? 3,
        timeoutMs: this.options.timeoutMs ?? 30_000,
        retryBaseDelayMs: this.options.retryBaseDelayMs ?? 500,
        maxRetryDelayMs: this.options.maxRetryDelayMs ?? 30_000,
        sleep:
          this.options.sleep ??
          ((milliseconds) => new Promise((resolve) => setTimeout(resolve, milliseconds))),
        onEvent: this.emit,
      });
    })();
    return this.httpClient;
  }

  /**
   * Runs `task` against a source, turning "cannot be reached" into one warning and
   * skipping the source from then on. The first request to a source runs alone so
   * that an unreachable index is contacted once, not once per project.
   */
  private async withSource<T>(
    source: SourceState,
    kind: string,
    task: () => Promise<T>,
  ): Promise<T | typeof UNREACHABLE> {
    if (source.unreachable) return UNREACHABLE;
    let run: Promise<T>;
    if (source.firstContact === undefined) {
      run = task();
      source.firstContact = run.then(
        () => undefined,
        () => undefined,
      );
    } else {
      await source.firstContact;
      if (source.unreachable) return UNREACHABLE;
      run = task();
    }
    try {
      return await run;
    } catch (error) {
      if (error instanceof PylayerError && error.code === "network-unreachable") {
        if (!source.unreachable) {
          source.unreachable = true;
          const reason = String(error.details?.errorCode ?? "unreachable");
          this.emit({
            type: "warning",
            message: `${kind} ${source.label} cannot be reached (${reason}); it is skipped for the rest of this run.`,
          });
        }
        return UNREACHABLE;
      }
      throw error;
    }
  }

  private async lookUpProject(name: string): Promise<ProjectListing> {
    const findLinksResults = Promise.all(
      this.findLinks.map((source) => this.listFindLinks(source)),
    );
    // Keep a rejection from being reported as unhandled while the indexes are asked.
    findLinksResults.catch(() => undefined);

    const unreachable: string[] = [];
    let winner: SourceState | undefined;
    let indexFiles: DistributionFile[] = [];
    for (const source of this.indexes) {
      const result = await this.withSource(source, "Index", () => this.readIndexPage(source, name));
      if (result === UNREACHABLE) {
        unreachable.push(source.label);
        continue;
      }
      if (result === null) continue;
      winner = source;
      indexFiles = result;
      break;
    }
    const findLinksFiles = (await findLinksResults)
      .flat()
      .filter((file) => projectNameFromFilename(file.filename) === name);

    if (winner === undefined && findLinksFiles.length === 0) {
      throw this.projectNotFound(name, unreachable);
    }
    const files: DistributionFile[] = [];
    const otherFiles: string[] = [];
    const seen = new Set<string>();
    for (const file of [...indexFiles, ...findLinksFiles]) {
      if (seen.has(file.filename)) continue;
      seen.add(file.filename);
      if (isWheelFilename(file.filename)) files.push(file);
      else otherFiles.push(file.filename);
    }
    return { project: name, files, otherFiles, index: winner?.label };
  }

  private projectNotFound(name: string, unreachable: string[]): PylayerError {
    const places = [
      ...this.indexes.map(
        (source) => `${source.label}${unreachable.includes(source.label) ? " (unreachable)" : ""}`,
      ),
      ...this.findLinks.map((source) => `find-links ${source.label}`),
    ];
    const where = places.length === 0 ? "nowhere (no index and no find-links)" : places.join(", ");
    const hints = [
      "Check the project name, and the index settings (--index-url, --extra-index-url, --find-links, PIP_INDEX_URL, pip.conf).",
    ];
    if (unreachable.length > 0) {
      hints.push(`${unreachable.join(", ")} could not be reached: check the network or the URL.`);
    }
    if (this.settings.noIndex) hints.push("--no-index is set, so only find-links are searched.");
    return new PylayerError(
      "project-not-found",
      `No project named "${name}" found; looked in ${where}.`,
      {
        hint: hints.join(" "),
        details: {
          project: name,
          indexes: this.indexes.map((source) => source.label),
          findLinks: this.findLinks.map((source) => source.label),
          unreachable,
        },
      },
    );
  }

  /**
   * The project pages this client has read, with a digest of each: what a resolution
   * made with this client depended on besides immutable wheel metadata.
   */
  consultedPages(): Record<string, string | null> {
    return Object.fromEntries([...this.consulted].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  /**
   * Whether every page still reads as recorded: `file://` pages are read again; HTTP
   * pages fresh by their max-age are taken from the cache, the others (all of them with
   * `refresh`) are revalidated with the index, in parallel. False means "resolve again",
   * not necessarily "changed": any failure here is left for the resolution to report.
   */
  async pagesUnchanged(pages: Record<string, string | null>): Promise<boolean> {
    if (this.findLinks.length > 0) return false;
    const now = Date.now();
    const digest = (page: PageContent | null) => (page === null ? null : sha256Hex(page.body));
    const checks = Object.entries(pages).map(async ([url, recorded]) => {
      if (!isHttpUrl(url)) {
        const page = await this.readLocalPage(url, true).catch(() => undefined);
        return page !== undefined && digest(page) === recorded;
      }
      const cached = this.cache === null ? null : await this.cache.getPage(url);
      if (cached !== null && !this.refresh && (this.offline || isFresh(cached, now))) {
        return (cached.status === 404 ? null : sha256Hex(cached.body)) === recorded;
      }
      if (this.offline) return false;
      const page = await this.readHttpPage(url).catch(() => undefined);
      return page !== undefined && digest(page) === recorded;
    });
    return (await Promise.all(checks)).every(Boolean);
  }

  /** The project's files on one index, or null when the index does not have it. */
  private async readIndexPage(
    source: SourceState,
    name: string,
  ): Promise<DistributionFile[] | null> {
    const pageUrl = new URL(`${name}/`, source.url).href;
    const page = isHttpUrl(pageUrl)
      ? await this.readHttpPage(pageUrl)
      : await this.readLocalPage(pageUrl, true);
    this.consulted.set(stripCredentials(pageUrl), page === null ? null : sha256Hex(page.body));
    if (page === null) return null;
    return parseSimplePage(page.body, page.contentType, page.baseUrl, source.label);
  }

  /** A page from a `file://` URL; a folder means its `index.html` (pip's behaviour). */
  private async readLocalPage(url: string, folderIsIndex: boolean): Promise<PageContent | null> {
    let path = fileURLToPath(url);
    let baseUrl = url;
    try {
      const info = await stat(path);
      if (info.isDirectory()) {
        if (!folderIsIndex) return null;
        path = join(path, "index.html");
        baseUrl = url.endsWith("/") ? url : `${url}/`;
      }
      const body = await readFile(path, "utf8");
      return {
        body,
        contentType: path.endsWith(".json") ? "application/json" : "text/html",
        baseUrl,
      };
    } catch (error) {
      if (isMissing(error)) return null;
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
  private async readHttpPage(url: string, accept = SIMPLE_ACCEPT): Promise<PageContent | null> {
    const key = stripCredentials(url);
    const label = redactUrl(url);
    const cached = this.cache === null ? null : await this.cache.getPage(key);
    const fromCache = (page: CachedPage): PageContent | null =>
      page.status === 404
        ? null
        : { body: page.body, contentType: page.contentType, baseUrl: page.finalUrl };
    if (this.offline) {
      if (cached === null) throw offlineMiss(`The index page ${label}`);
      this.emit({ type: "cache-hit", kind: "page", url: label });
      return fromCache(cached);
    }
    if (cached !== null && !this.refresh && isFresh(cached, Date.now())) {
      this.emit({ type: "cache-hit", kind: "page", url: label, fresh: true });
      return fromCache(cached);
    }
    const headers: Record<string, string> = { Accept: accept };
    if (cached !== null && cached.status === 200) {
      if (cached.etag !== undefined) headers["If-None-Match"] = cached.etag;
      if (cached.lastModified !== undefined) headers["If-Modified-Since"] = cached.lastModified;
    }
    const http = await this.http();
    const page = await http.request(
      { url, headers, acceptStatuses: [200, 304, 404, 410] },
      async (response, context): Promise<CachedPage> => {
        const storedAt = new Date().toISOString();
        if (response.status === 304) {
          await response.body?.cancel().catch(() => undefined);
          if (cached === null || cached.status !== 200) {
            throw new TransientError("304 Not Modified without a cached page");
          }
          this.emit({ type: "cache-hit", kind: "page", url: label, revalidated: true });
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
        const body = Buffer.from(concatChunks(await readBody(response, context))).toString("utf8");
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
    await this.cache?.putPage(page);
    return fromCache(page);
  }

  /** Every distribution a find-links location offers (memoized per location). */
  private listFindLinks(source: SourceState): Promise<DistributionFile[]> {
    let listing = this.findLinksListings.get(source.url);
    if (listing === undefined) {
      listing = this.readFindLinks(source);
      this.findLinksListings.set(source.url, listing);
    }
    return listing;
  }

  private async readFindLinks(source: SourceState): Promise<DistributionFile[]> {
    if (isHttpUrl(source.url)) {
      // find-links pages are plain HTML link lists, not simple-API pages.
      const page = await this.withSource(source, "find-links location", () =>
        this.readHttpPage(source.url, "text/html"),
      );
      if (page === UNREACHABLE) return [];
      if (page === null) {
        this.emit({
          type: "warning",
          message: `find-links page ${source.label} does not exist (404).`,
        });
        return [];
      }
      return parseSimplePage(page.body, page.contentType, page.baseUrl, source.label);
    }
    if (!source.url.startsWith("file:")) {
      this.emit({
        type: "warning",
        message: `find-links location ${source.label} is neither http(s) nor a local path; ignored.`,
      });
      return [];
    }
    const path = fileURLToPath(source.url);
    let isDirectory: boolean;
    try {
      isDirectory = (await stat(path)).isDirectory();
    } catch (error) {
      if (!isMissing(error)) throw error;
      this.emit({
        type: "warning",
        message: `find-links location ${source.label} does not exist.`,
      });
      return [];
    }
    if (!isDirectory) {
      const page = await this.readLocalPage(source.url, false);
      return page === null ? [] : parseSimpleHtml(page.body, page.baseUrl, source.label);
    }
    const names = (await readdir(path)).sort();
    return names
      .filter((filename) => isWheelFilename(filename) || isSourceDistributionFilename(filename))
      .map((filename) => ({
        filename,
        url: pathToFileURL(join(path, filename)).href,
        hashes: {},
        yanked: false as const,
        coreMetadata: false as const,
        index: source.label,
      }));
  }

  // -------------------------------------------------------------------------
  // Metadata

  private async loadMetadata(file: DistributionFile): Promise<string> {
    const label = redactUrl(file.url);
    const http = isHttpUrl(file.url);
    const sha256 = file.hashes.sha256;
    const key: MetadataKey | null =
      sha256 !== undefined ? { sha256 } : http ? { url: stripCredentials(file.url) } : null;
    if (this.cache !== null && key !== null && (http || sha256 !== undefined)) {
      const cached = await this.cache.getMetadata(key);
      if (cached !== null) {
        this.emit({ type: "cache-hit", kind: "metadata", url: label });
        this.emit({ type: "metadata", filename: file.filename, via: "cache" });
        return cached;
      }
    }
    if (this.offline && http) throw offlineMiss(`METADATA of ${file.filename}`);
    const store = async (text: string, storeKey: MetadataKey | null) => {
      // Local wheels are cached only under an announced sha256: the key is the content,
      // and installing the wheel later verifies that the file still has it.
      if (this.cache !== null && storeKey !== null && (http || "sha256" in storeKey))
        await this.cache.putMetadata(storeKey, text);
      return text;
    };
    if (file.coreMetadata !== false) {
      const text = await this.fetchCoreMetadata(file, file.coreMetadata.hashes);
      if (text !== null) {
        this.emit({ type: "metadata", filename: file.filename, via: "pep658" });
        return store(text, key);
      }
    }
    if (http && !this.noRangeOrigins.has(new URL(file.url).origin)) {
      const text = await this.readMetadataByRanges(file);
      if (text !== null) {
        this.emit({ type: "metadata", filename: file.filename, via: "range" });
        return store(text, key);
      }
    }
    if (!http && file.url.startsWith("file:")) {
      // A local wheel's METADATA is read in place; the whole-file hash is checked when
      // (and if) the wheel is installed, so resolution does not hash every candidate.
      const reader = await openFileRangeReader(fileURLToPath(stripFragment(file.url))).catch(
        (error: unknown) => {
          if (isMissing(error)) {
            throw new PylayerError("file-not-found", `${file.filename} is listed but missing.`, {
              hint: "The local index or find-links folder changed; check its contents.",
            });
          }
          throw error;
        },
      );
      try {
        const text = await readWheelMetadata(reader, file.filename);
        this.emit({ type: "metadata", filename: file.filename, via: "wheel" });
        return store(text, key);
      } finally {
        await reader.close();
      }
    }
    const downloaded = await this.download(file);
    const reader = await openFileRangeReader(downloaded.path);
    try {
      const text = await readWheelMetadata(reader, file.filename);
      this.emit({ type: "metadata", filename: file.filename, via: "wheel" });
      return store(text, key ?? { sha256: downloaded.sha256 });
    } finally {
      await reader.close();
    }
  }

  /** The PEP 658 `.metadata` file, verified against its announced hashes; null if absent. */
  private async fetchCoreMetadata(
    file: DistributionFile,
    hashes: Record<string, string>,
  ): Promise<string | null> {
    const url = `${stripFragment(file.url)}.metadata`;
    let bytes: Uint8Array | null;
    if (isHttpUrl(url)) {
      const http = await this.http();
      bytes = await http.request({ url, acceptStatuses: [200, 404] }, async (response, context) => {
        if (response.status === 404) {
          await response.body?.cancel().catch(() => undefined);
          return null;
        }
        return concatChunks(await readBody(response, context));
      });
    } else {
      try {
        bytes = await readFile(fileURLToPath(url));
      } catch (error) {
        if (!isMissing(error)) throw error;
        bytes = null;
      }
    }
    if (bytes === null) return null;
    for (const [algorithm, expected] of Object.entries(hashes)) {
      if (!SUPPORTED_HASHES.has(algorithm)) continue;
      const actual = createHash(algorithm).update(bytes).digest("hex");
      if (actual !== expected.toLowerCase()) {
        throw hashMismatch(`${file.filename}.metadata`, url, algorithm, expected, actual);
      }
    }
    return Buffer.from(bytes).toString("utf8");
  }

  /**
   * METADATA through HTTP Range requests: the zip tail, then (if needed) the central
   * directory and the METADATA entry. null when the server does not do ranges.
   */
  private async readMetadataByRanges(file: DistributionFile): Promise<string | null> {
    const http = await this.http();
    const origin = new URL(file.url).origin;
    const first = await http.request(
      {
        url: file.url,
        headers: { Range: `bytes=-${ZIP_TAIL_LENGTH}`, "Accept-Encoding": "identity" },
        acceptStatuses: [200, 206, 416],
      },
      async (response, context) => {
        const total = /\/(\d+)\s*$/.exec(response.headers.get("content-range") ?? "")?.[1];
        if (response.status !== 206 || total === undefined) {
          await response.body?.cancel().catch(() => undefined);
          return null;
        }
        return { size: Number(total), tail: concatChunks(await readBody(response, context)) };
      },
    );
    if (first === null) {
      this.noRangeOrigins.add(origin);
      return null;
    }
    if (file.size !== undefined && first.size !== file.size) {
      throw sizeMismatch(file, file.size, first.size);
    }
    let rangesRefused = false;
    const reader: RangeReader = {
      size: first.size,
      read: async (offset, length) => {
        if (length === 0) return new Uint8Array(0);
        const bytes = await http.request(
          {
            url: file.url,
            headers: {
              Range: `bytes=${offset}-${offset + length - 1}`,
              "Accept-Encoding": "identity",
            },
            acceptStatuses: [200, 206],
          },
          async (response, context) => {
            if (response.status !== 206) {
              await response.body?.cancel().catch(() => undefined);
              return null;
            }
            return concatChunks(await readBody(response, context));
          },
        );
        if (bytes === null || bytes.length !== length) {
          rangesRefused = true;
          throw new RangesRefused();
        }
        return bytes;
      },
    };
    try {
      return await readWheelMetadata(withKnownTail(reader, first.tail), file.filename);
    } catch (error) {
      if (rangesRefused) {
        this.noRangeOrigins.add(origin);
        return null;
      }
      throw error;
    }
  }

  // -------------------------------------------------------------------------
  // Downloads

  private async fetchWheel(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    const label = redactUrl(file.url);
    if (!isHttpUrl(file.url)) return this.useLocalWheel(file);
    const expected = file.hashes.sha256?.toLowerCase();
    if (this.cache !== null && expected !== undefined) {
      // Cached wheels were verified before they were renamed into their content address;
      // they are trusted after a size check rather than hashed again on every build.
      const path = await this.cache.getWheel(expected, file.filename, { verify: false });
      const size = path === null ? 0 : (await stat(path)).size;
      if (path !== null && (file.size === undefined || file.size === size)) {
        this.emit({ type: "cache-hit", kind: "wheel", url: label });
        this.emit({
          type: "download-done",
          filename: file.filename,
          bytes: size,
          sha256: expected,
          path,
          fromCache: true,
        });
        return { path, sha256: expected };
      }
    }
    if (this.offline) throw offlineMiss(`The wheel ${file.filename}`);

    const temporary =
      this.cache === null
        ? join(await this.scratchDirectory(), `${randomBytes(8).toString("hex")}.part`)
        : await this.cache.temporaryPath("wheels", file.filename);
    try {
      const http = await this.http();
      const { bytes, digests } = await http.request(
        { url: file.url, headers: { "Accept-Encoding": "identity" }, acceptStatuses: [200] },
        async (response, context) => {
          const declared = Number(response.headers.get("content-length") ?? Number.NaN);
          const totalBytes = Number.isFinite(declared) ? declared : file.size;
          this.emit({ type: "download-start", filename: file.filename, url: label, totalBytes });
          const hashers = hashersFor(file);
          const handle = await open(temporary, "w");
          let bytesDone = 0;
          let reported = 0;
          try {
            await readBody(response, context, async (chunk) => {
              for (const hasher of hashers.values()) hasher.update(chunk);
              await handle.write(chunk);
              bytesDone += chunk.length;
              if (bytesDone - reported >= PROGRESS_STEP_BYTES) {
                reported = bytesDone;
                this.emit({
                  type: "download-progress",
                  filename: file.filename,
                  bytesDone,
                  totalBytes,
                });
              }
            });
          } finally {
            await handle.close();
          }
          this.emit({ type: "download-progress", filename: file.filename, bytesDone, totalBytes });
          const digests = new Map(
            [...hashers].map(([name, hasher]) => [name, hasher.digest("hex")]),
          );
          return { bytes: bytesDone, digests };
        },
      );
      if (file.size !== undefined && bytes !== file.size)
        throw sizeMismatch(file, file.size, bytes);
      verifyDigests(file, digests);
      const sha256 = digests.get("sha256")!;
      const path =
        this.cache === null
          ? await this.moveToScratch(temporary, sha256, file.filename)
          : await this.cache.putWheel(temporary, sha256, file.filename);
      this.emit({
        type: "download-done",
        filename: file.filename,
        bytes,
        sha256,
        path,
        fromCache: false,
      });
      return { path, sha256 };
    } finally {
      await rm(temporary, { force: true });
    }
  }

  /** A `file://` wheel is used in place, after its hashes are checked. */
  private async useLocalWheel(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    if (!file.url.startsWith("file:")) {
      throw new PylayerError(
        "unsupported-url",
        `${redactUrl(file.url)} is not an http(s) or file URL.`,
      );
    }
    const path = fileURLToPath(stripFragment(file.url));
    const known = await this.knownLocalHash(path, file);
    if (known !== null) return known;
    const hashers = hashersFor(file);
    let bytes = 0;
    try {
      const handle = await open(path, "r");
      try {
        for await (const chunk of handle.createReadStream()) {
          bytes += (chunk as Buffer).length;
          for (const hasher of hashers.values()) hasher.update(chunk as Buffer);
        }
      } finally {
        await handle.close().catch(() => undefined);
      }
    } catch (error) {
      if (!isMissing(error)) throw error;
      throw new PylayerError(
        "file-not-found",
        `${file.filename} is listed but ${path} does not exist.`,
        {
          hint: "The local index or find-links folder changed; check its contents.",
        },
      );
    }
    const digests = new Map([...hashers].map(([name, hasher]) => [name, hasher.digest("hex")]));
    if (file.size !== undefined && bytes !== file.size) throw sizeMismatch(file, file.size, bytes);
    verifyDigests(file, digests);
    const sha256 = digests.get("sha256")!;
    if (this.cache !== null) {
      const info = await stat(path).catch(() => null);
      if (info !== null && info.size === bytes) await this.cache.putLocalHash(path, info, sha256);
    }
    this.emit({
      type: "download-done",
      filename: file.filename,
      bytes,
      sha256,
      path,
      fromCache: true,
    });
    return { path, sha256 };
  }

  /**
   * The sha256 recorded for a local file whose identity (size, times, inode) has not
   * changed since it was hashed, when it satisfies the file's announced hashes.
   */
  private async knownLocalHash(
    path: string,
    file: DistributionFile,
  ): Promise<{ path: string; sha256: string } | null> {
    if (this.cache === null) return null;
    const info = await stat(path).catch(() => null);
    if (info === null) return null;
    const sha256 = await this.cache.getLocalHash(path, info);
    if (sha256 === null) return null;
    if (file.size !== undefined && file.size !== info.size) return null;
    const announced = Object.entries(file.hashes).filter(([algorithm]) =>
      SUPPORTED_HASHES.has(algorithm),
    );
    if (
      announced.some(
        ([algorithm, digest]) => algorithm !== "sha256" || digest.toLowerCase() !== sha256,
      )
    ) {
      return null;
    }
    this.emit({
      type: "download-done",
      filename: file.filename,
      bytes: info.size,
      sha256,
      path,
      fromCache: true,
    });
    return { path, sha256 };
  }

  private scratchDirectory(): Promise<string> {
    this.temporaryDirectory ??= mkdtemp(join(tmpdir(), "pylayer-downloads-"));
    return this.temporaryDirectory;
  }

  private async moveToScratch(source: string, sha256: string, filename: string): Promise<string> {
    const folder = join(await this.scratchDirectory(), sha256);
    await mkdir(folder, { recursive: true });
    const destination = join(folder, filename);
    await rename(source, destination);
    return destination;
  }
}

/**
 * One in-flight or finished promise per key, shared by concurrent callers; a failure is
 * forgotten so that a later call tries again.
 */
function shared<T>(
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

class RangesRefused extends Error {
  constructor() {
    super("the server stopped answering Range requests");
  }
}

function stripFragment(url: string): string {
  const hash = url.indexOf("#");
  return hash < 0 ? url : url.slice(0, hash);
}

function verifyDigests(file: DistributionFile, digests: Map<string, string>): void {
  for (const [algorithm, expected] of Object.entries(file.hashes)) {
    const actual = digests.get(algorithm);
    if (actual !== undefined && actual !== expected.toLowerCase()) {
      throw hashMismatch(file.filename, file.url, algorithm, expected, actual);
    }
  }
}

function hashMismatch(
  filename: string,
  url: string,
  algorithm: string,
  expected: string,
  actual: string,
): PylayerError {
  return new PylayerError(
    "hash-mismatch",
    `${filename} from ${redactUrl(url)} has ${algorithm} ${actual}, but the index announced ${expected}.`,
    {
      hint: "The file was altered or corrupted in transit; it was neither cached nor installed. Try again, and report it to the index owner if it persists.",
      details: { filename, url: redactUrl(url), algorithm, expected, actual },
    },
  );
}

function sizeMismatch(file: DistributionFile, expected: number, actual: number): PylayerError {
  return new PylayerError(
    "size-mismatch",
    `${file.filename} from ${redactUrl(file.url)} is ${actual} bytes, but the index announced ${expected}.`,
    {
      hint: "The file was truncated or altered; it was neither cached nor installed. Try again.",
      details: { filename: file.filename, url: redactUrl(file.url), expected, actual },
    },
  );
}
