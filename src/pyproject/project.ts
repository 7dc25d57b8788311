/**
 * The requirements a pyproject.toml declares, for resolution into a layer:
 * - PEP 621 `[project].dependencies`, plus `[project.optional-dependencies]` for the
 *   requested extras (a project may name itself with extras, `app[cli]`; those extras are
 *   expanded in place rather than looked up on an index);
 * - PEP 735 `[dependency-groups]` for the requested groups (with `include-group`), and
 *   Poetry's `[tool.poetry.group.<name>.dependencies]` / `[tool.poetry.dev-dependencies]`
 *   and uv's `[tool.uv].dev-dependencies` (the `dev` group) where a group is not in
 *   `[dependency-groups]`;
 * - Poetry's `[tool.poetry.dependencies]` (caret and tilde constraints translated, see
 *   poetry.ts) when there is no `[project]` table or its dependencies are dynamic.
 * The project itself is never installed: a layer carries its dependencies.
 */
import { PylayerError } from "../errors.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import {
  type Marker,
  markerToString,
  normalizeName,
  parseRequirement,
  type Requirement,
  requirementToString,
} from "../pep508/index.js";
import type { RequirementLine } from "../requirements/index.js";
import { dependencyGroupNames, expandDependencyGroup } from "./dependency-groups.js";
import {
  parsePoetryConstraint,
  poetryConstraintAdmits,
  poetryDependencyRequirements,
  poetryExtraPackages,
} from "./poetry.js";
import { isTable, readTomlFile, type TomlTable } from "./toml.js";

export interface Pyproject {
  /** Absolute path of the file. */
  path: string;
  data: TomlTable;
}

export async function readPyproject(path: string): Promise<Pyproject> {
  return { path, data: await readTomlFile(path, "pyproject.toml") };
}

export interface ProjectRequest {
  /** Extras of the project to include (`--extra`). */
  extras?: readonly string[];
  /** Dependency groups to include (`--group`). */
  groups?: readonly string[];
}

/** The Python versions a project accepts (`requires-python`, or Poetry's `python`). */
export interface PythonRequirement {
  text: string;
  admits(version: string): boolean;
}

export interface ProjectRequirements {
  /** Normalized project name, when the file names one. */
  name: string | undefined;
  style: "pep621" | "poetry";
  requirements: RequirementLine[];
  requiresPython: PythonRequirement | undefined;
  warnings: string[];
}

function table(value: unknown): TomlTable | undefined {
  return isTable(value) ? value : undefined;
}

function invalid(file: string, message: string): PylayerError {
  return new PylayerError("invalid-pyproject", `${file}: ${message}`, {
    hint: "See the pyproject.toml specification on packaging.python.org.",
  });
}

/** The requirements of the project with the requested extras and groups. */
export function projectRequirements(
  pyproject: Pyproject,
  request: ProjectRequest = {},
): ProjectRequirements {
  const file = pyproject.path;
  const data = pyproject.data;
  const project = table(data.project);
  const tool = table(data.tool);
  const poetry = table(tool?.poetry);
  const poetryDependencies = table(poetry?.dependencies);
  const dynamic = Array.isArray(project?.dynamic) ? project.dynamic.map(String) : [];
  const usePoetry =
    poetryDependencies !== undefined &&
    (project === undefined ||
      (dynamic.includes("dependencies") && project.dependencies === undefined));
  if (project !== undefined && dynamic.includes("dependencies") && !usePoetry) {
    throw new PylayerError(
      "dynamic-dependencies",
      `${file}: [project] declares its dependencies as dynamic, so they are only known to its build backend`,
      {
        hint: "List them in [project].dependencies, or build from a lock file (uv.lock, poetry.lock, pylock.toml) or a requirements file.",
      },
    );
  }
  const rawName = project?.name ?? poetry?.name;
  const name = typeof rawName === "string" ? normalizeName(rawName) : undefined;
  const extras = (request.extras ?? []).map(normalizeName);
  const groups = (request.groups ?? []).map(normalizeName);
  const warnings: string[] = [];
  const lines: RequirementLine[] = [];

  if (usePoetry) {
    lines.push(...poetryProjectLines(file, poetry!, poetryDependencies!, extras, warnings));
  } else {
    lines.push(...pep621Lines(file, project ?? {}, name, extras));
  }
  for (const group of groups) {
    lines.push(...groupLines(file, data, group, name, project ?? {}));
  }
  if (Array.isArray(poetry?.source) && poetry.source.length > 0) {
    const sources = poetry.source
      .filter(isTable)
      .map((source) => `${String(source.name)} (${String(source.url ?? "PyPI")})`);
    warnings.push(
      `${file} declares Poetry package sources ${sources.join(", ")}; pylayer resolves from the configured indexes (--index-url, --extra-index-url or [tool.pylayer])`,
    );
  }
  return {
    name,
    style: usePoetry ? "poetry" : "pep621",
    requirements: lines,
    requiresPython: pythonRequirement(file, project, poetryDependencies, usePoetry),
    warnings,
  };
}

