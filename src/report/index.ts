/**
 * The size report of a layer zip: what takes the room (packages, biggest files), how it
 * compares with Lambda's 250 MiB unzipped limit, and what `--slim` would save. Works on
 * any layer zip: files are attributed to distributions through the RECORD of each
 * `.dist-info` folder, which pylayer and pip both write.
 */
import { posix } from "node:path";
import { PylayerError } from "../errors.js";
import { decodeManifest } from "../layer/index.js";
import { planSlim, siteDirOf, summarizeRemovals } from "../slim/index.js";
import { percentOf } from "../strings.js";
import { parseHeaders, parseRecord } from "../wheel/index.js";
import { type ZipEntry, ZipReader } from "../zip/index.js";
import type { LayerReport, PackageUsage, ReportFile } from "./types.js";

export { renderReportHtml } from "./html.js";
export { type Rect, squarify } from "./treemap.js";
export type { LayerReport, PackageUsage, ReportFile } from "./types.js";

/** Lambda's limit on the unzipped size of a function and all its layers: 250 MiB. */
export const LAMBDA_UNZIPPED_LIMIT = 262_144_000;

/** Files that belong to no distribution's RECORD. */
export const UNATTRIBUTED = "(other files)";

export interface AnalyzeOptions {
  /** How many of the biggest files to list; default 15. */
  top?: number;
  /** `--slim-pattern` globs counted in the slim estimate. */
  slimPatterns?: readonly string[];
}

/** Reads the layer zip at `path` and reports its sizes. Throws `invalid-zip` for non-zips. */
export async function analyzeLayer(
  path: string,
  options: AnalyzeOptions = {},
): Promise<LayerReport> {
  const reader = await ZipReader.open(path);
  try {
    const fileEntries = reader.entries.filter((entry) => !entry.isDirectory);
    const attribution = await attributeFiles(reader, fileEntries);
    const files: ReportFile[] = fileEntries.map((entry) => ({
      path: entry.name,
      size: entry.uncompressedSize,
      compressedSize: entry.compressedSize,
      package: attribution.owner.get(entry.name) ?? UNATTRIBUTED,
    }));
    const unzippedSize = files.reduce((total, file) => total + file.size, 0);

    const packages = new Map<string, PackageUsage>();
    for (const file of files) {
      let usage = packages.get(file.package);
      if (usage === undefined) {
        const known = attribution.distributions.get(file.package);
        usage = {
          name: file.package,
          version: known?.version,
          size: 0,
          compressedSize: 0,
          files: 0,
          percentOfLimit: 0,
          siteDir: known?.siteDir,
        };
        packages.set(file.package, usage);
      }
      usage.size += file.size;
      usage.compressedSize += file.compressedSize;
      usage.files++;
    }
    for (const usage of packages.values()) {
      usage.percentOfLimit = percentOf(usage.size, LAMBDA_UNZIPPED_LIMIT);
    }

    const byPath = new Map(fileEntries.map((entry) => [entry.name, entry]));
    const slimPlan = await planSlim(
      files.map((file) => ({ name: file.path, size: file.size })),
      (file) => reader.read(byPath.get(file.name)!),
      { patterns: options.slimPatterns ?? [] },
    );
    const summary = summarizeRemovals(slimPlan.removals);

    return {
      path,
      zipSize: reader.size,
      unzippedSize,
      limit: LAMBDA_UNZIPPED_LIMIT,
      percentOfLimit: percentOf(unzippedSize, LAMBDA_UNZIPPED_LIMIT),
      fileCount: files.length,
      manifest: decodeManifest(reader.comment),
      packages: [...packages.values()].sort(
        (left, right) => right.size - left.size || (left.name < right.name ? -1 : 1),
      ),
      biggestFiles: [...files]
        .sort((left, right) => right.size - left.size || (left.path < right.path ? -1 : 1))
        .slice(0, options.top ?? 15),
      slim: { ...summary, keptTestFolders: slimPlan.keptTestFolders },
      files,
    };
  } finally {
    await reader.close();
  }
}

interface Distribution {
  name: string;
  version: string | undefined;
  siteDir: string;
}

/**
 * Owner of each file: the distribution whose RECORD lists it, else whose `.dist-info`
 * folder holds it, else the distribution owning other files of the same top-level name
 * in the same site folder (files written after install, such as `.pyc` files).
 */
async function attributeFiles(
  reader: ZipReader,
  entries: readonly ZipEntry[],
): Promise<{ owner: Map<string, string>; distributions: Map<string, Distribution> }> {
  const owner = new Map<string, string>();
  const distributions = new Map<string, Distribution>();
  const distInfoFolders = new Map<string, string>();
  for (const entry of entries) {
    const siteDir = siteDirOf(entry.name);
    if (siteDir === undefined) continue;
    const [top, file] = entry.name.slice(siteDir.length + 1).split("/");
    if (top === undefined || !top.endsWith(".dist-info") || file !== "METADATA") continue;
    const folder = `${siteDir}/${top}`;
    let name = top.slice(0, -".dist-info".length).split("-")[0]!;
    let version: string | undefined = top.slice(0, -".dist-info".length).split("-")[1];
    try {
      const headers = parseHeaders((await reader.read(entry)).toString("utf8"));
      name = headers.get("name")?.[0] ?? name;
      version = headers.get("version")?.[0] ?? version;
    } catch (error) {
      if (!(error instanceof PylayerError)) throw error;
    }
    // Two distributions of one name (a broken layer) stay apart.
    const key = distributions.has(name) ? `${name} (${top})` : name;
    distributions.set(key, { name: key, version, siteDir });
    distInfoFolders.set(folder, key);
    const record = reader.getEntry(`${folder}/RECORD`);
    if (record === undefined) continue;
    try {
      const rows = parseRecord((await reader.read(record)).toString("utf8"), record.name);
      for (const row of rows) {
        const path = posix.normalize(posix.join(siteDir, row.path));
        if (!owner.has(path)) owner.set(path, key);
      }
    } catch (error) {
      if (!(error instanceof PylayerError)) throw error;
    }
  }
  const topLevelOwner = new Map<string, string>();
  for (const entry of entries) {
    const known = owner.get(entry.name);
    const siteDir = siteDirOf(entry.name);
    if (known === undefined || siteDir === undefined) continue;
    const top = `${siteDir}/${entry.name.slice(siteDir.length + 1).split("/")[0]}`;
    if (!topLevelOwner.has(top)) topLevelOwner.set(top, known);
  }
  for (const entry of entries) {
    if (owner.has(entry.name)) continue;
    const siteDir = siteDirOf(entry.name);
    if (siteDir === undefined) continue;
    const top = `${siteDir}/${entry.name.slice(siteDir.length + 1).split("/")[0]}`;
    const guess = distInfoFolders.get(top) ?? topLevelOwner.get(top);
    if (guess !== undefined) owner.set(entry.name, guess);
  }
  return { owner, distributions };
}
