import { dirname, join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { z } from "zod";
import { PylayerError } from "../errors.js";
import { pathExists } from "../files.js";
import { Version } from "../pep440/index.js";
import {
  evaluateMarker,
  type Marker,
  normalizeName,
  parseRequirement,
  type Requirement,
} from "../pep508/index.js";
import { dependencyGroupNames, expandDependencyGroup } from "../pyproject/dependency-groups.js";
import { isTable, parseTomlText, readTextFile, readTomlFile, validate } from "../pyproject/toml.js";
import { markerEnvironment, type Target } from "../runtime/index.js";
import { isWheelFilename } from "../tags/index.js";
import { vcsUrl } from "../vcs/index.js";
import {
  checkLockRequiresPython,
  filenameFromLocation,
  LOCK_HINT,
  locationToUrl,
  parseHashString,
  parseLockMarker,
  unknownSelection,
} from "./common.js";
import type { LockedFile, LockedPackage, LockFile, LockRequest } from "./types.js";

const SourceSchema = z.object({
  registry: z.string().optional(),
  git: z.string().optional(),
  url: z.string().optional(),
  path: z.string().optional(),
  directory: z.string().optional(),
  editable: z.string().optional(),
  virtual: z.string().optional(),
  subdirectory: z.string().optional(),
});

const DependencySchema = z.object({
  name: z.string(),
  version: z.string().optional(),
  source: SourceSchema.optional(),
  extra: z.array(z.string()).default([]),
  marker: z.string().optional(),
});

const ArtifactSchema = z.object({
  url: z.string().optional(),
  path: z.string().optional(),
  filename: z.string().optional(),
  hash: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
});

const RequirementSchema = z.looseObject({
  name: z.string(),
  specifier: z.string().optional(),
  marker: z.string().optional(),
  extras: z.array(z.string()).optional(),
});

const PackageSchema = z.object({
  name: z.string(),
  version: z.string().optional(),
  source: SourceSchema,
  dependencies: z.array(DependencySchema).default([]),
  "optional-dependencies": z.record(z.string(), z.array(DependencySchema)).default({}),
  "dev-dependencies": z.record(z.string(), z.array(DependencySchema)).optional(),
  "dependency-groups": z.record(z.string(), z.array(DependencySchema)).optional(),
  sdist: ArtifactSchema.optional(),
  wheels: z.array(ArtifactSchema).default([]),
  metadata: z
    .object({
      "requires-dist": z.array(RequirementSchema).default([]),
      "requires-dev": z.record(z.string(), z.array(RequirementSchema)).optional(),
      "dependency-groups": z.record(z.string(), z.array(RequirementSchema)).optional(),
      "provides-extras": z.array(z.string()).optional(),
    })
    .optional(),
});

const UvLockSchema = z.object({
  version: z.number(),
  revision: z.number().optional(),
  "requires-python": z.string().optional(),
  manifest: z
    .object({
      members: z.array(z.string()).default([]),
      requirements: z.array(RequirementSchema).default([]),
      "dependency-groups": z.record(z.string(), z.array(RequirementSchema)).default({}),
    })
    .optional(),
  package: z.array(PackageSchema).default([]),
});

type UvPackage = z.infer<typeof PackageSchema>;
type UvDependency = z.infer<typeof DependencySchema>;
type UvRequirement = z.infer<typeof RequirementSchema>;

const SUPPORTED_VERSION = 1;

export interface ReadLockOptions {
  /** Compare the lock with the pyproject.toml next to it (default true). */
  checkFresh?: boolean;
}

export async function readUvLock(path: string, options: ReadLockOptions = {}): Promise<LockFile> {
  const lock = parseUvLock(await readTextFile(path, "lock file"), path);
  if (options.checkFresh !== false) {
    const pyprojectPath = join(dirname(path), "pyproject.toml");
    if (await pathExists(pyprojectPath)) {
      checkUvFreshness(
        lock.root,
        await readTomlFile(pyprojectPath, "pyproject.toml"),
        path,
        pyprojectPath,
      );
    }
  }
  return lock.file;
}

interface Node {
  entry: UvPackage;
  index: number;
  name: string;
}

function sourceKind(source: z.infer<typeof SourceSchema>): string {
  for (const key of [
    "registry",
    "git",
    "url",
    "path",
    "directory",
    "editable",
    "virtual",
  ] as const) {
    if (source[key] !== undefined) return key;
  }
  return "unknown";
}

function sameSource(a: z.infer<typeof SourceSchema>, b: z.infer<typeof SourceSchema>): boolean {
  const key = (source: z.infer<typeof SourceSchema>) =>
    JSON.stringify(Object.entries(source).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)));
  return key(a) === key(b);
}

