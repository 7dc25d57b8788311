/**
 * The resolver's view of a package index for one Lambda target: which wheels of a
 * project can run there (tags, Requires-Python, yanked), best first, and what each
 * chosen wheel depends on (its METADATA, markers evaluated for the target).
 */
import { isPylayerError, PylayerError } from "../errors.js";
import type { DistributionFile, IndexClient } from "../index/index.js";
import { SpecifierSet, Version } from "../pep440/index.js";
import {
  evaluateMarker,
  normalizeName,
  parseRequirement,
  type Requirement,
} from "../pep508/index.js";
import type {
  Candidate,
  CandidateList,
  Dependencies,
  Rejection,
  ResolverProvider,
} from "../resolver/index.js";
import { type MarkerEnvironment, markerEnvironment, type Target } from "../runtime/index.js";
import { isWheelFilename, parseWheelFilename, TagSelector, tagToString } from "../tags/index.js";
import { type CoreMetadata, parseCoreMetadata } from "../wheel/index.js";
import { type DirectArtifact, localWheelFile, type SourceBuilds } from "./sources.js";

/**
 * The pseudo-project standing for the target's interpreter. Its name cannot be a real
 * project name (PEP 508 names have no `<`), so it never collides with one.
 */
export const PYTHON_PROJECT = "<python>";

function interpreterRequirement(requiresPython: string): Requirement {
  let specifier: SpecifierSet;
  try {
    specifier = SpecifierSet.parse(requiresPython);
  } catch {
    specifier = SpecifierSet.parse("");
  }
  return {
    name: "Python",
    normalizedName: PYTHON_PROJECT,
    extras: [],
    specifier: specifier,
    text: `Python${requiresPython.trim()}`,
  };
}

export interface WheelCandidate extends Candidate {
  /**
   * `wheel`: an index wheel (`file`); `sdist`: an index sdist to build (`file`);
   * `direct`: what a direct reference named (`direct`; `file` is its wheel).
   */
  readonly kind: "wheel" | "sdist" | "direct";
  readonly file: DistributionFile;
  readonly direct?: DirectArtifact;
  readonly tag: string;
  readonly pure: boolean;
  readonly yanked: boolean;
}

export interface TargetProviderOptions {
  /** Allowed sha256 digests per normalized project name (pip's `--hash`). */
  hashes?: ReadonlyMap<string, ReadonlySet<string>>;
  /** Source builds; without it only wheels are candidates. */
  sources?: SourceBuilds;
  /** Projects named by a direct reference: their only candidate. */
  directs?: ReadonlyMap<string, DirectArtifact>;
  /**
   * Project name → the version tried first when the index still offers it (not yanked):
   * the previous build's choice, kept when the new requirements allow it.
   */
  preferences?: ReadonlyMap<string, string>;
}

/** What resolution needs of a wheel's METADATA. */
interface ParsedMetadata {
  /** `<python>` requirement from Requires-Python, when the wheel states one. */
  interpreter?: Requirement;
  requiresDist: Requirement[];
  /** Normalized names. */
  providesExtra: Set<string>;
}

export class TargetProvider implements ResolverProvider<WheelCandidate> {
  readonly target: Target;
  private readonly client: IndexClient;
  private readonly selector: TagSelector;
  private readonly environment: MarkerEnvironment;
  private readonly pythonVersion: Version;
  private readonly hashes: ReadonlyMap<string, ReadonlySet<string>>;
  private readonly sources: SourceBuilds | undefined;
  private readonly directs: ReadonlyMap<string, DirectArtifact>;
  private readonly preferences: ReadonlyMap<string, string>;
  private readonly candidatesByName = new Map<string, Promise<CandidateList<WheelCandidate>>>();
  /** Candidates whose dependencies were fetched ahead of the resolver (`speculate`). */
  private readonly speculated = new Set<string>();
  private readonly metadataByFile = new Map<string, Promise<ParsedMetadata>>();

  constructor(client: IndexClient, target: Target, options: TargetProviderOptions = {}) {
    this.client = client;
    this.target = target;
    this.selector = new TagSelector(target);
    this.environment = markerEnvironment(target);
    this.pythonVersion = Version.parse(target.runtime.pythonFullVersion);
    this.hashes = options.hashes ?? new Map();
    this.sources = options.sources;
    this.directs = options.directs ?? new Map();
    this.preferences = options.preferences ?? new Map();
  }

  findCandidates(name: string): Promise<CandidateList<WheelCandidate>> {
    if (name === PYTHON_PROJECT)
      return Promise.resolve({ candidates: [this.interpreterCandidate()], rejected: [] });
    let result = this.candidatesByName.get(name);
    if (result === undefined) {
      result = this.computeCandidates(name);
      this.candidatesByName.set(name, result);
    }
    return result;
  }

