/**
 * The common shape every lock file reader produces: for one Lambda target and the
 * requested extras and groups, the exact packages to install and the files the lock
 * records for each. Choosing the wheel, finding files on an index and downloading are
 * the build's job (src/pipeline/lock-plan.ts); readers only read.
 */
import type { Target } from "../runtime/index.js";

export type LockFormat = "pylock" | "uv" | "poetry" | "pipfile";

/** A file the lock records for a package. */
export interface LockedFile {
  filename: string;
  /** Absolute `http(s):` or `file:` URL. */
  url: string;
  /** Lowercase algorithm → lowercase hex digest, as the lock records them. */
  hashes: Record<string, string>;
  size?: number;
}

/**
 * Files the lock names (or only hashes) without a location: found on an index at build
 * time and matched by file name and hash (poetry.lock) or by hash alone (Pipfile.lock).
 */
export interface IndexLookup {
  /** Simple API root the lock names for the package; undefined: the configured index. */
  index: string | undefined;
  files: { filename?: string; hashes: Record<string, string> }[];
}

export interface LockedPackage {
  /** PEP 503 normalized. */
  name: string;
  version: string;
  /** Wheels with a location. */
  wheels: LockedFile[];
  /** Non-wheel files (sdists) by name, for "no wheel fits" messages. */
  otherFiles: string[];
  indexLookup?: IndexLookup;
  /** Why the package cannot go into a layer. */
  unsupported?: string;
  /**
   * A package the lock records by its source rather than by wheels: a local project
   * folder, a git commit or an archive, as an absolute direct-reference URL (`file://`,
   * `git+…@COMMIT#subdirectory=…`, an archive URL with `#sha256=`). Built at build time.
   */
  direct?: { url: string; editable?: boolean };
  /** A uv `virtual` project: not built or installed itself (its dependencies are). */
  virtual?: boolean;
  /** Who needs it: parent package names, or the lock section. */
  requiredBy: string[];
}

export interface LockRequest {
  /** Normalized extras (`--extra`). */
  extras: readonly string[];
  /** Normalized dependency groups (`--group`). */
  groups: readonly string[];
}

export interface LockFile {
  format: LockFormat;
  /** Absolute path. */
  path: string;
  /** Things to tell the user (e.g. an old format), not errors. */
  warnings: string[];
  /**
   * Lambda targets the lock declares it was made for (pylock `environments`), used when
   * no runtime or architecture is given. Undefined when the lock does not say.
   */
  declaredTargets?(candidates: readonly Target[]): Target[] | undefined;
  /**
   * The packages to install on `target`. Throws PylayerError when the lock cannot serve
   * the target (requires-python, environments, unknown extra/group, ambiguity).
   */
  select(target: Target, request: LockRequest): LockedPackage[];
}