export function parseUvLock(
  text: string,
  path: string,
): { file: LockFile; root: UvPackage | undefined } {
  const raw = parseTomlText(text, path);
  if (typeof raw.version === "number" && raw.version !== SUPPORTED_VERSION) {
    throw new PylayerError(
      "lock-version-unsupported",
      `${path} uses uv.lock schema version ${raw.version}; pylayer reads version ${SUPPORTED_VERSION}`,
      {
        hint: "Upgrade pylayer, or export the lock with `uv export --format pylock.toml` and build from that.",
      },
    );
  }
  const lock = validate(UvLockSchema, raw, path, "invalid-lock", LOCK_HINT);
  const folder = dirname(path);
  const nodes: Node[] = lock.package.map((entry, index) => ({
    entry,
    index,
    name: normalizeName(entry.name),
  }));
  const byName = new Map<string, Node[]>();
  for (const node of nodes) byName.set(node.name, [...(byName.get(node.name) ?? []), node]);
  const members = new Set((lock.manifest?.members ?? []).map(normalizeName));
  const isProject = (node: Node) => {
    const kind = sourceKind(node.entry.source);
    return kind === "editable" || kind === "virtual" || kind === "directory";
  };
  const atRoot = nodes.filter(
    (node) =>
      isProject(node) &&
      (node.entry.source.editable ?? node.entry.source.virtual ?? node.entry.source.directory) ===
        ".",
  );
  const roots: Node[] =
    atRoot.length > 0 ? atRoot : nodes.filter((node) => members.has(node.name) && isProject(node));
  const root = roots.length === 1 ? roots[0]!.entry : undefined;

  const resolveDependency = (dependency: UvDependency, from: string): Node => {
    const name = normalizeName(dependency.name);
    let candidates = byName.get(name) ?? [];
    if (dependency.version !== undefined) {
      candidates = candidates.filter((node) => node.entry.version === dependency.version);
    }
    if (dependency.source !== undefined) {
      candidates = candidates.filter((node) => sameSource(node.entry.source, dependency.source!));
    }
    if (candidates.length !== 1) {
      throw new PylayerError(
        "invalid-lock",
        `${path}: ${from} depends on ${dependency.name}${dependency.version === undefined ? "" : ` ${dependency.version}`}, which matches ${candidates.length} locked packages`,
        { hint: LOCK_HINT },
      );
    }
    return candidates[0]!;
  };
  const markerOf = (text: string | undefined, where: string): Marker | undefined =>
    text === undefined ? undefined : parseLockMarker(text, path, where);

  const file: LockFile = {
    format: "uv",
    path,
    warnings: [],
    select(target: Target, request: LockRequest): LockedPackage[] {
      checkLockRequiresPython(path, lock["requires-python"], target);
      const environment = markerEnvironment(target);
      const applies = (dependency: UvDependency, where: string) => {
        const marker = markerOf(dependency.marker, where);
        return marker === undefined || evaluateMarker(marker, environment);
      };
      const selected = new Map<number, { node: Node; parents: Set<string> }>();
      const visitedExtras = new Set<string>();
      const queue: { node: Node; extras: readonly string[]; parent: string }[] = [];
      const follow = (dependency: UvDependency, from: Node | undefined, where: string) => {
        if (!applies(dependency, where)) return;
        const node = resolveDependency(dependency, from?.entry.name ?? "the project");
        queue.push({
          node,
          extras: dependency.extra.map(normalizeName),
          parent: from === undefined ? "root" : from.name,
        });
      };

      const followAll = (dependencies: readonly UvDependency[], from: Node, where: string) => {
        dependencies.forEach((dependency, index) => {
          follow(dependency, from, `${where}[${index}]`);
        });
      };

      if (roots.length > 0) {
        const extrasKnown = new Set<string>();
        const groupsKnown = new Set<string>();
        for (const rootNode of roots) {
          for (const extra of Object.keys(rootNode.entry["optional-dependencies"]))
            extrasKnown.add(normalizeName(extra));
          for (const extra of rootNode.entry.metadata?.["provides-extras"] ?? [])
            extrasKnown.add(normalizeName(extra));
          for (const group of Object.keys(devDependencies(rootNode.entry)))
            groupsKnown.add(normalizeName(group));
          for (const group of Object.keys(
            rootNode.entry.metadata?.["requires-dev"] ??
              rootNode.entry.metadata?.["dependency-groups"] ??
              {},
          ))
            groupsKnown.add(normalizeName(group));
        }
        for (const extra of request.extras)
          if (!extrasKnown.has(extra))
            throw unknownSelection("extra", extra, path, [...extrasKnown]);
        for (const group of request.groups)
          if (!groupsKnown.has(group))
            throw unknownSelection("group", group, path, [...groupsKnown]);
        for (const rootNode of roots) {
          visitedExtras.add(`${rootNode.index}`);
          const label = `${rootNode.entry.name}`;
          followAll(rootNode.entry.dependencies, rootNode, `${label} dependencies`);
          for (const [extra, dependencies] of Object.entries(
            rootNode.entry["optional-dependencies"],
          )) {
            if (!request.extras.includes(normalizeName(extra))) continue;
            followAll(dependencies, rootNode, `${label} optional-dependencies.${extra}`);
          }
          for (const [group, dependencies] of Object.entries(devDependencies(rootNode.entry))) {
            if (!request.groups.includes(normalizeName(group))) continue;
            followAll(dependencies, rootNode, `${label} dev-dependencies.${group}`);
          }
        }
      } else {
        // No project: the manifest's requirements (PEP 723 scripts, dependency groups without [project]).
        const manifest = lock.manifest;
        const groupsKnown = Object.keys(manifest?.["dependency-groups"] ?? {}).map(normalizeName);
        for (const extra of request.extras) throw unknownSelection("extra", extra, path, []);
        for (const group of request.groups)
          if (!groupsKnown.includes(group))
            throw unknownSelection("group", group, path, groupsKnown);
        const requirements = [...(manifest?.requirements ?? [])];
        for (const [group, list] of Object.entries(manifest?.["dependency-groups"] ?? {})) {
          if (request.groups.includes(normalizeName(group))) requirements.push(...list);
        }
        for (const requirement of requirements) {
          const marker = markerOf(requirement.marker, `manifest requirement ${requirement.name}`);
          if (marker !== undefined && !evaluateMarker(marker, environment)) continue;
          const candidates = byName.get(normalizeName(requirement.name)) ?? [];
          if (candidates.length === 0) {
            throw new PylayerError(
              "lock-stale",
              `${path}: ${requirement.name} is required but not locked`,
              {
                hint: "Run `uv lock` to update the lock file.",
              },
            );
          }
          queue.push({
            node: candidates[0]!,
            extras: (requirement.extras ?? []).map(normalizeName),
            parent: "root",
          });
        }
      }

      while (queue.length > 0) {
        const { node, extras, parent } = queue.shift()!;
        const existing = selected.get(node.index);
        if (existing === undefined) selected.set(node.index, { node, parents: new Set([parent]) });
        else existing.parents.add(parent);
        const label = node.entry.name;
        if (!visitedExtras.has(`${node.index}`)) {
          visitedExtras.add(`${node.index}`);
          followAll(node.entry.dependencies, node, `${label} dependencies`);
        }
        for (const extra of extras) {
          const key = `${node.index}[${extra}]`;
          if (visitedExtras.has(key)) continue;
          visitedExtras.add(key);
          const entry = Object.entries(node.entry["optional-dependencies"]).find(
            ([name]) => normalizeName(name) === extra,
          );
          followAll(entry?.[1] ?? [], node, `${label} optional-dependencies.${extra}`);
        }
      }

      const rootIndexes = new Set(roots.map((node) => node.index));
      const byPackageName = new Map<string, Node>();
      const result: LockedPackage[] = [];
      for (const { node, parents } of [...selected.values()].sort(
        (a, b) => a.node.index - b.node.index,
      )) {
        if (rootIndexes.has(node.index)) continue;
        const clash = byPackageName.get(node.name);
        if (clash !== undefined) {
          throw new PylayerError(
            "lock-ambiguous",
            `${path}: ${node.entry.name} ${clash.entry.version ?? ""} and ${node.entry.version ?? ""} would both be installed on ${target.id}`,
            {
              hint: "uv.lock conflicts (tool.uv.conflicts) are not supported; build from `uv export --format pylock.toml` instead.",
            },
          );
        }
        byPackageName.set(node.name, node);
        result.push(toLockedPackage(node, [...parents].sort(), path, folder));
      }
      return result;
    },
  };
  return { file, root };
}

