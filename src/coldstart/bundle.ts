/**
 * Runtime mode: instead of a layer, a dependency archive that `pylayer_runtime.py`
 * extracts into /tmp at cold start. The archive is the same deterministic zip as a
 * `python`-layout layer (files under `python/`, scripts under `bin/`), so extracting it
 * into `<tmp>/pylayer/<hash>/` gives `python/` as the site folder and keeps the bin/
 * launchers' relative path to it (`../python`) valid.
 */
import { randomBytes } from "node:crypto";
import { readdir, rename, rm } from "node:fs/promises";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import { PylayerError, usageError } from "../errors.js";
import { removeStaleTemporaries, writeFileAtomic } from "../files.js";
import { reportPackages } from "../pipeline/apply.js";
import { buildLayer } from "../pipeline/build.js";
import { discoverInput } from "../pipeline/inputs.js";
import { declaredLockTargets } from "../pipeline/lock-plan.js";
import type { BuildOptions, BuildPlan, ZipReport } from "../pipeline/types.js";
import { makeTarget, type Target } from "../runtime/index.js";
import { ZipReader } from "../zip/index.js";
import { RUNTIME_MODULE_NAME, renderRuntimeModule } from "./module.js";

/** Block size assumed by the space check (ext4 on Lambda's /tmp). */
const BLOCK_SIZE = 4096;
/** `deps-<first 16 hex digits of the sha256>.zip`. */
const ARCHIVE_NAME_PATTERN = /^deps-[0-9a-f]{16}\.zip$/;

export interface RuntimeBundleOptions extends Omit<BuildOptions, "output" | "layout"> {
  /** Folder for the archive and the module; default `build` (relative to `cwd`). */
  outputDir?: string;
  /** Whether the module looks for the archive next to itself first. Default true. */
  bundled?: boolean;
  /** `s3://bucket/key`; a key ending in `/` (or no key) gets the archive's name appended. */
  s3?: string;
  /** `https://…`; a URL ending in `/` gets the archive's name appended. */
  url?: string;
}

export interface ArchiveFacts {
  sha256: string;
  size: number;
  unzippedSize: number;
  /** Bytes the extracted tree takes with 4 KiB blocks, one block per folder, plus the marker. */
  diskSize: number;
  fileCount: number;
  directoryCount: number;
}

export interface RuntimeArchive extends ArchiveFacts {
  path: string;
  /** `deps-<16 hex>.zip`. */
  name: string;
}

export interface RuntimeBundleResult {
  plan: BuildPlan;
  /** `python3.12-x86_64`. */
  target: string;
  /** Absent for a dry run. */
  archive?: RuntimeArchive;
  /** Path of `pylayer_runtime.py`; absent for a dry run. */
  modulePath?: string;
  /** Where the module looks for the archive, in order. */
  sources: string[];
  packages: ZipReport["packages"];
  excluded: ZipReport["excluded"];
  /** Older `deps-*.zip` archives removed from the output folder. */
  removed: string[];
  warnings: string[];
  durationMs: number;
}

/** The single target of a runtime-mode build; the module serves one runtime on one architecture. */
export function runtimeModeTarget(
  options: Pick<BuildOptions, "runtimes" | "architectures">,
): Target {
  const runtimes = options.runtimes?.length ? options.runtimes : ["python3.12"];
  const architectures = options.architectures?.length ? options.architectures : ["x86_64"];
  if (runtimes.length > 1 || architectures.length > 1) {
    throw usageError(
      `runtime mode builds for one runtime and one architecture, not ${runtimes.join(", ")} on ${architectures.join(", ")}`,
      "Give one --runtime and one --arch: the archive serves one function.",
    );
  }
  return makeTarget(runtimes[0]!, architectures[0]!);
}

/**
 * The target of a runtime bundle: the options' runtime and architecture; without them, the
 * one target a lock file (named, or found in the folder) declares, as layer mode takes the
 * lock's targets; else the default. A lock that declares several is a usage error.
 */
