/**
 * Building wheels from source distributions and local project folders (PEP 517/518).
 *
 * Every build runs in an isolated build environment: the `[build-system].requires` (and
 * what `get_requires_for_build_wheel` adds) are resolved and installed by the caller's
 * `installRequirements` (pylayer's own resolver, for the build Python's platform, from the
 * same indexes) into a scratch folder; nothing of the build Python's own site-packages is
 * visible. Built wheels are cached by what determines them: the sdist's sha256 (or the hash
 * of a local project's files), the build interpreter and the declared backend requirements
 * and settings. Backend output goes to a log file, shown (its last lines) only on failure.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rename,
  rm,
  stat,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative, sep } from "node:path";
import { PylayerError } from "../errors.js";
import { isTable, parseTomlText } from "../pyproject/toml.js";
import { parseWheelFilename, tagToString } from "../tags/index.js";
import { callHook, type HookCall } from "./hooks.js";
import type { BuildPython } from "./python.js";
import { extractArchive, readArchive, topFolder } from "./tar.js";

/** The `[build-system]` table of a source tree, with PEP 517's fallbacks applied. */
export interface BuildSystem {
  requires: string[];
  /** `module:object`. */
  backend: string;
  backendPath: string[];
  /** True when there is no `build-backend` (setuptools' legacy `setup.py` backend is used). */
  legacy: boolean;
}

/** PEP 517: a project without `build-backend` is built by setuptools' legacy backend. */
export const LEGACY_BACKEND = "setuptools.build_meta:__legacy__";
const LEGACY_REQUIRES = ["setuptools>=40.8.0"];

export async function readBuildSystem(tree: string): Promise<BuildSystem> {
  const path = join(tree, "pyproject.toml");
  let text: string | null;
  try {
    text = await readFile(path, "utf8");
  } catch {
    text = null;
  }
  if (text === null) {
    try {
      await stat(join(tree, "setup.py"));
    } catch {
      throw new PylayerError(
        "not-a-project",
        `${tree} has neither pyproject.toml nor setup.py, so it cannot be built`,
        { hint: "Point the requirement at the folder that holds the project's pyproject.toml." },
      );
    }
    return { requires: LEGACY_REQUIRES, backend: LEGACY_BACKEND, backendPath: [], legacy: true };
  }
  const data = parseTomlText(text, path);
  const table = data["build-system"];
  if (!isTable(table)) {
    return { requires: LEGACY_REQUIRES, backend: LEGACY_BACKEND, backendPath: [], legacy: true };
  }
  const strings = (value: unknown, key: string): string[] => {
    if (value === undefined) return [];
    if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
      throw new PylayerError(
        "invalid-pyproject",
        `${path}: [build-system].${key} must be a list of strings`,
        {
          hint: "See PEP 518 for the [build-system] table.",
        },
      );
    }
    return value;
  };
  if (table.requires === undefined) {
    throw new PylayerError("invalid-pyproject", `${path}: [build-system] has no requires`, {
      hint: 'PEP 518 makes it mandatory, e.g. requires = ["setuptools>=61"].',
    });
  }
  const requires = strings(table.requires, "requires");
  const backend = table["build-backend"];
  if (backend !== undefined && typeof backend !== "string") {
    throw new PylayerError(
      "invalid-pyproject",
      `${path}: [build-system].build-backend must be a string`,
      {
        hint: 'E.g. build-backend = "setuptools.build_meta".',
      },
    );
  }
  const backendPath = strings(table["backend-path"], "backend-path");
  for (const entry of backendPath) {
    if (entry.startsWith("/") || entry.split(/[\\/]/).includes("..")) {
      throw new PylayerError(
        "invalid-pyproject",
        `${path}: backend-path entry ${entry} leaves the source tree`,
        { hint: "PEP 517: backend-path entries are relative folders inside the project." },
      );
    }
  }
  return {
    requires,
    backend: backend ?? LEGACY_BACKEND,
    backendPath,
    legacy: backend === undefined,
  };
}

/** Folders never part of a project's source for hashing and copying, at any depth. */
const IGNORED_FOLDERS = new Set([
  ".git",
  ".hg",
  ".svn",
  "__pycache__",
  ".venv",
  ".tox",
  ".nox",
  ".mypy_cache",
  ".pytest_cache",
  ".ruff_cache",
  "node_modules",
]);
/** Build outputs at the top of a project. */
const IGNORED_TOP_FOLDERS = new Set(["build", "dist", "venv"]);

