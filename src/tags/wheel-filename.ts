/**
 * Wheel filenames (PyPA "Binary distribution format", from PEP 427):
 * `{distribution}-{version}(-{build tag})?-{python tag}-{abi tag}-{platform tag}.whl`.
 *
 * The distribution name has `-` escaped as `_` and is normalized here per PEP 503; the version
 * must be a valid PEP 440 version and is kept as written; the optional build tag starts with a
 * digit; the three tag parts may be compressed tag sets and are expanded.
 */
import { PylayerError } from "../errors.js";
import { Version } from "../pep440/index.js";
import { normalizeName } from "../pep508/index.js";
import { expandTagSet, type Tag } from "./tag.js";

export interface WheelFilename {
  readonly filename: string;
  /** PEP 503 normalized distribution name (`Foo_Bar` → `foo-bar`). */
  readonly name: string;
  /** The version as written in the filename (a valid PEP 440 version). */
  readonly version: string;
  /** The optional build tag, split into its leading number and the rest (`1foo` → 1, "foo"). */
  readonly build?: { readonly number: number; readonly tag: string };
  /** Every tag of the compressed tag set, in the order written. */
  readonly tags: readonly Tag[];
}

/** Letters, digits, `.` and `_`: a distribution name with `-` escaped, as `packaging` accepts it. */
const ESCAPED_NAME = /^[A-Za-z0-9._]+$/;
const BUILD_TAG = /^(\d+)(.*)$/;

/**
 * Parse results by filename, shared by every caller of the process: parsing is pure and its
 * results are frozen, and a build parses each file of a project page once per target (a
 * 12-target matrix twelve times) and again wherever a file is named. Cleared when full.
 */
const parsedFilenames = new Map<string, WheelFilename | string>();
const PARSED_FILENAMES_KEPT = 20_000;

function tryParseWheelFilename(filename: string): WheelFilename | string {
  let parsed = parsedFilenames.get(filename);
  if (parsed === undefined) {
    parsed = parseUncached(filename);
    if (parsedFilenames.size >= PARSED_FILENAMES_KEPT) parsedFilenames.clear();
    parsedFilenames.set(filename, parsed);
  }
  return parsed;
}

/** Either the parsed filename or a sentence saying why it is not a wheel filename. */
function parseUncached(filename: string): WheelFilename | string {
  if (!filename.endsWith(".whl")) return 'the name does not end in ".whl"';
  const stem = filename.slice(0, -".whl".length);
  const parts = stem.split("-");
  if (parts.length !== 5 && parts.length !== 6) {
    return `expected name-version(-build)-python-abi-platform, got ${parts.length} parts separated by "-"`;
  }
  const escapedName = parts[0]!;
  const version = parts[1]!;
  if (!ESCAPED_NAME.test(escapedName) || escapedName.includes("__")) {
    return `"${escapedName}" is not a distribution name (letters, digits, "." and single "_")`;
  }
  if (Version.tryParse(version) === null || /\s/.test(version)) {
    return `"${version}" is not a valid PEP 440 version`;
  }
  let build: WheelFilename["build"];
  if (parts.length === 6) {
    const match = BUILD_TAG.exec(parts[2]!);
    if (match === null) return `build tag "${parts[2]}" does not start with a digit`;
    build = { number: Number.parseInt(match[1]!, 10), tag: match[2]! };
  }
  const tags = expandTagSet(parts.slice(-3).join("-"));
  if (typeof tags === "string") return tags;
  for (const tag of tags) Object.freeze(tag);
  return Object.freeze({
    filename,
    name: normalizeName(escapedName),
    version,
    ...(build === undefined ? {} : { build: Object.freeze(build) }),
    tags: Object.freeze(tags),
  });
}

/** Parses a wheel filename; throws `invalid-wheel-filename` naming the file and what is wrong. */
export function parseWheelFilename(filename: string): WheelFilename {
  const parsed = tryParseWheelFilename(filename);
  if (typeof parsed === "string") {
    throw new PylayerError(
      "invalid-wheel-filename",
      `"${filename}" is not a valid wheel filename: ${parsed}`,
      {
        hint: "Wheel filenames look like name-version(-build)-python-abi-platform.whl, e.g. numpy-2.1.3-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl (binary distribution format specification).",
      },
    );
  }
  return parsed;
}

/** True when `filename` is a valid wheel filename, i.e. parseWheelFilename would not throw. */
export function isWheelFilename(filename: string): boolean {
  return typeof tryParseWheelFilename(filename) !== "string";
}
