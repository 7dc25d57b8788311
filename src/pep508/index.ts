/**
 * PEP 508 dependency specifiers and environment markers, with PEP 503 name
 * normalization and PEP 685 extra normalization.
 *
 * Grammar and semantics: the living "Dependency specifiers" specification on
 * packaging.python.org (originally PEP 508), cross-checked against the packaging library.
 */
import { SpecifierSet } from "../pep440/index.js";
import type { MarkerEnvironment } from "../runtime/index.js";
import { evaluate, format } from "./marker.js";
import { normalizeExtra, normalizeName } from "./names.js";
import { Parser } from "./parser.js";
import type { Marker } from "./syntax.js";

export { isValidName, normalizeExtra, normalizeName } from "./names.js";
export { MARKER_VARIABLES } from "./parser.js";
export type { Marker, MarkerValue } from "./syntax.js";

export interface Requirement {
  /** The name as written. */
  readonly name: string;
  /** PEP 503 normalized name (`Foo.Bar_baz` → `foo-bar-baz`). */
  readonly normalizedName: string;
  /** PEP 685 normalized extras, sorted and unique. */
  readonly extras: readonly string[];
  readonly specifier: SpecifierSet;
  /** Direct reference (`name @ url`), if any. */
  readonly url?: string;
  readonly marker?: Marker;
  /** The requirement as written, for messages. */
  readonly text: string;
}

/**
 * Parses one PEP 508 requirement (`name[extras] specifier ; marker` or
 * `name[extras] @ url ; marker`). Surrounding whitespace is ignored.
 * Throws `invalid-requirement` naming the column and what was expected there.
 */
export function parseRequirement(text: string): Requirement {
  const trimmed = text.trim();
  const parsed = new Parser(trimmed, "requirement").parseRequirement();
  const extras = [...new Set(parsed.extras.map(normalizeExtra))].sort();
  return {
    name: parsed.name,
    normalizedName: normalizeName(parsed.name),
    extras,
    specifier: SpecifierSet.parse(parsed.specifier),
    ...(parsed.url === undefined ? {} : { url: parsed.url }),
    ...(parsed.marker === undefined ? {} : { marker: parsed.marker }),
    text: trimmed,
  };
}

/**
 * Parses a marker expression. Legacy names (`os.name`, `sys.platform`, `platform.version`,
 * `platform.machine`, `platform.python_implementation`, `python_implementation`) become
 * their PEP 508 names; literals compared with `extra`, `extras` or `dependency_groups` are
 * stored PEP 685-normalized. Throws `invalid-marker`.
 */
export function parseMarker(text: string): Marker {
  return new Parser(text.trim(), "marker").parseMarkerToEnd();
}

/**
 * Whether `marker` holds in `environment` with the requested `extras` (see marker.ts for
 * the comparison rules). `dependencyGroups` serves the `dependency_groups` variable of lock
 * files (PEP 751); both sets are compared PEP 685-normalized.
 */
export function evaluateMarker(
  marker: Marker,
  environment: MarkerEnvironment,
  extras: Iterable<string> = [],
  dependencyGroups: Iterable<string> = [],
): boolean {
  return evaluate(marker, {
    environment,
    extras: new Set([...extras].map(normalizeExtra)),
    dependencyGroups: new Set([...dependencyGroups].map(normalizeExtra)),
  });
}

/**
 * Canonical marker text for lock files and messages: double quotes, single spaces, and
 * only the parentheses the meaning needs. Parsing the result gives an equivalent marker.
 */
export function markerToString(marker: Marker): string {
  return format(marker);
}

/**
 * Canonical requirement text: the name as written, sorted normalized extras, the
 * specifier without spaces, then ` @ url` and `; marker`.
 */
export function requirementToString(requirement: Requirement): string {
  let text = requirement.name;
  if (requirement.extras.length > 0) text += `[${requirement.extras.join(",")}]`;
  text += requirement.specifier.text;
  if (requirement.url !== undefined) {
    text += ` @ ${requirement.url}`;
    if (requirement.marker !== undefined) text += " ";
  }
  if (requirement.marker !== undefined) text += `; ${markerToString(requirement.marker)}`;
  return text;
}
