/**
 * A read-only view of a layer zip for the checks: its files, the distributions installed
 * in it (every `*.dist-info` folder, wherever it sits), which distribution wrote which file
 * (from the RECORD files), and the top-level modules of each.
 *
 * Zip paths are relative to `/opt`, the folder Lambda extracts layers into.
 */
import { posix } from "node:path";
import { crc32 } from "node:zlib";
import type { LambdaRuntime } from "../runtime/index.js";
import { parseHeaders, parseRecord } from "../wheel/index.js";
import type { ZipEntry, ZipReader } from "../zip/index.js";
import type { EntryFacts } from "./facts.js";

export interface Distribution {
  name: string;
  version: string;
  /** Zip path of the `.dist-info` folder, without a trailing slash. */
  distInfo: string;
  /** The folder holding the dist-info: the site folder it was installed into. */
  siteDir: string;
  hasRecord: boolean;
  hasMetadata: boolean;
  /** Zip paths listed in RECORD (resolved against `siteDir`), RECORD itself excluded. */
  recordPaths: string[];
  /** RECORD could not be parsed: the reason. */
  recordError?: string;
  /** Names from `top_level.txt`, when the dist-info has one. */
  topLevelFile?: string[];
  /** Top-level importable names derived from RECORD. */
  topLevelFromRecord: string[];
}

export interface LayerFiles {
  reader: ZipReader;
  /** Regular files and symbolic links (no directories), in zip order. */
  files: ZipEntry[];
  byName: Map<string, ZipEntry>;
  /** Every folder that holds at least one file (with its parents), without trailing slash. */
  directories: Set<string>;
  distributions: Distribution[];
  /** Zip path → distributions whose RECORD lists it, in `distributions` order. */
  owners: Map<string, Distribution[]>;
  /**
   * Zip path → what reading it found, for entries copied raw from a wheel whose facts are
   * known (src/check/reuse.ts); these entries are not read again.
   */
  facts: Map<string, EntryFacts>;
}

export function label(distribution: Distribution): string {
  return `${distribution.name} ${distribution.version}`;
}

/**
 * Reads the directory and every dist-info's METADATA, RECORD and top_level.txt. Those texts
 * are taken without reading the zip when they are known: from `facts` (an entry copied raw
 * from a wheel whose facts kept its text), or from `generated` (bytes the build wrote as
 * that entry, whose CRC-32 and length must be the zip record's).
 */
export async function readLayerFiles(
  reader: ZipReader,
  facts: Map<string, EntryFacts> = new Map(),
  generated: ReadonlyMap<string, Buffer> = new Map(),
): Promise<LayerFiles> {
  const files = reader.entries.filter((entry) => !entry.isDirectory);
  const byName = new Map<string, ZipEntry>();
  const directories = new Set<string>();
  for (const entry of files) {
    byName.set(entry.name, entry);
    if (isPlainRelative(entry.name)) {
      // The folders above a plain path are its prefixes up to each "/".
      let slash = entry.name.lastIndexOf("/");
      while (slash > 0) {
        const folder = entry.name.slice(0, slash);
        if (directories.has(folder)) break;
        directories.add(folder);
        slash = folder.lastIndexOf("/");
      }
      continue;
    }
    let folder = posix.dirname(entry.name);
    while (folder !== "." && folder !== "" && !directories.has(folder)) {
      directories.add(folder);
      folder = posix.dirname(folder);
    }
  }
  const distInfoFolders = [...directories].filter((folder) => folder.endsWith(".dist-info")).sort();
  const readText = async (entry: ZipEntry): Promise<string> => {
    const known = facts.get(entry.name)?.text;
    if (known !== undefined) return known;
    const bytes = generated.get(entry.name);
    if (
      bytes !== undefined &&
      bytes.length === entry.uncompressedSize &&
      crc32(bytes) === entry.crc32 >>> 0
    ) {
      return bytes.toString("utf8");
    }
    return (await reader.read(entry)).toString("utf8");
  };
  const distributions = await Promise.all(
    distInfoFolders.map((folder) => readDistribution(readText, byName, folder)),
  );
  const owners = new Map<string, Distribution[]>();
  for (const distribution of distributions) {
    for (const path of distribution.recordPaths) {
      const list = owners.get(path) ?? [];
      if (!list.includes(distribution)) list.push(distribution);
      owners.set(path, list);
    }
  }
  return { reader, files, byName, directories, distributions, owners, facts };
}