function devDependencies(entry: UvPackage): Record<string, UvDependency[]> {
  return entry["dev-dependencies"] ?? entry["dependency-groups"] ?? {};
}

function toLockedPackage(
  node: Node,
  parents: string[],
  path: string,
  folder: string,
): LockedPackage {
  const { entry } = node;
  const source = entry.source;
  const kind = sourceKind(source);
  const base: LockedPackage = {
    name: node.name,
    version: entry.version ?? "",
    wheels: [],
    otherFiles: [],
    requiredBy: parents,
  };
  if (kind === "virtual") return { ...base, virtual: true };
  if (kind === "editable" || kind === "directory") {
    const location = (source.editable ?? source.directory)!;
    return {
      ...base,
      direct: {
        url: pathToFileURL(resolve(folder, location)).href,
        ...(kind === "editable" ? { editable: true } : {}),
      },
    };
  }
  if (kind === "git") {
    return { ...base, direct: { url: uvGitUrl(source.git!) } };
  }
  // Wheels of a local registry (a --find-links folder) are relative to that folder.
  const registryFolder =
    source.registry !== undefined && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source.registry)
      ? resolve(folder, source.registry)
      : folder;
  const wheels: LockedFile[] = entry.wheels.map((wheel, index) => {
    const where = `${entry.name} wheels[${index}]`;
    const location =
      wheel.url ??
      (wheel.path === undefined ? undefined : locationToUrl(wheel.path, registryFolder)) ??
      (source.path === undefined ? undefined : locationToUrl(source.path, folder));
    if (location === undefined) {
      throw new PylayerError("invalid-lock", `${path}: ${where} has no url, path or source path`, {
        hint: LOCK_HINT,
      });
    }
    if (wheel.hash === undefined) {
      throw new PylayerError("lock-missing-hash", `${path}: ${where} records no hash`, {
        hint: "pylayer installs from locks only with verified hashes; regenerate the lock with uv.",
      });
    }
    return {
      filename: wheel.filename ?? filenameFromLocation(location),
      url: location,
      hashes: parseHashString(wheel.hash, `${path}: ${where}`),
      ...(wheel.size === undefined ? {} : { size: wheel.size }),
    };
  });
  const sdist = entry.sdist;
  const otherFiles: string[] = [];
  if (sdist !== undefined) {
    const location = sdist.url ?? sdist.path ?? source.path ?? source.url;
    if (location !== undefined) otherFiles.push(filenameFromLocation(location));
  } else if (wheels.length === 0 && (source.url ?? source.path) !== undefined) {
    const location = (source.url ?? source.path)!;
    if (!isWheelFilename(filenameFromLocation(location)))
      otherFiles.push(filenameFromLocation(location));
  }
  return { ...base, wheels, otherFiles };
}

