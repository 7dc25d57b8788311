/**
 * Parsers for the simple repository API: PEP 503 HTML (with PEP 592 yanking, PEP 658
 * metadata and PEP 714 renaming) and PEP 691 JSON. Both return every listed file;
 * the client decides what to keep (wheels only).
 */
import { PylayerError, redactUrl } from "../errors.js";
import type { DistributionFile } from "./types.js";

export const SIMPLE_JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json";
export const SIMPLE_HTML_CONTENT_TYPE = "application/vnd.pypi.simple.v1+html";

/** PEP 691 content negotiation, JSON preferred. */
export const SIMPLE_ACCEPT = `${SIMPLE_JSON_CONTENT_TYPE}, ${SIMPLE_HTML_CONTENT_TYPE};q=0.2, text/html;q=0.01`;

/** Hash algorithms a link may name (Python's `hashlib.algorithms_guaranteed` that Node has). */
const HASH_NAMES = new Set(["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]);

/** Splits a `#sha256=<hex>` fragment off a URL. Unknown fragments are dropped. */
export function splitHashFragment(url: URL): { url: string; hashes: Record<string, string> } {
  const hashes: Record<string, string> = {};
  const fragment = url.hash.slice(1);
  for (const part of fragment.split("&")) {
    const equals = part.indexOf("=");
    if (equals <= 0) continue;
    const name = part.slice(0, equals).toLowerCase();
    const value = part.slice(equals + 1).toLowerCase();
    if (HASH_NAMES.has(name) && /^[0-9a-f]+$/.test(value)) hashes[name] = value;
  }
  const withoutFragment = new URL(url);
  withoutFragment.hash = "";
  return { url: withoutFragment.href, hashes };
}

function filenameFromUrl(url: string): string {
  const path = new URL(url).pathname;
  const last = path.slice(path.lastIndexOf("/") + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

function normalizeHashes(hashes: Record<string, string>): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(hashes)) {
    result[name.toLowerCase()] = value.toLowerCase();
  }
  return result;
}

/** PEP 658 attribute values: `true`, or `<hashname>=<hex>`; anything else means "not available". */
function parseMetadataAttribute(value: string | undefined): DistributionFile["coreMetadata"] {
  if (value === undefined) return false;
  const trimmed = value.trim();
  if (trimmed.toLowerCase() === "true") return { hashes: {} };
  const equals = trimmed.indexOf("=");
  if (equals > 0) {
    const name = trimmed.slice(0, equals).toLowerCase();
    const digest = trimmed.slice(equals + 1).toLowerCase();
    if (/^[a-z0-9]+$/.test(name) && /^[0-9a-f]+$/.test(digest))
      return { hashes: { [name]: digest } };
  }
  return false;
}

// ---------------------------------------------------------------------------
// HTML (PEP 503)

const NAMED_ENTITIES: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
};

/** Decodes HTML character references (numeric, and the named ones indexes actually use). */
export function decodeHtmlEntities(text: string): string {
  return text.replace(/&(#[0-9]+|#[xX][0-9a-fA-F]+|[a-zA-Z]+);/g, (whole, reference: string) => {
    if (reference.startsWith("#")) {
      const codePoint =
        reference[1] === "x" || reference[1] === "X"
          ? Number.parseInt(reference.slice(2), 16)
          : Number.parseInt(reference.slice(1), 10);
      if (!Number.isFinite(codePoint) || codePoint < 0 || codePoint > 0x10ffff) return whole;
      return String.fromCodePoint(codePoint);
    }
    return NAMED_ENTITIES[reference.toLowerCase()] ?? whole;
  });
}

/** Attribute name (lowercased) → decoded value; a bare attribute has the value "". */
export function parseHtmlAttributes(source: string): Map<string, string> {
  const attributes = new Map<string, string>();
  const pattern = /([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?/g;
  for (const match of source.matchAll(pattern)) {
    const name = match[1]!.toLowerCase();
    const raw = match[2] ?? match[3] ?? match[4] ?? "";
    // The first occurrence of an attribute wins, as in browsers.
    if (!attributes.has(name)) attributes.set(name, decodeHtmlEntities(raw));
  }
  return attributes;
}

/** Tag contents may hold `>` inside quoted attribute values (`data-requires-python=">=3.8"`). */
const TAG_BODY = `((?:[^>"']|"[^"]*"|'[^']*')*)`;
const BASE_TAG = new RegExp(String.raw`<base\b${TAG_BODY}>`, "i");
const ANCHOR_TAG = new RegExp(String.raw`<a\b${TAG_BODY}>`, "gi");

/**
 * Every anchor of a PEP 503 page (or a find-links HTML page) as a DistributionFile.
 * Relative links resolve against `<base href>` or the page URL; the filename is the
 * last path segment of the link; the hash comes from the `#<algo>=<hex>` fragment.
 */
export function parseSimpleHtml(body: string, pageUrl: string, index: string): DistributionFile[] {
  const html = body.replace(/<!--[\s\S]*?-->/g, "");
  let base = pageUrl;
  const baseMatch = BASE_TAG.exec(html);
  if (baseMatch !== null) {
    const href = parseHtmlAttributes(baseMatch[1] ?? "").get("href");
    if (href !== undefined && href.trim() !== "") {
      try {
        base = new URL(href.trim(), pageUrl).href;
      } catch {
        // An unusable base is ignored, like browsers do.
      }
    }
  }
  const files: DistributionFile[] = [];
  for (const match of html.matchAll(ANCHOR_TAG)) {
    const attributes = parseHtmlAttributes(match[1] ?? "");
    const href = attributes.get("href");
    if (href === undefined || href.trim() === "") continue;
    let absolute: URL;
    try {
      absolute = new URL(href.trim(), base);
    } catch {
      continue;
    }
    const { url, hashes } = splitHashFragment(absolute);
    const filename = filenameFromUrl(url);
    if (filename === "") continue;
    const requiresPython = attributes.get("data-requires-python");
    const yankedReason = attributes.get("data-yanked");
    // PEP 714: `data-core-metadata` is the name; `data-dist-info-metadata` the legacy one.
    const coreMetadata = parseMetadataAttribute(
      attributes.get("data-core-metadata") ?? attributes.get("data-dist-info-metadata"),
    );
    const file: DistributionFile = {
      filename,
      url,
      hashes,
      yanked:
        yankedReason === undefined ? false : yankedReason === "" ? {} : { reason: yankedReason },
      coreMetadata,
      index,
    };
    if (requiresPython !== undefined && requiresPython.trim() !== "") {
      file.requiresPython = requiresPython.trim();
    }
    files.push(file);
  }
  return files;
}

// ---------------------------------------------------------------------------
// JSON (PEP 691, with PEP 700 `size` and PEP 714 `core-metadata`)

/** A PEP 691 file entry after validation. */
interface ProjectFileEntry {
  filename: string;
  url: string;
  hashes: Record<string, string>;
  "requires-python"?: string | null;
  yanked?: boolean | string;
  "core-metadata"?: boolean | Record<string, string>;
  "dist-info-metadata"?: boolean | Record<string, string>;
  size?: number;
}

/**
 * Checks a decoded PEP 691 project page field by field (written out rather than with a
 * schema library: loading one costs more start-up time than a whole warm build's
 * resolution). Returns the reason it is not a page, or the page.
 */
function validateProjectPage(
  value: unknown,
): { meta: { "api-version": string }; files: ProjectFileEntry[] } | string {
  if (!isObject(value)) return "the page is not a JSON object";
  if (!isObject(value.meta) || typeof value.meta["api-version"] !== "string") {
    return "meta.api-version is missing";
  }
  if (typeof value.name !== "string") return "name is missing";
  if (!Array.isArray(value.files)) return "files is missing";
  for (const [index, file] of value.files.entries()) {
    const where = `files[${index}]`;
    if (!isObject(file)) return `${where} is not an object`;
    if (typeof file.filename !== "string" || file.filename === "") {
      return `${where}.filename is missing`;
    }
    if (typeof file.url !== "string" || file.url === "") return `${where}.url is missing`;
    if (!isStringRecord(file.hashes)) return `${where}.hashes is not an object of strings`;
    const requiresPython = file["requires-python"];
    if (
      requiresPython !== undefined &&
      requiresPython !== null &&
      typeof requiresPython !== "string"
    ) {
      return `${where}.requires-python is not a string`;
    }
    if (
      file.yanked !== undefined &&
      typeof file.yanked !== "boolean" &&
      typeof file.yanked !== "string"
    ) {
      return `${where}.yanked is neither a boolean nor a string`;
    }
    for (const key of ["core-metadata", "dist-info-metadata"]) {
      const field = file[key];
      if (field !== undefined && typeof field !== "boolean" && !isStringRecord(field)) {
        return `${where}.${key} is neither a boolean nor an object of hashes`;
      }
    }
    if (file.size !== undefined && (!Number.isInteger(file.size) || (file.size as number) < 0)) {
      return `${where}.size is not a non-negative integer`;
    }
  }
  return value as unknown as { meta: { "api-version": string }; files: ProjectFileEntry[] };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isStringRecord(value: unknown): value is Record<string, string> {
  return isObject(value) && Object.values(value).every((item) => typeof item === "string");
}

function jsonMetadataField(
  value: boolean | Record<string, string> | undefined,
): DistributionFile["coreMetadata"] {
  if (value === undefined || value === false) return false;
  if (value === true) return { hashes: {} };
  return { hashes: normalizeHashes(value) };
}

/** Parses a PEP 691 project page. Throws `index-invalid-response` when it is not one. */
export function parseSimpleJson(body: string, pageUrl: string, index: string): DistributionFile[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    throw invalidResponse(pageUrl, "it is not valid JSON", error);
  }
  const page = validateProjectPage(value);
  if (typeof page === "string") {
    throw invalidResponse(pageUrl, `it does not follow PEP 691 (${page})`);
  }
  const major = page.meta["api-version"].split(".")[0];
  if (major !== "1") {
    throw invalidResponse(
      pageUrl,
      `its API version ${page.meta["api-version"]} is not supported (major version 1 is)`,
    );
  }
  return page.files.map((entry) => {
    let absolute: URL;
    try {
      absolute = new URL(entry.url, pageUrl);
    } catch (error) {
      throw invalidResponse(pageUrl, `file ${entry.filename} has an invalid URL`, error);
    }
    const { url, hashes: fragmentHashes } = splitHashFragment(absolute);
    const hashes = { ...fragmentHashes, ...normalizeHashes(entry.hashes) };
    const file: DistributionFile = {
      filename: entry.filename,
      url,
      hashes,
      yanked:
        entry.yanked === undefined || entry.yanked === false
          ? false
          : entry.yanked === true || entry.yanked === ""
            ? {}
            : { reason: entry.yanked },
      // PEP 714: prefer `core-metadata`, fall back to the older `dist-info-metadata`.
      coreMetadata: jsonMetadataField(entry["core-metadata"] ?? entry["dist-info-metadata"]),
      index,
    };
    const requiresPython = entry["requires-python"];
    if (requiresPython !== undefined && requiresPython !== null && requiresPython.trim() !== "") {
      file.requiresPython = requiresPython.trim();
    }
    if (entry.size !== undefined) file.size = entry.size;
    return file;
  });
}

function invalidResponse(pageUrl: string, reason: string, cause?: unknown): PylayerError {
  return new PylayerError(
    "index-invalid-response",
    `The index page ${redactUrl(pageUrl)} could not be read: ${reason}.`,
    {
      hint: "Check that the URL points at a PEP 503/691 simple index (e.g. https://pypi.org/simple/).",
      ...(cause === undefined ? {} : { cause }),
    },
  );
}

/** Picks the parser from the response's Content-Type, sniffing when it says nothing useful. */
export function parseSimplePage(
  body: string,
  contentType: string | undefined,
  pageUrl: string,
  index: string,
): DistributionFile[] {
  const mediaType = (contentType ?? "").split(";")[0]!.trim().toLowerCase();
  if (mediaType === SIMPLE_JSON_CONTENT_TYPE || mediaType === "application/json") {
    return parseSimpleJson(body, pageUrl, index);
  }
  if (mediaType === "" || mediaType === "application/octet-stream" || mediaType === "text/plain") {
    if (body.trimStart().startsWith("{")) return parseSimpleJson(body, pageUrl, index);
  }
  return parseSimpleHtml(body, pageUrl, index);
}
