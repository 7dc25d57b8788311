/**
 * PEP 440 versions and specifiers, as pylayer uses them.
 *
 * The parsing and comparison rules come from `@renovatebot/pep440`; this module adds
 * the set-level pre-release rule of PEP 440 ("Handling of pre-releases": a specifier set
 * admits pre-releases when one of its clauses names one, or when the caller allows them)
 * and caches parsed values, because the resolver compares the same strings many times.
 */
import * as pep440 from "@renovatebot/pep440";
import { parse as parseSpecifierClauses } from "@renovatebot/pep440/lib/specifier.js";
import { PylayerError } from "../errors.js";

export class Version {
  readonly text: string;
  readonly isPrerelease: boolean;
  readonly isDevrelease: boolean;
  readonly isPostrelease: boolean;
  readonly epoch: number;
  readonly release: readonly number[];
  readonly local: string | null;
  /** The version without its local label, normalized. */
  readonly public: string;

  private constructor(text: string, parsed: pep440.Pep440Version) {
    this.text = text;
    this.isPrerelease = parsed.is_prerelease;
    this.isDevrelease = parsed.is_devrelease;
    this.isPostrelease = parsed.is_postrelease;
    this.epoch = parsed.epoch;
    this.release = parsed.release;
    this.local = parsed.local;
    this.public = parsed.public;
  }

  private static readonly cache = new Map<string, Version | null>();

  /** Parses `text`, or returns null when it is not a PEP 440 version. */
  static tryParse(text: string): Version | null {
    let version = Version.cache.get(text);
    if (version === undefined) {
      const parsed = pep440.explain(text);
      version = parsed === null ? null : new Version(text, parsed);
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

  compare(other: Version): number {
    return compareVersions(this.text, other.text);
  }

  equals(other: Version): boolean {
    return this.compare(other) === 0;
  }

  toString(): string {
    return this.text;
  }
}

/** Total order of PEP 440 (negative when `a` sorts before `b`). Both must be valid. */
export function compareVersions(a: string, b: string): number {
  return pep440.compare(a, b);
}

/** Newest first: the order in which the resolver tries candidates. */
export function sortVersionsDescending<T>(items: T[], versionOf: (item: T) => Version): T[] {
  return items.sort((x, y) => versionOf(y).compare(versionOf(x)));
}

interface Clause {
  operator: string;
  version: string;
}

/** A comma-separated PEP 440 specifier set such as `>=1.2,!=1.3.*,<2`. Empty admits all. */
export class SpecifierSet {
  readonly text: string;
  readonly clauses: readonly Clause[];
  /** True when a clause names a pre-release, which admits pre-releases (PEP 440). */
  readonly mentionsPrerelease: boolean;
  private readonly memo = new Map<string, boolean>();

  private constructor(text: string, clauses: Clause[]) {
    this.text = text;
    this.clauses = clauses;
    this.mentionsPrerelease = clauses.some(
      (clause) =>
        clause.operator !== "!=" &&
        (Version.tryParse(clause.version.replace(/\.\*$/, ""))?.isPrerelease ?? false),
    );
  }

  private static readonly cache = new Map<string, SpecifierSet>();

  /** Parses a specifier set; throws `invalid-specifier` on malformed input. */
  static parse(text: string): SpecifierSet {
    const normalized = text.trim();
    const cached = SpecifierSet.cache.get(normalized);
    if (cached !== undefined) return cached;
    const parsed = normalized === "" ? [] : parseSpecifierClauses(normalized);
    if (parsed === null) {
      throw new PylayerError(
        "invalid-specifier",
        `"${text}" is not a valid PEP 440 version specifier`,
        {
          hint: "Specifiers look like >=1.2,<2 or ~=1.4 or ==1.0.* (PEP 440).",
        },
      );
    }
    const clauses = parsed.map((clause) => ({
      operator: clause.operator,
      version: `${clause.version}${clause.prefix ?? ""}`,
    }));
    const set = new SpecifierSet(normalized, clauses);
    SpecifierSet.cache.set(normalized, set);
    return set;
  }

  get isEmpty(): boolean {
    return this.clauses.length === 0;
  }

  /**
   * Whether `version` satisfies every clause. Pre-releases are admitted only when
   * `prereleases` is true or a clause names a pre-release (PEP 440's default rule).
   */
  contains(version: Version | string, options: { prereleases?: boolean } = {}): boolean {
    const parsed = typeof version === "string" ? Version.tryParse(version) : version;
    if (parsed === null) return false;
    if (parsed.isPrerelease && !(options.prereleases === true || this.mentionsPrerelease)) {
      return false;
    }
    if (this.clauses.length === 0) return true;
    let result = this.memo.get(parsed.text);
    if (result === undefined) {
      result = pep440.satisfies(parsed.text, this.text, { prereleases: true });
      this.memo.set(parsed.text, result);
    }
    return result;
  }

  /** The intersection of two sets, as text joined by a comma. */
  and(other: SpecifierSet): SpecifierSet {
    if (other.isEmpty) return this;
    if (this.isEmpty) return other;
    return SpecifierSet.parse(`${this.text},${other.text}`);
  }

  toString(): string {
    return this.text;
  }
}
