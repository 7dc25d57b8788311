/**
 * The search: depth-first over identifiers, newest candidate first, with forward checking
 * (a candidate whose dependencies leave another project without any admissible version is
 * rejected before it is pinned) and conflict-directed backjumping (when an identifier runs
 * out of candidates, the search returns to the most recent decision that excluded one of
 * them, or that made the identifier needed, skipping unrelated decisions in between).
 *
 * Extras are separate identifiers (`a[x]`, as resolvelib does), tied to the project's other
 * identifiers by "same version": adding an extra after `a` is pinned makes `a[x]` a new
 * decision whose only admissible candidate is that version, and undoing anything below it
 * undoes the extra's dependencies too.
 *
 * The search awaits the provider in a fixed order and only `findCandidates` runs
 * concurrently (results are stored by name), so the outcome never depends on timing.
 */
import { PylayerError, redactCredentials } from "../errors.js";
import type { Version } from "../pep440/index.js";
import type { Requirement } from "../pep508/index.js";
import { budgetExhaustedError, type ExplainContext, failureError } from "./explain.js";
import {
  type CandidateRejection,
  chainOf,
  type Entry,
  type Frame,
  type Identifier,
  type Leaf,
  type LeafItem,
  makeIdentifier,
  type Pin,
} from "./state.js";
import {
  type Candidate,
  type CandidateList,
  DEFAULT_RESOLVER_BUDGET,
  type Dependencies,
  type Rejection,
  type Resolution,
  type ResolvedPackage,
  type ResolveOptions,
  type ResolverProvider,
} from "./types.js";

interface Exclusion<C extends Candidate> {
  /** The decision responsible, or null when the exclusion holds whatever was decided. */
  readonly blame: Frame<C> | null;
}

interface DependencyConflict<C extends Candidate> {
  readonly blames: readonly Frame<C>[];
  readonly leaf: Leaf<C>;
}

interface CandidateDependencies {
  readonly requirements: readonly Requirement[];
  /** The identifier is an extra that this candidate does not define. */
  readonly unknownExtra: boolean;
}

export class Search<C extends Candidate> {
  private readonly provider: ResolverProvider<C>;
  private readonly roots: readonly Requirement[];
  private readonly allowPrereleases: boolean;
  private readonly budget: number;
  private readonly target: string | undefined;
  private readonly constraints = new Map<string, Requirement[]>();

  private readonly candidateRequests = new Map<string, Promise<CandidateList<C>>>();
  private readonly candidateLists = new Map<string, CandidateList<C>>();
  private readonly dependencyRequests = new Map<string, Promise<Dependencies>>();
  private readonly prefetched = new Set<string>();

  private readonly stack: Frame<C>[] = [];
  /** Active requirements per project, root ones first, then in stack order. */
  private readonly entries = new Map<string, Entry<C>[]>();
  /** Pinned frames per project, in stack order; they all pin the same version. */
  private readonly pinsByProject = new Map<string, Frame<C>[]>();
  private readonly pinned = new Map<string, Frame<C>>();
  /** First-seen order of identifiers: the tie-break when choosing what to decide next. */
  private readonly discovery = new Map<string, number>();
  private readonly unknownExtras = new Set<string>();
  private rounds = 0;
  /**
   * Dependency conflicts met so far, by the projects and requirements involved (not the
   * versions): when the budget runs out, the most frequent one is what the search could
   * not settle.
   */
  private readonly conflictsSeen = new Map<string, { leaf: Leaf<C>; count: number }>();

  constructor(provider: ResolverProvider<C>, options: ResolveOptions) {
    this.provider = provider;
    this.roots = options.requirements;
    this.allowPrereleases = options.allowPrereleases ?? false;
    this.budget = options.budget ?? DEFAULT_RESOLVER_BUDGET;
    this.target = options.target;
    for (const requirement of this.roots) checkNotDirectUrl(requirement, null);
    for (const constraint of options.constraints ?? []) {
      checkConstraint(constraint);
      const list = this.constraints.get(constraint.normalizedName) ?? [];
      list.push(constraint);
      this.constraints.set(constraint.normalizedName, list);
    }
  }