async function runtimeBundleTarget(options: RuntimeBundleOptions, cwd: string): Promise<Target> {
  if (options.runtimes?.length || options.architectures?.length) return runtimeModeTarget(options);
  const named =
    options.pyproject !== undefined ||
    (options.requirements?.length ?? 0) > 0 ||
    (options.requirementFiles?.length ?? 0) > 0;
  let lockPath = options.lock === undefined ? undefined : resolvePath(cwd, options.lock);
  if (lockPath === undefined && !named && options.discover !== false) {
    const found = await discoverInput(cwd);
    if (found !== undefined && found.kind !== "requirements" && found.kind !== "pyproject") {
      lockPath = found.path;
    }
  }
  if (lockPath === undefined) return runtimeModeTarget(options);
  const declared = await declaredLockTargets(lockPath);
  if (declared.length > 1) {
    throw usageError(
      `runtime mode builds for one runtime and one architecture; ${lockPath} is locked for ${declared.map((target) => target.id).join(", ")}`,
      `Pick one with --runtime and --arch (e.g. --runtime ${declared[0]!.runtime.name} --arch ${declared[0]!.architecture}).`,
    );
  }
  return declared[0] ?? runtimeModeTarget(options);
}

/** Reads the facts the module needs from a zip's central directory and its hash. */
export async function describeArchive(path: string, sha256: string): Promise<ArchiveFacts> {
  const reader = await ZipReader.open(path);
  try {
    let unzippedSize = 0;
    let fileCount = 0;
    let directoryCount = 0;
    let fileBlocks = 0;
    for (const entry of reader.entries) {
      if (entry.isDirectory) {
        directoryCount++;
        continue;
      }
      fileCount++;
      unzippedSize += entry.uncompressedSize;
      fileBlocks += Math.ceil(entry.uncompressedSize / BLOCK_SIZE);
    }
    return {
      sha256,
      size: reader.size,
      unzippedSize,
      diskSize: (fileBlocks + directoryCount + 1) * BLOCK_SIZE,
      fileCount,
      directoryCount,
    };
  } finally {
    await reader.close();
  }
}

export function runtimeArchiveName(sha256: string): string {
  return `deps-${sha256.slice(0, 16)}.zip`;
}

/** The module's source list: the bundled file first, then S3, then HTTPS. */
export function runtimeSources(
  archiveName: string,
  options: Pick<RuntimeBundleOptions, "bundled" | "s3" | "url">,
): string[] {
  const sources: string[] = [];
  if (options.bundled !== false) sources.push(archiveName);
  if (options.s3 !== undefined) {
    const match = /^s3:\/\/([^/]+)(\/.*)?$/.exec(options.s3);
    if (match === null) {
      throw usageError(
        `${options.s3} is not an S3 location`,
        "Use s3://bucket/key or s3://bucket/prefix/.",
      );
    }
    const key = (match[2] ?? "/").slice(1);
    sources.push(
      key === "" || key.endsWith("/")
        ? `s3://${match[1]}/${key}${archiveName}`
        : `s3://${match[1]}/${key}`,
    );
  }
  if (options.url !== undefined) {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      throw usageError(
        `${options.url} is not a URL`,
        "Use https://host/path/ or https://host/path/archive.zip.",
      );
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw usageError(`${options.url} is not an https URL`, "The module downloads with https.");
    }
    if (url.username !== "" || url.password !== "") {
      throw usageError(
        "the archive URL carries credentials, which would be written into pylayer_runtime.py",
        "Use a pre-signed URL, or set PYLAYER_ARCHIVE in the function's environment.",
      );
    }
    sources.push(
      url.pathname.endsWith("/") && url.search === "" ? `${url.href}${archiveName}` : url.href,
    );
  }
  if (sources.length === 0) {
    throw usageError(
      "the module would have no place to find the archive",
      "Keep the bundled source, or give an S3 location or an https URL.",
    );
  }
  return sources;
}

/**
 * Builds the dependency archive and writes it with `pylayer_runtime.py` into the output
 * folder. Older `deps-<hash>.zip` files in that folder are removed, so that shipping the
 * folder ships one archive.
 */