/** The project's files, relative and `/`-separated, sorted. */
export async function listTree(root: string): Promise<string[]> {
  const files: string[] = [];
  const walk = async (folder: string, depth: number): Promise<void> => {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const entry of entries) {
      const path = join(folder, entry.name);
      let isDirectory = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const info = await stat(path).catch(() => null);
        // Linked folders are not followed (they may loop); linked files are read.
        isDirectory = false;
        isFile = info?.isFile() ?? false;
      }
      if (isDirectory) {
        if (IGNORED_FOLDERS.has(entry.name) || entry.name.endsWith(".egg-info")) continue;
        if (depth === 0 && IGNORED_TOP_FOLDERS.has(entry.name)) continue;
        await walk(path, depth + 1);
      } else if (isFile) {
        files.push(relative(root, path).split(sep).join("/"));
      }
    }
  };
  await walk(root, 0);
  return files.sort();
}

/** A digest of the project's files (paths, executable bits and contents). */
export async function hashTree(root: string, files: readonly string[]): Promise<string> {
  const digest = createHash("sha256");
  for (const file of files) {
    const path = join(root, file);
    const [content, info] = await Promise.all([readFile(path), stat(path)]);
    const executable = (info.mode & 0o111) !== 0 ? "x" : "-";
    digest.update(
      `${file}\u0000${executable}\u0000${createHash("sha256").update(content).digest("hex")}\n`,
    );
  }
  return digest.digest("hex");
}

export interface BuiltWheel {
  path: string;
  filename: string;
  sha256: string;
  /** Expanded tags of the file name, e.g. `["py3-none-any"]`. */
  tags: string[];
  /** No compiled code: `none` ABI and `any` platform. */
  pure: boolean;
  /** The interpreter that built it. */
  python: BuildPython;
  fromCache: boolean;
  /** The backend that built it. */
  backend: string;
}

export type BuildRequirementInstaller = (
  requirements: readonly string[],
  python: BuildPython,
  destination: string,
  /** What the environment is for, for messages: `build requirements of foo 1.0`. */
  purpose: string,
) => Promise<string[]>;

export interface SourceBuildEvent {
  type: "detail" | "progress";
  message: string;
}

export interface SourceBuilderOptions {
  /** The build interpreter, looked up once, when the first build needs it. */
  findPython: () => Promise<BuildPython>;
  /** Resolves and installs requirements into a folder; returns `name==version` of each. */
  installRequirements: BuildRequirementInstaller;
  /** Where built wheels are kept between runs; null: a temporary folder for this process. */
  cacheFolder: string | null;
  /** `--config-settings`: passed to every hook. */
  configSettings?: Readonly<Record<string, string | string[]>>;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: SourceBuildEvent) => void;
}

/** Bump when the way wheels are built changes what a cached build means. */
const BUILD_FORMAT = 1;
/** How many lines of the backend's output a failure shows. */
const LOG_TAIL_LINES = 25;

export class SourceBuilder {
  private readonly options: SourceBuilderOptions;
  private readonly builds = new Map<string, Promise<BuiltWheel>>();
  private python: Promise<BuildPython> | undefined;
  private scratch: Promise<string> | undefined;

  constructor(options: SourceBuilderOptions) {
    this.options = options;
  }

  buildPython(): Promise<BuildPython> {
    this.python ??= this.options.findPython();
    return this.python;
  }

  /** Builds the wheel of an sdist archive whose sha256 is known. */
  buildArchive(
    archivePath: string,
    filename: string,
    sha256: string,
    label: string,
  ): Promise<BuiltWheel> {
    return this.once(`sdist:${sha256}`, async () => {
      const scratch = await this.scratchFolder();
      return this.build({ kind: "sdist", sha256 }, label, async () => {
        const files = await readArchive(archivePath, filename);
        const folder = await mkdtemp(join(scratch, "sdist-"));
        await extractArchive(files, folder);
        const top = topFolder(files);
        return top === undefined ? folder : join(folder, top);
      });
    });
  }

  /**
   * Builds the wheel of a local project folder. The files are hashed and copied to a
   * scratch folder first, so the build neither writes into the project nor sees leftovers
   * of earlier builds (`build/`, `*.egg-info`).
   */
  async buildTree(folder: string, label: string): Promise<BuiltWheel> {
    const files = await listTree(folder);
    const treeHash = await hashTree(folder, files);
    return this.once(`tree:${folder}:${treeHash}`, async () => {
      const scratch = await this.scratchFolder();
      return this.build({ kind: "tree", sha256: treeHash }, label, async () => {
        const copy = await mkdtemp(join(scratch, "tree-"));
        for (const file of files) {
          const destination = join(copy, file);
          await mkdir(join(destination, ".."), { recursive: true });
          await copyFile(join(folder, file), destination);
        }
        return copy;
      });
    });
  }

