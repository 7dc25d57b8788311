/**
 * Requirements that name a location: PEP 508 `name @ URL` and pip's bare forms (a path to
 * a project folder or archive, a URL, `git+…`, each optionally `-e`). Locations are made
 * absolute here: relative paths and `file:` URLs against the requirements file's folder
 * (or the current folder on the command line), so that later stages see only absolute
 * `file://`, `http(s)://` and `git+…` URLs.
 */
import { isAbsolute, resolve, sep } from "node:path";
import { pathToFileURL } from "node:url";
import { SpecifierSet } from "../pep440/index.js";
import { normalizeName, parseRequirement, type Requirement } from "../pep508/index.js";

const VCS_URL = /^(git|hg|svn|bzr)\+/i;
const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;
const ARCHIVE_NAME = /\.(whl|tar\.gz|tgz|tar\.bz2|tbz|tar\.xz|txz|tar|zip)$/i;

/** pip's test for a path: a slash, a leading dot or tilde, a drive letter, or an archive name. */
export function looksLikeLocation(text: string): boolean {
  const head = text.split(/\s;|;\s/)[0]!.trim();
  return (
    VCS_URL.test(head) ||
    /^file:/i.test(head) ||
    URL_WITH_SCHEME.test(head) ||
    head.startsWith(".") ||
    head.startsWith("/") ||
    head.startsWith("~") ||
    head.includes("/") ||
    // pip counts only the platform's separators: a backslash is a path only on Windows.
    (sep === "\\" && head.includes("\\")) ||
    /^[A-Za-z]:/.test(head) ||
    ARCHIVE_NAME.test(withoutTrailingExtras(head))
  );
}

/** `name.whl[extra]` → `name.whl`, scanning once from the end (no backtracking). */
function withoutTrailingExtras(text: string): string {
  if (!text.endsWith("]")) return text;
  const open = text.lastIndexOf("[");
  return open === -1 || text.slice(open + 1, -1).includes("]") ? text : text.slice(0, open);
}

/**
 * An absolute URL for a location written relative to `baseDir`: `file:rel`, `file:./rel`
 * and plain paths become `file:///abs`; other URLs are kept (fragment included).
 */
export function absoluteLocation(location: string, baseDir: string): string {
  if (VCS_URL.test(location)) {
    // git+file:./repo is relative too.
    const match = /^([a-z]+\+file:)(?!\/\/)(.*)$/i.exec(location);
    if (match === null) return location;
    return `${match[1]!.split(":")[0]!}:${pathToFileURL(resolve(baseDir, match[2]!)).href.slice("file:".length)}`;
  }
  if (/^file:\/\//i.test(location)) return location;
  const hash = location.indexOf("#");
  const fragment = hash < 0 ? "" : location.slice(hash);
  let path = hash < 0 ? location : location.slice(0, hash);
  if (/^file:/i.test(path)) path = decodeURIComponent(path.slice("file:".length));
  else if (URL_WITH_SCHEME.test(path)) return location;
  if (path.startsWith("~/")) path = `${process.env.HOME ?? "~"}${path.slice(1)}`;
  const absolute = isAbsolute(path) ? path : resolve(baseDir, path);
  return `${pathToFileURL(absolute).href}${fragment}`;
}

/** The project name a location spells out: `#egg=` or a wheel/sdist file name; else undefined. */
function nameFromLocation(url: string): string | undefined {
  const hash = url.indexOf("#");
  if (hash >= 0) {
    const egg = new URLSearchParams(url.slice(hash + 1)).get("egg");
    if (egg) return egg.replace(/\[.*$/, "");
  }
  const last = decodeURIComponent(
    url.split("#")[0]!.split("?")[0]!.replace(/\/+$/, "").split("/").pop() ?? "",
  );
  const wheel = /^([^-]+)-[^-]+(-\d[^-]*)?-[^-]+-[^-]+-[^-]+\.whl$/i.exec(last);
  if (wheel !== null) return wheel[1];
  return undefined;
}

/**
 * The requirement for `text` when it names a location, else undefined. A location with
 * no name (`./libs/common`) gets `name` and `normalizedName` `""`: its name is read from
 * the project's metadata once it is built.
 */
export function locationRequirement(text: string, baseDir: string): Requirement | undefined {
  const trimmed = text.trim();
  // One optional run of whitespace on each side of the extras: two adjacent `\s*` would
  // backtrack quadratically on a long run of blanks.
  const named = /^[A-Za-z0-9][A-Za-z0-9._-]*\s*(?:\[[^\]]*\]\s*)?@/.exec(trimmed);
  if (named !== null) {
    const requirement = parseRequirement(trimmed);
    if (requirement.url === undefined) return undefined;
    return { ...requirement, url: absoluteLocation(requirement.url, baseDir) };
  }
  if (!looksLikeLocation(trimmed)) return undefined;
  const split = /\s;|;\s/.exec(trimmed);
  const head = (split === null ? trimmed : trimmed.slice(0, split.index)).trim();
  const marker =
    split === null ? undefined : parseRequirement(`x ${trimmed.slice(split.index).trim()}`).marker;
  const extrasMatch = /\[([^\]]*)\]$/.exec(head);
  const location = extrasMatch === null ? head : head.slice(0, extrasMatch.index);
  const extras =
    extrasMatch === null
      ? []
      : [
          ...new Set(
            extrasMatch[1]!
              .split(",")
              .map((extra) => normalizeName(extra.trim()))
              .filter(Boolean),
          ),
        ].sort();
  const url = absoluteLocation(location, baseDir);
  const name = nameFromLocation(url) ?? "";
  return {
    name,
    normalizedName: name === "" ? "" : normalizeName(name),
    extras,
    specifier: SpecifierSet.parse(""),
    url,
    ...(marker === undefined ? {} : { marker }),
    text: trimmed,
  };
}
