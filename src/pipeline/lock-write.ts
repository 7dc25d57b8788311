/**
 * `lockLayer` (pylock.toml) and `exportRequirements` (pinned requirements with hashes):
 * plan as a build would, then write down what the plan chose instead of installing it.
 * `pylayer build --lock` of the written pylock.toml selects the same wheels, so it
 * produces the same zip byte for byte.
 */
import { mkdir, stat } from "node:fs/promises";
import { dirname, isAbsolute, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";
import { hasSecretQuery } from "../errors.js";
import { writeFileAtomic } from "../files.js";
import type { DistributionFile, IndexClient } from "../index/index.js";
import { stripCredentials } from "../index/index.js";
import {
  type ExportPackageInput,
  formatPylock,
  formatRequirements,
  type LockPackageInput,
  type LockWheelInput,
} from "../lock/index.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import type { Target } from "../runtime/index.js";
import { isWheelFilename, parseWheelFilename, TagSelector } from "../tags/index.js";
import { parseVcsUrl } from "../vcs/index.js";
import { planLayer } from "./inputs.js";
import { absolute, type PlanContext } from "./plan.js";
import type { BuildOptions, BuildPlan, PackageSource } from "./types.js";

export interface LockLayerOptions extends Omit<BuildOptions, "output" | "dryRun"> {
  /** Where to write the lock (default `pylock.toml` in `cwd`). Relative wheel paths are relative to it. */
  output?: string;
  /** Write the file (default true); false only returns the text. */
  write?: boolean;
}

export interface LockLayerResult {
  /** The lock file path (absolute), written unless `write` was false. */
  path: string;
  text: string;
  plan: BuildPlan;
  durationMs: number;
}

interface Grouped {
  name: string;
  version: string;
  targets: string[];
  files: Map<string, DistributionFile>;
  parents: Set<string>;
  source?: PackageSource;
}

function groupPackages(plan: BuildPlan, context: PlanContext): Map<string, Grouped> {
  const groups = new Map<string, Grouped>();
  for (const target of plan.targets) {
    for (const item of target.packages) {
      const key = `${item.name}==${item.version}`;
      let group = groups.get(key);
      if (group === undefined) {
        group = {
          name: item.name,
          version: item.version,
          targets: [],
          files: new Map(),
          parents: new Set(),
        };
        groups.set(key, group);
      }
      group.targets.push(target.id);
      if (item.source !== undefined) group.source = item.source;
      const file = context.files.get(item.filename);
      if (file !== undefined) group.files.set(file.filename, file);
      for (const parent of item.requiredBy) group.parents.add(parent);
    }
  }
  return groups;
}

function clientOf(context: PlanContext, filename: string): IndexClient {
  return context.clients?.get(filename) ?? context.client;
}

/** sha256 and size of a wheel: as announced, else measured on the downloaded file. */
async function measure(
  file: DistributionFile,
  context: PlanContext,
): Promise<{ sha256: string; size: number }> {
  if (file.hashes.sha256 !== undefined && file.size !== undefined) {
    return { sha256: file.hashes.sha256.toLowerCase(), size: file.size };
  }
  const { path, sha256 } = await clientOf(context, file.filename).download(file);
  return { sha256, size: file.size ?? (await stat(path)).size };
}

/** A local wheel's path for the lock: relative (POSIX) inside the lock's folder, else absolute. */
function lockPath(path: string, folder: string): string {
  const inside = relative(folder, path);
  if (inside.startsWith("..") || isAbsolute(inside)) return path.split(sep).join("/");
  return inside.split(sep).join("/");
}

export async function lockLayer(options: LockLayerOptions): Promise<LockLayerResult> {
  const started = performance.now();
  const cwd = options.cwd ?? process.cwd();
  const output = absolute(options.output ?? "pylock.toml", cwd);
  const { output: _output, write, ...buildOptions } = options;
  const { plan, context } = await planLayer({ ...buildOptions, discoverLocks: false });
  const groups = groupPackages(plan, context);
  const planned = new Set([...groups.values()].map((group) => group.name));
  const dependencies = new Map<string, Set<string>>();
  for (const group of groups.values()) {
    for (const parent of group.parents) {
      if (!planned.has(parent)) continue;
      const set = dependencies.get(parent) ?? new Set<string>();
      set.add(group.name);
      dependencies.set(parent, set);
    }
  }
  const folder = dirname(output);
  const packages: LockPackageInput[] = await Promise.all(
    [...groups.values()].map(async (group): Promise<LockPackageInput> => {
      const wheels = await Promise.all(
        [...group.files.values()].map(async (file): Promise<LockWheelInput> => {
          const { sha256, size } = await measure(file, context);
          const location = file.url.startsWith("file:")
            ? { path: lockPath(fileURLToPath(file.url.replace(/#.*$/, "")), folder) }
            : { url: stripCredentials(file.url) };
          return { filename: file.filename, ...location, size, sha256 };
        }),
      );
      return {
        name: group.name,
        version: group.version,
        targets: group.targets,
        wheels,
        dependencies: [...(dependencies.get(group.name) ?? [])],
        ...(group.source === undefined
          ? {}
          : { source: lockSource(recordedSource(group, context, options), folder) }),
      };
    }),
  );
  const text = formatPylock(context.targets, packages);
  if (write !== false) {
    await mkdir(folder, { recursive: true });
    await writeFileAtomic(output, text);
  }
  return { path: output, text, plan, durationMs: performance.now() - started };
}

/**
 * A package's source with the URL a lock or export records (`SourceBuilds.lockUrl`: no
 * user-info, query kept as written), warning when that URL carries a secret-looking query
 * parameter: the user wrote it, and the lock will hold it too.
 */
function recordedSource(
  group: Grouped,
  context: PlanContext,
  options: Pick<BuildOptions, "onEvent">,
): PackageSource {
  const source = group.source!;
  const url = context.sources?.lockUrl(source.url) ?? source.url;
  if (hasSecretQuery(url)) {
    options.onEvent?.({
      type: "warning",
      message: `${group.name} ${group.version}: ${source.url} is recorded with its query string as written, secret included; anyone who reads the file can use it (prefer credentials from netrc or the index settings)`,
    });
  }
  return { ...source, url };
}

/**
 * The PEP 751 table of a package built from source: git pinned to the commit it resolved
 * to, a folder by its path from the lock, an archive or sdist by URL (or path) and sha256.
 */
function lockSource(
  source: PackageSource,
  folder: string,
): NonNullable<LockPackageInput["source"]> {
  const location = (url: string) =>
    url.startsWith("file:")
      ? { path: lockPath(fileURLToPath(url.replace(/#.*$/, "")), folder) }
      : { url: url.replace(/#.*$/, "") };
  const hashes = source.sha256 === undefined ? {} : { hashes: { sha256: source.sha256 } };
  switch (source.kind) {
    case "vcs": {
      const reference = parseVcsUrl(source.url);
      return {
        key: "vcs",
        table: {
          type: "git",
          ...(reference.repository.startsWith("file:")
            ? { path: lockPath(fileURLToPath(reference.repository), folder) }
            : { url: reference.repository }),
          ...(source.requestedRevision === undefined
            ? {}
            : { "requested-revision": source.requestedRevision }),
          "commit-id": source.commit,
          ...(reference.subdirectory === undefined ? {} : { subdirectory: reference.subdirectory }),
        },
      };
    }
    case "directory":
      return {
        key: "directory",
        table: { ...location(source.url), ...(source.editable === true ? { editable: true } : {}) },
      };
    case "sdist":
      return {
        key: "sdist",
        table: {
          ...(source.sdist === undefined ? {} : { name: source.sdist }),
          ...location(source.url),
          ...hashes,
        },
      };
    default:
      return { key: "archive", table: { ...location(source.url), ...hashes } };
  }
}

export interface ExportRequirementsResult {
  text: string;
  plan: BuildPlan;
  durationMs: number;
}

/** Whether `file` is a wheel of exactly `version` that runs on one of `targets`. */
function usableBy(
  file: DistributionFile,
  version: string,
  targets: readonly Target[],
  selectors: Map<string, TagSelector>,
): boolean {
  if (!isWheelFilename(file.filename)) return false;
  let wheel: ReturnType<typeof parseWheelFilename>;
  try {
    wheel = parseWheelFilename(file.filename);
  } catch {
    return false;
  }
  const wheelVersion = Version.tryParse(wheel.version);
  const wanted = Version.tryParse(version);
  if (wheelVersion === null || wanted === null || !wheelVersion.equals(wanted)) return false;
  return targets.some((target) => {
    if (file.requiresPython !== undefined && file.requiresPython.trim() !== "") {
      try {
        if (
          !SpecifierSet.parse(file.requiresPython).contains(target.runtime.pythonFullVersion, {
            prereleases: true,
          })
        )
          return false;
      } catch {
        // An unparseable Requires-Python is ignored, as in resolution.
      }
    }
    let selector = selectors.get(target.id);
    if (selector === undefined) {
      selector = new TagSelector(target);
      selectors.set(target.id, selector);
    }
    return selector.check(wheel).compatible;
  });
}

/**
 * Pinned requirements for pip: `name==version` with the sha256 of every wheel of that
 * version usable on the targets that install it, and a marker where only some do.
 */
export async function exportRequirements(
  options: Omit<BuildOptions, "dryRun">,
): Promise<ExportRequirementsResult> {
  const started = performance.now();
  const { plan, context } = await planLayer({ ...options, output: undefined });
  const groups = groupPackages(plan, context);
  const selectors = new Map<string, TagSelector>();
  const cwd = options.cwd ?? process.cwd();
  const packages: ExportPackageInput[] = await Promise.all(
    [...groups.values()].map(async (group): Promise<ExportPackageInput> => {
      const targets = context.targets.filter((target) => group.targets.includes(target.id));
      if (group.source !== undefined && group.source.kind !== "sdist") {
        return {
          name: group.name,
          version: group.version,
          targets: group.targets,
          ...exportDirect(recordedSource(group, context, options), cwd),
        };
      }
      const hashes = new Set<string>();
      if (group.source?.kind === "sdist") {
        // The wheel built here is on no index: the sdist's hash is what pip will check.
        if (group.source.sha256 !== undefined) hashes.add(group.source.sha256.toLowerCase());
      } else {
        for (const file of group.files.values()) hashes.add((await measure(file, context)).sha256);
      }
      const listed =
        context.lockedFiles?.get(`${group.name}==${group.version}`) ??
        (await context.client.getFiles(group.name).catch(() => [] as DistributionFile[]));
      for (const file of listed) {
        const sha256 = file.hashes.sha256;
        if (sha256 !== undefined && usableBy(file, group.version, targets, selectors)) {
          hashes.add(sha256.toLowerCase());
        }
      }
      return {
        name: group.name,
        version: group.version,
        targets: group.targets,
        sha256: [...hashes],
      };
    }),
  );
  return {
    text: formatRequirements(context.targets, packages),
    plan,
    durationMs: performance.now() - started,
  };
}

/**
 * The requirement line of a package from a direct reference (PEP 508/440 direct
 * references, as pip reads them): git pinned to the commit it resolved to, an archive or
 * wheel by URL with its sha256, a local project by its path from `cwd` (`./libs/common`,
 * which pip reads relative to where it runs) or, outside `cwd`, its `file:` URL. Folders
 * and git checkouts carry no hash (pip's hash-checking mode refuses them).
 */
function exportDirect(
  source: PackageSource,
  cwd: string,
): Pick<ExportPackageInput, "direct" | "sha256"> {
  switch (source.kind) {
    case "vcs":
      return { direct: { url: source.url }, sha256: [] };
    case "directory": {
      const path = fileURLToPath(source.url);
      const inside = relative(cwd, path);
      return inside.startsWith("..") || isAbsolute(inside)
        ? { direct: { url: source.url }, sha256: [] }
        : { direct: { path: `./${inside.split(sep).join("/")}` }, sha256: [] };
    }
    default:
      return {
        direct: { url: source.url.replace(/#.*$/, "") },
        sha256: source.sha256 === undefined ? [] : [source.sha256.toLowerCase()],
      };
  }
}