  async run(): Promise<Resolution<C>> {
    await this.fetchCandidates(this.roots.map((requirement) => requirement.normalizedName));
    for (const requirement of this.roots) this.addEntry({ requirement, source: null });

    for (;;) {
      const next = this.chooseNext();
      if (next === null) break;
      let frame = this.pushFrame(next);
      while (!(await this.advance(frame))) frame = this.backjump(frame);
    }
    return this.result();
  }

  // --- choosing ---

  /**
   * The unpinned needed identifier with the fewest admissible candidates (ties: first
   * discovered). Also tells the provider about each project's most likely candidate.
   */
  private chooseNext(): Identifier | null {
    let best: { identifier: Identifier; count: number; order: number } | null = null;
    const toPrefetch: C[] = [];
    for (const [project, entries] of this.entries) {
      if (entries.length === 0) continue;
      const unpinned = identifiersOf(project, entries).filter(
        (identifier) => !this.pinned.has(identifier.key),
      );
      if (unpinned.length === 0) continue;
      let count = 0;
      let top: C | undefined;
      for (const candidate of this.candidatesOf(project)) {
        if (this.exclusion(project, candidate) !== null) continue;
        count++;
        top ??= candidate;
        if (best !== null && count > best.count) break;
      }
      if (top !== undefined) {
        const key = `${project}@${top.version.text}`;
        if (!this.prefetched.has(key)) {
          this.prefetched.add(key);
          toPrefetch.push(top);
        }
      }
      for (const identifier of unpinned) {
        let order = this.discovery.get(identifier.key);
        if (order === undefined) {
          order = this.discovery.size;
          this.discovery.set(identifier.key, order);
        }
        if (best === null || count < best.count || (count === best.count && order < best.order)) {
          best = { identifier, count, order };
        }
      }
    }
    if (toPrefetch.length > 0) this.provider.prefetch?.(toPrefetch);
    return best === null ? null : best.identifier;
  }

  private pushFrame(identifier: Identifier): Frame<C> {
    const requiredBy = (this.entries.get(identifier.project) ?? []).find((entry) =>
      targets(entry.requirement, identifier),
    );
    if (requiredBy === undefined) throw new Error(`resolver: ${identifier.key} is not required`);
    const frame: Frame<C> = {
      identifier,
      depth: this.stack.length,
      candidates: this.candidatesOf(identifier.project),
      requiredBy,
      index: -1,
      pin: null,
      addedEntries: [],
      conflictSet: new Set(),
      rejections: [],
    };
    this.stack.push(frame);
    return frame;
  }

  // --- trying candidates ---

  /** Pins the frame's next workable candidate; false when it has none left. */
  private async advance(frame: Frame<C>): Promise<boolean> {
    const { project } = frame.identifier;
    for (let index = frame.index + 1; index < frame.candidates.length; index++) {
      frame.index = index;
      const candidate = frame.candidates[index]!;
      this.rounds++;
      if (this.rounds > this.budget) throw this.budgetExhausted(frame);

      const exclusion = this.exclusion(project, candidate);
      if (exclusion !== null) {
        this.blame(frame, exclusion.blame);
        frame.rejections.push({ candidate, leaf: null });
        continue;
      }
      const dependencies = await this.dependenciesOf(frame.identifier, candidate);
      await this.fetchCandidates(
        dependencies.requirements.map((requirement) => requirement.normalizedName),
      );
      const conflict = this.dependencyConflict(frame, candidate, dependencies.requirements);
      if (conflict !== null) {
        for (const culprit of conflict.blames) this.blame(frame, culprit);
        frame.rejections.push({ candidate, leaf: conflict.leaf });
        this.countConflict(conflict.leaf);
        continue;
      }
      this.pin(frame, candidate, dependencies);
      return true;
    }
    return false;
  }

  private blame(frame: Frame<C>, culprit: Frame<C> | null): void {
    if (culprit !== null && culprit !== frame) frame.conflictSet.add(culprit);
  }

