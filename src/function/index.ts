/**
 * Function packages: a Lambda function's own source folder, zipped at the root of the
 * function zip (Lambda extracts it to `/var/task`, the first entry of sys.path) next to the
 * dependencies installed there. This module reads the source tree (default and user
 * excludes, fixed modes), names the handler's module, and finds source modules that would
 * shadow a dependency's top-level name.
 */
import { createHash } from "node:crypto";
import type { Dirent } from "node:fs";
import { readdir, readFile, realpath, stat } from "node:fs/promises";
import { join, relative, resolve, sep } from "node:path";
import { PylayerError, usageError } from "../errors.js";
import { type CompiledGlob, compileGlob, globMatches } from "../slim/glob.js";
import type { InstallPlan } from "../wheel/index.js";
import type { PlannedEntry } from "../zip/index.js";

/** What a function package is made of, besides its dependencies. */
export interface FunctionSource {
  /** The function's source folder; its files go to the zip root (`/var/task`). */
  source: string;
  /**
   * More gitignore-like globs of source files or folders to leave out, relative to
   * `source` (`tests`, `*.md`, `docs/**`), on top of `DEFAULT_SOURCE_EXCLUDES`.
   */
  exclude?: string[];
  /**
   * Lambda's handler setting, `module.function` (`folder/module.function` and
   * `package.module.function` work too). Default `lambda_function.lambda_handler`, the Lambda
   * console's; the check requires an explicitly named handler to exist and only warns about
   * a missing default one.
   */
  handler?: string;
  /**
   * The only files taken from `source`: zip paths relative to it (`/`-separated), as a deploy
   * tool's own include/exclude rules chose them (the Serverless Framework's `package.patterns`).
   * The default and `exclude` globs still apply; a listed file that is not in the tree is
   * ignored. Absent: every file of the tree.
   */
  files?: readonly string[];
}

/** Lambda's default handler for Python functions (the console's `lambda_function.py`). */
export const DEFAULT_HANDLER = "lambda_function.lambda_handler";

/**
 * Files and folders never copied from a source tree: version control, bytecode caches,
 * virtual environments (also any folder holding a `pyvenv.cfg`), other tools' build output
 * and caches, and editor folders. Gitignore-like globs, matched against every path segment.
 */
export const DEFAULT_SOURCE_EXCLUDES = [
  ".git",
  ".hg",
  ".svn",
  ".bzr",
  "__pycache__",
  ".venv",
  "venv",
  "node_modules",
  "cdk.out",
  ".serverless",
  ".aws-sam",
  ".pytest_cache",
  ".mypy_cache",
  ".ruff_cache",
  ".tox",
  ".nox",
  ".idea",
  ".vscode",
  ".DS_Store",
] as const;

/** One file of the source tree, as it goes into the zip. */
export interface SourceFile {
  /** Zip path (`/`-separated, relative to the source folder). */
  name: string;
  /** Absolute path on this machine. */
  path: string;
  /** 0o755 when the file has any execute bit, else 0o644. */
  mode: number;
  size: number;
}

export interface ParsedHandler {
  /** Dotted module name, e.g. `app.main` for `app/main.handler` or `app.main.handler`. */
  module: string;
  /** The function's name in the module. */
  functionName: string;
  /** Zip paths one of which must exist for the module to import (source or extension). */
  candidates: string[];
}

/** Splits a handler setting as Lambda's Python runtime does: the last `.` separates the function. */
export function parseHandler(handler: string): ParsedHandler {
  const dot = handler.lastIndexOf(".");
  const modulePart = dot > 0 ? handler.slice(0, dot) : "";
  const functionName = dot > 0 ? handler.slice(dot + 1) : "";
  const module = modulePart.replaceAll("/", ".");
  const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
  if (
    module === "" ||
    !module.split(".").every((part) => identifier.test(part)) ||
    !identifier.test(functionName)
  ) {
    throw usageError(
      `the handler "${handler}" is not MODULE.FUNCTION`,
      "Name the handler as Lambda does, e.g. --handler app.handler for def handler(event, context) in app.py.",
    );
  }
  const path = module.replaceAll(".", "/");
  return {
    module,
    functionName,
    candidates: [`${path}.py`, `${path}/__init__.py`, `${path}.pyc`, `${path}.so`],
  };
}

/** Whether the zip paths in `names` hold the module of `handler` (a source or an extension module). */
export function handlerModulePresent(handler: ParsedHandler, names: Iterable<string>): boolean {
  const path = handler.module.replaceAll(".", "/");
  const extension = new RegExp(`^${escapeRegex(path)}\\.[A-Za-z0-9_-]+\\.so$`);
  for (const name of names) {
    if (handler.candidates.includes(name) || extension.test(name)) return true;
  }
  return false;
}

