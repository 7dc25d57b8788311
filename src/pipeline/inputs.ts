import { join } from "node:path";
import { usageError } from "../errors.js";
import { pathExists } from "../files.js";
import { parseHandler } from "../function/index.js";
import { lockFormatFromName } from "../lock/names.js";
import { isTable, readTomlFile } from "../pyproject/index.js";
import { type LambdaRuntime, RUNTIMES } from "../runtime/index.js";
import { absolute, type PlanContext, planBuild, planWithoutDependencies } from "./plan.js";
import type { BuildInput, BuildOptions, BuildPlan } from "./types.js";

/** Files looked for in the current folder, in this order, when no input is named. */
export const INPUT_FILES = [
  "pylock.toml",
  "uv.lock",
  "poetry.lock",
  "Pipfile.lock",
  "pyproject.toml",
  "requirements.txt",
] as const;

const LOCK_FILES = new Set<string>(["pylock.toml", "uv.lock", "poetry.lock", "Pipfile.lock"]);

/** Whether a pyproject.toml declares dependencies pylayer can read (not only tool settings). */
async function declaresDependencies(path: string): Promise<boolean> {
  const data = await readTomlFile(path, "pyproject.toml");
  const tool = isTable(data.tool) ? data.tool : {};
  const poetry = isTable(tool.poetry) ? tool.poetry : {};
  return (
    isTable(data.project) || isTable(poetry.dependencies) || isTable(data["dependency-groups"])
  );
}

/**
 * The first input file in `folder` (INPUT_FILES order), skipping lock files when
 * `locks` is false and a pyproject.toml that declares no dependencies.
 */
export async function discoverInput(
  folder: string,
  options: { locks?: boolean } = {},
): Promise<{ kind: BuildInput["kind"]; path: string } | undefined> {
  for (const name of INPUT_FILES) {
    if (options.locks === false && LOCK_FILES.has(name)) continue;
    const path = join(folder, name);
    if (!(await pathExists(path))) continue;
    if (name === "pyproject.toml") {
      if (!(await declaresDependencies(path))) continue;
      return { kind: "pyproject", path };
    }
    if (name === "requirements.txt") return { kind: "requirements", path };
    return { kind: lockFormatFromName(path)!, path };
  }
  return undefined;
}

export interface PlanLayerOptions extends BuildOptions {
  /** Consider lock files when discovering inputs (default true; `pylayer lock` sets false). */
  discoverLocks?: boolean;
}

/**
 * Plans a layer (or a function package) from whatever input the options name or the folder
 * holds: `cwd`, or for a function package its source folder.
 */
export async function planLayer(
  givenOptions: PlanLayerOptions,
): Promise<{ plan: BuildPlan; context: PlanContext }> {
  const options = withFunctionLayout(givenOptions);
  const cwd = options.cwd ?? process.cwd();
  const discoverIn = options.function === undefined ? cwd : absolute(options.function.source, cwd);
  const emit = options.onEvent ?? (() => {});
  await refuseFileAsRequirement(options.requirements ?? [], cwd);
  const named =
    options.lock !== undefined ||
    options.pyproject !== undefined ||
    (options.requirements?.length ?? 0) > 0 ||
    (options.requirementFiles?.length ?? 0) > 0;
  let effective: BuildOptions = options;
  let input: BuildInput;
  if (named) {
    input =
      options.lock !== undefined
        ? {
            kind: lockFormatFromName(options.lock) ?? "pylock",
            path: absolute(options.lock, cwd),
            discovered: false,
          }
        : options.pyproject !== undefined
          ? { kind: "pyproject", path: absolute(options.pyproject, cwd), discovered: false }
          : {
              kind: "requirements",
              ...(options.requirementFiles?.length === 1 && !options.requirements?.length
                ? { path: absolute(options.requirementFiles[0]!, cwd) }
                : {}),
              discovered: false,
            };
  } else if (options.discover !== false) {
    const found = await discoverInput(discoverIn, { locks: options.discoverLocks !== false });
    if (found === undefined && options.function !== undefined) {
      emit({
        type: "info",
        message: `No requirements, pyproject.toml or lock file in ${discoverIn}: packaging the source alone`,
      });
      return planWithoutDependencies(options);
    }
    if (found === undefined) {
      const looked = INPUT_FILES.filter(
        (name) => options.discoverLocks !== false || !LOCK_FILES.has(name),
      );
      throw usageError(
        `nothing to build: no requirements given, and none of ${looked.join(", ")} is in ${cwd}`,
        'Pass requirements (e.g. "pylayer build requests"), -r requirements.txt, --pyproject FILE or --lock FILE.',
      );
    }
    input = { ...found, discovered: true };
    emit({
      type: "info",
      message: `Using ${found.path} (found in ${options.function === undefined ? "the current folder" : "the function source"})`,
    });
    effective =
      found.kind === "requirements"
        ? { ...options, requirementFiles: [found.path] }
        : found.kind === "pyproject"
          ? { ...options, pyproject: found.path }
          : { ...options, lock: found.path };
  } else if (options.function !== undefined) {
    return planWithoutDependencies(options);
  } else {
    input = { kind: "requirements", discovered: false };
  }
  const { plan, context } =
    effective.lock !== undefined
      ? await (await import("./lock-plan.js")).planFromLock({ ...effective, lock: effective.lock })
      : await planBuild(effective);
  const { input: planned, ...rest } = plan;
  // In the result's warnings, which every command prints (and --json carries).
  rest.warnings = [...rest.warnings, ...deprecationWarnings(plan)];
  return {
    plan: { input: { ...(planned ?? input), discovered: input.discovered }, ...rest },
    context: options.function === undefined ? context : { ...context, function: options.function },
  };
}

