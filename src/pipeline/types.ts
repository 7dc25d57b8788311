/**
 * The build's data: what a caller asks for (`BuildOptions`), what resolution decided
 * (`BuildPlan`, serializable, printed by --dry-run/--json) and what applying the plan
 * produced (`BuildResult`).
 */
import type { AwsOptions } from "../aws/clients.js";
import type { CodeArtifactRepository } from "../aws/codeartifact.js";
import type { CheckResult } from "../check/types.js";
import type { FunctionSource } from "../function/index.js";
import type { IndexStrategy } from "../index/index.js";
import type { Architecture } from "../runtime/index.js";

/**
 * Where the dependencies go: `python/` or `python/lib/python3.X/site-packages/` of a layer
 * (extracted to `/opt`), or the root of a function zip (`/var/task`; see `BuildOptions.function`).
 */
export type LayoutKind = "python" | "site-packages" | "function";

/** Packages the Lambda Python runtimes already contain (left out by `excludeRuntimeProvided`). */
export const RUNTIME_PROVIDED_PACKAGES = ["boto3", "botocore", "jmespath", "s3transfer"] as const;

export interface IndexOptions {
  indexUrl?: string;
  extraIndexUrls?: string[];
  findLinks?: string[];
  noIndex?: boolean;
  /**
   * Indexes that may be skipped when they cannot be reached (with a warning). Any other
   * index that cannot be reached fails the build when it is asked about a project before
   * the index that has it (outage policy: no silent fallback to the next index).
   */
  allowUnreachableIndexes?: string[];
  /**
   * pip's `--timeout`: seconds without data before a request fails; also the stretch over
   * which the progress deadline (1 KiB/s on average) is measured. Default: PIP_TIMEOUT,
   * UV_HTTP_TIMEOUT, pip.conf's `timeout`, else 30.
   */
  timeoutSeconds?: number;
  /** pip's `--retries`: further attempts after a transient failure. Default: PIP_RETRIES, UV_HTTP_RETRIES, pip.conf, else 3. */
  retries?: number;
  /** How indexes share a project (uv's `--index-strategy`); default `first-index`. */
  strategy?: IndexStrategy;
  /**
   * Index settings of the project's configuration file (pylayer.toml or [tool.pylayer]):
   * ranked with the configuration files, after the options above and the environment.
   */
  configuration?: {
    /** `pylayer.toml` or `[tool.pylayer]`, with the file's path. */
    source: string;
    indexUrl?: string;
    extraIndexUrls?: string[];
    strategy?: IndexStrategy;
  };
  /**
   * An AWS CodeArtifact repository as the index (instead of `indexUrl`): its endpoint and an
   * authorization token come from the AWS SDK; the token is never written anywhere.
   */
  codeArtifact?: CodeArtifactRepository & { aws?: AwsOptions };
}

/** One index of a build, in the order indexes are asked, and where it was configured. */
export interface PlannedIndex {
  /** Redacted URL. */
  url: string;
  kind: "default" | "extra";
  /** `--index-url`, `env PIP_EXTRA_INDEX_URL`, `/etc/pip.conf [global]`, `default`… */
  origin: string;
  level: "command-line" | "configuration" | "default";
}