  private async computeCandidates(name: string): Promise<CandidateList<WheelCandidate>> {
    const direct = this.directs.get(name);
    if (direct !== undefined) {
      return {
        candidates: [
          {
            name,
            version: direct.version,
            kind: "direct",
            file: localWheelFile(direct.wheel),
            direct,
            tag: direct.wheel.tags[0] ?? "",
            pure: direct.wheel.pure,
            yanked: false,
          },
        ],
        rejected: [],
      };
    }
    let listing: Awaited<ReturnType<IndexClient["getProject"]>>;
    try {
      listing = await this.client.getProject(name);
    } catch (error) {
      // A project no source knows has no version: the resolver backtracks from the
      // version that required it, and reports this error if nothing else works.
      // Likewise a project that only unreachable (allowed to be skipped) sources could have.
      if (
        isPylayerError(error) &&
        (error.code === "project-not-found" ||
          (error.code === "index-unreachable" && error.details?.notFound === true))
      ) {
        return { candidates: [], rejected: [], notFound: error };
      }
      throw error;
    }
    const { otherFiles } = listing;
    const wheelsAllowed = this.sources?.wheelsAllowed(name) ?? true;
    const files = wheelsAllowed ? listing.files : [];
    const rejected: Rejection[] = [];
    const bestByVersion = new Map<
      string,
      { candidate: WheelCandidate; priority: number; build: number }
    >();
    const allowedHashes = this.hashes.get(name);
    const sdistOnlyVersions = new Set<string>();
    for (const filename of otherFiles) {
      const version = sdistVersion(filename, name);
      if (version !== undefined)
        sdistOnlyVersions.add(Version.tryParse(version)?.public ?? version);
    }
    for (const file of files) {
      if (!isWheelFilename(file.filename)) continue;
      let wheel: ReturnType<typeof parseWheelFilename>;
      try {
        wheel = parseWheelFilename(file.filename);
      } catch {
        continue;
      }
      if (wheel.name !== name) continue;
      const version = Version.tryParse(wheel.version);
      if (version === null) continue;
      sdistOnlyVersions.delete(version.public);
      if (file.requiresPython !== undefined && file.requiresPython !== "") {
        let admits = true;
        try {
          admits = SpecifierSet.parse(file.requiresPython).contains(this.pythonVersion, {
            prereleases: true,
          });
        } catch {
          // An unparseable Requires-Python on the index is ignored, as pip does.
        }
        if (!admits) {
          rejected.push({
            version: wheel.version,
            file: file.filename,
            reason: `requires Python ${file.requiresPython}, ${this.target.runtime.name} is ${this.target.runtime.pythonFullVersion}`,
          });
          continue;
        }
      }
      const compatibility = this.selector.check(wheel);
      if (!compatibility.compatible) {
        rejected.push({
          version: wheel.version,
          file: file.filename,
          reason: compatibility.reason,
        });
        continue;
      }
      if (allowedHashes !== undefined) {
        const sha256 = file.hashes.sha256;
        if (sha256 === undefined || !allowedHashes.has(sha256.toLowerCase())) {
          rejected.push({
            version: wheel.version,
            file: file.filename,
            reason: "its sha256 is not among the --hash values given",
          });
          continue;
        }
      }
      const yanked = file.yanked !== false;
      const candidate: WheelCandidate = {
        name,
        version,
        kind: "wheel",
        file,
        tag: tagToString(compatibility.tag),
        pure: compatibility.tag.platform === "any",
        yanked,
        ...(file.yanked === false ? {} : { onlyWhenPinned: { reason: yankedReason(file.yanked) } }),
      };
      const build = wheel.build?.number ?? -1;
      const previous = bestByVersion.get(version.text);
      // A file that is not yanked beats a yanked one of the same version; a version that
      // several indexes offer comes from the first of them (files are in index order).
      if (
        previous === undefined ||
        (previous.candidate.yanked && !yanked) ||
        (previous.candidate.yanked === yanked &&
          !fromEarlierIndex(previous.candidate.file, file, listing.indexes ?? []) &&
          (compatibility.priority < previous.priority ||
            (compatibility.priority === previous.priority && build > previous.build)))
      ) {
        bestByVersion.set(version.text, { candidate, priority: compatibility.priority, build });
      }
    }
    // PEP 592: a yanked file is used only when a requirement pins its exact version
    // (`onlyWhenPinned`, enforced by the resolver); such versions go last.
    // unsafe-first-match: the versions of an earlier index before those of a later one.
    const indexOrder = listing.preferEarlierIndex === true ? (listing.indexes ?? []) : [];
    const rank = (candidate: WheelCandidate) => {
      const position = indexOrder.indexOf(candidate.file.index);
      return position < 0 ? indexOrder.length : position;
    };
    const candidates = [...bestByVersion.values()]
      .map((entry) => entry.candidate)
      .sort(
        (a, b) =>
          Number(a.yanked) - Number(b.yanked) || rank(a) - rank(b) || b.version.compare(a.version),
      );
    const preferred = this.preferences.get(name);
    const kept = candidates.findIndex(
      (candidate) => !candidate.yanked && candidate.version.text === preferred,
    );
    if (kept > 0) candidates.unshift(...candidates.splice(kept, 1));
    // Versions with a compatible wheel come first, even when a newer version has only an
    // sdist: a source build is the fallback (pip's --prefer-binary, pylayer's default).
    const sdistCandidates =
      this.sources?.sdistsAllowed(name) === true
        ? this.sdistCandidates(name, listing.sdists, sdistOnlyVersions, rejected)
        : [];
    for (const candidate of sdistCandidates) sdistOnlyVersions.delete(candidate.version.public);
    for (const version of sdistOnlyVersions) {
      rejected.push({
        version,
        reason:
          this.sources === undefined ? SDIST_ONLY_BUILD_REQUIREMENT : sdistExcludedReason(name),
        remedy: sdistOnlyRemedy(name),
      });
    }
    return { candidates: [...candidates, ...sdistCandidates], rejected };
  }