function escapeRegex(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * Lists the files of the source folder that go into the zip, sorted by zip path. Symbolic
 * links are followed (a folder reached twice through links is read once); sockets and
 * other special files are skipped. `skip` holds absolute paths never copied (the zips
 * this build writes, when they sit inside the source folder).
 */
export async function collectSourceFiles(
  options: FunctionSource,
  cwd: string,
  skip: readonly string[] = [],
): Promise<SourceFile[]> {
  const root = resolve(cwd, options.source);
  let rootStat: Awaited<ReturnType<typeof stat>>;
  try {
    rootStat = await stat(root);
  } catch {
    throw sourceMissing(root);
  }
  if (!rootStat.isDirectory()) throw sourceMissing(root);
  const globs: CompiledGlob[] = [
    ...DEFAULT_SOURCE_EXCLUDES.map((pattern) => compileGlob(pattern)),
    ...(options.exclude ?? []).map((pattern) => compileGlob(pattern, "--source-exclude")),
  ];
  const skipped = new Set(skip);
  const only = options.files === undefined ? undefined : new Set(options.files);
  // Folders holding a listed file: the only ones worth walking when a list is given.
  const onlyFolders = new Set<string>();
  for (const name of options.files ?? []) {
    for (let slash = name.indexOf("/"); slash !== -1; slash = name.indexOf("/", slash + 1)) {
      onlyFolders.add(name.slice(0, slash));
    }
  }
  const files: SourceFile[] = [];
  const visited = new Set<string>([await realpath(root)]);
  const walk = async (folder: string, prefix: string): Promise<void> => {
    let children: Dirent[];
    try {
      children = await readdir(folder, { withFileTypes: true });
    } catch (error) {
      throw new PylayerError(
        "source-unreadable",
        `cannot read ${folder}: ${(error as Error).message}`,
        {
          hint: "Check the folder's permissions, or leave it out with --source-exclude.",
          cause: error,
        },
      );
    }
    // A virtual environment is recognised by its pyvenv.cfg, whatever its name.
    if (prefix !== "" && children.some((child) => child.name === "pyvenv.cfg")) return;
    for (const child of children) {
      const name = prefix === "" ? child.name : `${prefix}/${child.name}`;
      if (globs.some((glob) => globMatches(glob, name))) continue;
      const path = join(folder, child.name);
      if (skipped.has(path)) continue;
      let info: Awaited<ReturnType<typeof stat>>;
      try {
        info = await stat(path);
      } catch {
        // A dangling symbolic link: nothing to copy.
        continue;
      }
      if (info.isDirectory()) {
        if (only !== undefined && !onlyFolders.has(name)) continue;
        const real = await realpath(path);
        if (visited.has(real)) continue;
        visited.add(real);
        await walk(path, name);
      } else if (info.isFile() && (only === undefined || only.has(name))) {
        files.push({
          name,
          path,
          mode: (Number(info.mode) & 0o111) !== 0 ? 0o755 : 0o644,
          size: Number(info.size),
        });
      }
    }
  };
  await walk(root, "");
  return files.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function sourceMissing(root: string): PylayerError {
  return new PylayerError("source-not-found", `the function source ${root} is not a folder`, {
    hint: "Pass --source DIR with the folder holding the handler's module.",
  });
}

/** The source files as zip entries (contents read now, so that the zip and its digest agree). */
export async function sourceEntries(
  files: readonly SourceFile[],
): Promise<{ entries: PlannedEntry[]; digest: string; bytes: number }> {
  const hash = createHash("sha256");
  let bytes = 0;
  const entries: PlannedEntry[] = [];
  for (const file of files) {
    const data = await readFile(file.path);
    bytes += data.length;
    hash.update(`${file.name}\0${file.mode}\0${data.length}\0`);
    hash.update(data);
    entries.push({ name: file.name, mode: file.mode, source: { kind: "bytes", data } });
  }
  return { entries, digest: hash.digest("hex"), bytes };
}

/** The top-level module name a zip path at the root of sys.path is imported as, if any. */
export function topLevelModuleOf(path: string): string | undefined {
  const slash = path.indexOf("/");
  const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;
  if (slash !== -1) {
    const first = path.slice(0, slash);
    if (!identifier.test(first) || first === "__pycache__") return undefined;
    return /\.(py|pyc|so)$/.test(path) ? first : undefined;
  }
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z0-9_-]+)?\.(py|pyc|so)$/.exec(path);
  if (match === null || (match[2] !== undefined && match[3] !== "so")) return undefined;
  return match[1];
}

export interface Shadowing {
  /** The top-level module name both define. */
  module: string;
  /** A source path defining it. */
  sourcePath: string;
  /** The distribution installing it, `name version`. */
  package: string;
}

/**
 * Source files whose top-level module name is also a dependency's, or whose path a
 * dependency writes too. At `/var/task` both sit in one folder, so one of them silently
 * replaces the other on import.
 */
export function findShadowing(
  sourceNames: readonly string[],
  installs: readonly InstallPlan[],
): Shadowing[] {
  const byModule = new Map<string, string>();
  const byPath = new Map<string, string>();
  for (const install of installs) {
    const label = `${install.name} ${install.version}`;
    for (const name of install.topLevel) if (!byModule.has(name)) byModule.set(name, label);
    for (const entry of install.entries) {
      const module = topLevelModuleOf(entry.name);
      if (module !== undefined && !byModule.has(module)) byModule.set(module, label);
      byPath.set(entry.name, label);
    }
  }
  const found = new Map<string, Shadowing>();
  for (const path of sourceNames) {
    const module = topLevelModuleOf(path);
    const owner = (module === undefined ? undefined : byModule.get(module)) ?? byPath.get(path);
    if (owner === undefined) continue;
    const key = module ?? path;
    if (!found.has(key)) found.set(key, { module: key, sourcePath: path, package: owner });
  }
  return [...found.values()];
}

/** The build error for shadowing source files. */
export function shadowingError(shadowing: readonly Shadowing[], source: string): PylayerError {
  const list = shadowing
    .map((item) => `${item.sourcePath} (module ${item.module}, also installed by ${item.package})`)
    .join("; ");
  return new PylayerError(
    "source-shadows-dependency",
    `the function source ${source} defines top-level names its dependencies install too: ${list}. Both land in /var/task, so one silently replaces the other`,
    {
      hint: "Rename the source module (or move it into a package), or leave the file out with --source-exclude, or the dependency out with --exclude.",
      details: { shadowing },
    },
  );
}

/** `path` relative to `from`, `/`-separated, for messages. */
export function displayPath(path: string, from: string): string {
  const shown = relative(from, path);
  return shown === "" ? "." : shown.startsWith("..") ? path : shown.split(sep).join("/");
}
