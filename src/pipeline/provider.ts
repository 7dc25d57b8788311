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
import { parseCoreMetadata } from "../wheel/index.js";

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
  readonly file: DistributionFile;
  readonly tag: string;
  readonly pure: boolean;
  readonly yanked: boolean;
}

export interface TargetProviderOptions {
  /** Allowed sha256 digests per normalized project name (pip's `--hash`). */
  hashes?: ReadonlyMap<string, ReadonlySet<string>>;
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
    let listing: Awaited<ReturnType<IndexClient["getProject"]>>;
    try {
      listing = await this.client.getProject(name);
    } catch (error) {
      // A project no source knows has no version: the resolver backtracks from the
      // version that required it, and reports this error if nothing else works.
      if (isPylayerError(error) && error.code === "project-not-found") {
        return { candidates: [], rejected: [], notFound: error };
      }
      throw error;
    }
    const { files, otherFiles } = listing;
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
      const candidate: WheelCandidate = {
        name,
        version,
        file,
        tag: tagToString(compatibility.tag),
        pure: compatibility.tag.platform === "any",
        yanked: file.yanked !== false,
      };
      const build = wheel.build?.number ?? -1;
      const previous = bestByVersion.get(version.text);
      if (
        previous === undefined ||
        compatibility.priority < previous.priority ||
        (compatibility.priority === previous.priority && build > previous.build)
      ) {
        bestByVersion.set(version.text, { candidate, priority: compatibility.priority, build });
      }
    }
    // PEP 592: yanked files are used only when nothing else satisfies; they go last.
    const candidates = [...bestByVersion.values()]
      .map((entry) => entry.candidate)
      .sort((a, b) => Number(a.yanked) - Number(b.yanked) || b.version.compare(a.version));
    for (const version of sdistOnlyVersions) {
      rejected.push({ version, reason: SDIST_ONLY_REASON, remedy: sdistOnlyRemedy(name) });
    }
    return { candidates, rejected };
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
      parsed = this.client.getMetadata(candidate.file).then((text) => {
        const metadata = parseCoreMetadata(text, candidate.file.filename);
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
          requiresDist: metadata.requiresDist.map((line) => parseRequirement(line)),
          providesExtra: new Set(metadata.providesExtra.map(normalizeName)),
        };
      });
      this.metadataByFile.set(key, parsed);
    }
    return parsed;
  }

  private interpreterCandidate(): WheelCandidate {
    return {
      name: PYTHON_PROJECT,
      version: this.pythonVersion,
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
const SDIST_ONLY_REASON = "only a source distribution is published (pylayer installs wheels only)";
function sdistOnlyRemedy(name: string): string {
  return `${name} publishes no wheel for these versions: pin a version of ${name} that has a manylinux wheel, or build the wheel on Linux (pip wheel ${name} --no-deps -w wheels/) and pass --find-links wheels/.`;
}

/** The version of an sdist file name of `name`, if it looks like one. */
function sdistVersion(filename: string, name: string): string | undefined {
  const match = /^(.+)-([^-]+)\.(tar\.gz|zip|tar\.bz2)$/i.exec(filename);
  if (match === null) return undefined;
  if (match[1]!.toLowerCase().replace(/[-_.]+/g, "-") !== name) return undefined;
  return match[2];
}