  /** One candidate per sdist-only version (the first `.tar.gz`, else `.zip`), newest first. */
  private sdistCandidates(
    name: string,
    sdists: readonly DistributionFile[],
    versions: ReadonlySet<string>,
    rejected: Rejection[],
  ): WheelCandidate[] {
    const allowedHashes = this.hashes.get(name);
    const byVersion = new Map<string, WheelCandidate>();
    for (const file of sdists) {
      const text = sdistVersion(file.filename, name);
      const version = text === undefined ? null : Version.tryParse(text);
      if (version === null || !versions.has(version.public)) continue;
      if (file.requiresPython !== undefined && file.requiresPython !== "") {
        try {
          if (
            !SpecifierSet.parse(file.requiresPython).contains(this.pythonVersion, {
              prereleases: true,
            })
          ) {
            rejected.push({
              version: version.text,
              file: file.filename,
              reason: `requires Python ${file.requiresPython}, ${this.target.runtime.name} is ${this.target.runtime.pythonFullVersion}`,
            });
            continue;
          }
        } catch {
          // Unparseable Requires-Python is ignored, as for wheels.
        }
      }
      if (allowedHashes !== undefined) {
        const sha256 = file.hashes.sha256;
        if (sha256 === undefined || !allowedHashes.has(sha256.toLowerCase())) {
          rejected.push({
            version: version.text,
            file: file.filename,
            reason: "its sha256 is not among the --hash values given",
          });
          continue;
        }
      }
      const previous = byVersion.get(version.text);
      if (previous !== undefined && !/\.zip$/i.test(previous.file.filename)) continue;
      byVersion.set(version.text, {
        name,
        version,
        kind: "sdist",
        file,
        tag: "",
        pure: false,
        yanked: file.yanked !== false,
      });
    }
    return [...byVersion.values()].sort(
      (a, b) => Number(a.yanked) - Number(b.yanked) || b.version.compare(a.version),
    );
  }

  async getDependencies(
    candidate: WheelCandidate,
    extras: readonly string[],
  ): Promise<Dependencies> {
    if (candidate.name === PYTHON_PROJECT) return { requirements: [] };
    const metadata = await this.parsedMetadata(candidate);
    const requirements: Requirement[] = [];
    // Requires-Python in METADATA is modelled as a dependency on the interpreter, so a
    // mismatch is a normal conflict the resolver backtracks from (and explains).
    if (metadata.interpreter !== undefined) requirements.push(metadata.interpreter);
    for (const requirement of metadata.requiresDist) {
      if (
        requirement.marker === undefined ||
        evaluateMarker(requirement.marker, this.environment, extras)
      ) {
        requirements.push(requirement);
      }
    }
    const unknownExtras = extras.filter((extra) => !metadata.providesExtra.has(extra));
    return { requirements, unknownExtras };
  }

