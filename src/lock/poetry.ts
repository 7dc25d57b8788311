/**
 * Poetry's `poetry.lock`, lock-version 1.x and 2.x (Poetry 1.x and 2.x).
 *
 * Which packages to install:
 * - lock-version ≥ 2.1 (Poetry 2) records `groups` and `markers` per package: a package is
 *   installed when one of its groups is `main` or a requested group and its marker for that
 *   group holds on the target (requested extras feed `extra == "…"`).
 * - Older locks record neither, so Poetry re-solves over the locked packages; pylayer does
 *   the same walk: from the requirements of the pyproject.toml next to the lock (its
 *   dependencies, requested extras and groups), along each package's `[package.dependencies]`
 *   whose markers / `python` / `platform` hold, picking the locked version that satisfies
 *   the constraint, into optional dependencies for the extras an edge asks for.
 *
 * Files are recorded by name and hash only (`files`, or `[metadata.files]` in 1.x, or
 * bare `[metadata.hashes]` in the oldest locks): their URLs are found on the package's
 * source (`[package.source]` of type `legacy`) or the configured index.
 *
 * Freshness: `[metadata].content-hash` is the sha256 of `json.dumps(relevant, sort_keys=True)`
 * over the relevant parts of pyproject.toml, recomputed exactly as Poetry does
 * (`Locker._get_content_hash`): `[project]` requires-python / dependencies /
 * optional-dependencies, `[dependency-groups]` (Poetry ≥ 2.3; both variants are accepted),
 * and `[tool.poetry]` dependencies / source / extras / dev-dependencies / group.
 */
import { createHash } from "node:crypto";
import { access } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { PylayerError } from "../errors.js";
import { Version } from "../pep440/index.js";
import { evaluateMarker, normalizeName } from "../pep508/index.js";
import {
  parsePoetryConstraint,
  poetryConstraintAdmits,
  poetryPythonMarker,
} from "../pyproject/poetry.js";
import { projectRequirements } from "../pyproject/project.js";
import {
  isTable,
  parseTomlText,
  readTextFile,
  type TomlTable,
  validate,
} from "../pyproject/toml.js";
import { type MarkerEnvironment, markerEnvironment, type Target } from "../runtime/index.js";
import { isWheelFilename } from "../tags/index.js";
import { vcsUrl } from "../vcs/index.js";
import {
  filenameFromLocation,
  LOCK_HINT,
  locationToUrl,
  parseHashString,
  parseLockMarker,
  unknownSelection,
} from "./common.js";
import { pythonJsonDumps } from "./python-json.js";
import type { IndexLookup, LockedPackage, LockFile, LockRequest } from "./types.js";

const FileSchema = z.object({ file: z.string(), hash: z.string() });

const PackageSchema = z.object({
  name: z.string(),
  version: z.string(),
  optional: z.boolean().default(false),
  "python-versions": z.string().default("*"),
  groups: z.array(z.string()).optional(),
  category: z.string().optional(),
  develop: z.boolean().optional(),
  markers: z.union([z.string(), z.record(z.string(), z.string())]).optional(),
  files: z.array(FileSchema).optional(),
  dependencies: z.record(z.string(), z.unknown()).default({}),
  extras: z.record(z.string(), z.array(z.string())).default({}),
  source: z
    .object({
      type: z.string(),
      url: z.string().optional(),
      reference: z.string().optional(),
      resolved_reference: z.string().optional(),
      subdirectory: z.string().optional(),
    })
    .optional(),
});

const PoetryLockSchema = z.object({
  package: z.array(PackageSchema).default([]),
  extras: z.record(z.string(), z.array(z.string())).optional(),
  metadata: z.object({
    "lock-version": z.string().default("1.0"),
    "python-versions": z.string().optional(),
    "content-hash": z.string().optional(),
    files: z.record(z.string(), z.array(FileSchema)).optional(),
    hashes: z.record(z.string(), z.array(z.string())).optional(),
  }),
});

type PoetryPackage = z.infer<typeof PackageSchema>;
type PoetryLock = z.infer<typeof PoetryLockSchema>;

export interface ReadPoetryOptions {
  /** Compare content-hash with the pyproject.toml next to the lock (default true). */
  checkFresh?: boolean;
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    await access(path);
  } catch {
    return undefined;
  }
  return readTextFile(path, "pyproject.toml");
}

