/**
 * PEP 440 version specifiers ("Version specifiers"), with the semantics of `packaging`
 * (the reference implementation): epochs count for every operator, prefix matching pads
 * the candidate's release with zeros (`2` matches `==2.0.*`), `<V` excludes pre-releases
 * of V only when V is not itself a pre-release, `>V` excludes post-releases and local
 * versions of V. Checked against vectors generated from `packaging` (test/pep440/vectors).
 */
import { PylayerError } from "../errors.js";
import { Version } from "./version.js";

export type Operator = "~=" | "==" | "!=" | "<=" | ">=" | "<" | ">" | "===";

export interface Clause {
  operator: Operator;
  /** The version as written, with its `.*` suffix for prefix matching. */
  version: string;
}

const RELEASE = "v?(?:[0-9]+!)?[0-9]+(?:\\.[0-9]+)*";
const PRE = "(?:[-_.]?(?:alpha|beta|preview|pre|a|b|c|rc)[-_.]?[0-9]*)?";
const POST = "(?:-[0-9]+|[-_.]?(?:post|rev|r)[-_.]?[0-9]*)?";
const DEV = "(?:[-_.]?dev[-_.]?[0-9]*)?";
const LOCAL = "(?:\\+[a-z0-9]+(?:[-_.][a-z0-9]+)*)?";

/** `packaging.specifiers.Specifier._regex`: which operator admits which version syntax. */
const CLAUSE_PATTERN = new RegExp(
  `^\\s*(?:` +
    `(?<arbitrary>===)\\s*(?<arbitraryVersion>[^\\s;)]*)` +
    `|(?<equality>==|!=)\\s*(?<equalityVersion>${RELEASE}(?:\\.\\*|${PRE}${POST}${DEV}${LOCAL}))` +
    `|(?<compatible>~=)\\s*(?<compatibleVersion>v?(?:[0-9]+!)?[0-9]+(?:\\.[0-9]+)+${PRE}${POST}${DEV})` +
    `|(?<ordered><=|>=|<|>)\\s*(?<orderedVersion>${RELEASE}${PRE}${POST}${DEV})` +
    `)\\s*$`,
  "i",
);

function parseClause(text: string): Clause | null {
  const groups = CLAUSE_PATTERN.exec(text)?.groups;
  if (groups === undefined) return null;
  const operator = (groups.arbitrary ??
    groups.equality ??
    groups.compatible ??
    groups.ordered) as Operator;
  const version =
    groups.arbitraryVersion ??
    groups.equalityVersion ??
    groups.compatibleVersion ??
    groups.orderedVersion ??
    "";
  return { operator, version };
}

/** Whether `candidate` satisfies one clause, pre-releases admitted (packaging's `_compare_*`). */
function clauseContains(clause: Clause, candidate: Version): boolean {
  const { operator, version } = clause;
  if (operator === "===") return candidate.text.toLowerCase() === version.toLowerCase();
  if (version.endsWith(".*")) {
    const matches = prefixMatches(Version.parse(version.slice(0, -2)), candidate);
    return operator === "==" ? matches : !matches;
  }
  const spec = Version.parse(version);
  switch (operator) {
    case "==":
      return equalTo(spec, candidate);
    case "!=":
      return !equalTo(spec, candidate);
    case "<=":
      return candidate.comparePublic(spec) <= 0;
    case ">=":
      return candidate.comparePublic(spec) >= 0;
    case "<":
      return lessThan(spec, candidate);
    case ">":
      return greaterThan(spec, candidate);
    case "~=":
      // ~=V.N is >=V.N together with ==V.* (suffixes of V.N ignored for the prefix).
      return (
        candidate.comparePublic(spec) >= 0 &&
        prefixMatches(spec.with({ release: spec.release.slice(0, -1) }), candidate)
      );
  }
}

/**
 * Prefix matching (`==V.*`): the candidate's release, padded with zeros, starts with V's
 * release in the same epoch. Pre-, post- and dev-release and local parts do not matter.
 */
function prefixMatches(prefix: Version, candidate: Version): boolean {
  if (prefix.epoch !== candidate.epoch) return false;
  return prefix.release.every((part, index) => (candidate.release[index] ?? 0) === part);
}

/** `==V`: equal; a local label on the candidate is ignored when V has none. */
function equalTo(spec: Version, candidate: Version): boolean {
  return (spec.local === null ? candidate.comparePublic(spec) : candidate.compare(spec)) === 0;
}

/** `<V`: below V, and no pre-release of V unless V is itself a pre-release. */
function lessThan(spec: Version, candidate: Version): boolean {
  if (candidate.compare(spec) >= 0) return false;
  return !(
    !spec.isPrerelease &&
    candidate.isPrerelease &&
    candidate.compare(spec.with({ dev: 0, local: null })) >= 0
  );
}

/** `>V`: above V, no post-release of V unless V is one, and no local version of V. */
function greaterThan(spec: Version, candidate: Version): boolean {
  if (candidate.compare(spec) <= 0) return false;
  if (
    !spec.isPostrelease &&
    candidate.isPostrelease &&
    candidate.with({ post: null, dev: null, local: null }).equals(spec)
  ) {
    return false;
  }
  return !(candidate.local !== null && candidate.comparePublic(spec) === 0);
}

/** Whether a clause names a pre-release, which admits pre-releases (packaging's `prereleases`). */
function clauseNamesPrerelease(clause: Clause): boolean {
  if (clause.operator === "!=" || clause.version.endsWith(".*")) return false;
  return Version.tryParse(clause.version)?.isPrerelease ?? false;
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
    this.mentionsPrerelease = clauses.some(clauseNamesPrerelease);
  }

  private static readonly cache = new Map<string, SpecifierSet>();

  /** Parses a specifier set; throws `invalid-specifier` on malformed input. */
  static parse(text: string): SpecifierSet {
    const normalized = text.trim();
    const cached = SpecifierSet.cache.get(normalized);
    if (cached !== undefined) return cached;
    const clauses: Clause[] = [];
    for (const part of normalized.split(",")) {
      if (part.trim() === "") continue;
      const clause = parseClause(part);
      if (clause === null) {
        throw new PylayerError(
          "invalid-specifier",
          `"${text}" is not a valid PEP 440 version specifier`,
          { hint: "Specifiers look like >=1.2,<2 or ~=1.4 or ==1.0.* (PEP 440)." },
        );
      }
      clauses.push(clause);
    }
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
      result = this.clauses.every((clause) => clauseContains(clause, parsed));
      this.memo.set(parsed.text, result);
    }
    return result;
  }

  /**
   * Whether a clause names exactly this version: `===V` with the same text, or `==V`
   * (not a `.*` prefix) that admits it. PEP 592 lets such a requirement use a yanked file.
   */
  pinsExactly(version: Version): boolean {
    return this.clauses.some(
      (clause) =>
        (clause.operator === "===" ||
          (clause.operator === "==" && !clause.version.endsWith(".*"))) &&
        clauseContains(clause, version),
    );
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