/**
 * `pylayer build requirements.txt` (without -r) would look up a project named
 * "requirements-txt": a requirement that names an existing input file is refused with the
 * flag it needs.
 */
async function refuseFileAsRequirement(
  requirements: readonly string[],
  cwd: string,
): Promise<void> {
  for (const requirement of requirements) {
    const base = requirement.split(/[\\/]/).pop() ?? requirement;
    const flag =
      LOCK_FILES.has(base) || base.endsWith(".lock")
        ? "--lock"
        : base === "pyproject.toml"
          ? "--pyproject"
          : /\.(txt|in)$/.test(base)
            ? "-r"
            : undefined;
    if (flag === undefined || !(await pathExists(join(cwd, requirement)))) continue;
    throw usageError(
      `"${requirement}" is a file, not a requirement`,
      `Did you mean ${flag} ${requirement}? (pylayer build with no input also uses requirements.txt, pyproject.toml or a lock file it finds in the current folder.)`,
    );
  }
}

/** A warning per runtime of the plan that Lambda has deprecated (the date is data in runtime/). */
function deprecationWarnings(plan: BuildPlan, now = new Date()): string[] {
  const today = now.toISOString().slice(0, 10);
  const runtimes = [...new Set(plan.targets.map((target) => target.runtime))];
  const warnings: string[] = [];
  for (const name of runtimes) {
    const runtime = RUNTIMES.find((candidate) => candidate.name === name);
    if (runtime?.deprecationDate === undefined || runtime.deprecationDate > today) continue;
    const replacement = newestSupportedRuntime(today);
    warnings.push(
      `${name} was deprecated by Lambda on ${runtime.deprecationDate}: functions on it get no security patches and, later, can no longer be created or updated${replacement === undefined ? "" : `; move to ${replacement.name} (--runtime ${replacement.name})`}`,
    );
  }
  return warnings;
}

function newestSupportedRuntime(today: string): LambdaRuntime | undefined {
  return RUNTIMES.filter(
    (runtime) => runtime.deprecationDate === undefined || runtime.deprecationDate > today,
  ).at(-1);
}

/**
 * The options of a function package: its layout is `function`, whatever else was asked is
 * an error; `slim` and `compile` work on layers only (their rules are about site folders
 * under `python/`, and compiled paths name `/opt`).
 */
function withFunctionLayout(options: PlanLayerOptions): PlanLayerOptions {
  if (options.function === undefined) {
    if (options.layout === "function") {
      throw usageError(
        "the function layout needs the function's source folder",
        "Pass --mode function --source DIR (library: the `function: { source }` option).",
      );
    }
    return options;
  }
  if (options.layout !== undefined && options.layout !== "function") {
    throw usageError(
      `a function package has its dependencies at the zip root; --layout ${options.layout} is for layers`,
      "Leave out --layout with --mode function.",
    );
  }
  if (
    options.slim === true ||
    (options.slimPatterns?.length ?? 0) > 0 ||
    options.compile === true
  ) {
    throw usageError(
      "--slim, --slim-pattern and --compile work on layers only",
      "Build the function package without them, or move the dependencies into a layer (pylayer build --slim --compile) and package the source alone.",
    );
  }
  // A malformed handler fails before anything is resolved.
  if (options.function.handler !== undefined) parseHandler(options.function.handler);
  return { ...options, layout: "function" };
}