function pythonRequirement(
  file: string,
  project: TomlTable | undefined,
  poetryDependencies: TomlTable | undefined,
  usePoetry: boolean,
): PythonRequirement | undefined {
  if (!usePoetry && typeof project?.["requires-python"] === "string") {
    const text = project["requires-python"];
    let specifier: SpecifierSet;
    try {
      specifier = SpecifierSet.parse(text);
    } catch {
      throw invalid(file, `requires-python "${text}" is not a PEP 440 specifier`);
    }
    return {
      text,
      admits: (version) => specifier.contains(version, { prereleases: true }),
    };
  }
  const python = poetryDependencies?.python;
  if (usePoetry && typeof python === "string") {
    const constraint = parsePoetryConstraint(python);
    return {
      text: python,
      admits: (version) => poetryConstraintAdmits(constraint, version, { prereleases: true }),
    };
  }
  if (usePoetry && python !== undefined && typeof python !== "string") {
    throw invalid(file, "[tool.poetry.dependencies].python must be a constraint string");
  }
  return undefined;
}

function line(text: string, file: string, section: string, position: number): RequirementLine {
  let requirement: Requirement;
  try {
    requirement = parseRequirement(text);
  } catch (error) {
    if (error instanceof PylayerError) {
      throw new PylayerError(error.code, `${file} ${section} item ${position}: ${error.message}`, {
        ...(error.hint === undefined ? {} : { hint: error.hint }),
      });
    }
    throw error;
  }
  if (requirement.url !== undefined) {
    throw new PylayerError(
      "unsupported-requirement",
      `${file} ${section}: "${text}" is a direct URL reference, which cannot be installed into a layer`,
      {
        hint: "pylayer installs wheels from package indexes; put the wheel in a folder and pass --find-links FOLDER, and depend on it by version.",
      },
    );
  }
  return { requirement, hashes: [], source: { file: `${file} ${section}`, line: position } };
}

/** `[project]` dependencies plus requested extras, with self-references expanded. */
function pep621Lines(
  file: string,
  project: TomlTable,
  name: string | undefined,
  extras: readonly string[],
): RequirementLine[] {
  const optional = table(project["optional-dependencies"]) ?? {};
  const optionalByName = new Map(Object.keys(optional).map((key) => [normalizeName(key), key]));
  const dependencies = project.dependencies ?? [];
  if (!Array.isArray(dependencies)) throw invalid(file, "[project].dependencies must be a list");
  for (const extra of extras) {
    if (!optionalByName.has(extra)) {
      throw new PylayerError(
        "unknown-extra",
        `${file} has no optional dependency group (extra) "${extra}"`,
        {
          hint:
            optionalByName.size === 0
              ? "The project declares no [project.optional-dependencies]."
              : `Its extras are: ${[...optionalByName.values()].join(", ")}.`,
        },
      );
    }
  }
  const lines: RequirementLine[] = [];
  const seenExtras = new Set<string>();
  const addList = (values: unknown, section: string, marker: Marker | undefined) => {
    if (!Array.isArray(values))
      throw invalid(file, `${section} must be a list of requirement strings`);
    values.forEach((value, index) => {
      if (typeof value !== "string")
        throw invalid(file, `${section} item ${index + 1} must be a string`);
      const parsed = line(value, file, section, index + 1);
      const combined = marker === undefined ? parsed : withMarker(parsed, marker);
      if (name !== undefined && parsed.requirement.normalizedName === name) {
        for (const extra of parsed.requirement.extras) addExtra(extra, combined.requirement.marker);
        return;
      }
      lines.push(combined);
    });
  };
  const addExtra = (extra: string, marker: Marker | undefined) => {
    const key = `${extra}|${marker === undefined ? "" : markerToString(marker)}`;
    if (seenExtras.has(key)) return;
    seenExtras.add(key);
    const written = optionalByName.get(extra);
    if (written === undefined) return;
    addList(optional[written], `[project.optional-dependencies].${written}`, marker);
  };
  addList(dependencies, "[project].dependencies", undefined);
  for (const extra of extras) addExtra(extra, undefined);
  return lines;
}

/** The same requirement, applying only where `marker` also holds. */
function withMarker(line: RequirementLine, marker: Marker): RequirementLine {
  const requirement = line.requirement;
  const own = requirement.marker;
  const text = `${requirementToString({ ...requirement, marker: undefined } as Requirement)}; ${
    own === undefined
      ? markerToString(marker)
      : `(${markerToString(marker)}) and (${markerToString(own)})`
  }`;
  return { ...line, requirement: { ...parseRequirement(text), text: requirement.text } };
}

