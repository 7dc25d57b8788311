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
  utimes,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, relative, sep } from "node:path";
import { PylayerError } from "../errors.js";
import { isTable, parseTomlText } from "../pyproject/toml.js";
import { parseWheelFilename, tagToString } from "../tags/index.js";
import { readWheelMetadata } from "../wheel/index.js";
import { ZipReader } from "../zip/index.js";
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
  /** `--config-settings`: passed to every hook (a requirement's own settings replace keys). */
  configSettings?: ConfigSettings;
  /** How many built wheels `cacheFolder` keeps (default BUILT_WHEELS_KEPT). */
  keepBuilds?: number;
  env?: NodeJS.ProcessEnv;
  onEvent?: (event: SourceBuildEvent) => void;
}

/**
 * How many built wheels (and build logs) the cache keeps; the least recently used go
 * first, as for the other buckets. A reuse counts as a use.
 */
export const BUILT_WHEELS_KEPT = 64;

/** Bump when the way wheels are built changes what a cached build means. */
const BUILD_FORMAT = 1;
/** How many lines of the backend's output a failure shows. */
const LOG_TAIL_LINES = 25;

/** What one build setting says: `--config-settings` values by key (pip's shape). */
export type ConfigSettings = Readonly<Record<string, string | string[]>>;

/** Where the metadata of a source came from, for the output. */
export type MetadataOrigin = "prepared" | "built" | "cached";

/** A source tree made ready to call hooks on: unpacked, its build key computed. */
interface PreparedSource {
  label: string;
  python: BuildPython;
  tree: string;
  buildSystem: BuildSystem;
  configSettings: ConfigSettings;
  /** The built-v1 entry name: source + interpreter + backend requirements + settings. */
  key: string;
  store: string;
}

/** The isolated environment of a prepared source, with its requirements installed. */
interface BuildEnvironment {
  call: Omit<HookCall, "hook" | "kwargs">;
  installed: string[];
  work: string;
  logPath: string;
  /** Set once prepare_metadata_for_build_wheel ran: the `.dist-info` folder it wrote. */
  metadataDirectory?: string;
}

export class SourceBuilder {
  private readonly options: SourceBuilderOptions;
  private readonly builds = new Map<string, Promise<BuiltWheel>>();
  private readonly sources = new Map<string, Promise<PreparedSource>>();
  private readonly environments = new Map<string, Promise<BuildEnvironment>>();
  private readonly metadata = new Map<string, Promise<{ text: string; origin: MetadataOrigin }>>();
  private python: Promise<BuildPython> | undefined;
  private scratch: Promise<string> | undefined;

  constructor(options: SourceBuilderOptions) {
    this.options = options;
  }

  buildPython(): Promise<BuildPython> {
    this.python ??= this.options.findPython();
    return this.python;
  }

  /**
   * Builds the wheel of an sdist archive whose sha256 is known. `configSettings` (a
   * requirement's own `--config-settings`) replace the builder's settings key by key.
   */
  buildArchive(
    archivePath: string,
    filename: string,
    sha256: string,
    label: string,
    configSettings?: ConfigSettings,
  ): Promise<BuiltWheel> {
    const prepared = this.archiveSource(archivePath, filename, sha256, label, configSettings);
    return this.once(this.builds, `sdist:${sha256}:${settingsKey(configSettings)}`, async () =>
      this.build(await prepared),
    );
  }

  /**
   * The METADATA of an sdist without building its wheel where the backend allows:
   * `prepare_metadata_for_build_wheel` (PEP 517) in the isolated environment, or a
   * cached build's. A backend without that hook builds the wheel (kept for the install).
   */
  archiveMetadata(
    archivePath: string,
    filename: string,
    sha256: string,
    label: string,
    configSettings?: ConfigSettings,
  ): Promise<{ text: string; origin: MetadataOrigin }> {
    return this.once(this.metadata, `sdist:${sha256}:${settingsKey(configSettings)}`, async () => {
      const source = await this.archiveSource(archivePath, filename, sha256, label, configSettings);
      const stored = await readStored(
        join(source.store, source.key),
        source.python,
        source.buildSystem.backend,
      );
      if (stored !== null) return { text: await wheelMetadataText(stored), origin: "cached" };
      const environment = await this.environment(source);
      const directory = join(environment.work, "metadata");
      await mkdir(directory, { recursive: true });
      const result = await callHook({
        ...environment.call,
        hook: "prepare_metadata_for_build_wheel",
        kwargs: { metadata_directory: directory, config_settings: source.configSettings },
      });
      if (result.kind === "unsupported") {
        const built = await this.buildArchive(archivePath, filename, sha256, label, configSettings);
        return { text: await wheelMetadataText(built), origin: "built" };
      }
      const name = this.hookValue(result, "prepare_metadata_for_build_wheel", source, environment);
      if (typeof name !== "string" || !name.endsWith(".dist-info")) {
        throw buildFailed(
          label,
          source.buildSystem.backend,
          "prepare_metadata_for_build_wheel did not return a .dist-info folder name",
          environment.logPath,
          await logTail(environment.logPath),
        );
      }
      environment.metadataDirectory = join(directory, basename(name));
      const text = await readFile(join(environment.metadataDirectory, "METADATA"), "utf8");
      this.emit(
        "detail",
        `${label}: metadata from prepare_metadata_for_build_wheel, no wheel built`,
      );
      return { text, origin: "prepared" };
    });
  }