  /**
   * Why `version` cannot be chosen for `project` in the current state, or null when it can:
   * PEP 440's pre-release rule applied to all requirements and constraints on the project
   * together, then constraints, requirements (root ones first) and the version already
   * selected for another identifier of the project.
   *
   * A pre-release left out for want of a specifier naming one blames no decision, like
   * pip: the search does not revisit decisions in the hope that another version of a
   * parent would name a pre-release.
   */
  private exclusion(project: string, candidate: C): Exclusion<C> | null {
    const { version } = candidate;
    const entries = this.entries.get(project) ?? [];
    const prereleases = this.prereleasesAllowed(project, entries, []);
    if (version.isPrerelease && !prereleases) return { blame: null };
    if (
      candidate.onlyWhenPinned !== undefined &&
      !this.pinnedExactly(project, entries, [], version)
    ) {
      return { blame: null };
    }
    for (const constraint of this.constraints.get(project) ?? []) {
      if (!constraint.specifier.contains(version, { prereleases })) return { blame: null };
    }
    for (const entry of entries) {
      if (!entry.requirement.specifier.contains(version, { prereleases })) {
        return { blame: entry.source?.frame ?? null };
      }
    }
    const selected = this.pinsByProject.get(project)?.[0];
    if (selected?.pin != null && selected.pin.candidate.version.compare(version) !== 0) {
      return { blame: selected };
    }
    return null;
  }

  /** PEP 440: pre-releases are admitted when allowed or when any clause set on the project names one. */
  private prereleasesAllowed(
    project: string,
    entries: readonly Entry<C>[],
    moreEntries: readonly Entry<C>[],
  ): boolean {
    return (
      this.allowPrereleases ||
      (this.constraints.get(project) ?? []).some(
        (constraint) => constraint.specifier.mentionsPrerelease,
      ) ||
      entries.some((entry) => entry.requirement.specifier.mentionsPrerelease) ||
      moreEntries.some((entry) => entry.requirement.specifier.mentionsPrerelease)
    );
  }

  /** PEP 592: whether a requirement or constraint on `project` pins exactly `version`. */
  private pinnedExactly(
    project: string,
    entries: readonly Entry<C>[],
    moreEntries: readonly Entry<C>[],
    version: Version,
  ): boolean {
    return (
      (this.constraints.get(project) ?? []).some((constraint) =>
        constraint.specifier.pinsExactly(version),
      ) ||
      entries.some((entry) => entry.requirement.specifier.pinsExactly(version)) ||
      moreEntries.some((entry) => entry.requirement.specifier.pinsExactly(version))
    );
  }

  /** Whether some candidate of an unpinned view of `project` satisfies everything plus `moreEntries`. */
  private anyAdmissible(project: string, moreEntries: readonly Entry<C>[]): boolean {
    const entries = this.entries.get(project) ?? [];
    const constraints = this.constraints.get(project) ?? [];
    const prereleases = this.prereleasesAllowed(project, entries, moreEntries);
    return this.candidatesOf(project).some(
      ({ version, onlyWhenPinned }) =>
        (prereleases || !version.isPrerelease) &&
        (onlyWhenPinned === undefined ||
          this.pinnedExactly(project, entries, moreEntries, version)) &&
        constraints.every((constraint) =>
          constraint.specifier.contains(version, { prereleases }),
        ) &&
        entries.every((entry) => entry.requirement.specifier.contains(version, { prereleases })) &&
        moreEntries.every((entry) =>
          entry.requirement.specifier.contains(version, { prereleases }),
        ),
    );
  }

  /**
   * Checks a candidate's dependencies against the state before pinning it: against the
   * version already selected for each project, and (forward checking) that every needed
   * project keeps at least one admissible version.
   */
  private dependencyConflict(
    frame: Frame<C>,
    candidate: C,
    requirements: readonly Requirement[],
  ): DependencyConflict<C> | null {
    const source: Pin<C> = { frame, candidate };
    const byProject = new Map<string, Entry<C>[]>();
    for (const requirement of requirements) {
      const list = byProject.get(requirement.normalizedName) ?? [];
      list.push({ requirement, source });
      byProject.set(requirement.normalizedName, list);
    }
    for (const [project, newEntries] of byProject) {
      const entries = this.entries.get(project) ?? [];
      const prereleases = this.prereleasesAllowed(project, entries, newEntries);
      const fits = (version: Version) =>
        newEntries.every((entry) => entry.requirement.specifier.contains(version, { prereleases }));

      if (project === frame.identifier.project) {
        // A dependency on its own project must hold for this very version.
        if (fits(candidate.version)) continue;
        return { blames: [], leaf: this.leaf(project, newEntries, source) };
      }
      const selected = this.pinsByProject.get(project)?.[0];
      if (selected?.pin != null && fits(selected.pin.candidate.version)) continue;
      if (!this.anyAdmissible(project, newEntries)) {
        // No version of the project fits at all: the requirements are to blame, not a pin.
        const blames = entries.flatMap((entry) =>
          entry.source === null ? [] : [entry.source.frame],
        );
        return { blames, leaf: this.leaf(project, newEntries, null) };
      }
      if (selected?.pin != null) {
        return { blames: [selected], leaf: this.leaf(project, newEntries, selected.pin) };
      }
    }
    return null;
  }

