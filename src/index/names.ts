/**
 * The little filename knowledge the index client needs. Full wheel filename parsing
 * lives in src/tags; here only the project name is read, to filter find-links listings.
 */

import { normalizeName } from "../pep508/index.js";

/** PEP 503 normalization (the one of src/pep508). */
export const normalizeProjectName = normalizeName;

export function isWheelFilename(filename: string): boolean {
  return filename.toLowerCase().endsWith(".whl");
}

const SOURCE_EXTENSIONS = [".tar.gz", ".zip", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".tbz"];

/** Source distributions (and other non-wheel archives an index may list). Never installable here. */
export function isSourceDistributionFilename(filename: string): boolean {
  const lower = filename.toLowerCase();
  return SOURCE_EXTENSIONS.some((extension) => lower.endsWith(extension));
}

/**
 * The normalized project name a distribution filename belongs to, or null when the
 * name cannot be read. Wheels: the first `-` separated part. Source distributions:
 * everything before the last `-` (`name-version.tar.gz`).
 */
export function projectNameFromFilename(filename: string): string | null {
  if (isWheelFilename(filename)) {
    const name = filename.split("-")[0];
    return name === undefined || name === "" ? null : normalizeProjectName(name);
  }
  const lower = filename.toLowerCase();
  const extension = SOURCE_EXTENSIONS.find((candidate) => lower.endsWith(candidate));
  if (extension === undefined) return null;
  const stem = filename.slice(0, filename.length - extension.length);
  const dash = stem.lastIndexOf("-");
  if (dash <= 0) return null;
  return normalizeProjectName(stem.slice(0, dash));
}

/** `name-version` of a wheel filename, normalized, for matching a `.dist-info` folder. */
export function wheelNameAndVersion(filename: string): { name: string; version: string } | null {
  if (!isWheelFilename(filename)) return null;
  const parts = filename.slice(0, -4).split("-");
  if (parts.length < 5 || parts[0] === undefined || parts[1] === undefined) return null;
  return { name: normalizeProjectName(parts[0]), version: parts[1] };
}