export async function readPoetryLock(
  path: string,
  options: ReadPoetryOptions = {},
): Promise<LockFile> {
  const pyprojectPath = join(dirname(path), "pyproject.toml");
  const pyprojectText = await readIfExists(pyprojectPath);
  return parsePoetryLock(await readTextFile(path, "lock file"), path, {
    ...(pyprojectText === undefined
      ? {}
      : { pyproject: { text: pyprojectText, path: pyprojectPath } }),
    checkFresh: options.checkFresh !== false,
  });
}

/** The content-hash Poetry would write for this pyproject data (see the file comment). */
export function poetryContentHash(pyproject: TomlTable, withDependencyGroups = true): string {
  const project = isTable(pyproject.project) ? pyproject.project : {};
  const groups =
    withDependencyGroups && isTable(pyproject["dependency-groups"])
      ? pyproject["dependency-groups"]
      : {};
  const tool = isTable(pyproject.tool) ? pyproject.tool : {};
  const poetry = isTable(tool.poetry) ? tool.poetry : {};
  const relevantProject: TomlTable = {};
  for (const key of ["requires-python", "dependencies", "optional-dependencies"]) {
    if (project[key] !== undefined) relevantProject[key] = project[key];
  }
  const legacyKeys = ["dependencies", "source", "extras", "dev-dependencies"];
  const hasGroups = Object.keys(groups).length > 0;
  const hasProject = Object.keys(relevantProject).length > 0;
  const relevantPoetry: TomlTable = {};
  for (const key of [...legacyKeys, "group"]) {
    const data = poetry[key];
    if (data === undefined && (!legacyKeys.includes(key) || hasProject || hasGroups)) continue;
    relevantPoetry[key] = data ?? null;
  }
  let relevant: TomlTable = {};
  if (hasProject) relevant.project = relevantProject;
  if (hasGroups) relevant["dependency-groups"] = groups;
  if (Object.keys(relevant).length > 0) relevant.tool = { poetry: relevantPoetry };
  else relevant = relevantPoetry;
  return createHash("sha256").update(pythonJsonDumps(relevant), "utf8").digest("hex");
}

export function parsePoetryLock(
  text: string,
  path: string,
  options: { pyproject?: { text: string; path: string }; checkFresh?: boolean } = {},
): LockFile {
  const raw = parseTomlText(text, path);
  const lock = validate(PoetryLockSchema, raw, path, "invalid-lock", LOCK_HINT);
  const lockVersion = lock.metadata["lock-version"];
  const [major = 0, minor = 0] = lockVersion.split(".").map(Number);
  if (!(major >= 1 && major < 3)) {
    throw new PylayerError(
      "lock-version-unsupported",
      `${path} has lock-version ${lockVersion}; pylayer reads poetry.lock versions 1.x and 2.x`,
      { hint: "Upgrade pylayer, or regenerate the lock with Poetry 1.x or 2.x." },
    );
  }
  const pyproject =
    options.pyproject === undefined
      ? undefined
      : {
          path: options.pyproject.path,
          data: parseTomlText(options.pyproject.text, options.pyproject.path),
        };
  if (options.checkFresh !== false && options.pyproject !== undefined) {
    const recorded = lock.metadata["content-hash"];
    const exact = parseTomlText(options.pyproject.text, options.pyproject.path, {
      exactIntegers: true,
    });
    if (
      recorded !== undefined &&
      recorded !== poetryContentHash(exact, true) &&
      recorded !== poetryContentHash(exact, false)
    ) {
      throw new PylayerError(
        "lock-stale",
        `${path} is out of date with ${options.pyproject.path} (its content-hash no longer matches the dependencies there)`,
        { hint: "Run `poetry lock` to update the lock file, then build again." },
      );
    }
  }
  const folder = dirname(path);
  const hasGroupsAndMarkers = major > 2 || (major === 2 && minor >= 1);
  const warnings: string[] = [];
  const files = (entry: PoetryPackage) => filesOf(entry, lock);

  return {
    format: "poetry",
    path,
    warnings,
    select(target: Target, request: LockRequest): LockedPackage[] {
      const projectPython = lock.metadata["python-versions"];
      if (
        projectPython !== undefined &&
        projectPython.trim() !== "" &&
        projectPython.trim() !== "*"
      ) {
        const constraint = parsePoetryConstraint(projectPython);
        if (
          !poetryConstraintAdmits(constraint, target.runtime.pythonFullVersion, {
            prereleases: true,
          })
        ) {
          throw new PylayerError(
            "lock-requires-python",
            `${path}: the project requires Python ${projectPython}, but ${target.runtime.name} runs Python ${target.runtime.pythonFullVersion} (target ${target.id})`,
            { hint: "Choose a runtime the project supports with --runtime." },
          );
        }
      }
      const environment = markerEnvironment(target);
      const selected = hasGroupsAndMarkers
        ? selectByGroups(lock, path, environment, request, pyproject)
        : selectByWalk(lock, path, environment, request, target, pyproject, lockVersion);
      return selected.map(({ entry, parents }) =>
        toLockedPackage(entry, files(entry), parents, path, folder),
      );
    },
  };
}