function groupLines(
  file: string,
  data: TomlTable,
  group: string,
  name: string | undefined,
  project: TomlTable,
): RequirementLine[] {
  const groupsTable = data["dependency-groups"];
  const names = dependencyGroupNames(groupsTable, file);
  const tool = table(data.tool);
  const poetry = table(tool?.poetry);
  const lines: RequirementLine[] = [];
  const addSelf = (requirement: Requirement) => {
    // A group naming the project itself means the project's dependencies (and extras).
    lines.push(...pep621Lines(file, project, name, requirement.extras));
  };
  if (names.has(group)) {
    for (const item of expandDependencyGroup(groupsTable, group, file)) {
      const parsed = line(
        item.text,
        file,
        `[dependency-groups].${names.get(item.group) ?? item.group}`,
        item.position,
      );
      if (name !== undefined && parsed.requirement.normalizedName === name)
        addSelf(parsed.requirement);
      else lines.push(parsed);
    }
    return lines;
  }
  const poetryGroups = table(poetry?.group) ?? {};
  const poetryGroupKey = Object.keys(poetryGroups).find((key) => normalizeName(key) === group);
  const poetryTable =
    poetryGroupKey !== undefined
      ? table(table(poetryGroups[poetryGroupKey])?.dependencies)
      : group === "dev"
        ? table(poetry?.["dev-dependencies"])
        : undefined;
  if (poetryTable !== undefined) {
    const section =
      poetryGroupKey !== undefined
        ? `[tool.poetry.group.${poetryGroupKey}.dependencies]`
        : "[tool.poetry.dev-dependencies]";
    let position = 0;
    for (const [dependency, value] of Object.entries(poetryTable)) {
      position++;
      if (normalizeName(dependency) === "python") continue;
      for (const requirement of poetryDependencyRequirements(
        dependency,
        value,
        `${file} ${section}`,
      )) {
        lines.push(line(requirement.text, file, section, position));
      }
    }
    return lines;
  }
  const uvDev = table(tool?.uv)?.["dev-dependencies"];
  if (group === "dev" && Array.isArray(uvDev)) {
    uvDev.forEach((value, index) => {
      lines.push(line(String(value), file, "[tool.uv].dev-dependencies", index + 1));
    });
    return lines;
  }
  const known = [
    ...names.values(),
    ...Object.keys(poetryGroups),
    ...(poetry?.["dev-dependencies"] !== undefined || Array.isArray(uvDev) ? ["dev"] : []),
  ];
  throw new PylayerError("unknown-group", `${file} has no dependency group "${group}"`, {
    hint:
      known.length === 0
        ? "The file declares no [dependency-groups] (PEP 735) and no Poetry groups."
        : `Its groups are: ${[...new Set(known)].join(", ")}.`,
  });
}

function poetryProjectLines(
  file: string,
  poetry: TomlTable,
  dependencies: TomlTable,
  extras: readonly string[],
  warnings: string[],
): RequirementLine[] {
  const extrasTable = table(poetry.extras);
  const known = Object.keys(extrasTable ?? {});
  for (const extra of extras) {
    if (!known.some((key) => normalizeName(key) === extra)) {
      throw new PylayerError(
        "unknown-extra",
        `${file} has no extra "${extra}" in [tool.poetry.extras]`,
        {
          hint:
            known.length === 0
              ? "The project declares no [tool.poetry.extras]."
              : `Its extras are: ${known.join(", ")}.`,
        },
      );
    }
  }
  const optionalWanted = poetryExtraPackages(extrasTable, extras);
  const lines: RequirementLine[] = [];
  let position = 0;
  for (const [dependency, value] of Object.entries(dependencies)) {
    position++;
    if (normalizeName(dependency) === "python") continue;
    const section = "[tool.poetry.dependencies]";
    for (const requirement of poetryDependencyRequirements(
      dependency,
      value,
      `${file} ${section}`,
    )) {
      if (requirement.optional && !optionalWanted.has(normalizeName(dependency))) continue;
      if (requirement.source !== undefined) {
        warnings.push(
          `${file}: ${dependency} names the Poetry source "${requirement.source}"; pylayer looks it up on the configured indexes`,
        );
      }
      lines.push(line(requirement.text, file, section, position));
    }
  }
  return lines;
}

/** Whether a runtime's Python (`3.12.11`) satisfies the project's requirement. */
export function projectAdmitsPython(
  requirement: PythonRequirement | undefined,
  version: string,
): boolean {
  if (requirement === undefined) return true;
  return Version.tryParse(version) === null ? true : requirement.admits(version);
}