export async function buildRuntimeBundle(
  options: RuntimeBundleOptions,
): Promise<RuntimeBundleResult> {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const target = await runtimeBundleTarget(options, cwd);
  const outputDir = resolveFolder(options.outputDir ?? "build", cwd);
  if (outputDir.endsWith(".zip")) {
    throw usageError(
      `runtime mode writes a folder (the archive and ${RUNTIME_MODULE_NAME}), not ${outputDir}`,
      "Give a folder with -o, e.g. -o build/.",
    );
  }
  if (options.compile === true) {
    throw usageError(
      "runtime mode does not take --compile",
      "Leave out --compile: the archive is extracted to a writable /tmp folder, where Python caches its own bytecode on the first import.",
    );
  }
  // Validate the sources before resolving, with a placeholder name.
  runtimeSources(runtimeArchiveName("0".repeat(64)), options);
  // A hidden temporary name with this process's id (see src/files.ts), ending in .zip
  // because that is how an output names one zip; renamed to its hashed name when done.
  await removeStaleTemporaries(outputDir);
  const temporary = join(
    outputDir,
    `.deps.${process.pid}.${randomBytes(6).toString("hex")}.tmp.zip`,
  );
  const { outputDir: _outputDir, bundled: _bundled, s3: _s3, url: _url, ...buildOptions } = options;
  const build = await buildLayer({
    ...buildOptions,
    runtimes: [target.runtime.name],
    architectures: [target.architecture],
    layout: "python",
    output: temporary,
    // The layer check judges a layer (the 250 MiB limit, /opt paths); the archive is not one.
    check: false,
    checkImports: false,
  });
  const warnings = [...build.warnings];
  const base = {
    plan: build.plan,
    target: target.id,
    packages: [] as ZipReport["packages"],
    excluded: [] as ZipReport["excluded"],
    removed: [] as string[],
    warnings,
  };
  if (options.dryRun) {
    const targetPlan = build.plan.targets[0]!;
    return {
      ...base,
      sources: runtimeSources(runtimeArchiveName("0".repeat(64)), options),
      ...reportPackages(targetPlan.packages),
      durationMs: performance.now() - started,
    };
  }
  const zip = build.zips[0]!;
  let archive: RuntimeArchive;
  try {
    const facts = await describeArchive(zip.path, zip.sha256);
    const name = runtimeArchiveName(zip.sha256);
    const path = join(outputDir, name);
    await rename(zip.path, path);
    archive = { ...facts, path, name };
  } catch (error) {
    await rm(temporary, { force: true });
    throw writeError(outputDir, error);
  }
  if (options.url?.startsWith("http://")) {
    warnings.push(
      `${options.url} is plain http: the module refuses it unless PYLAYER_ALLOW_HTTP=1 is set in the function's environment`,
    );
  }
  const sources = runtimeSources(archive.name, options);
  const modulePath = join(outputDir, RUNTIME_MODULE_NAME);
  const [major, minor] = target.runtime.python;
  try {
    await writeFileAtomic(
      modulePath,
      renderRuntimeModule({
        sha256: archive.sha256,
        archiveName: archive.name,
        archiveSize: archive.size,
        unzippedSize: archive.unzippedSize,
        diskSize: archive.diskSize,
        fileCount: archive.fileCount,
        sources,
        targetId: target.id,
        pythonVersion: `${major}.${minor}`,
        architecture: target.architecture,
        packages: zip.packages,
      }),
    );
  } catch (error) {
    throw writeError(outputDir, error);
  }
  const removed: string[] = [];
  for (const entry of await readdir(outputDir)) {
    if (entry !== archive.name && ARCHIVE_NAME_PATTERN.test(entry)) {
      await rm(join(outputDir, entry), { force: true });
      removed.push(join(outputDir, entry));
    }
  }
  return {
    ...base,
    archive,
    modulePath,
    sources,
    packages: zip.packages,
    excluded: zip.excluded,
    removed,
    durationMs: performance.now() - started,
  };
}

function resolveFolder(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolvePath(cwd, path);
}

function writeError(outputDir: string, error: unknown): PylayerError {
  if (error instanceof PylayerError) return error;
  return new PylayerError(
    "write-failed",
    `could not write the runtime bundle into ${outputDir}: ${(error as Error).message}`,
    { hint: "Check that the folder is writable and the disk has room.", cause: error },
  );
}
