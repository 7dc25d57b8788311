/**
 * Turns the conflict where the search ended into a user-facing error.
 *
 * The statements about the failing project are first reduced to a minimal set that still
 * admits no candidate (deletion filter: drop each statement whose removal keeps the
 * conflict). One statement (or none) left means nothing on the index matches it:
 * `no-matching-distribution`, with the reason each version was left out. Two or more
 * means they contradict each other: `resolution-impossible`, with the chain of who
 * required what, from the user's requirements down.
 */
import { PylayerError } from "../errors.js";
import { Version } from "../pep440/index.js";
import type { Requirement } from "../pep508/index.js";
import { chainOf, type Entry, type Leaf, type LeafItem, sourceLabel } from "./state.js";
import { type Candidate, DEFAULT_RESOLVER_BUDGET, type Rejection } from "./types.js";

export interface ExplainContext<C extends Candidate> {
  /** The provider's usable candidates of the failing project. */
  readonly candidates: readonly C[];
  readonly rejected: readonly Rejection[];
  readonly constraints: readonly Requirement[];
  readonly allowPrereleases: boolean;
  readonly target: string | undefined;
}

/** At most this many version lines in a message; `details` has them all. */
const MAX_VERSION_LINES = 10;

type Statement<C extends Candidate> =
  | LeafItem<C>
  | { readonly kind: "constraint"; readonly requirement: Requirement };

interface VersionLine {
  readonly version: string;
  readonly reason: string;
  readonly file?: string;
}

export function failureError<C extends Candidate>(
  leaf: Leaf<C>,
  context: ExplainContext<C>,
): PylayerError {
  const minimal = minimalConflict(leaf, context);
  if (minimal.length <= 1) return noMatchingDistribution(leaf, minimal[0], context);
  return resolutionImpossible(leaf.project, minimal, context.target);
}

/**
 * The search gave up after `budget` candidates: the error names the conflict it kept
 * hitting (who needs what), like `resolution-impossible`, and the budget as the option
 * it is.
 */
export function budgetExhaustedError<C extends Candidate>(
  leaf: Leaf<C>,
  context: ExplainContext<C>,
  budget: number,
): PylayerError {
  const minimal = minimalConflict(leaf, context);
  const lines = unique(minimal.flatMap(linesOf));
  const parents = parentsOf(leaf.project, minimal);
  const on = context.target === undefined ? "" : ` for ${context.target}`;
  const involved = parents.length === 0 ? leaf.project : parents.join(" or ");
  return new PylayerError(
    "resolution-too-complex",
    `Dependency resolution${on} gave up after trying ${budget} candidates without settling this conflict on ${leaf.project}:\n${indent(lines)}`,
    {
      hint: `Narrow the search: bound the versions of ${involved} (a requirement or a -c constraint) to ones whose requirements on ${leaf.project} agree, or raise the search budget with --resolver-budget (default ${DEFAULT_RESOLVER_BUDGET}).`,
      details: {
        budget,
        project: leaf.project,
        target: context.target,
        conflict: minimal.map(requirementJson),
      },
    },
  );
}

/** The statements of a leaf (with constraints) reduced to a minimal set that admits no candidate. */
function minimalConflict<C extends Candidate>(
  leaf: Leaf<C>,
  context: ExplainContext<C>,
): Statement<C>[] {
  const statements: Statement<C>[] = [
    ...leaf.items,
    ...context.constraints.map((requirement) => ({ kind: "constraint" as const, requirement })),
  ];
  const conflicting = (subset: readonly Statement<C>[]) =>
    !context.candidates.some((candidate) => admits(subset, candidate, context.allowPrereleases));
  return conflicting(statements) ? minimize(statements, conflicting) : statements;
}

/**
 * Deletion filter. Selections and constraints are dropped first, then requirements from
 * the last displayed back, so the explanation keeps the requirements that came from
 * dependencies where it can.
 */
