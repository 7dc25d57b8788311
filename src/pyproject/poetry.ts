/**
 * Poetry's version constraints and dependency tables, translated to PEP 440 and PEP 508.
 *
 * Rules from Poetry's documentation ("Dependency specification") as poetry-core applies them:
 * - Caret `^V`: from V up to the next version that changes the leftmost non-zero component
 *   among those written: `^1.2.3` → `>=1.2.3,<2.0.0`, `^0.2.3` → `>=0.2.3,<0.3.0`,
 *   `^0.0.3` → `>=0.0.3,<0.0.4`, `^0.0` → `>=0.0,<0.1`, `^0` → `>=0,<1`.
 * - Tilde `~V` (not `~=`): `~1.2.3` → `>=1.2.3,<1.3.0`, `~1.2` → `>=1.2,<1.3`, `~1` → `>=1,<2`.
 * - Wildcards: `*` → any version, `1.*` → `>=1,<2`, `1.2.*` → `>=1.2,<1.3`.
 * - `=V` and a bare `V` → `==V`; `>=`, `>`, `<`, `<=`, `!=`, `==`, `~=` are PEP 440 already.
 * - Clauses joined by `,` or spaces all apply; alternatives are joined by `||` (or `|`).
 *
 * A union that PEP 440 cannot express (a gap wider than one version) is refused when a
 * specifier is needed; membership (`admits`) works for any union.
 */
import { PylayerError } from "../errors.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import { normalizeName, parseMarker } from "../pep508/index.js";

export interface PoetryConstraint {
  readonly text: string;
  /** Alternatives (the constraint holds when one of them does); empty specifiers admit all. */
  readonly alternatives: readonly SpecifierSet[];
}

/** Parses a Poetry constraint such as `^1.2`, `~2.0`, `>=1,<2 || ^3`. Throws `invalid-constraint`. */
export function parsePoetryConstraint(text: string): PoetryConstraint {
  const trimmed = text.trim();
  const alternatives = trimmed
    .split(/\s*\|\|?\s*/)
    .map((alternative) => SpecifierSet.parse(translateAlternative(alternative, text)));
  return { text: trimmed, alternatives };
}

/** Whether `version` satisfies the constraint (pre-releases as PEP 440 allows them). */
export function poetryConstraintAdmits(
  constraint: PoetryConstraint,
  version: Version | string,
  options: { prereleases?: boolean } = {},
): boolean {
  return constraint.alternatives.some((alternative) => alternative.contains(version, options));
}

/** The PEP 440 specifier of a Poetry constraint (`""` for any version). */
export function poetryConstraintToPep440(text: string): string {
  const constraint = parsePoetryConstraint(text);
  if (constraint.alternatives.length === 1) return constraint.alternatives[0]!.text;
  return mergeAlternatives(constraint);
}

function invalid(text: string, why: string): PylayerError {
  return new PylayerError(
    "invalid-constraint",
    `"${text}" is not a Poetry version constraint: ${why}`,
    {
      hint: "Poetry constraints look like ^1.2, ~1.2.3, >=1.2,<2, 1.2.*, or alternatives joined by ||.",
    },
  );
}

function translateAlternative(alternative: string, whole: string): string {
  const trimmed = alternative.trim();
  if (trimmed === "" || trimmed === "*" || /^[xX*](\.[xX*])*$/.test(trimmed)) return "";
  // Split on commas, and on spaces that are not right after an operator.
  const clauses = trimmed
    .replace(/(\^|~=|~|===|==|!=|>=|<=|>|<|=)\s+/g, "$1")
    .split(/\s*,\s*|\s+/)
    .filter((clause) => clause !== "");
  return clauses
    .map((clause) => translateClause(clause, whole))
    .filter(Boolean)
    .join(",");
}

function parseRelease(text: string, whole: string): { version: Version; release: number[] } {
  const version = Version.tryParse(text);
  if (version === null) throw invalid(whole, `"${text}" is not a version`);
  if (version.epoch !== 0) throw invalid(whole, "epochs are not supported with ^ and ~");
  return { version, release: [...version.release] };
}

function formatRelease(parts: readonly number[]): string {
  return parts.join(".");
}

/** The release `parts` bumped at `index`, later components zeroed, same length. */
function bump(parts: readonly number[], index: number): string {
  const next = parts.map((part, position) =>
    position < index ? part : position === index ? part + 1 : 0,
  );
  return formatRelease(next);
}