/** A requirement reduced to what uv records faithfully: name, extras, specifier, extra. */
function requirementKey(
  name: string,
  extras: readonly string[],
  specifier: string,
  forExtras: readonly string[],
): string {
  const parsed = parseRequirement(`${name}${specifier}`);
  const clauses = parsed.specifier.clauses
    .map((clause) => `${clause.operator}${normalizedVersion(clause.version)}`)
    .sort()
    .join(",");
  const extraList = [...extras].map(normalizeName).sort().join(",");
  const condition = [...new Set(forExtras)].sort().join("|");
  return `${normalizeName(name)}${extraList === "" ? "" : `[${extraList}]`}${clauses}${condition === "" ? "" : ` (extra ${condition})`}`;
}

function normalizedVersion(text: string): string {
  if (text.endsWith(".*")) {
    return `${Version.tryParse(text.slice(0, -2))?.public ?? text.slice(0, -2)}.*`;
  }
  const version = Version.tryParse(text);
  if (version === null) return text;
  return version.local === null ? version.public : `${version.public}+${version.local}`;
}

/** Names compared with `extra ==` anywhere in a marker. */
function extraNames(marker: Marker | undefined): string[] {
  if (marker === undefined) return [];
  if (marker.kind !== "compare") {
    return [...extraNames(marker.left), ...extraNames(marker.right)];
  }
  const { left, right, operator } = marker;
  if (operator !== "==") return [];
  if (left.kind === "variable" && left.name === "extra" && right.kind === "literal") {
    return [normalizeName(right.value)];
  }
  if (right.kind === "variable" && right.name === "extra" && left.kind === "literal") {
    return [normalizeName(left.value)];
  }
  return [];
}

function keyOfRequirement(requirement: Requirement, extra?: string): string {
  return requirementKey(requirement.name, requirement.extras, requirement.specifier.text, [
    ...(extra === undefined ? [] : [extra]),
    ...extraNames(requirement.marker),
  ]);
}

function keyOfUv(requirement: UvRequirement, where: string, path: string): string {
  const marker =
    requirement.marker === undefined ? undefined : parseLockMarker(requirement.marker, path, where);
  return requirementKey(
    requirement.name,
    requirement.extras ?? [],
    requirement.specifier ?? "",
    extraNames(marker),
  );
}