function minimize<C extends Candidate>(
  statements: readonly Statement<C>[],
  conflicting: (subset: readonly Statement<C>[]) => boolean,
): Statement<C>[] {
  const rank = (statement: Statement<C>) =>
    statement.kind === "selected" ? 0 : statement.kind === "constraint" ? 1 : 2;
  const deletionOrder = statements
    .map((statement, position) => ({ statement, position }))
    .sort((a, b) => rank(a.statement) - rank(b.statement) || b.position - a.position);
  const kept = new Set(statements);
  for (const { statement } of deletionOrder) {
    kept.delete(statement);
    if (!conflicting(statements.filter((item) => kept.has(item)))) kept.add(statement);
  }
  return statements.filter((item) => kept.has(item));
}

function prereleasesAllowed<C extends Candidate>(
  statements: readonly Statement<C>[],
  allowPrereleases: boolean,
): boolean {
  return (
    allowPrereleases ||
    statements.some(
      (statement) => statement.kind !== "selected" && specifierOf(statement).mentionsPrerelease,
    )
  );
}

function admits<C extends Candidate>(
  statements: readonly Statement<C>[],
  candidate: C,
  allowPrereleases: boolean,
): boolean {
  const { version } = candidate;
  const prereleases = prereleasesAllowed(statements, allowPrereleases);
  if (version.isPrerelease && !prereleases) return false;
  if (candidate.onlyWhenPinned !== undefined && !pinsExactly(statements, version)) return false;
  return statements.every((statement) => admitsOne(statement, version, prereleases));
}

/** PEP 592: whether a statement pins exactly `version` (a yanked file may then be used). */
function pinsExactly<C extends Candidate>(
  statements: readonly Statement<C>[],
  version: Version,
): boolean {
  return statements.some(
    (statement) => statement.kind !== "selected" && specifierOf(statement).pinsExactly(version),
  );
}

function admitsOne<C extends Candidate>(
  statement: Statement<C>,
  version: Version,
  prereleases: boolean,
): boolean {
  if (statement.kind === "selected") return statement.pin.candidate.version.compare(version) === 0;
  return specifierOf(statement).contains(version, { prereleases });
}

function specifierOf<C extends Candidate>(statement: Exclude<Statement<C>, { kind: "selected" }>) {
  return statement.kind === "requirement"
    ? statement.entry.requirement.specifier
    : statement.requirement.specifier;
}

/** `numpy<2 (from pandas 2.2.3)`, `constraint numpy<2`, `a 1.0 (selected)`. */
function describe<C extends Candidate>(statement: Statement<C>): string {
  switch (statement.kind) {
    case "requirement":
      return `${statement.entry.requirement.text} (from ${sourceLabel(statement.entry.source)})`;
    case "constraint":
      return `constraint ${statement.requirement.text}`;
    case "selected":
      return `${sourceLabel(statement.pin)} (already selected)`;
  }
}

function linesOf<C extends Candidate>(statement: Statement<C>): string[] {
  switch (statement.kind) {
    case "requirement":
      return chainOf(statement.entry);
    case "constraint":
      return [`constraint ${statement.requirement.text}`];
    case "selected":
      return [
        ...chainOf(statement.pin.frame.requiredBy),
        `${sourceLabel(statement.pin)} is selected`,
      ];
  }
}

function requirementJson<C extends Candidate>(statement: Statement<C>): Record<string, unknown> {
  switch (statement.kind) {
    case "requirement":
      return {
        requirement: statement.entry.requirement.text,
        requiredBy: sourceLabel(statement.entry.source),
        chain: chainOf(statement.entry),
      };
    case "constraint":
      return { requirement: statement.requirement.text, requiredBy: "constraint", chain: [] };
    case "selected":
      return { selected: sourceLabel(statement.pin), chain: linesOf(statement) };
  }
}

function unique(lines: readonly string[]): string[] {
  return [...new Set(lines)];
}

function indent(lines: readonly string[]): string {
  return lines.map((line) => `  ${line}`).join("\n");
}

