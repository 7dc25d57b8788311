/**
 * Source distribution file names and static metadata (PEP 643): an sdist whose PKG-INFO
 * says `Metadata-Version: 2.2` or later guarantees that every field not listed as
 * `Dynamic` is what a wheel built from it will say, so resolution can use its
 * Requires-Dist, Requires-Python and Provides-Extra without building it.
 */
import { type CoreMetadata, parseCoreMetadata, parseHeaders } from "../wheel/index.js";
import { type ArchiveFile, joinTop, topFolder } from "./tar.js";

/** The fields resolution reads; one of them dynamic means the sdist must be built. */
const RESOLUTION_FIELDS = ["requires-dist", "requires-python", "provides-extra"];

/** The sdist file name's project and version (PEP 625 `name-version.tar.gz`, or older `.zip`). */
export function parseSdistFilename(
  filename: string,
): { name: string; version: string } | undefined {
  const match = /^(.+)-([^-]+)\.(tar\.gz|zip|tar\.bz2|tgz)$/i.exec(filename);
  if (match === null) return undefined;
  return { name: match[1]!, version: match[2]! };
}

/** The PKG-INFO text at the top of an sdist, if there is one. */
export function sdistPkgInfo(files: readonly ArchiveFile[]): string | undefined {
  const top = topFolder([...files]);
  const path = joinTop(top, "PKG-INFO");
  const file = files.find((item) => item.path === path);
  return file === undefined ? undefined : new TextDecoder().decode(file.data);
}

/**
 * The metadata resolution may use without a build, or undefined when PKG-INFO is older
 * than 2.2 or marks Requires-Dist, Requires-Python or Provides-Extra as `Dynamic`.
 */
export function staticMetadata(pkgInfo: string, source: string): CoreMetadata | undefined {
  const metadata = parseCoreMetadata(pkgInfo, source);
  const [major, minor] = metadata.metadataVersion.split(".").map(Number);
  if (major === undefined || minor === undefined || major * 100 + minor < 202) return undefined;
  const dynamic = (parseHeaders(pkgInfo).get("dynamic") ?? []).map((field) => field.toLowerCase());
  if (dynamic.some((field) => RESOLUTION_FIELDS.includes(field))) return undefined;
  return metadata;
}
