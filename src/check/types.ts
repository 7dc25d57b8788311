/**
 * The data of a layer check: what a caller asks for (`CheckOptions`), each problem found
 * (`Finding`, with a stable `code`) and the whole report (`CheckResult`, serializable,
 * printed by `pylayer check --json`).
 */

export type Severity = "error" | "warning" | "info";

/**
 * Stable finding codes. Scripts and `--json` consumers match on these; never rename one.
 * Grouped by the part of the check that produces them.
 */
export const FINDING_CODES = {
  // The zip itself: every entry inflates to its recorded length and CRC-32.
  corruptEntry: "corrupt-entry",
  // Layout (where files sit in the zip).
  layoutRootPackage: "layout-root-package",
  layoutOtherPythonVersion: "layout-other-python-version",
  layoutNothingImportable: "layout-nothing-importable",
  pycacheOtherVersion: "pycache-other-version",
  timestampPyc: "timestamp-pyc",
  // Native code (ELF files read statically).
  notElf: "not-elf",
  elfUnreadable: "elf-unreadable",
  elfWrongMachine: "elf-wrong-machine",
  glibcTooNew: "glibc-too-new",
  glibcxxTooNew: "glibcxx-too-new",
  cxxabiTooNew: "cxxabi-too-new",
  libstdcxxUnverified: "libstdcxx-unverified",
  libraryMissing: "library-missing",
  libraryUnverified: "library-unverified",
  libraryNotOnSearchPath: "library-not-on-search-path",
  // Python level (dist-info, modules, extension names).
  recordMissing: "record-missing",
  metadataMissing: "metadata-missing",
  recordFileMissing: "record-file-missing",
  topLevelMissing: "top-level-missing",
  fileOverwritten: "file-overwritten",
  extensionAbiMismatch: "extension-abi-mismatch",
  foreignExtension: "foreign-extension",
  // Import test.
  importFailed: "import-failed",
  importNeedsRuntimePackage: "import-needs-runtime-package",
  importTestSkipped: "import-test-skipped",
  // Sizes.
  sizeSummary: "size-summary",
  sizeZippedOverDirectUpload: "size-zipped-over-direct-upload",
  sizeUnzippedOverLimit: "size-unzipped-over-limit",
  sizeUnzippedNearLimit: "size-unzipped-near-limit",
  // Function packages and the layers they run with.
  handlerNotFound: "handler-not-found",
  handlerImportFailed: "handler-import-failed",
  sourceShadowsDependency: "source-shadows-dependency",
  sourceShadowsLayerPackage: "source-shadows-layer-package",
  sizeTotal: "size-total",
  sizeTotalOverLimit: "size-total-over-limit",
  versionSkew: "version-skew",
  duplicatePackage: "duplicate-package",
  // How the check was set up.
  targetAssumed: "target-assumed",
} as const;

export type FindingCode = (typeof FINDING_CODES)[keyof typeof FINDING_CODES];

export interface Finding {
  code: FindingCode;
  severity: Severity;
  message: string;
  /** What to do about it. */
  hint?: string;
  /** Path inside the zip the finding is about. */
  file?: string;
  /** The distribution that installed `file` (from the RECORD files), as `name version`. */
  package?: string;
  /** Target id (`python3.11-x86_64`) the finding applies to; absent when it applies to all. */
  target?: string;
  /** Structured facts for `--json` (versions needed, sizes, …). */
  details?: Record<string, unknown>;
}

export interface CheckOptions {
  /**
   * What the zip is: a layer (extracted to /opt) or a function package (extracted to
   * /var/task). Default: the pylayer manifest's layout; for a zip without one, `function`
   * when `layers` or `handler` are given, else `layer`.
   */
  kind?: "layer" | "function";
  /**
   * A function package's handler, `module.function`; default the manifest's, else Lambda's
   * default `lambda_function.lambda_handler` (whose absence is only a warning).
   */
  handler?: string;
  /**
   * Layer zips the function runs with, in the function's order (at most 5): their size
   * counts toward the 250 MB limit, packages in several places are compared, and the
   * import test extracts them into its /opt.
   */
  layers?: string[];
  /** Lambda runtime to check against; default: the runtimes in the zip's pylayer manifest. */
  runtimes?: string[];
  /** Architectures; default: the manifest's, else x86_64 (reported as assumed). */
  architectures?: string[];
  /** Modules to import in the import test; default: every top-level module of the layer. */
  imports?: string[];
  /** `false` skips the import test; default: run it where the machine can. */
  importTest?: boolean;
  /** Interpreter to use for the import test instead of searching for `python3.X`. */
  python?: string;
  /** Seconds one module import may take in the import test (default 60). */
  importTimeoutSeconds?: number;
  /** Environment used to find interpreters (PATH, PYENV_ROOT, HOME). */
  env?: NodeJS.ProcessEnv;
  /**
   * pylayer's cache folder: the static result of a zip checked before (same bytes, targets,
   * kind, handler and layers) is reused from it, and a new one is stored. Default: none.
   */
  cacheDir?: string;
  onEvent?: (event: CheckEvent) => void;
}

/** Progress, and warnings that are not findings (a damaged cache entry, recomputed). */
export type CheckEvent = { type: "progress" | "warning"; message: string };

export interface SizeReport {
  zipped: number;
  unzipped: number;
  /** Lambda's direct-upload limit for a zip, in bytes. */
  zippedLimit: number;
  /** Lambda's unzipped limit for a function and all its layers, in bytes. */
  unzippedLimit: number;
  /** Percentages of the limits, one decimal. */
  zippedPercent: number;
  unzippedPercent: number;
  /** Bytes left under the unzipped limit for the function code and other layers. */
  unzippedRoom: number;
}

export interface ImportOutcome {
  module: string;
  ok: boolean;
  /** Last line of the traceback when the import failed. */
  error?: string;
  /** Distribution the module belongs to, as `name version`. */
  package?: string;
}

export interface ImportTestReport {
  target: string;
  ran: boolean;
  /** Why it did not run, and what it would need. */
  reason?: string;
  interpreter?: string;
  outcomes: ImportOutcome[];
}

export interface CheckResult {
  path: string;
  kind: "layer" | "function";
  /** The layers checked with a function package, as given. */
  layers?: string[];
  /** Target ids checked, e.g. `python3.11-x86_64`. */
  targets: string[];
  /** True when no finding has severity `error`. */
  ok: boolean;
  counts: Record<Severity, number>;
  findings: Finding[];
  sizes: SizeReport;
  importTests: ImportTestReport[];
  /** ELF files read, for the summary. */
  elfFiles: number;
  durationMs: number;
  /**
   * What the cache of check results did, when one was used: the static result reused
   * (`reused`) or computed, and how many wheels' facts were reused or read.
   */
  cache?: { result: "reused" | "computed"; wheelsReused: number; wheelsRead: number };
}