/** Throws `lock-stale` naming the requirements that differ between pyproject.toml and uv.lock. */
function checkUvFreshness(
  root: UvPackage | undefined,
  pyproject: Record<string, unknown>,
  path: string,
  pyprojectPath: string,
): void {
  if (root?.metadata === undefined) return;
  const project = isTable(pyproject.project) ? pyproject.project : undefined;
  const fromProject = new Set<string>();
  if (
    project !== undefined &&
    !(Array.isArray(project.dynamic) && project.dynamic.includes("dependencies"))
  ) {
    for (const text of Array.isArray(project.dependencies) ? project.dependencies : []) {
      fromProject.add(keyOfRequirement(parseRequirement(String(text))));
    }
    const optional = isTable(project["optional-dependencies"])
      ? project["optional-dependencies"]
      : {};
    for (const [extra, list] of Object.entries(optional)) {
      for (const text of Array.isArray(list) ? list : []) {
        fromProject.add(keyOfRequirement(parseRequirement(String(text)), normalizeName(extra)));
      }
    }
  } else {
    return;
  }
  const fromLock = new Set(
    root.metadata["requires-dist"].map((requirement, index) =>
      keyOfUv(requirement, `requires-dist[${index}]`, path),
    ),
  );
  const differences = describeDifferences(fromProject, fromLock, "dependencies");

  const lockGroups = root.metadata["requires-dev"] ?? root.metadata["dependency-groups"] ?? {};
  const projectGroups = new Map<string, Set<string>>();
  const groupsTable = pyproject["dependency-groups"];
  for (const [group] of dependencyGroupNames(groupsTable, pyprojectPath)) {
    projectGroups.set(
      group,
      new Set(
        expandDependencyGroup(groupsTable, group, pyprojectPath).map((item) =>
          keyOfRequirement(parseRequirement(item.text)),
        ),
      ),
    );
  }
  const tool = isTable(pyproject.tool) ? pyproject.tool : undefined;
  const uvDev = isTable(tool?.uv) ? tool.uv["dev-dependencies"] : undefined;
  if (Array.isArray(uvDev)) {
    const dev = projectGroups.get("dev") ?? new Set<string>();
    for (const text of uvDev) dev.add(keyOfRequirement(parseRequirement(String(text))));
    projectGroups.set("dev", dev);
  }
  const lockGroupNames = new Set(Object.keys(lockGroups).map(normalizeName));
  for (const group of new Set([...projectGroups.keys(), ...lockGroupNames])) {
    const lockList =
      Object.entries(lockGroups).find(([name]) => normalizeName(name) === group)?.[1] ?? [];
    const fromLockGroup = new Set(
      lockList.map((requirement, index) =>
        keyOfUv(requirement, `requires-dev.${group}[${index}]`, path),
      ),
    );
    differences.push(
      ...describeDifferences(
        projectGroups.get(group) ?? new Set(),
        fromLockGroup,
        `group ${group}`,
      ),
    );
  }
  if (differences.length > 0) {
    throw new PylayerError(
      "lock-stale",
      `${path} is out of date with ${pyprojectPath}: ${differences.slice(0, 5).join("; ")}${differences.length > 5 ? "; …" : ""}`,
      { hint: "Run `uv lock` to update the lock file, then build again." },
    );
  }
}

function describeDifferences(
  fromProject: Set<string>,
  fromLock: Set<string>,
  what: string,
): string[] {
  const differences: string[] = [];
  for (const key of fromProject)
    if (!fromLock.has(key))
      differences.push(`${what}: ${key} is in pyproject.toml but not in the lock`);
  for (const key of fromLock)
    if (!fromProject.has(key))
      differences.push(`${what}: ${key} is in the lock but not in pyproject.toml`);
  return differences;
}

/**
 * uv records a git source as `URL?rev=REV&subdirectory=DIR#COMMIT` (also `tag=`,
 * `branch=`); the direct reference pins the commit.
 */
export function uvGitUrl(recorded: string): string {
  const hash = recorded.indexOf("#");
  const commit = hash < 0 ? "" : recorded.slice(hash + 1);
  const withoutCommit = hash < 0 ? recorded : recorded.slice(0, hash);
  const question = withoutCommit.indexOf("?");
  const repository = question < 0 ? withoutCommit : withoutCommit.slice(0, question);
  const query = new URLSearchParams(question < 0 ? "" : withoutCommit.slice(question + 1));
  const revision = commit || query.get("rev") || query.get("tag") || query.get("branch") || "";
  const subdirectory = query.get("subdirectory");
  return vcsUrl({ repository, revision, subdirectory: subdirectory ?? undefined });
}
