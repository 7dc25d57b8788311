/**
 * The `bundling` prop of the CDK constructs: pylayer's own build options in camelCase
 * (not Docker options), and how each one becomes a `pylayer build` flag. Pure data: no
 * aws-cdk-lib here, so the mapping is testable on its own.
 */
import type { AssetHashType } from "aws-cdk-lib";
import type { IndexStrategy } from "../index/types.js";

/**
 * pylayer's build options. Relative paths (files, `findLinks` folders, `cacheDir`) are
 * relative to the construct's `entry`, where pylayer runs. With none of `requirements`,
 * `requirementFiles`, `pyproject` or `lock`, pylayer finds the input in `entry` as
 * `pylayer build` does: pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml,
 * then requirements.txt. `pylayer.toml` or `[tool.pylayer]` in `entry` hold defaults.
 */
export interface BundlingOptions {
  /**
   * PEP 508 requirements to install. Naming any input turns discovery off, so list
   * `requirementFiles: ["requirements.txt"]` too to add to a requirements file.
   */
  readonly requirements?: string[];
  /** pip requirements files (`-r`). */
  readonly requirementFiles?: string[];
  /** pip constraints files (`-c`). */
  readonly constraintFiles?: string[];
  /** A pyproject.toml whose dependencies are resolved (PEP 621, PEP 735 groups, Poetry). */
  readonly pyproject?: string;
  /** A lock file installed exactly as locked: pylock.toml, uv.lock, poetry.lock or Pipfile.lock. */
  readonly lock?: string;
  /** Extras of the project or lock to include. */
  readonly extras?: string[];
  /** Dependency groups of the project or lock to include (dev groups are left out otherwise). */
  readonly groups?: string[];

  /** Package index (PEP 503/691); default from pip/uv settings and environment, else PyPI. */
  readonly indexUrl?: string;
  /** More indexes, asked before `indexUrl`; which one a project comes from is `indexStrategy`'s choice. */
  readonly extraIndexUrls?: string[];
  /**
   * How several indexes are used (uv's names): `first-index` (default; each project comes
   * only from the first index that has it, which protects against dependency confusion),
   * `unsafe-first-match` or `unsafe-best-match` (every index is consulted, as pip does).
   */
  readonly indexStrategy?: IndexStrategy;
  /** Folders or pages of wheels to consider too. */
  readonly findLinks?: string[];
  /** Use only `findLinks`. */
  readonly noIndex?: boolean;
  /** Allow pre-release versions. */
  readonly pre?: boolean;

  /**
   * Projects built from their sdist even when a wheel exists (`:all:` for every one). Source
   * builds need the runtime's `python3.X` on the synth machine; see README "Source distributions".
   */
  readonly noBinary?: string[];
  /** Projects that must come as wheels, never built from an sdist (`:all:` for every one). */
  readonly onlyBinary?: string[];
  /** Prefer an older wheel to a newer sdist. */
  readonly preferBinary?: boolean;
  /** Projects whose sdists with compiled code may be built on this machine (its glibc and CPU must fit the runtime). */
  readonly allowNativeSdist?: string[];
  /** The Python that runs build backends (default: the runtime's `python3.X` on PATH). */
  readonly buildPython?: string;
  /** PEP 517 `config_settings` for build backends, `KEY=VALUE`. */
  readonly configSettings?: string[];

  /** Packages to leave out of the zip (still resolved). */
  readonly exclude?: string[];
  /** Leave out boto3, botocore, s3transfer and jmespath (the runtime has them). */
  readonly excludeRuntimeProvided?: boolean;
  /**
   * `PythonFunction` only: more gitignore-like globs of files or folders of `entry` to leave
   * out of the function zip (VCS folders, `__pycache__`, virtual environments,
   * `node_modules`, `cdk.out` are always left out).
   */
  readonly sourceExclude?: string[];
  /** Layers only: `python` (default) or `site-packages` (`python/lib/python3.X/site-packages/`). */
  readonly layout?: "python" | "site-packages";
  /** Layers only: remove what Lambda does not need: bytecode, unimported test suites, stubs, dist-info extras. */
  readonly slim?: boolean;
  /** Layers only: more files or folders to remove (gitignore-like globs); implies `slim`. */
  readonly slimPatterns?: string[];
  /** Layers only: add PEP 552 unchecked-hash `.pyc` files; needs the local `python3.X` of the runtime at synth time. */
  readonly compile?: boolean;

  /** Cache folder (default: `PYLAYER_CACHE_DIR` or the platform cache folder). */
  readonly cacheDir?: string;
  /** Neither read nor write the cache. */
  readonly noCache?: boolean;
  /** Revalidate every cached index page with the index. */
  readonly refresh?: boolean;
  /** Check the zip (layout, ELF files, sizes) and fail the synth on errors (default true). */
  readonly check?: boolean;
  /** Also import every top-level module with the local `python3.X` (default false). */
  readonly checkImports?: boolean;

  /** Environment variables for pylayer on top of the synth process's (e.g. `PIP_INDEX_URL`). */
  readonly environment?: Record<string, string>;
  /**
   * How the asset hash is computed. Default `AssetHashType.OUTPUT`: the hash of the zip
   * pylayer writes, which is byte-deterministic, so unchanged dependencies give the same
   * asset (and no new layer or function version).
   */
  readonly assetHashType?: AssetHashType;
  /** A hash of your own (with `AssetHashType.CUSTOM` or no `assetHashType`). */
  readonly assetHash?: string;
}

type FlagOptions = Omit<BundlingOptions, "environment" | "assetHashType" | "assetHash">;

/** Each option's `pylayer build` flag; `requirements` are positional arguments. */
const FLAGS: { [Key in Exclude<keyof FlagOptions, "requirements" | "check">]-?: string } = {
  requirementFiles: "--requirement",
  constraintFiles: "--constraint",
  pyproject: "--pyproject",
  lock: "--lock",
  extras: "--extra",
  groups: "--group",
  indexUrl: "--index-url",
  extraIndexUrls: "--extra-index-url",
  indexStrategy: "--index-strategy",
  findLinks: "--find-links",
  noIndex: "--no-index",
  pre: "--pre",
  noBinary: "--no-binary",
  onlyBinary: "--only-binary",
  preferBinary: "--prefer-binary",
  allowNativeSdist: "--allow-native-sdist",
  buildPython: "--build-python",
  configSettings: "--config-settings",
  exclude: "--exclude",
  sourceExclude: "--source-exclude",
  excludeRuntimeProvided: "--exclude-runtime-provided",
  layout: "--layout",
  slim: "--slim",
  slimPatterns: "--slim-pattern",
  compile: "--compile",
  cacheDir: "--cache-dir",
  noCache: "--no-cache",
  refresh: "--refresh",
  checkImports: "--check-imports",
};

/** The `pylayer build` arguments for `options` (targets and output are added by the caller). */
export function buildArguments(options: BundlingOptions = {}): string[] {
  const args: string[] = [];
  for (const [key, flag] of Object.entries(FLAGS) as [keyof typeof FLAGS, string][]) {
    const value = options[key];
    if (value === undefined || value === false) continue;
    if (value === true) args.push(flag);
    else if (Array.isArray(value)) for (const item of value) args.push(`${flag}=${item}`);
    else args.push(`${flag}=${value}`);
  }
  if (options.check === false) args.push("--no-check");
  // After `--` so that a requirement is never read as a flag.
  if (options.requirements?.length) args.push("--", ...options.requirements);
  return args;
}
