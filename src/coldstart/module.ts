/**
 * `pylayer_runtime.py` for one archive: the module's source (`pylayer_runtime.py` in this
 * folder, a stdlib-only program for CPython 3.9–3.14) with its configuration block replaced
 * by the archive's facts. The output depends only on the configuration, so regenerating for
 * the same archive gives the same bytes.
 */
import { pythonLiteral, pythonSource, withParameters } from "../python-sources.js";
import type { Architecture } from "../runtime/index.js";

export const RUNTIME_MODULE_NAME = "pylayer_runtime.py";

/** What the module knows about its archive, fixed at generation time. */
export interface RuntimeModuleConfig {
  /** Hex SHA-256 of the archive; its first 16 digits name the extracted folder. */
  sha256: string;
  /** The archive's file name, e.g. `deps-0123456789abcdef.zip`. */
  archiveName: string;
  /** Bytes of the zip (the download needs this much room). */
  archiveSize: number;
  /** Sum of the uncompressed sizes of its files. */
  unzippedSize: number;
  /** Bytes the extracted tree takes with 4 KiB blocks (what the space check asks for). */
  diskSize: number;
  fileCount: number;
  /**
   * Where the module looks for the archive, in order: file paths (relative to the module's
   * folder or LAMBDA_TASK_ROOT), `s3://bucket/key`, `https://…` URLs.
   */
  sources: string[];
  /** The target the archive was built for (`python3.12-x86_64`). */
  targetId: string;
  /** `3.12`. */
  pythonVersion: string;
  architecture: Architecture;
  packages: { name: string; version: string }[];
}

export function renderRuntimeModule(config: RuntimeModuleConfig): string {
  if (!/^[0-9a-f]{64}$/.test(config.sha256)) {
    throw new Error(`renderRuntimeModule: ${config.sha256} is not a hex sha256`);
  }
  const packages = Object.fromEntries(
    [...config.packages]
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((item) => [item.name, item.version]),
  );
  const lines = [
    `# Configuration written by pylayer for ${config.targetId}.`,
    `ARCHIVE_SHA256 = ${pythonLiteral(config.sha256)}`,
    `ARCHIVE_NAME = ${pythonLiteral(config.archiveName)}`,
    `ARCHIVE_SIZE = ${config.archiveSize}`,
    `UNZIPPED_SIZE = ${config.unzippedSize}`,
    "# Bytes the extracted tree takes on a file system with 4 KiB blocks.",
    `DISK_SIZE = ${config.diskSize}`,
    `FILE_COUNT = ${config.fileCount}`,
    "# Tried in order; a missing file is skipped, as is a source that cannot be read.",
    `SOURCES = ${pythonLiteral(config.sources)}`,
    `TARGET_PYTHON = ${pythonLiteral(config.pythonVersion)}`,
    `TARGET_ARCHITECTURE = ${pythonLiteral(config.architecture)}`,
    `PACKAGES = ${pythonLiteral(packages)}`,
  ];
  return withParameters(pythonSource("coldstart/pylayer_runtime.py"), lines);
}
