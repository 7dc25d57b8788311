/**
 * An in-memory provider for resolver tests: projects → versions → dependencies per extra,
 * with configurable rejections and pseudo-random delays that shuffle promise timing.
 */
import { PylayerError } from "../../src/errors.js";
import { SpecifierSet, Version } from "../../src/pep440/index.js";
import type { Requirement } from "../../src/pep508/index.js";
import type {
  Candidate,
  CandidateList,
  Dependencies,
  Rejection,
  ResolverProvider,
} from "../../src/resolver/index.js";

/**
 * Builds a Requirement from `name[extra,...] specifier` or `name @ url` (no markers).
 * A stand-in for the PEP 508 parser, enough for these tests.
 */
export function requirement(text: string): Requirement {
  const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(text);
  if (match === null) throw new Error(`test requirement: cannot read ${text}`);
  const name = match[1]!;
  const extras = [
    ...new Set(
      (match[2] ?? "")
        .split(",")
        .map((extra) => normalize(extra.trim()))
        .filter((extra) => extra !== ""),
    ),
  ].sort();
  const rest = match[3]!.trim();
  const url = rest.startsWith("@") ? rest.slice(1).trim() : undefined;
  return {
    name,
    normalizedName: normalize(name),
    extras,
    specifier: SpecifierSet.parse(url === undefined ? rest : ""),
    ...(url === undefined ? {} : { url }),
    text: text.trim(),
  };
}

export function normalize(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

export interface Release {
  readonly dependencies?: readonly string[];
  readonly extras?: Readonly<Record<string, readonly string[]>>;
}

/** project → version → release. */
export type PackageIndex = Readonly<Record<string, Readonly<Record<string, Release>>>>;

export interface TestCandidate extends Candidate {
  readonly label: string;
}

export interface MemoryProviderOptions {
  /** Rejections reported per project; a rejected version is not offered as a candidate. */
  readonly rejected?: Readonly<Record<string, readonly Rejection[]>>;
  /** Seed for pseudo-random delays (0–3 ms) on every call; no delay when absent. */
  readonly seed?: number;
  /** Return dependencies as a plain array (no unknown-extra information). */
  readonly plainArrays?: boolean;
  /** Leave out `prefetch`. */
  readonly withoutPrefetch?: boolean;
  /** Answer a project missing from the index as an index does: `notFound`, not an empty list. */
  readonly missingIsNotFound?: boolean;
}

export class MemoryProvider implements ResolverProvider<TestCandidate> {
  readonly findCalls: string[] = [];
  readonly dependencyCalls: string[] = [];
  readonly prefetchCalls: string[][] = [];
  /** Most findCandidates calls in flight at once. */
  maxConcurrentFinds = 0;
  private inFlight = 0;
  private readonly index: PackageIndex;
  private readonly options: MemoryProviderOptions;
  private random: (() => number) | null;
  readonly prefetch?: (candidates: readonly TestCandidate[]) => void;

  constructor(index: PackageIndex, options: MemoryProviderOptions = {}) {
    this.index = index;
    this.options = options;
    this.random = options.seed === undefined ? null : mulberry32(options.seed);
    if (options.withoutPrefetch !== true) {
      this.prefetch = (candidates) => {
        this.prefetchCalls.push(candidates.map((candidate) => candidate.label));
      };
    }
  }

  async findCandidates(name: string): Promise<CandidateList<TestCandidate>> {
    this.findCalls.push(name);
    this.inFlight++;
    this.maxConcurrentFinds = Math.max(this.maxConcurrentFinds, this.inFlight);
    await this.delay();
    this.inFlight--;
    if (this.index[name] === undefined && this.options.missingIsNotFound === true) {
      const notFound = new PylayerError("project-not-found", `No project named "${name}" found.`, {
        hint: "Check the project name.",
        details: { project: name },
      });
      return { candidates: [], rejected: [], notFound };
    }
    const rejected = this.options.rejected?.[name] ?? [];
    const rejectedVersions = new Set(rejected.map((rejection) => rejection.version));
    const candidates = Object.keys(this.index[name] ?? {})
      .filter((version) => !rejectedVersions.has(version))
      .map((version) => ({ name, version: Version.parse(version), label: `${name}==${version}` }))
      .sort((a, b) => b.version.compare(a.version));
    return { candidates, rejected };
  }

  async getDependencies(
    candidate: TestCandidate,
    extras: readonly string[],
  ): Promise<readonly Requirement[] | Dependencies> {
    this.dependencyCalls.push(`${candidate.label}[${extras.join(",")}]`);
    await this.delay();
    const release = this.index[candidate.name]?.[candidate.version.text];
    if (release === undefined) throw new Error(`no release ${candidate.label}`);
    const texts = [...(release.dependencies ?? [])];
    const unknownExtras: string[] = [];
    for (const extra of extras) {
      const added = release.extras?.[extra];
      if (added === undefined) unknownExtras.push(extra);
      else texts.push(...added);
    }
    const requirements = texts.map(requirement);
    return this.options.plainArrays === true ? requirements : { requirements, unknownExtras };
  }

  private async delay(): Promise<void> {
    if (this.random === null) return;
    const milliseconds = Math.floor(this.random() * 4);
    await new Promise((resolve) => setTimeout(resolve, milliseconds));
  }
}

/** A small seeded PRNG (Mulberry32), so a failing shuffle or instance can be replayed. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