interface Selected {
  entry: PoetryPackage;
  parents: string[];
}

function knownPyprojectGroups(pyproject: { data: TomlTable } | undefined): string[] {
  if (pyproject === undefined) return [];
  const names: string[] = [];
  if (isTable(pyproject.data["dependency-groups"]))
    names.push(...Object.keys(pyproject.data["dependency-groups"]));
  const tool = isTable(pyproject.data.tool) ? pyproject.data.tool : {};
  const poetry = isTable(tool.poetry) ? tool.poetry : {};
  if (isTable(poetry.group)) names.push(...Object.keys(poetry.group));
  if (poetry["dev-dependencies"] !== undefined) names.push("dev");
  return names.map(normalizeName);
}

function selectByGroups(
  lock: PoetryLock,
  path: string,
  environment: MarkerEnvironment,
  request: LockRequest,
  pyproject: { data: TomlTable } | undefined,
): Selected[] {
  const lockExtras = Object.keys(lock.extras ?? {}).map(normalizeName);
  for (const extra of request.extras) {
    if (!lockExtras.includes(extra)) throw unknownSelection("extra", extra, path, lockExtras);
  }
  const lockGroups = new Set(
    lock.package.flatMap((entry) => (entry.groups ?? []).map(normalizeName)),
  );
  const knownGroups = new Set([...lockGroups, ...knownPyprojectGroups(pyproject)]);
  for (const group of request.groups) {
    if (!knownGroups.has(group))
      throw unknownSelection(
        "group",
        group,
        path,
        [...knownGroups].filter((name) => name !== "main"),
      );
  }
  const wanted = new Set(["main", ...request.groups]);
  const result: Selected[] = [];
  lock.package.forEach((entry, index) => {
    const groups = (entry.groups ?? []).map(normalizeName).filter((group) => wanted.has(group));
    const applies = groups.some((group) => {
      const text =
        typeof entry.markers === "string"
          ? entry.markers
          : entry.markers === undefined
            ? undefined
            : Object.entries(entry.markers).find(([name]) => normalizeName(name) === group)?.[1];
      if (text === undefined || text.trim() === "" || text.trim() === "*") return true;
      const marker = parseLockMarker(text, path, `package[${index}] (${entry.name}) markers`);
      return evaluateMarker(marker, environment, request.extras);
    });
    if (applies) result.push({ entry, parents: groups.map((group) => `group ${group}`) });
  });
  return result;
}

/** The locked entry of `name` that satisfies `admits`, preferring one whose python-versions fits. */
function pickLocked(
  candidates: PoetryPackage[],
  admits: (version: string) => boolean,
  pythonVersion: string,
): PoetryPackage | undefined {
  const matching = candidates.filter((entry) => admits(entry.version));
  const fitting = matching.filter((entry) => {
    try {
      return poetryConstraintAdmits(
        parsePoetryConstraint(entry["python-versions"]),
        pythonVersion,
        {
          prereleases: true,
        },
      );
    } catch {
      return true;
    }
  });
  const pool = fitting.length > 0 ? fitting : matching;
  return pool.sort((a, b) => {
    const left = Version.tryParse(a.version);
    const right = Version.tryParse(b.version);
    return left === null || right === null ? 0 : right.compare(left);
  })[0];
}

const EXTRA_ENTRY_NAME = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/;