  private once(key: string, start: () => Promise<BuiltWheel>): Promise<BuiltWheel> {
    let result = this.builds.get(key);
    if (result === undefined) {
      result = start();
      this.builds.set(key, result);
      result.catch(() => this.builds.delete(key));
    }
    return result;
  }

  private scratchFolder(): Promise<string> {
    this.scratch ??= mkdtemp(join(tmpdir(), "pylayer-sdist-"));
    return this.scratch;
  }

  /** Deletes the scratch folder (unpacked sources, build environments). */
  async dispose(): Promise<void> {
    if (this.scratch !== undefined) await rm(await this.scratch, { recursive: true, force: true });
  }

  private async build(
    source: { kind: "sdist" | "tree"; sha256: string },
    label: string,
    prepareTree: () => Promise<string>,
  ): Promise<BuiltWheel> {
    const emit = this.options.onEvent ?? (() => {});
    const python = await this.buildPython();
    const tree = await prepareTree();
    const buildSystem = await readBuildSystem(tree);
    const configSettings = this.options.configSettings ?? {};
    const key = createHash("sha256")
      .update(
        JSON.stringify({
          format: BUILD_FORMAT,
          source,
          python: [
            python.path,
            python.implementation,
            python.fullVersion,
            python.machine,
            python.glibc ?? null,
          ],
          requires: buildSystem.requires,
          backend: buildSystem.backend,
          backendPath: buildSystem.backendPath,
          configSettings,
        }),
      )
      .digest("hex");
    const scratch = await this.scratchFolder();
    const store = this.options.cacheFolder ?? join(scratch, "built");
    const stored = await readStored(join(store, key), python, buildSystem.backend);
    if (stored !== null) {
      emit({
        type: "detail",
        message: `${label}: built wheel ${stored.filename} reused from the cache`,
      });
      return stored;
    }
    const logFolder = join(store, "logs");
    await mkdir(logFolder, { recursive: true });
    const logPath = join(
      logFolder,
      `${label.replace(/[^A-Za-z0-9._-]+/g, "_")}-${key.slice(0, 12)}.log`,
    );
    await writeFile(
      logPath,
      `Building ${label} with ${python.path} (Python ${python.fullVersion})\n`,
    );
    emit({
      type: "progress",
      message: `Building ${label} from source (${buildSystem.backend}, Python ${python.fullVersion})`,
    });
    const work = await mkdtemp(join(scratch, "build-"));
    const site = [join(work, "env")];
    const purpose = `the build requirements of ${label}`;
    const installed = await this.options.installRequirements(
      buildSystem.requires,
      python,
      site[0]!,
      purpose,
    );
    const call: Omit<HookCall, "hook" | "kwargs"> = {
      python,
      sourceTree: tree,
      site,
      backend: buildSystem.backend,
      backendPath: buildSystem.backendPath,
      controlFolder: work,
      logPath,
      env: this.options.env ?? process.env,
    };
    const requiresResult = await callHook({
      ...call,
      hook: "get_requires_for_build_wheel",
      kwargs: { config_settings: configSettings },
    });
    const extra = this.hookValue(
      requiresResult,
      "get_requires_for_build_wheel",
      label,
      call,
      logPath,
      [],
    );
    if (!Array.isArray(extra) || !extra.every((item) => typeof item === "string")) {
      throw buildFailed(
        label,
        call.backend,
        "get_requires_for_build_wheel returned something other than a list of strings",
        logPath,
        "",
      );
    }
    const installedNames = new Set(installed.map((pin) => pin.split("==")[0]!));
    const missing = extra.filter(
      (requirement) => !installedNames.has(requirementName(requirement)),
    );
    if (missing.length > 0) {
      const extraSite = join(work, "env-extra");
      await this.options.installRequirements(missing, python, extraSite, purpose);
      site.push(extraSite);
    }
    const output = join(work, "wheel");
    await mkdir(output, { recursive: true });
    const buildResult = await callHook({
      ...call,
      hook: "build_wheel",
      kwargs: {
        wheel_directory: output,
        config_settings: configSettings,
        metadata_directory: null,
      },
    });
    const built = this.hookValue(buildResult, "build_wheel", label, call, logPath, undefined);
    if (typeof built !== "string" || !built.endsWith(".whl")) {
      throw buildFailed(
        label,
        call.backend,
        "build_wheel did not return a wheel file name",
        logPath,
        await logTail(logPath),
      );
    }
    const filename = basename(built);
    const bytes = await readFile(join(output, filename));
    const sha256 = createHash("sha256").update(bytes).digest("hex");
    const folder = join(store, key);
    const temporary = `${folder}.${process.pid}.${Date.now()}.tmp`;
    await mkdir(temporary, { recursive: true });
    await writeFile(join(temporary, filename), bytes);
    await writeFile(
      join(temporary, "build.json"),
      JSON.stringify({
        filename,
        sha256,
        backend: buildSystem.backend,
        buildRequirements: installed,
      }),
    );
    await rename(temporary, folder).catch(async () => {
      // Another build of the same source finished first: its result is the same.
      await rm(temporary, { recursive: true, force: true });
    });
    await rm(work, { recursive: true, force: true });
    emit({ type: "detail", message: `${label}: built ${filename} (log: ${logPath})` });
    return describeWheel(
      join(folder, filename),
      filename,
      sha256,
      python,
      false,
      buildSystem.backend,
    );
  }