  /** A conflict on `project`: decisions' requirements (stack order, then `newEntries`), root's, a selection. */
  private leaf(project: string, newEntries: readonly Entry<C>[], selected: Pin<C> | null): Leaf<C> {
    const entries = this.entries.get(project) ?? [];
    const fromDecisions = entries.filter((entry) => entry.source !== null);
    const fromRoot = entries.filter((entry) => entry.source === null);
    const items: LeafItem<C>[] = [...fromDecisions, ...newEntries, ...fromRoot].map((entry) => ({
      kind: "requirement",
      entry,
    }));
    if (selected !== null) items.push({ kind: "selected", pin: selected });
    return { project, items };
  }

  // --- pinning and backjumping ---

  private pin(frame: Frame<C>, candidate: C, dependencies: CandidateDependencies): void {
    const pin: Pin<C> = { frame, candidate };
    frame.pin = pin;
    frame.addedEntries = dependencies.requirements.map((requirement) => ({
      requirement,
      source: pin,
    }));
    for (const entry of frame.addedEntries) this.addEntry(entry);
    const { project } = frame.identifier;
    const pins = this.pinsByProject.get(project) ?? [];
    pins.push(frame);
    this.pinsByProject.set(project, pins);
    this.pinned.set(frame.identifier.key, frame);
  }

  private unpin(frame: Frame<C>): void {
    if (frame.pin === null) return;
    for (const entry of [...frame.addedEntries].reverse()) {
      const list = this.entries.get(entry.requirement.normalizedName);
      if (list?.pop() !== entry) throw new Error("resolver: requirements were not undone in order");
    }
    if (this.pinsByProject.get(frame.identifier.project)?.pop() !== frame) {
      throw new Error("resolver: pins were not undone in order");
    }
    this.pinned.delete(frame.identifier.key);
    frame.pin = null;
    frame.addedEntries = [];
  }

  private addEntry(entry: Entry<C>): void {
    const list = this.entries.get(entry.requirement.normalizedName) ?? [];
    list.push(entry);
    this.entries.set(entry.requirement.normalizedName, list);
  }

  /**
   * `frame` has no candidate left. Returns the frame to continue with: the most recent
   * decision among those that excluded its candidates or made it needed, with that
   * decision's current candidate rejected. Throws the user-facing error when no decision
   * is to blame (the requirements themselves cannot be satisfied).
   */
  private backjump(frame: Frame<C>): Frame<C> {
    const culprits = new Set(frame.conflictSet);
    const requirer = frame.requiredBy.source?.frame;
    if (requirer !== undefined) culprits.add(requirer);
    const leaf = this.explanationOf(frame);

    let target: Frame<C> | null = null;
    for (const culprit of culprits) {
      if (target === null || culprit.depth > target.depth) target = culprit;
    }
    if (target === null) throw this.failure(leaf);

    while (this.stack.length > target.depth + 1) {
      const discarded = this.stack.pop()!;
      this.unpin(discarded);
    }
    const rejected = target.pin?.candidate;
    this.unpin(target);
    for (const culprit of culprits) if (culprit !== target) target.conflictSet.add(culprit);
    if (rejected !== undefined) target.rejections.push({ candidate: rejected, leaf });
    return target;
  }

  /**
   * Where the frame's search ended: the deeper conflict of its best candidate that got past
   * its own project's requirements, or else the requirements on its own project.
   */
  private explanationOf(frame: Frame<C>): Leaf<C> {
    const deeper = frame.rejections.find(
      (rejection): rejection is CandidateRejection<C> & { leaf: Leaf<C> } =>
        rejection.leaf !== null,
    );
    if (deeper !== undefined) return deeper.leaf;
    const selected = this.pinsByProject.get(frame.identifier.project)?.[0]?.pin ?? null;
    return this.leaf(frame.identifier.project, [], selected);
  }