  /**
   * A candidate's METADATA, checked against its file name and parsed once: the
   * speculative prefetch and the resolver (once per set of extras) ask for the same file.
   */
  private parsedMetadata(candidate: WheelCandidate): Promise<ParsedMetadata> {
    const key = candidate.file.url || candidate.file.filename;
    let parsed = this.metadataByFile.get(key);
    if (parsed === undefined) {
      const read: Promise<CoreMetadata> =
        candidate.kind === "direct"
          ? Promise.resolve(candidate.direct!.metadata)
          : candidate.kind === "sdist"
            ? this.sources!.sdistMetadata(candidate.file, candidate.name)
            : this.client
                .getMetadata(candidate.file)
                .then((text) => parseCoreMetadata(text, candidate.file.filename));
      parsed = read.then((metadata) => {
        if (
          normalizeName(metadata.name) !== candidate.name ||
          !Version.parse(metadata.version).equals(candidate.version)
        ) {
          throw new PylayerError(
            "metadata-mismatch",
            `${candidate.file.filename}: its METADATA says ${metadata.name} ${metadata.version}`,
            {
              hint: "The index serves a wheel whose name or version disagrees with its file name; report it to the index owner.",
            },
          );
        }
        const requiresPython = metadata.requiresPython?.trim() ?? "";
        return {
          ...(requiresPython === ""
            ? {}
            : { interpreter: interpreterRequirement(metadata.requiresPython!) }),
          requiresDist: metadata.requiresDist.map((line) =>
            this.withoutKnownUrl(parseRequirement(line)),
          ),
          providesExtra: new Set(metadata.providesExtra.map(normalizeName)),
        };
      });
      this.metadataByFile.set(key, parsed);
    }
    return parsed;
  }

  /**
   * A dependency on a project that a direct reference already provides is resolved to
   * that reference: its URL is dropped so that the resolver sees a plain requirement.
   */
  private withoutKnownUrl(requirement: Requirement): Requirement {
    if (requirement.url === undefined || !this.directs.has(requirement.normalizedName))
      return requirement;
    const { url: _url, ...rest } = requirement;
    return rest;
  }

  private interpreterCandidate(): WheelCandidate {
    return {
      name: PYTHON_PROJECT,
      version: this.pythonVersion,
      kind: "wheel",
      file: { filename: "", url: "", hashes: {}, yanked: false, coreMetadata: false, index: "" },
      tag: "",
      pure: true,
      yanked: false,
    };
  }

  prefetch(candidates: readonly WheelCandidate[]): void {
    for (const candidate of candidates) this.speculate(candidate);
  }

  /**
   * Fetches a likely candidate's metadata and then, without waiting for the resolver,
   * the project pages of its dependencies and the metadata of their likely candidates
   * (the newest version each requirement admits), down the whole graph. The index round
   * trips of a dependency graph then overlap, a few waves deep, instead of following the
   * resolver one pinned project at a time. A wrong guess costs one request; errors
   * surface when the resolver asks for the same page or metadata for real.
   */
  private speculate(candidate: WheelCandidate): void {
    if (candidate.name === PYTHON_PROJECT) return;
    const key = `${candidate.name}\u0000${candidate.version.text}`;
    if (this.speculated.has(key)) return;
    this.speculated.add(key);
    this.getDependencies(candidate, []).then(
      ({ requirements }) => {
        for (const requirement of requirements) {
          const name = requirement.normalizedName;
          if (name === PYTHON_PROJECT || requirement.url !== undefined) continue;
          this.findCandidates(name).then(
            ({ candidates }) => {
              const likely = candidates.find(
                (item) => !item.yanked && requirement.specifier.contains(item.version),
              );
              if (likely !== undefined) this.speculate(likely);
            },
            () => {},
          );
        }
      },
      () => {},
    );
  }
}

/**
 * Versions published only as a source distribution: the reason and the remedy shown
 * when nothing else is left. The one place that says what to do about an sdist.
 */
/** Build requirements are resolved without source builds (a backend would need a build itself). */
export const SDIST_ONLY_BUILD_REQUIREMENT =
  "only a source distribution is published, and build requirements must be wheels";
function sdistExcludedReason(name: string): string {
  return `only a source distribution is published, and --only-binary excludes ${name} from source builds`;
}
function sdistOnlyRemedy(name: string): string {
  return `${name} publishes no wheel for these versions: allow its source build (drop --only-binary for it), pin a version of ${name} that has a manylinux wheel, or build the wheel on Linux (pip wheel ${name} --no-deps -w wheels/) and pass --find-links wheels/.`;
}

/** The version of an sdist file name of `name`, if it looks like one. */
function sdistVersion(filename: string, name: string): string | undefined {
  const match = /^(.+)-([^-]+)\.(tar\.gz|zip|tar\.bz2)$/i.exec(filename);
  if (match === null) return undefined;
  if (match[1]!.toLowerCase().replace(/[-_.]+/g, "-") !== name) return undefined;
  return match[2];
}

/** Why a yanked file is left out, for "no version satisfies" messages. */
function yankedReason(yanked: { reason?: string }): string {
  const why =
    yanked.reason === undefined || yanked.reason.trim() === "" ? "" : ` (${yanked.reason.trim()})`;
  return `yanked${why}; used only when pinned with == or === (PEP 592)`;
}

/** Whether `first` came from an index asked before the (different) index of `second`. */
function fromEarlierIndex(
  first: DistributionFile,
  second: DistributionFile,
  indexes: readonly string[],
): boolean {
  const a = indexes.indexOf(first.index);
  const b = indexes.indexOf(second.index);
  return a >= 0 && b >= 0 && a < b;
}