function selectByWalk(
  lock: PoetryLock,
  path: string,
  environment: MarkerEnvironment,
  request: LockRequest,
  target: Target,
  pyproject: { path: string; data: TomlTable } | undefined,
  lockVersion: string,
): Selected[] {
  if (pyproject === undefined) {
    throw new PylayerError(
      "lock-needs-pyproject",
      `${path} (lock-version ${lockVersion}) records neither groups nor markers, so which packages to install follows from pyproject.toml, which is not next to it`,
      {
        hint: "Keep pyproject.toml next to poetry.lock, or regenerate the lock with Poetry 2 (lock-version 2.1).",
      },
    );
  }
  const byName = new Map<string, PoetryPackage[]>();
  for (const entry of lock.package) {
    const name = normalizeName(entry.name);
    byName.set(name, [...(byName.get(name) ?? []), entry]);
  }
  const python = target.runtime.pythonFullVersion;
  const selected = new Map<PoetryPackage, Set<string>>();
  const visited = new Set<string>();
  const queue: { entry: PoetryPackage; extras: readonly string[]; parent: string }[] = [];
  const stale = (what: string) =>
    new PylayerError("lock-stale", `${path} is out of date with ${pyproject.path}: ${what}`, {
      hint: "Run `poetry lock` to update the lock file, then build again.",
    });

  const project = projectRequirements({ path: pyproject.path, data: pyproject.data }, request);
  for (const line of project.requirements) {
    const requirement = line.requirement;
    if (requirement.marker !== undefined && !evaluateMarker(requirement.marker, environment))
      continue;
    const entry = pickLocked(
      byName.get(requirement.normalizedName) ?? [],
      (version) => requirement.specifier.contains(version, { prereleases: true }),
      python,
    );
    if (entry === undefined)
      throw stale(`no locked version of ${requirement.name} satisfies "${requirement.text}"`);
    queue.push({ entry, extras: requirement.extras, parent: "root" });
  }

  while (queue.length > 0) {
    const { entry, extras, parent } = queue.shift()!;
    const parents = selected.get(entry) ?? new Set<string>();
    parents.add(parent);
    selected.set(entry, parents);
    const name = normalizeName(entry.name);
    const active: (string | undefined)[] = [];
    if (!visited.has(`${name} ${entry.version}`)) {
      visited.add(`${name} ${entry.version}`);
      active.push(undefined);
    }
    for (const extra of extras) {
      const key = `${name} ${entry.version}[${extra}]`;
      if (!visited.has(key)) {
        visited.add(key);
        active.push(extra);
      }
    }
    for (const extra of active) {
      const optionalNames = new Set<string>();
      if (extra !== undefined) {
        for (const [extraName, items] of Object.entries(entry.extras)) {
          if (normalizeName(extraName) !== extra) continue;
          for (const item of items) {
            const match = EXTRA_ENTRY_NAME.exec(item);
            if (match !== null) optionalNames.add(normalizeName(match[1]!));
          }
        }
      }
      for (const [dependencyName, value] of Object.entries(entry.dependencies)) {
        const normalized = normalizeName(dependencyName);
        if (normalized === "python") continue;
        for (const constraint of Array.isArray(value) ? value : [value]) {
          const table: TomlTable =
            typeof constraint === "string"
              ? { version: constraint }
              : isTable(constraint)
                ? constraint
                : {};
          const optional = table.optional === true;
          if (extra === undefined ? optional : !optional || !optionalNames.has(normalized))
            continue;
          if (!dependencyApplies(table, environment, extra, path, entry.name)) continue;
          const versionText = typeof table.version === "string" ? table.version : "*";
          const constraintObject = parsePoetryConstraint(versionText);
          const dependency = pickLocked(
            byName.get(normalized) ?? [],
            (version) => poetryConstraintAdmits(constraintObject, version, { prereleases: true }),
            python,
          );
          if (dependency === undefined) {
            throw new PylayerError(
              "invalid-lock",
              `${path}: ${entry.name} ${entry.version} depends on ${dependencyName} ${versionText}, which is not locked`,
              { hint: LOCK_HINT },
            );
          }
          const dependencyExtras = Array.isArray(table.extras)
            ? table.extras.map((item) => normalizeName(String(item)))
            : [];
          queue.push({ entry: dependency, extras: dependencyExtras, parent: name });
        }
      }
    }
  }
  return [...selected].map(([entry, parents]) => ({ entry, parents: [...parents].sort() }));
}

