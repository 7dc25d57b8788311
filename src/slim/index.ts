/**
 * Slimming: removing from a layer what Lambda never uses, and nothing it does.
 *
 * Rules, each with the reason it is safe:
 * - `bytecode`: timestamp-based `*.pyc` files and the rest of `__pycache__/` folders shipped
 *   in wheels or written by other installers. Their timestamp checks fail in a zip with
 *   fixed times, so Python recompiles anyway. Hash-based `.pyc` files (PEP 552, as
 *   `--compile` writes them, after slimming) stay: they are valid on a read-only `/opt`.
 * - `tests`: `tests/` and `test/` folders inside the site folder, only when no file that
 *   stays in the layer imports them (import statements, relative ones resolved, and
 *   dotted names anywhere in Python sources, `entry_points.txt`, `.pth` files and scripts).
 * - `stubs`: `*.pyi` type stubs, read by type checkers only.
 * - `dist-info`: files of `.dist-info` folders other than METADATA, RECORD,
 *   entry_points.txt and top_level.txt: `importlib.metadata` (version(), entry_points(),
 *   files(), packages_distributions()) reads only these.
 * - `pattern`: files or folders matching a `--slim-pattern` glob.
 */
import { posix } from "node:path";
import type { PlannedEntry } from "../zip/index.js";
import { type CompiledGlob, compileGlob, globMatches } from "./glob.js";
import { referencedModules } from "./imports.js";
import {
  type EntryReader,
  entrySize,
  mapWithConcurrency,
  siteDirOf,
  updateRecords,
} from "./layer-files.js";

export { compileGlob, globMatches } from "./glob.js";
export { referencedModules, resolveRelative } from "./imports.js";
export {
  type AddedFile,
  createEntryReader,
  type EntryReader,
  entrySize,
  isRecordFile,
  mapWithConcurrency,
  siteDirOf,
  updateRecords,
} from "./layer-files.js";

export type SlimReason = "bytecode" | "tests" | "stubs" | "dist-info" | "pattern";

export const SLIM_REASONS: Record<SlimReason, string> = {
  bytecode: "__pycache__ and .pyc files",
  tests: "test suites (tests/, test/ folders nothing imports)",
  stubs: "type stubs (.pyi)",
  "dist-info": ".dist-info files importlib.metadata does not read",
  pattern: "--slim-pattern matches",
};

export interface SlimRemoval {
  /** Zip path of the removed file. */
  path: string;
  size: number;
  reason: SlimReason;
  /** The test folder or pattern behind the removal, when there is one. */
  detail?: string;
}

/** A test folder kept because something that stays in the layer imports it. */
export interface KeptTestFolder {
  path: string;
  /** One file (zip path) that imports it. */
  importedBy: string;
}

export interface SlimOptions {
  /** More globs to remove (see `compileGlob`). */
  patterns?: readonly string[];
}

export interface SlimFile {
  name: string;
  size: number;
}

export interface SlimPlan<T extends SlimFile> {
  kept: T[];
  removals: SlimRemoval[];
  keptTestFolders: KeptTestFolder[];
}

/** `.dist-info` files `importlib.metadata` reads; the rest of the folder can go. */
const DIST_INFO_KEPT = new Set(["METADATA", "RECORD", "entry_points.txt", "top_level.txt"]);
const TEST_FOLDER_NAMES = new Set(["tests", "test"]);
/** Scripts larger than this are not scanned for imports (they are binaries). */
const SCRIPT_SCAN_LIMIT = 256 * 1024;

/**
 * Decides which of `files` (zip paths with uncompressed sizes) to remove. `read` gives
 * a file's bytes; it is called only for the sources scanned for imports of test folders.
 */