  // --- provider access ---

  private candidatesOf(project: string): readonly C[] {
    const list = this.candidateLists.get(project);
    if (list === undefined) throw new Error(`resolver: candidates of ${project} were not fetched`);
    return list.candidates;
  }

  /** Fetches the candidate lists of all these projects concurrently. */
  private async fetchCandidates(projects: readonly string[]): Promise<void> {
    const missing = [...new Set(projects)].filter((project) => !this.candidateLists.has(project));
    if (missing.length === 0) return;
    const lists = await Promise.all(
      missing.map((project) => {
        let request = this.candidateRequests.get(project);
        if (request === undefined) {
          request = this.provider.findCandidates(project);
          this.candidateRequests.set(project, request);
        }
        return request;
      }),
    );
    missing.forEach((project, index) => {
      this.candidateLists.set(project, lists[index]!);
    });
  }

  /** Memoized per (project, version, extras). */
  private dependencies(candidate: C, extras: readonly string[]): Promise<Dependencies> {
    const key = `${candidate.name}\u0000${candidate.version.text}\u0000${extras.join(",")}`;
    let request = this.dependencyRequests.get(key);
    if (request === undefined) {
      request = this.provider
        .getDependencies(candidate, extras)
        .then((result) => (isRequirementList(result) ? { requirements: result } : result));
      this.dependencyRequests.set(key, request);
    }
    return request;
  }

  /**
   * The requirements an identifier adds when pinned to `candidate`: the project's
   * dependencies, or for `a[x]` only those the extra adds to them.
   */
  private async dependenciesOf(
    identifier: Identifier,
    candidate: C,
  ): Promise<CandidateDependencies> {
    let result: CandidateDependencies;
    if (identifier.extra === null) {
      result = {
        requirements: (await this.dependencies(candidate, [])).requirements,
        unknownExtra: false,
      };
    } else {
      const [base, withExtra] = await Promise.all([
        this.dependencies(candidate, []),
        this.dependencies(candidate, [identifier.extra]),
      ]);
      if (withExtra.unknownExtras?.includes(identifier.extra)) {
        this.unknownExtras.add(`${identifier.key} ${candidate.version.text}`);
        result = { requirements: [], unknownExtra: true };
      } else {
        const baseTexts = new Set(base.requirements.map((requirement) => requirement.text));
        result = {
          requirements: withExtra.requirements.filter(
            (requirement) => !baseTexts.has(requirement.text),
          ),
          unknownExtra: false,
        };
      }
    }
    for (const requirement of result.requirements)
      checkNotDirectUrl(requirement, { frameKey: identifier.key, candidate });
    return result;
  }

  // --- results and errors ---

  private result(): Resolution<C> {
    const packages: ResolvedPackage<C>[] = [];
    const warnings: string[] = [];
    for (const [project, entries] of this.entries) {
      if (entries.length === 0) continue;
      const base = this.pinned.get(project);
      if (base?.pin == null) throw new Error(`resolver: ${project} is required but not pinned`);
      const version = base.pin.candidate.version.text;
      const extras: string[] = [];
      for (const frame of this.pinsByProject.get(project) ?? []) {
        const { extra, key } = frame.identifier;
        if (extra === null) continue;
        if (this.unknownExtras.has(`${key} ${version}`)) {
          warnings.push(`${project} ${version} does not provide the extra "${extra}"`);
        } else {
          extras.push(extra);
        }
      }
      const parents = new Set<string>();
      for (const entry of entries) {
        const parent = entry.source?.frame.identifier.project;
        if (parent !== project) parents.add(parent ?? "root");
      }
      packages.push({
        name: project,
        candidate: base.pin.candidate,
        extras: extras.sort(),
        requiredBy: [...parents].sort((a, b) =>
          a === "root" ? -1 : b === "root" ? 1 : compareText(a, b),
        ),
        requirements: [...new Set(entries.map((entry) => entry.requirement.text))],
      });
    }
    packages.sort((a, b) => compareText(a.name, b.name));
    return { packages, warnings: warnings.sort(compareText) };
  }

  private explainContext(project: string): ExplainContext<C> {
    return {
      candidates: this.candidatesOf(project),
      rejected: this.candidateLists.get(project)?.rejected ?? ([] as Rejection[]),
      constraints: this.constraints.get(project) ?? [],
      allowPrereleases: this.allowPrereleases,
      target: this.target,
    };
  }

