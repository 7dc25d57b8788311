/**
 * The package index client: lists a project's wheels across the configured indexes
 * and find-links locations, reads wheel METADATA as cheaply as the server allows,
 * and downloads wheels into the cache with their hashes verified.
 *
 * Index order and dependency confusion: indexes are asked one after the other in the
 * order of `IndexSettings.indexes` (settings.ts: the command line and environment before
 * configuration files; within each, extra indexes before the index URL, as uv does), and
 * with the default strategy, `first-index`, the first one that has the project is the
 * only index used for it. The usual setup, a private index added with --extra-index-url
 * next to PyPI, is therefore safe: a public project that takes the name of a private one
 * is never considered. The `unsafe-*` strategies ask every index for every project (pip
 * has no order and takes the best version from all indexes, which is the
 * dependency-confusion hole). find-links locations are always merged in (pip's
 * semantics): they are local or explicitly chosen by the user.
 *
 * The client owns the sources (indexes and find-links locations, their order and
 * reachability) and the project listings; pages.ts reads and caches pages,
 * metadata.ts obtains METADATA, downloads.ts fetches and verifies wheels.
 */
import { readdir, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { type Cache, sha256Hex } from "../cache/index.js";
import { PylayerError, redactUrl } from "../errors.js";
import { editDistance } from "../strings.js";
import { type IndexContext, isHttpUrl, isMissing, shared } from "./context.js";
import { type DeferredWheel, WheelDownloader } from "./downloads.js";
import { CredentialStore, HttpClient, stripCredentials, type TokenCredential } from "./http.js";
import { DEFAULT_RESPONSE_LIMITS, type ResponseLimits } from "./limits.js";
import { MetadataLoader } from "./metadata.js";
import {
  isSourceDistributionFilename,
  isWheelFilename,
  normalizeProjectName,
  projectNameFromFilename,
} from "./names.js";
import { defaultNetrcPath, loadNetrc } from "./netrc.js";
import { PageReader } from "./pages.js";
import { DEFAULT_RETRIES, DEFAULT_TIMEOUT_SECONDS } from "./settings.js";
import { decodeHtmlEntities, parseSimpleHtml, parseSimplePage, SIMPLE_ACCEPT } from "./simple.js";
import type {
  DistributionFile,
  IndexEvent,
  IndexSettings,
  IndexStrategy,
  ProjectListing,
} from "./types.js";

export interface IndexClientOptions {
  settings: IndexSettings;
  /** Where pages, metadata and wheels are kept between runs; null or absent: no cache. */
  cache?: Cache | null;
  /** Requests in flight at once, shared by listing, metadata and downloads. Default 16. */
  concurrency?: number;
  /** Further attempts after a transient failure. Default `settings.retries`, else 3. */
  retries?: number;
  /**
   * Idle timeout per request (no bytes for this long), and the stretch over which the
   * progress deadline is measured. Default `settings.timeoutSeconds`, else 30 s.
   */
  timeoutMs?: number;
  /**
   * Progress deadline: a transfer fails (and is retried) when fewer bytes than this per
   * second arrive on average over a `timeoutMs` stretch. Default 1024; 0: none.
   */
  minimumBytesPerSecond?: number;
  /** Bounds on decoded response sizes; default `DEFAULT_RESPONSE_LIMITS`. */
  limits?: Partial<ResponseLimits>;
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
  /**
   * Indexes (URLs as configured; credentials and a trailing slash do not matter) that
   * may be skipped when they cannot be reached. Any other unreachable index fails the
   * lookup of a project it is asked about before an answer (see `lookUpProject`).
   */
  allowUnreachable?: readonly string[];
  /** Expiring credentials (AWS CodeArtifact tokens), each for the URLs of its origin. */
  tokens?: readonly TokenCredential[];
}

interface SourceState {
  /** The location as configured (a URL, possibly with credentials). */
  url: string;
  /** Redacted, for messages, events and `DistributionFile.index`. */
  label: string;
  unreachable: boolean;
  /** The system error code that made it unreachable (`ECONNREFUSED`…). */
  unreachableReason?: string;
  /** Listed in `allowUnreachable`: skipped with a warning when it cannot be reached. */
  mayBeSkipped: boolean;
  /** Settles after the first request to this source, which runs alone. */
  firstContact: Promise<void> | undefined;
}

const UNREACHABLE = Symbol("unreachable");

/** The progress deadline's floor, in bytes per second (see `minimumBytesPerSecond`). */
export const DEFAULT_MINIMUM_SPEED = 1024;

export class IndexClient {
  readonly warnings: string[] = [];

  private readonly settings: IndexSettings;
  readonly strategy: IndexStrategy;
  /** Every project page read: credential-free URL → sha256 of its body (null: no page). */
  private readonly consulted = new Map<string, string | null>();
  private readonly emit: (event: IndexEvent) => void;
  private readonly options: IndexClientOptions;
  private readonly indexes: SourceState[];
  private readonly findLinks: SourceState[];
  private httpClient: Promise<HttpClient> | undefined;
  private readonly projects = new Map<string, Promise<ProjectListing>>();
  private readonly findLinksListings = new Map<string, Promise<DistributionFile[]>>();
  private readonly pages: PageReader;
  private readonly metadata: MetadataLoader;
  private readonly downloader: WheelDownloader;

  constructor(options: IndexClientOptions) {
    this.options = options;
    this.settings = options.settings;
    const listener = options.onEvent;
    this.emit = (event) => {
      if (event.type === "warning") this.warnings.push(event.message);
      listener?.(event);
    };
    const allowed = new Set((options.allowUnreachable ?? []).map(sourceKey));
    const toState = (url: string): SourceState => ({
      url,
      label: redactUrl(url),
      unreachable: false,
      mayBeSkipped: allowed.has(sourceKey(url)),
      firstContact: undefined,
    });
    const ordered =
      this.settings.indexes?.map((index) => index.url) ??
      ([...this.settings.extraIndexUrls, this.settings.indexUrl] as string[]);
    const indexUrls = this.settings.noIndex ? [] : [...new Set(ordered)];
    this.strategy = this.settings.strategy ?? "first-index";
    this.indexes = indexUrls.map((url) => toState(url.endsWith("/") ? url : `${url}/`));
    this.findLinks = [...new Set(this.settings.findLinks)].map(toState);
    const context: IndexContext = {
      http: () => this.http(),
      cache: options.cache ?? null,
      offline: options.offline ?? false,
      refresh: options.refresh ?? false,
      limits: { ...DEFAULT_RESPONSE_LIMITS, ...options.limits },
      emit: this.emit,
    };
    this.pages = new PageReader(context);
    this.downloader = new WheelDownloader(context);
    this.metadata = new MetadataLoader(context, (file) => this.downloader.download(file));
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
    return this.metadata.get(file);
  }

  /**
   * A local path to the wheel with its hashes verified: a cached copy, or the file
   * itself for `file://` locations. Concurrent calls for one URL share one download.
   */
  download(file: DistributionFile): Promise<{ path: string; sha256: string }> {
    return this.downloader.download(file);
  }

  /**
   * `download`, except that a cached copy is hashed only when `verified()` is called:
   * for a build that may not read every wheel (a changed set copies unchanged entries
   * from the zip it wrote before, which it verifies as it reads).
   */
  downloadDeferred(file: DistributionFile): Promise<DeferredWheel> {
    return this.downloader.downloadDeferred(file);
  }

  /** Removes the temporary folder used for downloads when there is no cache. */
  dispose(): Promise<void> {
    return this.downloader.dispose();
  }

  // -------------------------------------------------------------------------
  // Sources and listing

  private http(): Promise<HttpClient> {
    this.httpClient ??= (async () => {
      const netrcPath =
        this.options.netrcPath === undefined
          ? defaultNetrcPath(process.env, homedir())
          : this.options.netrcPath;
      const netrc = netrcPath === null ? null : await loadNetrc(netrcPath);
      const sources = [...this.indexes, ...this.findLinks].map((source) => source.url);
      return new HttpClient({
        credentials: new CredentialStore(sources, netrc, this.options.tokens),
        concurrency: this.options.concurrency ?? 16,
        retries: this.options.retries ?? this.settings.retries ?? DEFAULT_RETRIES,
        timeoutMs:
          this.options.timeoutMs ??
          (this.settings.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS) * 1000,
        minimumBytesPerSecond: this.options.minimumBytesPerSecond ?? DEFAULT_MINIMUM_SPEED,
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
          source.unreachableReason = String(error.details?.errorCode ?? "unreachable");
          // An index that may not be skipped fails the lookup instead (lookUpProject).
          if (source.mayBeSkipped || kind !== "Index") {
            this.emit({
              type: "warning",
              message: `${kind} ${source.label} cannot be reached (${source.unreachableReason}); it is skipped for the rest of this run.`,
            });
          }
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
    let blocking: SourceState | undefined;
    const answered: { source: SourceState; files: DistributionFile[] }[] = [];
    const everyIndex = this.strategy !== "first-index";
    for (const source of this.indexes) {
      const result = await this.withSource(source, "Index", () => this.readIndexPage(source, name));
      if (result === UNREACHABLE) {
        unreachable.push(source.label);
        if (!source.mayBeSkipped) blocking ??= source;
        continue;
      }
      if (result === null) continue;
      answered.push({ source, files: result });
      if (!everyIndex) break;
    }
    const winner = answered[0]?.source;
    // Outage policy: an index asked before the one that answered (or before finding
    // nothing) may hold the project; answering from the next one would turn an outage
    // of a private index into a public package of the same name (dependency confusion).
    // With an unsafe-* strategy every index is asked, so any of them may hold it.
    if (blocking !== undefined) throw this.indexUnreachable(blocking, name, winner);
    const findLinksFiles = (await findLinksResults)
      .flat()
      .filter((file) => projectNameFromFilename(file.filename) === name);

    if (winner === undefined && findLinksFiles.length === 0) {
      const unreachableFindLinks = this.findLinks.filter((source) => source.unreachable);
      if (unreachable.length > 0 || unreachableFindLinks.length > 0) {
        throw this.everySourceUnreachable(name, [
          ...unreachable,
          ...unreachableFindLinks.map((source) => `find-links ${source.label}`),
        ]);
      }
      throw this.projectNotFound(name);
    }
    const files: DistributionFile[] = [];
    const otherFiles: string[] = [];
    const sdists: DistributionFile[] = [];
    const seen = new Set<string>();
    for (const file of [...answered.flatMap((entry) => entry.files), ...findLinksFiles]) {
      if (seen.has(file.filename)) continue;
      seen.add(file.filename);
      if (isWheelFilename(file.filename)) files.push(file);
      else {
        otherFiles.push(file.filename);
        if (isSourceDistributionFilename(file.filename)) sdists.push(file);
      }
    }
    return {
      project: name,
      files,
      otherFiles,
      sdists,
      index: winner?.label,
      indexes: answered.map((entry) => entry.source.label),
      ...(this.strategy === "unsafe-first-match" ? { preferEarlierIndex: true } : {}),
    };
  }

  /**
   * The project's files on the indexes after the one that answered for it, which the
   * `first-index` strategy did not consult: for an error that says a version exists
   * there. Indexes that cannot be reached or do not have it are left out; empty under the
   * other strategies (every index was consulted).
   */
  async unconsultedListings(
    project: string,
  ): Promise<{ index: string; files: DistributionFile[] }[]> {
    if (this.strategy !== "first-index") return [];
    const name = normalizeProjectName(project);
    let listing: ProjectListing;
    try {
      listing = await this.getProject(name);
    } catch {
      return [];
    }
    const position = this.indexes.findIndex((source) => source.label === listing.index);
    if (position < 0) return [];
    const results: { index: string; files: DistributionFile[] }[] = [];
    for (const source of this.indexes.slice(position + 1)) {
      const files = await this.withSource(source, "Index", () =>
        this.readIndexPage(source, name, false),
      ).catch(() => null);
      if (files === UNREACHABLE || files === null) continue;
      results.push({ index: source.label, files });
    }
    return results;
  }

  /**
   * Up to `limit` project names on the indexes nearest to `project` (a likely typo), from
   * each index's project list (the simple API root page), read and cached like any other
   * page and bounded to `PROJECT_LIST_MAX_BYTES`. No list (no root page, offline without
   * it in the cache, an unreachable index, a larger page): no names, no error.
   */
  async closestProjectNames(project: string, limit = 3): Promise<string[]> {
    const name = normalizeProjectName(project);
    const found = new Map<string, number>();
    for (const source of this.indexes) {
      if (source.unreachable) continue;
      const page = await (isHttpUrl(source.url)
        ? this.pages.readHttpPage(source.url, SIMPLE_ACCEPT, PROJECT_LIST_MAX_BYTES)
        : this.pages.readLocalPage(source.url, true)
      ).catch(() => null);
      if (page === null) continue;
      for (const candidate of projectNamesOfRootPage(page.body, page.contentType)) {
        if (candidate === name || Math.abs(candidate.length - name.length) > 2) continue;
        const distance = editDistance(name, candidate);
        if (distance <= Math.max(2, Math.floor(candidate.length / 3))) {
          found.set(candidate, Math.min(distance, found.get(candidate) ?? distance));
        }
      }
    }
    return [...found]
      .sort(([a, x], [b, y]) => x - y || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, limit)
      .map(([candidate]) => candidate);
  }

  /**
   * Every index that could have had the project (and every find-links location that
   * failed) could not be reached: an error about the network, not about the name.
   */
  private everySourceUnreachable(name: string, unreachable: string[]): PylayerError {
    const answered = this.indexes.filter((source) => !source.unreachable).map((s) => s.label);
    const others =
      answered.length === 0
        ? ""
        : `; ${answered.join(", ")} ${answered.length === 1 ? "does" : "do"} not have it`;
    return new PylayerError(
      "index-unreachable",
      `Cannot look up "${name}": ${unreachable.join(", ")} could not be reached (${this.unreachableReasons()})${others}.`,
      {
        hint: "Check the network, the index URLs and their credentials (--index-url, --extra-index-url, PIP_INDEX_URL, pip.conf), then build again; nothing was built from a partial view of the indexes.",
        // `notFound`: to the resolver this is a project with no version (it backtracks as
        // for project-not-found); reported as it is when nothing else works.
        details: {
          project: name,
          unreachable,
          indexes: this.indexes.map((s) => s.label),
          notFound: true,
        },
      },
    );
  }

  private unreachableReasons(): string {
    const reasons = [...this.indexes, ...this.findLinks]
      .filter((source) => source.unreachable)
      .map((source) => source.unreachableReason ?? "unreachable");
    return [...new Set(reasons)].join(", ");
  }

  private indexUnreachable(
    source: SourceState,
    name: string,
    winner: SourceState | undefined,
  ): PylayerError {
    const reason = source.unreachableReason ?? "unreachable";
    const message =
      winner === undefined
        ? `Index ${source.label} cannot be reached (${reason}) and no other index has "${name}": it may be the one that has it.`
        : this.strategy !== "first-index"
          ? `Index ${source.label} cannot be reached (${reason}); with --index-strategy ${this.strategy} every index is consulted for "${name}", so choosing from the others alone could pick another project of the same name or a different version.`
          : `Index ${source.label} cannot be reached (${reason}); it is asked before ${winner.label}, which has "${name}", so taking ${name} from there could install another project of the same name (dependency confusion).`;
    return new PylayerError("index-unreachable", message, {
      hint: `Check the network, the URL and its credentials. If builds may go on without it, allow it: --allow-unreachable-index ${source.label} (or allow-unreachable-index in [tool.pylayer]).`,
      details: {
        index: source.label,
        project: name,
        errorCode: reason,
        ...(winner === undefined ? {} : { answeredBy: winner.label }),
      },
    });
  }

  /**
   * Labels of the sources that could not be reached in this run (indexes allowed to be
   * skipped, find-links locations): a resolution made without them is not to be reused.
   */
  unreachableSources(): string[] {
    return [...this.indexes, ...this.findLinks]
      .filter((source) => source.unreachable)
      .map((source) => source.label);
  }

  private projectNotFound(name: string): PylayerError {
    const places = [
      ...this.indexes.map((source) => source.label),
      ...this.findLinks.map((source) => `find-links ${source.label}`),
    ];
    const where = places.length === 0 ? "nowhere (no index and no find-links)" : places.join(", ");
    const hints = [
      "Check the project name, and the index settings (--index-url, --extra-index-url, --find-links, PIP_INDEX_URL, pip.conf).",
    ];
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
    return this.pages.unchanged(pages);
  }

  /** The project's files on one index, or null when the index does not have it. */
  /** `record`: the page is one the resolution depends on (see `consultedPages`). */
  private async readIndexPage(
    source: SourceState,
    name: string,
    record = true,
  ): Promise<DistributionFile[] | null> {
    const pageUrl = new URL(`${name}/`, source.url).href;
    const page = await this.pages.read(pageUrl);
    if (record)
      this.consulted.set(stripCredentials(pageUrl), page === null ? null : sha256Hex(page.body));
    if (page === null) return null;
    return parseSimplePage(page.body, page.contentType, page.baseUrl, source.label);
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
        this.pages.readHttpPage(source.url, "text/html"),
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
      const page = await this.pages.readLocalPage(source.url, false);
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
}

/**
 * The largest project list read for "did you mean" names: PyPI's root page (about
 * 600,000 projects) fits; an index that sends more gets no suggestions.
 */
const PROJECT_LIST_MAX_BYTES = 64 * 1024 * 1024;

/** Normalized project names of a simple API root page (PEP 503 HTML or PEP 691 JSON). */
function projectNamesOfRootPage(body: string, contentType: string | undefined): string[] {
  if (contentType?.includes("json") === true) {
    try {
      const data = JSON.parse(body) as { projects?: { name?: unknown }[] };
      return (data.projects ?? [])
        .map((entry) => entry.name)
        .filter((value): value is string => typeof value === "string")
        .map(normalizeProjectName);
    } catch {
      return [];
    }
  }
  const names: string[] = [];
  for (const match of body.matchAll(/<a\b[^>]*>([^<]+)<\/a>/gi)) {
    names.push(normalizeProjectName(decodeHtmlEntities(match[1]!.trim())));
  }
  return names;
}

/** A source URL compared without credentials, fragment or trailing slash. */
function sourceKey(url: string): string {
  let text = url;
  try {
    text = stripCredentials(url);
  } catch {
    // Not a URL (a find-links path): compared as written.
  }
  return text.replace(/#.*$/, "").replace(/\/+$/, "");
}
