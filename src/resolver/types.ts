/**
 * The resolver's public contract. The resolver knows PEP 440 versions and PEP 508
 * requirements and nothing about indexes, wheel tags or markers: a provider answers
 * "which versions of X can be used here" and "what does this version need".
 */
import type { PylayerError } from "../errors.js";
import type { Version } from "../pep440/index.js";
import type { Requirement } from "../pep508/index.js";

/** One installable version of a project, as the provider offers it. */
export interface Candidate {
  /** PEP 503 normalized project name. */
  readonly name: string;
  readonly version: Version;
  /**
   * Set when the candidate may be chosen only if a requirement or constraint on its
   * project pins exactly its version (`==V` or `===V`): PEP 592's rule for yanked files.
   * `reason` says why otherwise not, in error messages.
   */
  readonly onlyWhenPinned?: { readonly reason: string };
}

/** Why a file or version of a project cannot be used (wheel tags, requires-python, yanked…). */
export interface Rejection {
  readonly version: string;
  readonly file?: string;
  readonly reason: string;
  /** What the user can do about it, when the provider knows (shown as the hint when nothing is left). */
  readonly remedy?: string;
}

export interface CandidateList<C extends Candidate> {
  /** Usable candidates, best first (normally newest version first); tried in this order. */
  readonly candidates: readonly C[];
  /** What the provider left out and why, for error messages. */
  readonly rejected: readonly Rejection[];
  /**
   * Set when no source knows the project at all. The resolver treats the project as having
   * no version (so a requirement on it rejects the version that made it, and the search
   * backtracks to other versions of that parent, as pip does); this error is the one
   * reported, with the chain of who required it, when nothing else works.
   */
  readonly notFound?: PylayerError;
}

/** The dependencies of a candidate with some extras active. */
export interface Dependencies {
  readonly requirements: readonly Requirement[];
  /** Extras that were asked for but that the candidate does not define (`Provides-Extra`). */
  readonly unknownExtras?: readonly string[];
}

export interface ResolverProvider<C extends Candidate> {
  /** Candidates for a normalized project name. Called at most once per name in one resolve. */
  findCandidates(name: string): Promise<CandidateList<C>>;
  /**
   * Dependencies of `candidate` with `extras` active, markers already evaluated for the
   * target (return only the requirements that apply). A plain array means every
   * requested extra exists. Called at most once per (candidate, extras) in one resolve.
   */
  getDependencies(
    candidate: C,
    extras: readonly string[],
  ): Promise<readonly Requirement[] | Dependencies>;
  /** Candidates the resolver will probably need soon, so their metadata can be fetched in parallel. */
  prefetch?(candidates: readonly C[]): void;
}

/**
 * The default search budget (candidates examined), pip's bound on resolution rounds.
 * Real dependency trees need a few hundred; a search that reaches it is going around a
 * conflict it cannot settle.
 */
export const DEFAULT_RESOLVER_BUDGET = 200_000;

export interface ResolveOptions {
  /** The user's requirements, markers already evaluated (only applicable ones). */
  readonly requirements: readonly Requirement[];
  /** Like pip's `-c`: restrict versions of a project when it is needed, never install it. */
  readonly constraints?: readonly Requirement[];
  /** Admit pre-releases everywhere (pip's `--pre`). */
  readonly allowPrereleases?: boolean;
  /**
   * The search budget: how many candidates may be examined before giving up with
   * `resolution-too-complex`, which names the conflict the search kept hitting.
   * Default `DEFAULT_RESOLVER_BUDGET`.
   */
  readonly budget?: number;
  /** The target named in messages, e.g. `python3.11-x86_64`. */
  readonly target?: string;
}

export interface ResolvedPackage<C extends Candidate> {
  /** Normalized project name. */
  readonly name: string;
  readonly candidate: C;
  /** Extras whose dependencies were included, sorted (unknown extras are left out). */
  readonly extras: readonly string[];
  /** `root` and the names of the projects that require this one, for reports. */
  readonly requiredBy: readonly string[];
  /** The requirement texts that selected it (root's first, then in resolution order). */
  readonly requirements: readonly string[];
}

export interface Resolution<C extends Candidate> {
  /** Sorted by name. */
  readonly packages: readonly ResolvedPackage<C>[];
  /** Things pip would warn about, e.g. an extra the chosen version does not define. Sorted. */
  readonly warnings: readonly string[];
}
