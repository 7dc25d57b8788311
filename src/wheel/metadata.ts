/**
 * Wheel metadata files: METADATA (core metadata specification, email header format),
 * WHEEL (binary distribution format specification), the wheel file name, and finding the
 * `.dist-info` folder of a wheel.
 */
import { basename } from "node:path";
import { PylayerError } from "../errors.js";
import { Version } from "../pep440/index.js";
import { normalizeName } from "../pep508/index.js";
import { parseWheelFilename } from "../tags/index.js";
import type { ZipReader } from "../zip/index.js";

export interface CoreMetadata {
  metadataVersion: string;
  name: string;
  version: string;
  /** `Requires-Dist` values as written (markers included). */
  requiresDist: string[];
  requiresPython?: string;
  /** `Provides-Extra` values as written (PEP 685 normalization is the caller's). */
  providesExtra: string[];
  summary?: string;
}

export interface WheelInfo {
  wheelVersion: string;
  rootIsPurelib: boolean;
  /** Expanded `Tag` values, in file order. */
  tags: string[];
  build?: string;
}

/**
 * Parses headers in the email format the core metadata and WHEEL files use: `Name: value`
 * lines, continuation lines starting with a space or tab (unfolded by dropping the line
 * break, as RFC 5322 does), repeated fields kept in order, and everything after the first
 * blank line (the body) ignored. Field names are matched case-insensitively (lower-cased
 * keys). A line that is neither a header nor a continuation ends the headers, as in
 * Python's email parser.
 */
export function parseHeaders(text: string): Map<string, string[]> {
  const headers = new Map<string, string[]>();
  let current: { values: string[]; index: number } | undefined;
  for (const line of headerLines(text)) {
    if (line === "") break;
    if (line.startsWith(" ") || line.startsWith("\t")) {
      if (current === undefined) break;
      current.values[current.index] += line;
      continue;
    }
    const colon = line.indexOf(":");
    if (colon <= 0 || /\s/.test(line.slice(0, colon))) break;
    const key = line.slice(0, colon).toLowerCase();
    const values = headers.get(key) ?? [];
    values.push(line.slice(colon + 1));
    headers.set(key, values);
    current = { values, index: values.length - 1 };
  }
  for (const values of headers.values()) {
    for (let index = 0; index < values.length; index++) values[index] = values[index]!.trim();
  }
  return headers;
}

/**
 * The lines of `text` (a leading byte order mark dropped), split at `\r\n`, `\n` or `\r`,
 * up to and including the first empty one: a METADATA's body (often a whole README) is
 * never split.
 */
function* headerLines(text: string): Generator<string> {
  const lineBreak = /\r\n|\n|\r/g;
  let start = text.startsWith("\uFEFF") ? 1 : 0;
  lineBreak.lastIndex = start;
  for (;;) {
    const found = lineBreak.exec(text);
    const line = text.slice(start, found === null ? text.length : found.index);
    yield line;
    if (found === null || line === "") return;
    start = lineBreak.lastIndex;
  }
}

/**
 * The part of `text` that `parseHeaders` reads: its lines up to the first empty one, joined
 * by `\n` (`parseHeaders` of the result equals `parseHeaders(text)`).
 */
export function headerBlock(text: string): string {
  const lines: string[] = [];
  for (const line of headerLines(text)) {
    if (line === "") break;
    lines.push(line);
  }
  return lines.join("\n");
}

/**
 * Parses a METADATA (or PKG-INFO) file. Requires `Metadata-Version` (major 1 or 2),
 * `Name` and `Version`; single-use fields take their first value. `source` names the file
 * in errors.
 */
export function parseCoreMetadata(text: string, source = "METADATA"): CoreMetadata {
  const headers = parseHeaders(text);
  const single = (field: string): string | undefined => headers.get(field)?.[0];
  const required = (field: string, label: string): string => {
    const value = single(field);
    if (value === undefined || value === "") {
      throw new PylayerError("invalid-metadata", `${source} has no ${label} field`, {
        hint: "The distribution's metadata is broken; report it to its maintainers or pick another version.",
      });
    }
    return value;
  };
  const metadataVersion = required("metadata-version", "Metadata-Version");
  const major = Number(metadataVersion.split(".")[0]);
  if (!Number.isInteger(major) || major < 1 || major > 2) {
    throw new PylayerError(
      "invalid-metadata",
      `${source} has Metadata-Version ${metadataVersion}, which pylayer does not understand`,
      { hint: "Core metadata versions 1.x and 2.x are supported; upgrade pylayer." },
    );
  }
  const metadata: CoreMetadata = {
    metadataVersion,
    name: required("name", "Name"),
    version: required("version", "Version"),
    requiresDist: (headers.get("requires-dist") ?? []).filter((value) => value !== ""),
    providesExtra: (headers.get("provides-extra") ?? []).filter((value) => value !== ""),
  };
  const requiresPython = single("requires-python");
  if (requiresPython !== undefined && requiresPython !== "") {
    metadata.requiresPython = requiresPython;
  }
  const summary = single("summary");
  if (summary !== undefined) metadata.summary = summary;
  return metadata;
}