  /**
   * Builds the wheel of a local project folder. The files are hashed and copied to a
   * scratch folder first, so the build neither writes into the project nor sees leftovers
   * of earlier builds (`build/`, `*.egg-info`).
   */
  async buildTree(
    folder: string,
    label: string,
    configSettings?: ConfigSettings,
  ): Promise<BuiltWheel> {
    const files = await listTree(folder);
    const treeHash = await hashTree(folder, files);
    const identity = `tree:${folder}:${treeHash}:${settingsKey(configSettings)}`;
    return this.once(this.builds, identity, async () => {
      const source = await this.once(this.sources, identity, () =>
        this.prepareSource(
          { kind: "tree", sha256: treeHash },
          label,
          configSettings,
          async (scratch) => {
            const copy = await mkdtemp(join(scratch, "tree-"));
            for (const file of files) {
              const destination = join(copy, file);
              await mkdir(join(destination, ".."), { recursive: true });
              await copyFile(join(folder, file), destination);
            }
            return copy;
          },
        ),
      );
      return this.build(source);
    });
  }

  private archiveSource(
    archivePath: string,
    filename: string,
    sha256: string,
    label: string,
    configSettings: ConfigSettings | undefined,
  ): Promise<PreparedSource> {
    return this.once(this.sources, `sdist:${sha256}:${settingsKey(configSettings)}`, () =>
      this.prepareSource({ kind: "sdist", sha256 }, label, configSettings, async (scratch) => {
        const files = await readArchive(archivePath, filename);
        const folder = await mkdtemp(join(scratch, "sdist-"));
        await extractArchive(files, folder);
        const top = topFolder(files);
        return top === undefined ? folder : join(folder, top);
      }),
    );
  }

  private once<T>(map: Map<string, Promise<T>>, key: string, start: () => Promise<T>): Promise<T> {
    let result = map.get(key);
    if (result === undefined) {
      result = start();
      map.set(key, result);
      result.catch(() => map.delete(key));
    }
    return result;
  }

  private emit(type: SourceBuildEvent["type"], message: string): void {
    this.options.onEvent?.({ type, message });
  }

  private scratchFolder(): Promise<string> {
    this.scratch ??= mkdtemp(join(tmpdir(), "pylayer-sdist-"));
    return this.scratch;
  }

  /** Deletes the scratch folder (unpacked sources, build environments). */
  async dispose(): Promise<void> {
    if (this.scratch !== undefined) await rm(await this.scratch, { recursive: true, force: true });
  }

  private async prepareSource(
    source: { kind: "sdist" | "tree"; sha256: string },
    label: string,
    perRequirement: ConfigSettings | undefined,
    unpack: (scratch: string) => Promise<string>,
  ): Promise<PreparedSource> {
    const python = await this.buildPython();
    const scratch = await this.scratchFolder();
    const tree = await unpack(scratch);
    const buildSystem = await readBuildSystem(tree);
    const configSettings = { ...(this.options.configSettings ?? {}), ...(perRequirement ?? {}) };
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
    const store = this.options.cacheFolder ?? join(scratch, "built");
    return { label, python, tree, buildSystem, configSettings, key, store };
  }

