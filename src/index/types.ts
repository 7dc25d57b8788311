/**
 * How the indexes share a project, with uv's names and meanings:
 * - `first-index` (default): the first index that has the project is the only one used
 *   for it. A public project cannot shadow a private one of the same name (dependency
 *   confusion).
 * - `unsafe-first-match`: every index is asked; the versions of the first index that has
 *   the project are tried first, then those of the next, and so on.
 * - `unsafe-best-match`: every index is asked; the best version from any of them is
 *   taken (pip's behaviour); for one version, the earlier index's file.
 */
export type IndexStrategy = "first-index" | "unsafe-first-match" | "unsafe-best-match";

export const INDEX_STRATEGIES: readonly IndexStrategy[] = [
  "first-index",
  "unsafe-first-match",
  "unsafe-best-match",
];

/** One index in the order it is asked, with where it was configured. */
export interface ConfiguredIndex {
  /** The simple-API root as configured (may carry credentials: redact before showing). */
  url: string;
  /** `default`: the index URL (index-url); `extra`: an extra index. */
  kind: "default" | "extra";
  /** `flag`, `env PIP_INDEX_URL`, a configuration file (with its section), or `default` (PyPI). */
  origin: string;
  /** Command line or environment, a configuration file, or the built-in default. */
  level: "command-line" | "configuration" | "default";
}

/** Where pylayer looks for distributions. */
export interface IndexSettings {
  /** The default index (PEP 503 / PEP 691 simple API root), asked after the extra indexes. */
  indexUrl: string;
  /** Further indexes, asked in order before `indexUrl`; the first one with a project wins. */
  extraIndexUrls: string[];
  /** Flat locations (folders of wheels or HTML pages of links); always merged in. */
  findLinks: string[];
  /** Ignore `indexUrl` and `extraIndexUrls`; use find-links only. */
  noIndex: boolean;
  /**
   * Every index in the order it is asked (see settings.ts for the rule). When absent, the
   * order is `extraIndexUrls` then `indexUrl` (uv's).
   */
  indexes?: ConfiguredIndex[];
  /** Default `first-index`. */
  strategy?: IndexStrategy;
  /** Seconds without data before a request fails, and the progress deadline's stretch (default 30). */
  timeoutSeconds?: number;
  /** Further attempts after a transient failure (default 3). */
  retries?: number;
  /** For `--verbose`: setting name → the source it came from (`flag`, `env PIP_INDEX_URL`, a file…). */
  origin: Record<string, string>;
}

/** One file listed for a project by an index or a find-links location. */
export interface DistributionFile {
  filename: string;
  /** Absolute URL. May carry credentials: never print it raw, use `redactUrl`. */
  url: string;
  /** Lowercase algorithm → lowercase hex digest, e.g. `{ sha256: "ab…" }`. Empty when unknown. */
  hashes: Record<string, string>;
  /** PEP 503 `data-requires-python` / PEP 691 `requires-python`, unescaped. */
  requiresPython?: string;
  /** PEP 592: false, or yanked with an optional reason. */
  yanked: false | { reason?: string };
  /** PEP 658 / PEP 714: whether `url + ".metadata"` exists, with its hashes when given. */
  coreMetadata: false | { hashes: Record<string, string> };
  /** PEP 700 size in bytes, when the index announces it. */
  size?: number;
  /** The redacted index URL or find-links location the file came from. */
  index: string;
}

/** What a project looks like across all configured sources. */
export interface ProjectListing {
  /** PEP 503 normalized project name. */
  project: string;
  /** Wheels, in source order (the winning index first, then find-links), unique by filename. */
  files: DistributionFile[];
  /** Filenames of listed files that are not wheels (sdists…), for "why no candidate" messages. */
  otherFiles: string[];
  /** Source distributions (`.tar.gz`, `.zip`) among them, for source builds. */
  sdists: DistributionFile[];
  /** Redacted index URL that provided the project, if any (the first one, when several did). */
  index: string | undefined;
  /** Redacted URLs of the indexes whose files are listed, in the order they are asked. */
  indexes?: string[];
  /**
   * `unsafe-first-match`: the versions of an earlier index are to be tried before those of a
   * later one (otherwise newest first, whatever the index).
   */
  preferEarlierIndex?: boolean;
}

/**
 * Progress and diagnostics. Nothing in src/index prints: a CLI turns these into a
 * progress display or `--verbose` lines. All URLs in events are redacted.
 */
export type IndexEvent =
  | { type: "request"; method: "GET" | "HEAD"; url: string; attempt: number; range?: string }
  | {
      type: "cache-hit";
      kind: "page" | "metadata" | "wheel";
      url: string;
      /** True when the server confirmed a cached page with 304 Not Modified. */
      revalidated?: boolean;
      /** True when a page was used without a request, within its Cache-Control max-age. */
      fresh?: boolean;
    }
  | { type: "retry"; url: string; attempt: number; delayMs: number; reason: string }
  | { type: "download-start"; filename: string; url: string; totalBytes: number | undefined }
  | {
      type: "download-progress";
      filename: string;
      bytesDone: number;
      totalBytes: number | undefined;
    }
  | {
      type: "download-done";
      filename: string;
      bytes: number;
      sha256: string;
      path: string;
      fromCache: boolean;
    }
  | {
      type: "metadata";
      filename: string;
      /** How METADATA was obtained, for `--verbose` and tests. */
      via: "cache" | "pep658" | "range" | "wheel";
    }
  | { type: "warning"; message: string };