function dependencyApplies(
  table: TomlTable,
  environment: MarkerEnvironment,
  extra: string | undefined,
  path: string,
  owner: string,
): boolean {
  const extras = extra === undefined ? [] : [extra];
  if (typeof table.markers === "string" && table.markers.trim() !== "") {
    const marker = parseLockMarker(table.markers, path, `${owner} dependency markers`);
    if (!evaluateMarker(marker, environment, extras)) return false;
  }
  if (typeof table.python === "string") {
    const text = poetryPythonMarker(table.python);
    if (
      text !== undefined &&
      !evaluateMarker(parseLockMarker(text, path, `${owner} dependency python`), environment)
    )
      return false;
  }
  if (typeof table.platform === "string" && table.platform !== environment.sys_platform)
    return false;
  return true;
}

interface PoetryFile {
  filename: string | undefined;
  hashes: Record<string, string>;
}

function filesOf(entry: PoetryPackage, lock: PoetryLock): PoetryFile[] {
  const toFile = (file: { file: string; hash: string }) => ({
    filename: file.file,
    hashes: parseHashString(file.hash, `${entry.name} ${file.file}`),
  });
  if (entry.files !== undefined) return entry.files.map(toFile);
  const name = normalizeName(entry.name);
  const fromMetadata = Object.entries(lock.metadata.files ?? {}).find(
    ([key]) => normalizeName(key) === name,
  )?.[1];
  if (fromMetadata !== undefined) return fromMetadata.map(toFile);
  const hashes = Object.entries(lock.metadata.hashes ?? {}).find(
    ([key]) => normalizeName(key) === name,
  )?.[1];
  return (hashes ?? []).map((hash) => ({
    filename: undefined,
    hashes: hash.includes(":") ? parseHashString(hash, entry.name) : { sha256: hash.toLowerCase() },
  }));
}

function toLockedPackage(
  entry: PoetryPackage,
  files: PoetryFile[],
  parents: string[],
  path: string,
  folder: string,
): LockedPackage {
  const base: LockedPackage = {
    name: normalizeName(entry.name),
    version: entry.version,
    wheels: [],
    otherFiles: [],
    requiredBy: parents,
  };
  const source = entry.source;
  if (source !== undefined && source.type === "git" && source.url !== undefined) {
    const repository = /^[a-z][a-z0-9+.-]*:\/\//i.test(source.url)
      ? source.url
      : locationToUrl(source.url, folder);
    return {
      ...base,
      direct: {
        url: vcsUrl({
          repository,
          revision: source.resolved_reference ?? source.reference,
          subdirectory: source.subdirectory,
        }),
      },
    };
  }
  if (source !== undefined && source.type === "directory" && source.url !== undefined) {
    return {
      ...base,
      direct: {
        url: locationToUrl(source.url, folder),
        ...(entry.develop === true ? { editable: true } : {}),
      },
    };
  }
  if (
    source !== undefined &&
    (source.type === "url" || source.type === "file") &&
    source.url !== undefined
  ) {
    const filename = filenameFromLocation(source.url);
    const recorded = files.find((file) => file.filename === filename) ?? files[0];
    if (!isWheelFilename(filename) && recorded?.hashes.sha256 !== undefined) {
      return {
        ...base,
        direct: { url: `${locationToUrl(source.url, folder)}#sha256=${recorded.hashes.sha256}` },
      };
    }
    if (recorded === undefined) {
      throw new PylayerError(
        "lock-missing-hash",
        `${path}: ${entry.name} ${entry.version} records no hash for ${filename}`,
        {
          hint: "pylayer installs from locks only with verified hashes; run `poetry lock`.",
        },
      );
    }
    return {
      ...base,
      wheels: [{ filename, url: locationToUrl(source.url, folder), hashes: recorded.hashes }],
    };
  }
  if (source !== undefined && source.type !== "legacy") {
    return {
      ...base,
      unsupported: `a package from a "${source.type}" source, which pylayer cannot install`,
    };
  }
  const lookup: IndexLookup = {
    index: source?.url,
    files: files
      .filter((file) => file.filename === undefined || isWheelFilename(file.filename))
      .map((file) =>
        file.filename === undefined
          ? { hashes: file.hashes }
          : { filename: file.filename, hashes: file.hashes },
      ),
  };
  return {
    ...base,
    otherFiles: files.flatMap((file) =>
      file.filename !== undefined && !isWheelFilename(file.filename) ? [file.filename] : [],
    ),
    indexLookup: lookup,
  };
}
