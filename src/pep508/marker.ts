/**
 * Evaluation and canonical printing of environment markers.
 *
 * Semantics follow the living "Dependency specifiers" specification (packaging.python.org,
 * "Marker comparisons"), which records what the packaging library does:
 *
 * - Version fields (`python_version`, `python_full_version`, `implementation_version`) and
 *   Version | String fields (`platform_release`, `platform_version`): when the operator is
 *   a version operator and both sides parse (field value as a PEP 440 version, operator plus
 *   constant as a PEP 440 specifier), the comparison is the specifier's, with pre-releases
 *   admitted. `===` is case-insensitive string equality. Otherwise they fall back to the
 *   String rules below (the spec allows this fallback).
 * - String fields and the fallback: `==`/`!=` are exact string (in)equality; `in`/`not in`
 *   are substring tests (also on Version fields, as packaging does, though the spec allows
 *   treating them as false); `<=`, `>=`, `~=` and `===` mean `==`; `<` and `>` are false.
 *   pylayer never raises for an undefined comparison: it evaluates it as false (or as
 *   `==`), because a requirement whose marker cannot apply should not abort a build.
 * - `extra`: `extra == "x"` is true when the PEP 685-normalized `x` is one of the requested
 *   extras, `extra != "x"` when it is not. With no extras requested, `extra == "x"` is
 *   false. Other operators on `extra` are false (the spec's SHOULD).
 * - `extras` and `dependency_groups` (lock files, PEP 751): only `"x" in extras` and
 *   `"x" not in extras` are defined; anything else is false.
 *
 * A variable may stand on either side; the comparison always reads left to right.
 */
import { PylayerError } from "../errors.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import type { MarkerEnvironment } from "../runtime/index.js";
import { normalizeExtra } from "./names.js";
import type { Marker, MarkerValue } from "./syntax.js";

type FieldType = "string" | "version" | "version-or-string";

const FIELD_TYPES: Readonly<Record<string, FieldType>> = {
  python_version: "version",
  python_full_version: "version",
  implementation_version: "version",
  platform_release: "version-or-string",
  platform_version: "version-or-string",
};

const SET_VARIABLES = new Set(["extras", "dependency_groups"]);

export interface MarkerContext {
  readonly environment: MarkerEnvironment;
  /** PEP 685-normalized requested extras (for `extra` and `extras`). */
  readonly extras: ReadonlySet<string>;
  /** PEP 685-normalized selected dependency groups (for `dependency_groups`). */
  readonly dependencyGroups: ReadonlySet<string>;
}

export function evaluate(marker: Marker, context: MarkerContext): boolean {
  switch (marker.kind) {
    case "and":
      return evaluate(marker.left, context) && evaluate(marker.right, context);
    case "or":
      return evaluate(marker.left, context) || evaluate(marker.right, context);
    case "compare":
      return evaluateComparison(marker.left, marker.operator, marker.right, context);
  }
}

function evaluateComparison(
  left: MarkerValue,
  operator: string,
  right: MarkerValue,
  context: MarkerContext,
): boolean {
  const field =
    left.kind === "variable" ? left.name : right.kind === "variable" ? right.name : undefined;

  if (field === "extra") {
    const other = left.kind === "variable" ? right : left;
    if (other.kind !== "literal") return false;
    const requested = context.extras.has(normalizeExtra(other.value));
    if (operator === "==") return requested;
    if (operator === "!=") return !requested;
    return false;
  }

  if (left.kind === "variable" && SET_VARIABLES.has(left.name)) return false;
  if (right.kind === "variable" && SET_VARIABLES.has(right.name)) {
    if (left.kind !== "literal") return false;
    const set = right.name === "extras" ? context.extras : context.dependencyGroups;
    const member = set.has(normalizeExtra(left.value));
    if (operator === "in") return member;
    if (operator === "not in") return !member;
    return false;
  }

  const leftText = resolve(left, context);
  const rightText = resolve(right, context);
  const type = field === undefined ? "string" : (FIELD_TYPES[field] ?? "string");
  if (type !== "string" && operator !== "in" && operator !== "not in") {
    const result = compareVersions(leftText, operator, rightText);
    if (result !== undefined) return result;
  }
  return compareStrings(leftText, operator, rightText);
}

function resolve(value: MarkerValue, context: MarkerContext): string {
  if (value.kind === "literal") return value.value;
  const text = (context.environment as unknown as Record<string, unknown>)[value.name];
  if (typeof text !== "string") {
    throw new PylayerError(
      "invalid-marker-environment",
      `The marker environment has no value for "${value.name}"`,
      { hint: "Pass a complete MarkerEnvironment (see markerEnvironment() in src/runtime)." },
    );
  }
  // Untagged CPython builds report versions such as "3.11.1+", which is not PEP 440;
  // packaging reads it as the local version "3.11.1+local".
  if (value.name === "python_full_version" && text.endsWith("+")) return `${text}local`;
  return text;
}

/** `left operator right` by PEP 440, or undefined when either side is not a version. */
function compareVersions(left: string, operator: string, right: string): boolean | undefined {
  if (operator === "===") return left.toLowerCase() === right.toLowerCase();
  const version = Version.tryParse(left);
  if (version === null) return undefined;
  let specifier: SpecifierSet;
  try {
    specifier = SpecifierSet.parse(`${operator}${right}`);
  } catch {
    return undefined;
  }
  if (specifier.clauses.length !== 1) return undefined;
  return specifier.contains(version, { prereleases: true });
}

function compareStrings(left: string, operator: string, right: string): boolean {
  switch (operator) {
    case "==":
    case "===":
    case "~=":
    case "<=":
    case ">=":
      return left === right;
    case "!=":
      return left !== right;
    case "in":
      return right.includes(left);
    case "not in":
      return !right.includes(left);
    default:
      return false;
  }
}

/**
 * Canonical text: double-quoted literals (single quotes only when the value holds a double
 * quote), one space around operators, and parentheses only where an `or` sits inside an
 * `and` (and binds tighter than or, and both are associative).
 */
export function format(marker: Marker): string {
  switch (marker.kind) {
    case "compare":
      return `${formatValue(marker.left)} ${marker.operator} ${formatValue(marker.right)}`;
    case "or":
      return `${format(marker.left)} or ${format(marker.right)}`;
    case "and":
      return `${formatOperandOfAnd(marker.left)} and ${formatOperandOfAnd(marker.right)}`;
  }
}

function formatOperandOfAnd(marker: Marker): string {
  return marker.kind === "or" ? `(${format(marker)})` : format(marker);
}

function formatValue(value: MarkerValue): string {
  if (value.kind === "variable") return value.name;
  if (!value.value.includes('"')) return `"${value.value}"`;
  if (!value.value.includes("'")) return `'${value.value}'`;
  throw new PylayerError(
    "invalid-marker",
    `The marker string ${value.value} holds both quote characters and cannot be written`,
    { hint: "Marker strings can use ' or \" but not both (PEP 508 has no escapes)." },
  );
}