/** The projects whose versions brought the statements (other than `project` itself). */
function parentsOf<C extends Candidate>(
  project: string,
  statements: readonly Statement<C>[],
): string[] {
  return unique(
    statements.flatMap((statement) =>
      statement.kind === "requirement" && statement.entry.source !== null
        ? [statement.entry.source.frame.identifier.project]
        : statement.kind === "selected"
          ? [statement.pin.frame.identifier.project]
          : [],
    ),
  ).filter((parent) => parent !== project);
}

function resolutionImpossible<C extends Candidate>(
  project: string,
  statements: readonly Statement<C>[],
  target: string | undefined,
): PylayerError {
  const lines = unique(statements.flatMap(linesOf));
  const parents = parentsOf(project, statements);
  const hint =
    parents.length === 0
      ? `Relax one of these requirements so that some version of ${project} satisfies all of them.`
      : `Relax one of these requirements, or require a version of ${parents.join(" or ")} whose requirements on ${project} are compatible.`;
  return new PylayerError(
    "resolution-impossible",
    `Conflicting requirements on ${project}${target === undefined ? "" : ` (${target})`}:\n${indent(lines)}`,
    {
      hint,
      details: { project, target, conflict: statements.map(requirementJson) },
    },
  );
}

function noMatchingDistribution<C extends Candidate>(
  leaf: Leaf<C>,
  culprit: Statement<C> | undefined,
  context: ExplainContext<C>,
): PylayerError {
  const project = leaf.project;
  const target = context.target;
  const on = target === undefined ? "" : ` on ${target}`;
  const requirements: Entry<C>[] =
    culprit?.kind === "requirement"
      ? [culprit.entry]
      : leaf.items.flatMap((item) => (item.kind === "requirement" ? [item.entry] : []));
  const relevant: Statement<C>[] = [
    ...(culprit === undefined ? [] : [culprit]),
    ...context.constraints
      .filter((constraint) => culprit?.kind !== "constraint" || culprit.requirement !== constraint)
      .map((requirement) => ({ kind: "constraint" as const, requirement })),
  ];
  const prereleases = prereleasesAllowed(relevant, context.allowPrereleases);
  const versions: VersionLine[] = [
    ...context.candidates.map((candidate) => ({
      version: candidate.version.text,
      reason:
        candidate.onlyWhenPinned !== undefined && !pinsExactly(relevant, candidate.version)
          ? candidate.onlyWhenPinned.reason
          : exclusionReason(candidate.version, relevant, prereleases),
    })),
    ...groupRejections(context.rejected),
  ];
  sortNewestFirst(versions);

  const subject =
    culprit === undefined || culprit.kind === "selected" ? null : specifierText(culprit);
  const headline =
    subject === null
      ? `No version of ${project} can be used${on}.`
      : `No version of ${project} satisfies ${subject}${on}.`;
  const shown = versions
    .slice(0, MAX_VERSION_LINES)
    .map((line) => `${project} ${line.version}: ${line.reason}`);
  if (versions.length > MAX_VERSION_LINES)
    shown.push(`(${versions.length - MAX_VERSION_LINES} more not shown)`);
  const sections = [headline];
  const chains = unique(requirements.flatMap((entry) => chainOf(entry)));
  if (chains.length > 0) sections.push(`Required by:\n${indent(chains)}`);
  sections.push(
    shown.length > 0 ? `Versions:\n${indent(shown)}` : "The package index lists no version of it.",
  );

  return new PylayerError("no-matching-distribution", sections.join("\n"), {
    hint: noMatchHint(project, culprit, context, on, prereleases),
    details: {
      project,
      target,
      requirements: requirements.map((entry) => requirementJson({ kind: "requirement", entry })),
      versions,
    },
  });
}

function specifierText<C extends Candidate>(
  statement: Exclude<Statement<C>, { kind: "selected" }>,
): string {
  return statement.kind === "requirement"
    ? statement.entry.requirement.text
    : `the constraint ${statement.requirement.text}`;
}