export async function planSlim<T extends SlimFile>(
  files: readonly T[],
  read: (file: T) => Promise<Buffer>,
  options: SlimOptions = {},
): Promise<SlimPlan<T>> {
  const globs = (options.patterns ?? []).map((pattern) => compileGlob(pattern));
  const reasons = new Map<T, { reason: SlimReason; detail?: string }>();
  const testFolders = new Map<string, { module: string; files: T[] }>();

  const bytecodeToCheck: T[] = [];
  for (const file of files) {
    if (file.name.endsWith("/")) continue;
    const fixed = fixedReason(file.name, globs);
    if (fixed !== undefined) {
      if (fixed.reason === "bytecode" && file.name.endsWith(".pyc")) bytecodeToCheck.push(file);
      reasons.set(file, fixed);
      continue;
    }
    const folder = outermostTestFolder(file.name);
    if (folder !== undefined) {
      const known = testFolders.get(folder.path) ?? { module: folder.module, files: [] };
      known.files.push(file);
      testFolders.set(folder.path, known);
    }
  }

  await mapWithConcurrency(bytecodeToCheck, 16, async (file) => {
    if (!isHashBasedPyc(await read(file))) return;
    const pattern = patternReason(file.name, globs);
    if (pattern === undefined) reasons.delete(file);
    else reasons.set(file, pattern);
  });

  const keptTestFolders: KeptTestFolder[] = [];
  if (testFolders.size > 0) {
    const importers = await findTestFolderImporters(files, read, reasons, testFolders);
    for (const [path, { files: inside }] of testFolders) {
      const importedBy = importers.get(path);
      if (importedBy !== undefined) {
        keptTestFolders.push({ path, importedBy });
        continue;
      }
      for (const file of inside) reasons.set(file, { reason: "tests", detail: path });
    }
  }

  const kept: T[] = [];
  const removals: SlimRemoval[] = [];
  for (const file of files) {
    const removal = reasons.get(file);
    if (removal === undefined) kept.push(file);
    else removals.push({ path: file.name, size: file.size, ...removal });
  }
  removals.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
  keptTestFolders.sort((left, right) => (left.path < right.path ? -1 : 1));
  return { kept, removals, keptTestFolders };
}

/**
 * Whether `data` is a PEP 552 hash-based `.pyc` (bit 0 of the flags word after the magic
 * number), valid without writable storage or matching timestamps.
 */
export function isHashBasedPyc(data: Buffer): boolean {
  return data.length >= 16 && (data.readUInt32LE(4) & 0b1) === 1;
}

/** The reason of every rule that needs at most the file itself to decide. */
function fixedReason(
  name: string,
  globs: readonly CompiledGlob[],
): { reason: SlimReason; detail?: string } | undefined {
  const segments = name.split("/");
  const leaf = segments[segments.length - 1]!;
  if (segments.includes("__pycache__") || leaf.endsWith(".pyc") || leaf.endsWith(".pyo")) {
    return { reason: "bytecode" };
  }
  if (leaf.endsWith(".pyi")) return { reason: "stubs" };
  const siteDir = siteDirOf(name);
  if (siteDir !== undefined) {
    const inSite = name.slice(siteDir.length + 1).split("/");
    if (inSite.length >= 2 && inSite[0]!.endsWith(".dist-info")) {
      const file = inSite.slice(1).join("/");
      if (!DIST_INFO_KEPT.has(file)) return { reason: "dist-info" };
    }
  }
  return patternReason(name, globs);
}

function patternReason(
  name: string,
  globs: readonly CompiledGlob[],
): { reason: SlimReason; detail: string } | undefined {
  const siteDir = siteDirOf(name);
  const relative = siteDir === undefined ? name : name.slice(siteDir.length + 1);
  for (const glob of globs) {
    if (globMatches(glob, relative) || globMatches(glob, name)) {
      return { reason: "pattern", detail: glob.pattern };
    }
  }
  return undefined;
}

/** The outermost `tests`/`test` folder holding `name` inside a site folder, with its module name. */
function outermostTestFolder(name: string): { path: string; module: string } | undefined {
  const siteDir = siteDirOf(name);
  if (siteDir === undefined) return undefined;
  const segments = name.slice(siteDir.length + 1).split("/");
  if (segments[0]!.endsWith(".dist-info") || segments[0]!.endsWith(".data")) return undefined;
  for (let index = 0; index < segments.length - 1; index++) {
    if (TEST_FOLDER_NAMES.has(segments[index]!)) {
      const folder = segments.slice(0, index + 1);
      return { path: `${siteDir}/${folder.join("/")}/`, module: folder.join(".") };
    }
  }
  return undefined;
}

/**
 * Whether `file` is scanned for imports: Python sources, entry points, .pth files,
 * scripts. `conftest.py` files are not: only pytest loads them, and it runs the tests.
 */
function isScanned(file: SlimFile): boolean {
  const leaf = posix.basename(file.name);
  if (leaf === "conftest.py") return false;
  if (leaf.endsWith(".py") || leaf.endsWith(".pth") || leaf === "entry_points.txt") return true;
  return file.name.startsWith("bin/") && file.size <= SCRIPT_SCAN_LIMIT;
}