export interface BuildOptions {
  /** PEP 508 requirement strings. */
  requirements?: string[];
  /** pip-format requirements files (`-r`). */
  requirementFiles?: string[];
  /** pip-format constraints files (`-c`). */
  constraintFiles?: string[];
  /** A pyproject.toml whose dependencies are resolved (PEP 621, PEP 735 groups, Poetry). */
  pyproject?: string;
  /** A lock file installed as locked, without resolving (pylock.toml, uv.lock, poetry.lock, Pipfile.lock). */
  lock?: string;
  /** Extras of the project or lock to include (`--extra`). */
  extras?: string[];
  /** Dependency groups of the project or lock to include (`--group`). */
  groups?: string[];
  /**
   * With no requirements, pyproject or lock: look in `cwd` for an input, in the order of
   * `INPUT_FILES` (default true). `buildLayer` and `planLayer` only.
   */
  discover?: boolean;
  /** Lambda runtime identifiers; default `["python3.12"]`. */
  runtimes?: string[];
  /** Default `["x86_64"]`. */
  architectures?: string[];
  /**
   * Zip path for one output, folder for several. Default `layer.zip` / `layers/`, and for a
   * function package `function.zip` / `functions/`.
   */
  output?: string;
  /** Default `python`; `function` when `function` is given (any other layout is an error then). */
  layout?: LayoutKind;
  /**
   * Build a function package instead of a layer: the dependencies at the zip root (Lambda's
   * `/var/task`) plus the files of `function.source`. With no requirements, pyproject or lock
   * named, the input is discovered in the source folder (not `cwd`), and a source folder
   * without one builds a package of the source alone. Source files that define a dependency's
   * top-level module fail the build (`source-shadows-dependency`).
   */
  function?: FunctionSource;
  /** Normalized or not; left out of the zip, still resolved. */
  exclude?: string[];
  excludeRuntimeProvided?: boolean;
  index?: IndexOptions;
  /** Admit pre-releases everywhere. */
  pre?: boolean;
  /**
   * Resolve every package afresh. Without it, a build keeps the versions the last build of
   * the same targets, index and options chose, where they still fit (pip's only-if-needed):
   * versions move when the requirements need it or the index dropped or yanked them.
   */
  upgrade?: boolean;
  /**
   * The resolver's search budget: candidates examined per target before giving up with
   * `resolution-too-complex` (which names the conflict it could not settle). Default
   * `DEFAULT_RESOLVER_BUDGET` (200,000, pip's bound).
   */
  resolverBudget?: number;
  cacheDir?: string;
  noCache?: boolean;
  /**
   * Revalidate every cached index page with the index, even one still fresh by the
   * `Cache-Control: max-age` it was served with (PyPI sends 10 minutes).
   */
  refresh?: boolean;
  /** Resolve only; write nothing. */
  dryRun?: boolean;
  /** Remove what Lambda does not need (see `src/slim`): bytecode, test suites, stubs, dist-info extras. */
  slim?: boolean;
  /** More globs to remove (gitignore-like, relative to the site folder); implies `slim`. */
  slimPatterns?: string[];
  /** Add PEP 552 unchecked-hash `.pyc` files compiled by the local `python3.X` of each runtime. */
  compile?: boolean;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: BuildEvent) => void;
  /** Run `checkLayer` on every zip written, for the targets it serves (default false). */
  check?: boolean;
  /** With `check`, also import the layer's modules in a local interpreter (default false). */
  checkImports?: boolean;
  /**
   * pip's `--no-binary`: normalized names or `:all:` whose wheels are ignored (built from
   * the sdist instead). Merged with those of requirements files.
   */
  noBinary?: string[];
  /** pip's `--only-binary`: names or `:all:` never built from an sdist. */
  onlyBinary?: string[];
  /**
   * pip's `--prefer-binary`. Accepted for compatibility: pylayer always prefers a version
   * with a compatible wheel over a newer one that would need a source build.
   */
  preferBinary?: boolean;
  /**
   * Names (or `:all:`) whose wheels built here from source may contain compiled code:
   * used only when this machine and the build Python match the target.
   */
  allowNativeSdist?: string[];
  /** The Python that runs build backends (default: found on PATH). */
  buildPython?: string;
  /** `--config-settings KEY=VALUE` for build backends (a repeated key makes a list). */
  configSettings?: Record<string, string | string[]>;
}

/** Where a package that is not an index wheel came from. */
export interface PackageSource {
  /**
   * `sdist`: an index sdist built here; `directory`: a local project folder; `archive`: a
   * direct URL or path of an sdist; `wheel-url`: a direct URL or path of a wheel; `vcs`: a
   * git repository.
   */
  kind: "sdist" | "directory" | "archive" | "wheel-url" | "vcs";
  /** Credentials redacted; for `vcs`, pinned to the commit. */
  url: string;
  /** Asked for with `-e`: installed as a regular wheel (Lambda has no editable installs). */
  editable?: boolean;
  /** The commit a `vcs` reference resolved to. */
  commit?: string;
  /** The branch, tag or commit the reference named. */
  requestedRevision?: string;
  /** sha256 of the sdist or archive (or wheel) it came from. */
  sha256?: string;
  /** The index sdist's file name. */
  sdist?: string;
  /** `python3.11.7 (/usr/bin/python3.11)` when built here. */
  builtWith?: string;
  /** `--dry-run`: an index sdist that would be built, and was not. */
  notBuilt?: boolean;
  /**
   * How resolution read an index sdist's metadata: `static` (PEP 643 PKG-INFO), `prepared`
   * (prepare_metadata_for_build_wheel), `built` or `cached` (from the built wheel).
   */
  metadata?: "static" | "prepared" | "built" | "cached";
}

