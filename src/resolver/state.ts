/**
 * The resolver's search state, shared by the search (`search.ts`) and the explanations
 * of failures (`explain.ts`).
 */
import type { Requirement } from "../pep508/index.js";
import type { Candidate } from "./types.js";

/**
 * What the resolver decides: a project (`extra` null) or one extra of a project
 * (`name[extra]`). All identifiers of one project must end on the same version; an extra's
 * identifier carries only the dependencies that the extra adds.
 */
export interface Identifier {
  /** `name` or `name[extra]`. */
  readonly key: string;
  readonly project: string;
  readonly extra: string | null;
}

export function makeIdentifier(project: string, extra: string | null): Identifier {
  return { key: extra === null ? project : `${project}[${extra}]`, project, extra };
}

/** A candidate chosen by a frame. Immutable: it names the version chosen at that moment. */
export interface Pin<C extends Candidate> {
  readonly frame: Frame<C>;
  readonly candidate: C;
}

/** A requirement active in the current state and where it comes from (`null`: the user). */
export interface Entry<C extends Candidate> {
  readonly requirement: Requirement;
  readonly source: Pin<C> | null;
}

/** One decision on the stack: an identifier and the candidates tried for it so far. */
export interface Frame<C extends Candidate> {
  readonly identifier: Identifier;
  /** Position on the stack; a lower depth is an earlier decision. */
  readonly depth: number;
  readonly candidates: readonly C[];
  /** The earliest active requirement on the identifier when the frame was made: why it is needed. */
  readonly requiredBy: Entry<C>;
  /** Index in `candidates` of the candidate being tried or pinned. */
  index: number;
  pin: Pin<C> | null;
  /** Requirements the current pin added to the state, in order. */
  addedEntries: Entry<C>[];
  /**
   * Earlier decisions that excluded some of this frame's candidates (conflict-directed
   * backjumping): when the frame runs out of candidates, the search returns to the most
   * recent of them, because changing any later decision cannot help.
   */
  readonly conflictSet: Set<Frame<C>>;
  /** Every candidate rejected in this frame, in the order tried. */
  readonly rejections: CandidateRejection<C>[];
}

export interface CandidateRejection<C extends Candidate> {
  readonly candidate: C;
  /** Null when the candidate was excluded by the requirements on its own project. */
  readonly leaf: Leaf<C> | null;
}

/** One statement in a conflict: a requirement, or a version already selected. */
export type LeafItem<C extends Candidate> =
  | { readonly kind: "requirement"; readonly entry: Entry<C> }
  | { readonly kind: "selected"; readonly pin: Pin<C> };

/**
 * The place where a search path ended: the statements about `project` (in display order)
 * under which no candidate of it fits. Constraints are added when it is explained.
 */
export interface Leaf<C extends Candidate> {
  readonly project: string;
  readonly items: readonly LeafItem<C>[];
}

/** `root`, or the identifier and version that a requirement comes from (`a[x] 2.0`). */
export function sourceLabel<C extends Candidate>(source: Pin<C> | null): string {
  return source === null
    ? "root"
    : `${source.frame.identifier.key} ${source.candidate.version.text}`;
}

/**
 * Why an entry is active, from the user's requirement down to it:
 * `root requires a>=2`, `a 2.0 requires b<1`.
 */
export function chainOf<C extends Candidate>(entry: Entry<C>): string[] {
  const lines: string[] = [];
  let current: Entry<C> | null = entry;
  // A frame's requiredBy comes from a strictly earlier frame, so the walk ends at root;
  // the bound only guards against a corrupted state.
  for (let step = 0; current !== null && step < 10_000; step++) {
    lines.unshift(`${sourceLabel(current.source)} requires ${current.requirement.text}`);
    current = current.source === null ? null : current.source.frame.requiredBy;
  }
  return lines;
}