async function readDistribution(
  readEntry: (entry: ZipEntry) => Promise<string>,
  byName: Map<string, ZipEntry>,
  distInfo: string,
): Promise<Distribution> {
  const siteDir = posix.dirname(distInfo) === "." ? "" : posix.dirname(distInfo);
  const folderName = posix.basename(distInfo, ".dist-info");
  const dash = folderName.indexOf("-");
  let name = dash > 0 ? folderName.slice(0, dash) : folderName;
  let version = dash > 0 ? folderName.slice(dash + 1) : "";
  const readText = async (file: string) => {
    const entry = byName.get(`${distInfo}/${file}`);
    return entry === undefined ? undefined : readEntry(entry);
  };
  const metadata = await readText("METADATA");
  if (metadata !== undefined) {
    const headers = parseHeaders(metadata);
    name = headers.get("name")?.[0] ?? name;
    version = headers.get("version")?.[0] ?? version;
  }
  const distribution: Distribution = {
    name,
    version,
    distInfo,
    siteDir,
    hasRecord: byName.has(`${distInfo}/RECORD`),
    hasMetadata: metadata !== undefined,
    recordPaths: [],
    topLevelFromRecord: [],
  };
  const record = await readText("RECORD");
  if (record !== undefined) {
    try {
      for (const row of parseRecord(record, `${distInfo}/RECORD`)) {
        const resolved = isPlainRelative(row.path)
          ? siteDir === ""
            ? row.path
            : `${siteDir}/${row.path}`
          : posix.normalize(posix.join(siteDir, row.path));
        if (resolved.startsWith("../") || resolved === ".." || posix.isAbsolute(row.path)) continue;
        if (resolved === `${distInfo}/RECORD`) continue;
        distribution.recordPaths.push(resolved);
      }
    } catch (error) {
      distribution.recordError = (error as Error).message;
    }
  }
  distribution.topLevelFromRecord = topLevelNames(distribution.recordPaths, siteDir);
  const topLevel = await readText("top_level.txt");
  if (topLevel !== undefined) {
    distribution.topLevelFile = topLevel
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== "");
  }
  return distribution;
}

/**
 * A non-empty relative path with no empty, `.` or `..` segment and no trailing slash: one
 * that `posix.normalize` and `posix.dirname` leave as written (almost every zip entry and
 * RECORD row), so that joining and splitting it is plain string work.
 */
function isPlainRelative(path: string): boolean {
  return (
    path !== "" &&
    !path.startsWith("/") &&
    !path.endsWith("/") &&
    !path.includes("//") &&
    !DOT_SEGMENT.test(path)
  );
}

const DOT_SEGMENT = /(^|\/)\.\.?(\/|$)/;

/** The module name a file directly in a site folder is imported as, if it is a module. */
export function moduleNameOfFile(fileName: string): string | undefined {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(\.[A-Za-z0-9_-]+)?\.(py|pyc|so)$/.exec(fileName);
  if (match === null) return undefined;
  // `name.py`, `name.pyc`, `name.so`, `name.<tag>.so` (the tag as in `cpython-311-x86_64-linux-gnu`).
  if (match[2] !== undefined && match[3] !== "so") return undefined;
  return match[1];
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Top-level package and module names among `paths` (zip paths) installed into `siteDir`.
 * A folder counts only when it holds Python code somewhere below it (a `bin/` of scripts
 * or a `.libs/` of shared libraries is not a package).
 */
export function topLevelNames(paths: readonly string[], siteDir: string): string[] {
  const prefix = siteDir === "" ? "" : `${siteDir}/`;
  const names = new Set<string>();
  for (const path of paths) {
    if (!path.startsWith(prefix)) continue;
    const relative = path.slice(prefix.length);
    const slash = relative.indexOf("/");
    if (slash === -1) {
      const module = moduleNameOfFile(relative);
      if (module !== undefined) names.add(module);
      continue;
    }
    const first = relative.slice(0, slash);
    if (!IDENTIFIER.test(first) || first === "__pycache__") continue;
    if (/\.(py|pyc|so)$/.test(relative)) names.add(first);
  }
  return [...names].sort();
}

/** Whether a top-level module `name` exists directly in `siteDir` of the layer. */
export function moduleExists(files: LayerFiles, siteDir: string, name: string): boolean {
  const prefix = siteDir === "" ? "" : `${siteDir}/`;
  if (files.directories.has(`${prefix}${name}`)) return true;
  for (const entry of files.files) {
    if (!entry.name.startsWith(prefix)) continue;
    const rest = entry.name.slice(prefix.length);
    if (rest.includes("/")) continue;
    if (moduleNameOfFile(rest) === name) return true;
  }
  return false;
}

/** The site folders Lambda's Python of `runtime` puts on sys.path, in sys.path order. */
export function lambdaSiteDirs(runtime: LambdaRuntime): string[] {
  const [major, minor] = runtime.python;
  return [`python/lib/python${major}.${minor}/site-packages`, "python"];
}

/** The distribution owning a zip path, as `name version`. */
export function packageOf(files: LayerFiles, path: string): string | undefined {
  const owners = files.owners.get(path);
  if (owners !== undefined && owners.length > 0) return label(owners[0]!);
  return undefined;
}
