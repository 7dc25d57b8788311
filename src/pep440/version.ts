/**
 * PEP 440 versions: parsing, normalization and the total order ("Version scheme",
 * "Summary of permitted suffixes and relative ordering"), as `packaging` implements them.
 * Checked against vectors generated from `packaging` (test/pep440/vectors).
 */
import { PylayerError } from "../errors.js";

/** `packaging.version.VERSION_PATTERN`, anchored, with the surrounding whitespace it strips. */
const VERSION_PATTERN = new RegExp(
  [
    "^\\s*v?",
    "(?:(?<epoch>[0-9]+)!)?",
    "(?<release>[0-9]+(?:\\.[0-9]+)*)",
    "(?:[._-]?(?<preLetter>alpha|a|beta|b|preview|pre|c|rc)[._-]?(?<preNumber>[0-9]+)?)?",
    "(?:-(?<implicitPost>[0-9]+)|[._-]?(?<postLetter>post|rev|r)[._-]?(?<postNumber>[0-9]+)?)?",
    "(?:[._-]?(?<devLetter>dev)[._-]?(?<devNumber>[0-9]+)?)?",
    "(?:\\+(?<local>[a-z0-9]+(?:[._-][a-z0-9]+)*))?",
    "\\s*$",
  ].join(""),
  "i",
);

const PRE_LETTER: Record<string, "a" | "b" | "rc"> = {
  a: "a",
  alpha: "a",
  b: "b",
  beta: "b",
  c: "rc",
  rc: "rc",
  pre: "rc",
  preview: "rc",
};

/** Sort ranks of the pre-release part: dev-only < a < b < rc < none (packaging's `_cmpkey`). */
const PRE_RANK = { devOnly: -1, a: 0, b: 1, rc: 2, none: 3 } as const;

export type PreReleaseLetter = "a" | "b" | "rc";

export interface VersionParts {
  epoch: number;
  release: readonly number[];
  pre: readonly [PreReleaseLetter, number] | null;
  post: number | null;
  dev: number | null;
  /** Normalized local label (lower case, `.` separators), or null. */
  local: string | null;
}

/** The normalized text of version parts (PEP 440 "Normalization"). */
export function formatVersion(parts: VersionParts, options: { local?: boolean } = {}): string {
  let text = parts.epoch === 0 ? "" : `${parts.epoch}!`;
  text += parts.release.join(".");
  if (parts.pre !== null) text += `${parts.pre[0]}${parts.pre[1]}`;
  if (parts.post !== null) text += `.post${parts.post}`;
  if (parts.dev !== null) text += `.dev${parts.dev}`;
  if (parts.local !== null && options.local !== false) text += `+${parts.local}`;
  return text;
}

function parseParts(text: string): VersionParts | null {
  const groups = VERSION_PATTERN.exec(text)?.groups;
  if (groups === undefined) return null;
  const preLetter = groups.preLetter?.toLowerCase();
  const postText = groups.implicitPost ?? groups.postNumber;
  return {
    epoch: groups.epoch === undefined ? 0 : Number(groups.epoch),
    release: (groups.release ?? "0").split(".").map(Number),
    pre:
      preLetter === undefined
        ? null
        : [PRE_LETTER[preLetter] ?? "rc", Number(groups.preNumber ?? 0)],
    post:
      groups.implicitPost === undefined && groups.postLetter === undefined
        ? null
        : Number(postText ?? 0),
    dev: groups.devLetter === undefined ? null : Number(groups.devNumber ?? 0),
    local: groups.local === undefined ? null : groups.local.toLowerCase().replace(/[-_]/g, "."),
  };
}

export class Version implements VersionParts {
  /** The text as written (the `===` operator compares it). */
  readonly text: string;
  readonly epoch: number;
  readonly release: readonly number[];
  readonly pre: readonly [PreReleaseLetter, number] | null;
  readonly post: number | null;
  readonly dev: number | null;
  readonly local: string | null;
  /** A pre-release or a development release (PEP 440 `is_prerelease`). */
  readonly isPrerelease: boolean;
  readonly isDevrelease: boolean;
  readonly isPostrelease: boolean;
  /** The version without its local label, normalized. */
  readonly public: string;
  /** The release segment without trailing zeros, for comparisons (`1.0.0 == 1`). */
  private readonly trimmedRelease: readonly number[];
  private readonly preRank: number;
  private readonly localParts: readonly (number | string)[] | null;