  /** Installs the build requirements (declared, then what get_requires_for_build_wheel adds). */
  private environment(source: PreparedSource): Promise<BuildEnvironment> {
    return this.once(this.environments, source.key, async () => {
      const { label, python, buildSystem, configSettings, key, store } = source;
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
      const scratch = await this.scratchFolder();
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
        sourceTree: source.tree,
        site,
        backend: buildSystem.backend,
        backendPath: buildSystem.backendPath,
        controlFolder: work,
        logPath,
        env: this.options.env ?? process.env,
      };
      const environment: BuildEnvironment = { call, installed, work, logPath };
      const requiresResult = await callHook({
        ...call,
        hook: "get_requires_for_build_wheel",
        kwargs: { config_settings: configSettings },
      });
      const extra =
        requiresResult.kind === "unsupported"
          ? []
          : this.hookValue(requiresResult, "get_requires_for_build_wheel", source, environment);
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
      return environment;
    });
  }

  private async build(source: PreparedSource): Promise<BuiltWheel> {
    const { label, python, buildSystem, configSettings, key, store } = source;
    const stored = await readStored(join(store, key), python, buildSystem.backend);
    if (stored !== null) {
      const now = new Date();
      await utimes(join(store, key, "build.json"), now, now).catch(() => {});
      this.emit("detail", `${label}: built wheel ${stored.filename} reused from the cache`);
      return stored;
    }
    this.emit(
      "progress",
      `Building ${label} from source (${buildSystem.backend}, Python ${python.fullVersion})`,
    );
    const environment = await this.environment(source);
    const { work, logPath, installed } = environment;
    const output = join(work, "wheel");
    await mkdir(output, { recursive: true });
    const buildResult = await callHook({
      ...environment.call,
      hook: "build_wheel",
      kwargs: {
        wheel_directory: output,
        config_settings: configSettings,
        metadata_directory: environment.metadataDirectory ?? null,
      },
    });
    const built = this.hookValue(buildResult, "build_wheel", source, environment);
    if (typeof built !== "string" || !built.endsWith(".whl")) {
      throw buildFailed(
        label,
        buildSystem.backend,
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
    if (this.options.cacheFolder !== null) {
      await pruneBuilt(store, this.options.keepBuilds ?? BUILT_WHEELS_KEPT, folder);
    }
    this.emit("detail", `${label}: built ${filename} (log: ${logPath})`);
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
    source: PreparedSource,
    environment: BuildEnvironment,
  ): unknown {
    const { label } = source;
    const { call, logPath } = environment;
    switch (result.kind) {
      case "return":
        return result.value;
      case "unsupported":
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

/**
 * Keeps the `keep` most recently used built wheels of `store` (by their `build.json`
 * times; `keepFolder`, just built, always stays) and as many build logs, deleting the
 * others. Partly written entries of live builds (`*.tmp`) are left alone.
 */
async function pruneBuilt(store: string, keep: number, keepFolder: string): Promise<void> {
  const byUse = async (folder: string, names: string[], file: (name: string) => string) => {
    const used = await Promise.all(
      names.map(async (name) => ({
        name,
        used: (await stat(join(folder, file(name))).catch(() => null))?.mtimeMs ?? 0,
      })),
    );
    used.sort((a, b) => b.used - a.used || (a.name < b.name ? -1 : 1));
    return used.map((entry) => entry.name);
  };
  const entries = (await readdir(store).catch(() => [] as string[])).filter((name) =>
    /^[0-9a-f]{64}$/.test(name),
  );
  if (entries.length > keep) {
    const ordered = await byUse(store, entries, (name) => join(name, "build.json"));
    const stale = ordered.slice(keep).filter((name) => join(store, name) !== keepFolder);
    for (const name of stale) await rm(join(store, name), { recursive: true, force: true });
  }
  const logs = join(store, "logs");
  const logNames = (await readdir(logs).catch(() => [] as string[])).filter((name) =>
    name.endsWith(".log"),
  );
  if (logNames.length > keep) {
    const ordered = await byUse(logs, logNames, (name) => name);
    for (const name of ordered.slice(keep)) await rm(join(logs, name), { force: true });
  }
}

/** A stable key of per-requirement settings (undefined: none). */
export function settingsKey(settings: ConfigSettings | undefined): string {
  if (settings === undefined) return "";
  return JSON.stringify(Object.entries(settings).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** The METADATA text inside a built wheel. */
async function wheelMetadataText(wheel: Pick<BuiltWheel, "path" | "filename">): Promise<string> {
  const reader = await ZipReader.open(wheel.path);
  try {
    return (await readWheelMetadata(reader, wheel.filename)).metadata;
  } finally {
    await reader.close();
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