function exclusionReason<C extends Candidate>(
  version: Version,
  statements: readonly Statement<C>[],
  prereleases: boolean,
): string {
  if (version.isPrerelease && !prereleases) return "pre-release (not allowed)";
  const excluding = statements.find((statement) => !admitsOne(statement, version, prereleases));
  return excluding === undefined
    ? "excluded by other requirements"
    : `excluded by ${describe(excluding)}`;
}

/** One line per rejected version: its first reason, with a count of the other files. */
function groupRejections(rejected: readonly Rejection[]): VersionLine[] {
  const byVersion = new Map<string, Rejection[]>();
  for (const rejection of rejected) {
    const list = byVersion.get(rejection.version) ?? [];
    list.push(rejection);
    byVersion.set(rejection.version, list);
  }
  return [...byVersion.values()].map((list) => {
    const first = list[0]!;
    const more = list.length - 1;
    return {
      version: first.version,
      reason:
        more > 0 ? `${first.reason} (and ${more} more file${more === 1 ? "" : "s"})` : first.reason,
      ...(first.file === undefined ? {} : { file: first.file }),
    };
  });
}

/** Newest first; versions that do not parse go last in their original order. */
function sortNewestFirst(lines: VersionLine[]): void {
  const parsed = new Map(lines.map((line) => [line, Version.tryParse(line.version)]));
  lines.sort((a, b) => {
    const x = parsed.get(a) ?? null;
    const y = parsed.get(b) ?? null;
    if (x === null || y === null) return (x === null ? 1 : 0) - (y === null ? 1 : 0);
    return y.compare(x);
  });
}

/** A data-driven suggestion: pre-releases, the newest usable version, or another target. */
function noMatchHint<C extends Candidate>(
  project: string,
  culprit: Statement<C> | undefined,
  context: ExplainContext<C>,
  on: string,
  prereleases: boolean,
): string {
  const { candidates } = context;
  if (candidates.length === 0) {
    const remedy = context.rejected.find((rejection) => rejection.remedy !== undefined)?.remedy;
    if (remedy !== undefined) return remedy;
    return context.rejected.length > 0
      ? `No file of ${project} can be used${on}; choose another target (runtime or architecture), or a package that ships a compatible wheel.`
      : `Check the name ${project} and that the package index serves it.`;
  }
  const culpritAdmitsPrerelease =
    culprit === undefined ||
    culprit.kind === "selected" ||
    candidates.some(
      (candidate) => candidate.version.isPrerelease && admitsOne(culprit, candidate.version, true),
    );
  if (!prereleases && culpritAdmitsPrerelease) {
    const matching = candidates.filter(
      (candidate) =>
        candidate.version.isPrerelease &&
        (culprit === undefined || admitsOne(culprit, candidate.version, true)),
    );
    const finals = candidates.filter((candidate) => !candidate.version.isPrerelease);
    if (matching.length > 0 && (culprit !== undefined || finals.length === 0)) {
      const newest = matching[0]!.version.text;
      return `Only pre-releases of ${project} match (newest: ${newest}); allow them with --pre, or require one explicitly (e.g. ${project}>=${newest}).`;
    }
  }
  const newestUsable = candidates.find(
    (candidate) => prereleases || !candidate.version.isPrerelease,
  );
  if (newestUsable === undefined || culprit === undefined || culprit.kind === "selected") {
    return `Relax the requirements on ${project} listed above.`;
  }
  const newest = `${project} ${newestUsable.version.text} is the newest version usable${on}`;
  if (culprit.kind === "constraint") {
    return `${newest}, but the constraint ${culprit.requirement.text} excludes every usable version; relax the constraint.`;
  }
  const { requirement, source } = culprit.entry;
  const owner =
    source === null
      ? "relax that requirement"
      : `relax it or require another version of ${source.frame.identifier.project}`;
  const otherTarget = context.rejected.some((rejection) => {
    const version = Version.tryParse(rejection.version);
    return version !== null && requirement.specifier.contains(version, { prereleases: true });
  })
    ? ", or choose a target that the matching versions support"
    : "";
  return `${newest}, but ${requirement.text} (from ${sourceLabel(source)}) excludes it: ${owner}${otherTarget}.`;
}