  private hookValue(
    result: Awaited<ReturnType<typeof callHook>>,
    hook: string,
    label: string,
    call: Omit<HookCall, "hook" | "kwargs">,
    logPath: string,
    fallback: unknown,
  ): unknown {
    switch (result.kind) {
      case "return":
        return result.value;
      case "unsupported":
        if (fallback !== undefined) return fallback;
        throw buildFailed(label, call.backend, `the backend has no ${hook} hook`, logPath, "");
      case "backend-unavailable":
        throw new PylayerError(
          "build-backend-unavailable",
          `building ${label}: the build backend ${call.backend} cannot be imported\n${lastLines(result.traceback)}`,
          {
            hint: `Check [build-system] of the project: requires must list the package that provides ${call.backend.split(":")[0]}, or backend-path must hold it. Full log: ${logPath}`,
          },
        );
      case "backend-invalid":
        throw new PylayerError("build-backend-invalid", `building ${label}: ${result.traceback}`, {
          hint: "PEP 517: a backend named with backend-path must be loaded from those folders.",
        });
      case "failed":
        throw buildFailedAsync(label, call.backend, hook, result, logPath);
    }
  }
}

function requirementName(requirement: string): string {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)/.exec(requirement);
  return (match?.[1] ?? requirement).toLowerCase().replace(/[-_.]+/g, "-");
}

function lastLines(text: string, count = LOG_TAIL_LINES): string {
  const lines = text.trimEnd().split("\n");
  return lines.slice(-count).join("\n");
}

async function logTail(logPath: string): Promise<string> {
  return lastLines(await readFile(logPath, "utf8").catch(() => ""));
}

function buildFailed(
  label: string,
  backend: string,
  what: string,
  logPath: string,
  tail: string,
): PylayerError {
  return new PylayerError(
    "source-build-failed",
    `building ${label} from source failed: ${what}${tail === "" ? "" : `\n${tail}`}`,
    {
      hint: `Full build log: ${logPath}. Fix the build (compilers, headers, backend settings), or use a release with wheels (--only-binary).`,
      details: { package: label, backend, log: logPath },
    },
  );
}

/** The error of a hook that failed, with the last lines of the log (the child has exited). */
function buildFailedAsync(
  label: string,
  backend: string,
  hook: string,
  result: { exitCode: number | null; signal: string | null },
  logPath: string,
): PylayerError {
  let tail = "";
  try {
    tail = lastLines(readFileSync(logPath, "utf8"));
  } catch {
    // No log to show.
  }
  const how =
    result.signal !== null ? `killed by ${result.signal}` : `exit status ${result.exitCode}`;
  return buildFailed(label, backend, `${backend} ${hook} ended with ${how}`, logPath, tail);
}

async function readStored(
  folder: string,
  python: BuildPython,
  backend: string,
): Promise<BuiltWheel | null> {
  try {
    const info = JSON.parse(await readFile(join(folder, "build.json"), "utf8")) as {
      filename: string;
      sha256: string;
    };
    const path = join(folder, info.filename);
    await stat(path);
    return describeWheel(path, info.filename, info.sha256, python, true, backend);
  } catch {
    return null;
  }
}

function describeWheel(
  path: string,
  filename: string,
  sha256: string,
  python: BuildPython,
  fromCache: boolean,
  backend: string,
): BuiltWheel {
  const parsed = parseWheelFilename(filename);
  const tags = parsed.tags.map(tagToString);
  const pure = parsed.tags.every((tag) => tag.abi === "none" && tag.platform === "any");
  return { path, filename, sha256, tags, pure, python, fromCache, backend };
}