  private failure(leaf: Leaf<C>): PylayerError {
    const list = this.candidateLists.get(leaf.project);
    if (list?.notFound !== undefined && list.candidates.length === 0) {
      return notFoundError(list.notFound, leaf);
    }
    return failureError(leaf, this.explainContext(leaf.project));
  }

  private countConflict(leaf: Leaf<C>): void {
    const parts = leaf.items.map((item) =>
      item.kind === "requirement"
        ? `${item.entry.source?.frame.identifier.key ?? ""} ${item.entry.requirement.text}`
        : `${item.pin.frame.identifier.key} selected`,
    );
    const key = `${leaf.project}\u0000${[...new Set(parts)].sort().join("\u0000")}`;
    const seen = this.conflictsSeen.get(key);
    if (seen === undefined) this.conflictsSeen.set(key, { leaf, count: 1 });
    else this.conflictsSeen.set(key, { leaf, count: seen.count + 1 });
  }

  /** The budget is spent: report the conflict met most often (the latest one on ties). */
  private budgetExhausted(frame: Frame<C>): PylayerError {
    let worst: { leaf: Leaf<C>; count: number } | undefined;
    for (const seen of this.conflictsSeen.values()) {
      if (worst === undefined || seen.count >= worst.count) worst = seen;
    }
    const leaf = worst?.leaf ?? this.explanationOf(frame);
    return budgetExhaustedError(leaf, this.explainContext(leaf.project), this.budget);
  }
}

/**
 * The provider's "no such project" error, with the chain of who required the project
 * when it was a dependency.
 */
function notFoundError<C extends Candidate>(error: PylayerError, leaf: Leaf<C>): PylayerError {
  const entries = leaf.items.flatMap((item) => (item.kind === "requirement" ? [item.entry] : []));
  if (entries.every((entry) => entry.source === null)) return error;
  const chains = [...new Set(entries.flatMap((entry) => chainOf(entry)))];
  return new PylayerError(
    error.code,
    `${error.message}\nRequired by:\n${chains.map((line) => `  ${line}`).join("\n")}`,
    {
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      details: { ...error.details, requiredBy: chains },
      cause: error,
    },
  );
}

function identifiersOf<C extends Candidate>(
  project: string,
  entries: readonly Entry<C>[],
): Identifier[] {
  const extras = new Set<string>();
  for (const entry of entries) for (const extra of entry.requirement.extras) extras.add(extra);
  return [
    makeIdentifier(project, null),
    ...[...extras].sort(compareText).map((extra) => makeIdentifier(project, extra)),
  ];
}

/** Whether a requirement makes an identifier needed: `a[x]` needs `a` and `a[x]`. */
function targets(requirement: Requirement, identifier: Identifier): boolean {
  return identifier.extra === null || requirement.extras.includes(identifier.extra);
}

function isRequirementList(
  result: readonly Requirement[] | Dependencies,
): result is readonly Requirement[] {
  return Array.isArray(result);
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function checkNotDirectUrl(
  requirement: Requirement,
  parent: { frameKey: string; candidate: Candidate } | null,
): void {
  if (requirement.url === undefined) return;
  const from =
    parent === null ? "" : ` (required by ${parent.frameKey} ${parent.candidate.version.text})`;
  throw new PylayerError(
    "direct-url-unsupported",
    `${requirement.text}${from} is a direct URL reference; pylayer resolves packages from an index only.`,
    {
      hint: `Publish ${requirement.name} to a package index (or a local one) and require it by name and version.`,
      details: {
        requirement: redactCredentials(requirement.text),
        requiredBy: parent === null ? "root" : parent.frameKey,
      },
    },
  );
}

function checkConstraint(constraint: Requirement): void {
  const problem =
    constraint.extras.length > 0
      ? "names extras"
      : constraint.marker !== undefined
        ? "has an environment marker"
        : constraint.url !== undefined
          ? "is a direct URL reference"
          : null;
  if (problem === null) return;
  throw new PylayerError("invalid-constraint", `The constraint ${constraint.text} ${problem}.`, {
    hint: "A constraint only restricts versions: write it as a name and a version specifier, e.g. numpy<2.",
    details: { constraint: redactCredentials(constraint.text) },
  });
}