/**
 * For each test folder, one kept file that imports it. Files inside a test folder count
 * only once that folder is itself kept, so test suites that import each other go
 * together.
 */
async function findTestFolderImporters<T extends SlimFile>(
  files: readonly T[],
  read: (file: T) => Promise<Buffer>,
  removedAlready: ReadonlyMap<T, unknown>,
  testFolders: ReadonlyMap<string, { module: string; files: T[] }>,
): Promise<Map<string, string>> {
  const folderByModule = new Map<string, string[]>();
  for (const [path, { module }] of testFolders) {
    folderByModule.set(module, [...(folderByModule.get(module) ?? []), path]);
  }
  const mentionsTestSegment = (dotted: string) =>
    dotted.split(".").some((segment) => TEST_FOLDER_NAMES.has(segment));
  const scanned = files.filter((file) => !removedAlready.has(file) && isScanned(file));
  /** folder → files (outside it) that reference it, with the test folder each file is in. */
  const referencedBy = new Map<string, { file: string; inFolder: string | undefined }[]>();
  await mapWithConcurrency(scanned, 16, async (file) => {
    const text = (await read(file)).toString("utf8");
    if (!text.includes("test")) return;
    const siteDir = siteDirOf(file.name);
    const packageName = siteDir === undefined ? "" : packageOf(file.name.slice(siteDir.length + 1));
    const inFolder = outermostTestFolder(file.name)?.path;
    for (const reference of referencedModules(text, packageName, mentionsTestSegment)) {
      const segments = reference.split(".");
      for (let length = 1; length <= segments.length; length++) {
        for (const folder of folderByModule.get(segments.slice(0, length).join(".")) ?? []) {
          if (file.name.startsWith(folder)) continue;
          const list = referencedBy.get(folder) ?? [];
          list.push({ file: file.name, inFolder });
          referencedBy.set(folder, list);
        }
      }
    }
  });
  // Least fixpoint: a folder is kept when a file that stays (outside every test folder,
  // or inside a kept one) references it.
  const kept = new Map<string, string>();
  let changed = true;
  while (changed) {
    changed = false;
    for (const [folder, references] of referencedBy) {
      if (kept.has(folder)) continue;
      const importer = references
        .filter((reference) => reference.inFolder === undefined || kept.has(reference.inFolder))
        .map((reference) => reference.file)
        .sort()[0];
      if (importer !== undefined) {
        kept.set(folder, importer);
        changed = true;
      }
    }
  }
  return kept;
}

/** The dotted package of a file at `relativePath` in a site folder (`a/b/c.py` → `a.b`). */
function packageOf(relativePath: string): string {
  const segments = relativePath.split("/");
  segments.pop();
  return segments.join(".");
}

export interface SlimEntriesResult {
  entries: PlannedEntry[];
  removals: SlimRemoval[];
  keptTestFolders: KeptTestFolder[];
}

/**
 * Slims the planned entries of a layer: removes what `planSlim` decides and rewrites
 * each RECORD so that it lists only the files shipped.
 */
export async function slimEntries(
  entries: readonly PlannedEntry[],
  read: EntryReader,
  options: SlimOptions = {},
): Promise<SlimEntriesResult> {
  const files = entries.map((entry) => ({ name: entry.name, size: entrySize(entry), entry }));
  const plan = await planSlim(files, (file) => read(file.entry), options);
  const removed = new Set(plan.removals.map((removal) => removal.path));
  const kept = plan.kept.map((file) => file.entry);
  return {
    entries: await updateRecords(kept, read, { removed }),
    removals: plan.removals,
    keptTestFolders: plan.keptTestFolders,
  };
}

/** Total bytes and files of `removals`, by reason (reasons with no removal left out). */
export function summarizeRemovals(removals: readonly SlimRemoval[]): {
  files: number;
  bytes: number;
  byReason: { reason: SlimReason; files: number; bytes: number }[];
} {
  const byReason = new Map<SlimReason, { files: number; bytes: number }>();
  let bytes = 0;
  for (const removal of removals) {
    const total = byReason.get(removal.reason) ?? { files: 0, bytes: 0 };
    total.files++;
    total.bytes += removal.size;
    byReason.set(removal.reason, total);
    bytes += removal.size;
  }
  return {
    files: removals.length,
    bytes,
    byReason: (Object.keys(SLIM_REASONS) as SlimReason[])
      .filter((reason) => byReason.has(reason))
      .map((reason) => ({ reason, ...byReason.get(reason)! })),
  };
}