export type BuildEvent =
  | {
      type: "phase";
      phase: "resolve" | "download" | "install" | "write" | "check";
      message: string;
    }
  /** Something a person should see once, e.g. which input file was found. */
  | { type: "info"; message: string }
  | { type: "progress"; message: string }
  | { type: "warning"; message: string }
  | { type: "detail"; message: string };

export interface PlannedPackage {
  name: string;
  version: string;
  /** Wheel file name. */
  filename: string;
  /** Where the wheel comes from (credentials redacted). */
  url: string;
  sha256?: string;
  size?: number;
  /** The best wheel tag that matched the target, e.g. `cp312-cp312-manylinux_2_17_x86_64`. */
  tag: string;
  /** True for `py3-none-any`-style wheels that run anywhere. */
  pure: boolean;
  requiredBy: string[];
  /** Why the package is left out of the zip, when it is. */
  excluded?: string;
  /** Set when the wheel was built from source or named by a direct reference. */
  source?: PackageSource;
  /**
   * PEP 592: the wheel is yanked, with the index's reason ("" when it gives none). It is
   * used only because a requirement pins this exact version; the plan warns about it.
   */
  yanked?: string;
}

export interface TargetPlan {
  /** `python3.12-x86_64`. */
  id: string;
  runtime: string;
  architecture: Architecture;
  packages: PlannedPackage[];
}

export interface OutputPlan {
  path: string;
  /** Target ids this zip serves. */
  targets: string[];
  layout: LayoutKind;
  /** True when one pure-Python zip serves several targets. */
  shared: boolean;
}

/** What the plan was made from. */
export interface BuildInput {
  kind: "requirements" | "pyproject" | "pylock" | "uv" | "poetry" | "pipfile";
  /** The file, when the input is one file (absolute). */
  path?: string;
  /** True when found in the current folder rather than named by the user. */
  discovered: boolean;
}

export interface BuildPlan {
  input?: BuildInput;
  /**
   * The indexes asked, in order, and the strategy; for a plan from a lock file, where the
   * files it names without a URL are looked up. Absent when no dependency is planned (a
   * function package with no requirements).
   */
  index?: { strategy: IndexStrategy; indexes: PlannedIndex[] };
  targets: TargetPlan[];
  outputs: OutputPlan[];
  warnings: string[];
}

export interface ZipReport {
  path: string;
  size: number;
  unzippedSize: number;
  sha256: string;
  /** base64 of the raw sha256: what Lambda reports as CodeSha256. */
  sha256Base64: string;
  targets: string[];
  runtimes: string[];
  architectures: Architecture[];
  layout: LayoutKind;
  packages: { name: string; version: string; wheel: string; tag: string }[];
  excluded: { name: string; version: string; reason: string }[];
  /** Files of the wheels not installed because Lambda does not use them (C headers, …). */
  skipped?: { package: string; path: string; reason: string }[];
  /** What `slim` removed. */
  slim?: {
    files: number;
    bytes: number;
    byReason: { reason: string; files: number; bytes: number }[];
    /** Test folders kept because other files import them. */
    keptTestFolders: { path: string; importedBy: string }[];
  };
  /** For a function package: its source files and handler. */
  function?: {
    /** The source folder (absolute). */
    source: string;
    handler: string;
    files: number;
    bytes: number;
  };
  /** What `compile` added, per Python version. */
  compile?: {
    compiled: { python: string; files: number; bytes: number }[];
    /** Sources Python could not compile (shipped without bytecode). */
    failures: { path: string; python: string; message: string }[];
  };
}

export interface BuildResult {
  plan: BuildPlan;
  zips: ZipReport[];
  warnings: string[];
  durationMs: number;
  /** One per zip, in `zips` order, when `check` was asked for. */
  checks?: CheckResult[];
  /** What the build took from pylayer's cache and what it made; absent with no cache. */
  cache?: BuildCacheReport;
}

/** What a build reused from the cache (`--json`'s `cache`). */
export interface BuildCacheReport {
  /** `reused`: the resolution came from `plans-v1`; `resolved`: the resolver ran or a lock was read. */
  resolution: "reused" | "resolved";
  /**
   * Zips copied from `layers-v1`, zips assembled, and of those the ones that copied
   * unchanged records from the zip written last for the same targets, layout and timestamp.
   */
  layers: { reused: number; built: number; fromPrevious: number };
  /**
   * Wheels whose install plan came from `installs-v1`, wheels planned from their files,
   * and damaged plans evicted (and planned again).
   */
  installs: { reused: number; planned: number; evicted: number };
}