function translateClause(clause: string, whole: string): string {
  if (clause === "*") return "";
  if (clause.startsWith("^")) {
    const written = clause.slice(1);
    const { release } = parseRelease(written, whole);
    const firstNonZero = release.findIndex((part) => part !== 0);
    // ^0 and ^0.0 bump the last written component; otherwise the leftmost non-zero one.
    const index = firstNonZero === -1 ? release.length - 1 : firstNonZero;
    return `>=${written},<${bump(release, index)}`;
  }
  if (clause.startsWith("~") && !clause.startsWith("~=")) {
    const written = clause.slice(1);
    const { release } = parseRelease(written, whole);
    const index = release.length === 1 ? 0 : 1;
    return `>=${written},<${bump(release, index)}`;
  }
  const wildcard = /^(?:==)?\s*(\d+(?:\.\d+)*)\.\*$/.exec(clause);
  if (wildcard !== null && !clause.startsWith("!=")) {
    const release = wildcard[1]!.split(".").map(Number);
    return `>=${formatRelease(release)},<${bump(release, release.length - 1)}`;
  }
  const operator = /^(===|~=|==|!=|>=|<=|>|<|=)?(.*)$/.exec(clause)!;
  const op = operator[1] === undefined || operator[1] === "=" ? "==" : operator[1];
  const version = operator[2]!.trim();
  if (version === "") throw invalid(whole, `"${clause}" has no version`);
  const specifier = `${op}${version}`;
  try {
    SpecifierSet.parse(specifier);
  } catch {
    throw invalid(whole, `"${clause}" is not understood`);
  }
  return specifier;
}

interface Bound {
  version: Version;
  inclusive: boolean;
}

interface Interval {
  lower: Bound | undefined;
  upper: Bound | undefined;
  exclusions: string[];
}

/**
 * Expresses a union as one PEP 440 specifier set: the hull of the alternatives, with
 * `!=V` for a gap of exactly one version (`<1.5.7 || >1.5.7`, as Poetry writes `!=`).
 */
function mergeAlternatives(constraint: PoetryConstraint): string {
  const intervals = constraint.alternatives.map((alternative) =>
    toInterval(alternative, constraint.text),
  );
  if (
    intervals.some(
      (interval) =>
        interval.lower === undefined &&
        interval.upper === undefined &&
        interval.exclusions.length === 0,
    )
  ) {
    return "";
  }
  intervals.sort((a, b) => compareLower(a.lower, b.lower));
  const exclusions: string[] = [];
  let current = intervals[0]!;
  for (const next of intervals.slice(1)) {
    if (current.exclusions.length > 0 || next.exclusions.length > 0) {
      throw cannotExpress(constraint.text);
    }
    const upper = current.upper;
    const lower = next.lower;
    if (upper === undefined) continue; // current already reaches infinity
    if (lower !== undefined) {
      const order = upper.version.compare(lower.version);
      if (order < 0) throw cannotExpress(constraint.text);
      if (order === 0 && !upper.inclusive && !lower.inclusive) {
        exclusions.push(upper.version.text);
      }
    }
    current = {
      lower: current.lower,
      upper: next.upper === undefined || compareUpper(next.upper, upper) > 0 ? next.upper : upper,
      exclusions: [],
    };
  }
  const clauses: string[] = [];
  if (current.lower !== undefined)
    clauses.push(`${current.lower.inclusive ? ">=" : ">"}${current.lower.version.text}`);
  clauses.push(...current.exclusions.map((version) => `!=${version}`));
  clauses.push(...exclusions.map((version) => `!=${version}`));
  if (current.upper !== undefined)
    clauses.push(`${current.upper.inclusive ? "<=" : "<"}${current.upper.version.text}`);
  return clauses.join(",");
}

function cannotExpress(text: string): PylayerError {
  return new PylayerError(
    "unsupported-constraint",
    `the Poetry constraint "${text}" cannot be written as one PEP 440 specifier`,
    { hint: "Rewrite it as one range (e.g. >=1.2,<3), or pin the version you need." },
  );
}

function toInterval(set: SpecifierSet, text: string): Interval {
  const interval: Interval = { lower: undefined, upper: undefined, exclusions: [] };
  for (const clause of set.clauses) {
    if (clause.version.endsWith(".*")) throw cannotExpress(text);
    const version = Version.tryParse(clause.version);
    if (version === null) throw cannotExpress(text);
    switch (clause.operator) {
      case ">=":
      case ">":
        interval.lower = tighterLower(interval.lower, {
          version,
          inclusive: clause.operator === ">=",
        });
        break;
      case "<=":
      case "<":
        interval.upper = tighterUpper(interval.upper, {
          version,
          inclusive: clause.operator === "<=",
        });
        break;
      case "==":
        interval.lower = tighterLower(interval.lower, { version, inclusive: true });
        interval.upper = tighterUpper(interval.upper, { version, inclusive: true });
        break;
      case "!=":
        interval.exclusions.push(version.text);
        break;
      default:
        throw cannotExpress(text);
    }
  }
  return interval;
}