/** Parses a WHEEL file; errors when `Wheel-Version`'s major version is not 1. */
export function parseWheelInfo(text: string, source = "WHEEL"): WheelInfo {
  const headers = parseHeaders(text);
  const wheelVersion = headers.get("wheel-version")?.[0];
  if (wheelVersion === undefined || !/^\d+(\.\d+)*$/.test(wheelVersion)) {
    throw new PylayerError("invalid-wheel", `${source} has no valid Wheel-Version field`, {
      hint: "The wheel is malformed; report it to the package's maintainers.",
    });
  }
  // Binary distribution format: an installer must fail on an unknown major version; a newer
  // minor version only warrants a warning, and pylayer installs it as 1.x.
  if (wheelVersion.split(".")[0] !== "1") {
    throw new PylayerError(
      "unsupported-wheel-version",
      `${source} has Wheel-Version ${wheelVersion}; pylayer installs version 1 wheels`,
      { hint: "Pick a release of the package built as a version 1 wheel, or upgrade pylayer." },
    );
  }
  const info: WheelInfo = {
    wheelVersion,
    rootIsPurelib: headers.get("root-is-purelib")?.[0]?.toLowerCase() === "true",
    tags: headers.get("tag") ?? [],
  };
  const build = headers.get("build")?.[0];
  if (build !== undefined) info.build = build;
  return info;
}

/** Whether two version strings are the same PEP 440 version (string equality if either is invalid). */
export function sameVersion(left: string, right: string): boolean {
  const leftVersion = Version.tryParse(left);
  const rightVersion = Version.tryParse(right);
  if (leftVersion === null || rightVersion === null) return left === right;
  return leftVersion.equals(rightVersion);
}

/**
 * The wheel's `.dist-info` folder name (no trailing slash). The binary distribution format
 * allows exactly one, named `{name}-{version}.dist-info`; its name must match the file
 * name's distribution (PEP 503 normalized) and its version the file name's version.
 */
export function findDistInfo(reader: ZipReader, wheelFilename: string): string {
  const filename = parseWheelFilename(basename(wheelFilename));
  const candidates = new Set<string>();
  for (const entry of reader.entries) {
    const top = entry.name.split("/")[0]!;
    if (entry.name.includes("/") && top.toLowerCase().endsWith(".dist-info")) candidates.add(top);
  }
  const wheelName = filename.name;
  if (candidates.size === 0) {
    throw new PylayerError("invalid-wheel", `${wheelFilename} has no .dist-info folder`, {
      hint: "The wheel is malformed; report it to the package's maintainers.",
    });
  }
  if (candidates.size > 1) {
    throw new PylayerError(
      "invalid-wheel",
      `${wheelFilename} has several .dist-info folders (${[...candidates].sort().join(", ")})`,
      { hint: "A wheel must contain exactly one; report it to the package's maintainers." },
    );
  }
  const distInfo = [...candidates][0]!;
  const stem = distInfo.slice(0, -".dist-info".length);
  const dash = stem.lastIndexOf("-");
  const distInfoName = dash > 0 ? stem.slice(0, dash) : stem;
  const distInfoVersion = dash > 0 ? stem.slice(dash + 1) : "";
  if (normalizeName(distInfoName) !== wheelName) {
    throw new PylayerError(
      "invalid-wheel",
      `${wheelFilename} contains ${distInfo}, which belongs to another distribution`,
      { hint: "The wheel file was renamed or is malformed; download it again from the index." },
    );
  }
  if (!sameVersion(distInfoVersion, filename.version)) {
    throw new PylayerError(
      "invalid-wheel",
      `${wheelFilename} contains ${distInfo}, whose version differs from the file name's`,
      { hint: "The wheel file was renamed or is malformed; download it again from the index." },
    );
  }
  return distInfo;
}

/**
 * Reads and parses the wheel's METADATA, checking that its Name and Version match the file
 * name. Only METADATA is inflated.
 */
export async function readWheelMetadata(
  reader: ZipReader,
  wheelFilename: string,
  options: {
    /** METADATA whose recorded uncompressed size is larger fails with `tooLarge()`. */
    maxMetadataBytes?: number;
    tooLarge?: () => Error;
  } = {},
): Promise<{ metadata: string; core: CoreMetadata; distInfo: string }> {
  const distInfo = findDistInfo(reader, wheelFilename);
  const entry = reader.getEntry(`${distInfo}/METADATA`);
  if (entry === undefined) {
    throw new PylayerError("invalid-wheel", `${wheelFilename} has no ${distInfo}/METADATA`, {
      hint: "The wheel is malformed; report it to the package's maintainers.",
    });
  }
  if (options.maxMetadataBytes !== undefined && entry.uncompressedSize > options.maxMetadataBytes) {
    throw (
      options.tooLarge?.() ??
      new PylayerError(
        "invalid-wheel",
        `${wheelFilename}: ${distInfo}/METADATA is over ${options.maxMetadataBytes} bytes`,
      )
    );
  }
  const metadata = (await reader.read(entry)).toString("utf8");
  const core = parseCoreMetadata(metadata, `${wheelFilename}: ${distInfo}/METADATA`);
  const filename = parseWheelFilename(basename(wheelFilename));
  if (normalizeName(core.name) !== filename.name || !sameVersion(core.version, filename.version)) {
    throw new PylayerError(
      "invalid-wheel",
      `${wheelFilename} holds metadata for ${core.name} ${core.version}`,
      { hint: "The wheel file was renamed or is malformed; download it again from the index." },
    );
  }
  return { metadata, core, distInfo };
}