  private constructor(text: string, parts: VersionParts) {
    this.text = text;
    this.epoch = parts.epoch;
    this.release = parts.release;
    this.pre = parts.pre;
    this.post = parts.post;
    this.dev = parts.dev;
    this.local = parts.local;
    this.isPrerelease = parts.pre !== null || parts.dev !== null;
    this.isDevrelease = parts.dev !== null;
    this.isPostrelease = parts.post !== null;
    this.public = formatVersion(parts, { local: false });
    let end = parts.release.length;
    while (end > 1 && parts.release[end - 1] === 0) end -= 1;
    this.trimmedRelease = parts.release.slice(0, end);
    this.preRank =
      parts.pre !== null
        ? PRE_RANK[parts.pre[0]]
        : parts.post === null && parts.dev !== null
          ? PRE_RANK.devOnly
          : PRE_RANK.none;
    this.localParts =
      parts.local === null
        ? null
        : parts.local.split(".").map((part) => (/^[0-9]+$/.test(part) ? Number(part) : part));
  }

  private static readonly cache = new Map<string, Version | null>();

  /** Parses `text`, or returns null when it is not a PEP 440 version. */
  static tryParse(text: string): Version | null {
    let version = Version.cache.get(text);
    if (version === undefined) {
      const parts = parseParts(text);
      version = parts === null ? null : new Version(text, parts);
      Version.cache.set(text, version);
    }
    return version;
  }

  /** Parses `text`; throws `invalid-version` when it is not a PEP 440 version. */
  static parse(text: string): Version {
    const version = Version.tryParse(text);
    if (version === null) {
      throw new PylayerError("invalid-version", `"${text}" is not a valid PEP 440 version`, {
        hint: "Versions look like 1.2, 1.2.3rc1, 2!1.0.post2 or 1.0+local (PEP 440).",
      });
    }
    return version;
  }

  /** A version built from parts (its text is the normalized form). */
  static fromParts(parts: VersionParts): Version {
    const text = formatVersion(parts);
    return Version.tryParse(text) ?? Version.parse(text);
  }

  /** This version with some parts replaced. */
  with(parts: Partial<VersionParts>): Version {
    return Version.fromParts({
      epoch: this.epoch,
      release: this.release,
      pre: this.pre,
      post: this.post,
      dev: this.dev,
      local: this.local,
      ...parts,
    });
  }

  /** The total order of PEP 440 (negative when this sorts before `other`). */
  compare(other: Version): number {
    return (
      this.epoch - other.epoch ||
      compareReleases(this.trimmedRelease, other.trimmedRelease) ||
      this.preRank - other.preRank ||
      (this.pre?.[1] ?? 0) - (other.pre?.[1] ?? 0) ||
      (this.post === null ? -1 : this.post) - (other.post === null ? -1 : other.post) ||
      (this.dev === null ? Number.POSITIVE_INFINITY : this.dev) -
        (other.dev === null ? Number.POSITIVE_INFINITY : other.dev) ||
      compareLocals(this.localParts, other.localParts)
    );
  }

  /** The order of the public versions (local labels ignored). */
  comparePublic(other: Version): number {
    if (this.local === null && other.local === null) return this.compare(other);
    return this.with({ local: null }).compare(other.with({ local: null }));
  }

  equals(other: Version): boolean {
    return this.compare(other) === 0;
  }

  toString(): string {
    return this.text;
  }
}

function compareReleases(a: readonly number[], b: readonly number[]): number {
  const length = Math.max(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const difference = (a[index] ?? 0) - (b[index] ?? 0);
    if (difference !== 0) return difference;
  }
  return 0;
}

/** PEP 440 local labels: none first; then part by part, strings before numbers; shorter first. */
function compareLocals(
  a: readonly (number | string)[] | null,
  b: readonly (number | string)[] | null,
): number {
  if (a === null || b === null) return (a === null ? 0 : 1) - (b === null ? 0 : 1);
  const length = Math.min(a.length, b.length);
  for (let index = 0; index < length; index += 1) {
    const x = a[index] as number | string;
    const y = b[index] as number | string;
    if (typeof x === "number" && typeof y === "number") {
      if (x !== y) return x - y;
    } else if (typeof x === "string" && typeof y === "string") {
      if (x !== y) return x < y ? -1 : 1;
    } else {
      return typeof x === "number" ? 1 : -1;
    }
  }
  return a.length - b.length;
}

/** Total order of PEP 440 (negative when `a` sorts before `b`). Both must be valid. */
export function compareVersions(a: string, b: string): number {
  return Version.parse(a).compare(Version.parse(b));
}

/** Newest first: the order in which the resolver tries candidates. */
export function sortVersionsDescending<T>(items: T[], versionOf: (item: T) => Version): T[] {
  return items.sort((x, y) => versionOf(y).compare(versionOf(x)));
}