function compareLower(a: Bound | undefined, b: Bound | undefined): number {
  if (a === undefined) return b === undefined ? 0 : -1;
  if (b === undefined) return 1;
  return a.version.compare(b.version) || Number(b.inclusive) - Number(a.inclusive);
}

function compareUpper(a: Bound, b: Bound): number {
  return a.version.compare(b.version) || Number(a.inclusive) - Number(b.inclusive);
}

function tighterLower(current: Bound | undefined, next: Bound): Bound {
  return current === undefined || compareLower(next, current) > 0 ? next : current;
}

function tighterUpper(current: Bound | undefined, next: Bound): Bound {
  return current === undefined || compareUpper(next, current) < 0 ? next : current;
}

/**
 * A PEP 508 marker for a Poetry `python = "…"` restriction: `python_version` for
 * versions written with at most two components, `python_full_version` otherwise.
 */
export function poetryPythonMarker(text: string): string | undefined {
  const constraint = parsePoetryConstraint(text);
  const alternatives = constraint.alternatives.map((alternative) =>
    alternative.clauses
      .map((clause) => {
        const bare = clause.version.replace(/\.\*$/, "");
        const variable = bare.split(".").length <= 2 ? "python_version" : "python_full_version";
        return `${variable} ${clause.operator} "${clause.version}"`;
      })
      .join(" and "),
  );
  if (alternatives.some((alternative) => alternative === "")) return undefined;
  return alternatives.length === 1
    ? alternatives[0]
    : alternatives.map((alternative) => `(${alternative})`).join(" or ");
}

/** One requirement derived from a Poetry dependency entry. */
export interface PoetryRequirement {
  /** PEP 508 text. */
  text: string;
  /** `optional = true`: only installed through an extra. */
  optional: boolean;
  /** The `source = "…"` the entry names, if any. */
  source?: string;
}

const UNSUPPORTED_KEYS = ["git", "path", "url", "file"] as const;

/**
 * The requirements of one `[tool.poetry.dependencies]` entry (`name = "^1.2"`, a table,
 * or a list of tables for per-Python constraints). Git, path and URL dependencies are
 * refused: they need a source build or a local project, which a layer cannot take.
 */
export function poetryDependencyRequirements(
  name: string,
  value: unknown,
  where: string,
): PoetryRequirement[] {
  if (Array.isArray(value)) {
    return value.flatMap((item) => poetryDependencyRequirements(name, item, where));
  }
  if (typeof value === "string") {
    return [{ text: `${name}${poetryConstraintToPep440(value)}`, optional: false }];
  }
  if (typeof value !== "object" || value === null) {
    throw new PylayerError(
      "invalid-pyproject",
      `${where}: the dependency ${name} must be a constraint string or a table`,
      { hint: 'Write e.g. requests = "^2.31" or requests = { version = "^2.31" }.' },
    );
  }
  const table = value as Record<string, unknown>;
  const kind = UNSUPPORTED_KEYS.find((key) => key in table);
  if (kind !== undefined) {
    throw new PylayerError(
      "unsupported-requirement",
      `${where}: ${name} is a ${kind} dependency (${String(table[kind])}), which cannot be installed into a layer`,
      {
        hint: "pylayer installs wheels from package indexes. Publish the package to an index (or build its wheel and pass --find-links FOLDER), then depend on it by version.",
      },
    );
  }
  const version = typeof table.version === "string" ? table.version : "*";
  const extras = Array.isArray(table.extras) ? table.extras.map(String) : [];
  const markers: string[] = [];
  if (typeof table.markers === "string" && table.markers.trim() !== "") {
    parseMarker(table.markers);
    markers.push(`(${table.markers})`);
  }
  if (typeof table.python === "string") {
    const python = poetryPythonMarker(table.python);
    if (python !== undefined) markers.push(`(${python})`);
  }
  if (typeof table.platform === "string") {
    markers.push(`sys_platform == "${table.platform}"`);
  }
  let text = name;
  if (extras.length > 0) text += `[${extras.join(",")}]`;
  text += poetryConstraintToPep440(version);
  if (markers.length > 0) text += `; ${markers.join(" and ")}`;
  return [
    {
      text,
      optional: table.optional === true,
      ...(typeof table.source === "string" ? { source: table.source } : {}),
    },
  ];
}

/** Normalized package names of `[tool.poetry.extras]` for the requested extras. */
export function poetryExtraPackages(
  extrasTable: Record<string, unknown> | undefined,
  requested: readonly string[],
): Set<string> {
  const names = new Set<string>();
  if (extrasTable === undefined) return names;
  for (const [extra, packages] of Object.entries(extrasTable)) {
    if (!requested.includes(normalizeName(extra))) continue;
    if (Array.isArray(packages))
      for (const item of packages) names.add(normalizeName(String(item)));
  }
  return names;
}
