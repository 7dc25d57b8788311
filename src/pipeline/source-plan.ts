/**
 * Planning with sources: the source-build policy from options and requirements files,
 * direct references made ready before resolution (each becomes the only candidate of its
 * project), and the planned package of a candidate that is not an index wheel.
 */
import { stat } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import type { Cache } from "../cache/index.js";
import { PylayerError, redactUrl } from "../errors.js";
import type { DistributionFile, IndexClient } from "../index/index.js";
import { SpecifierSet } from "../pep440/index.js";
import { normalizeName, type Requirement } from "../pep508/index.js";
import { findBuildPython, SourceBuilder } from "../pep517/index.js";
import type { ParsedRequirements, RequirementsOptions } from "../requirements/index.js";
import type { Target } from "../runtime/index.js";
import { isVcsUrl } from "../vcs/index.js";
import { installBuildRequirements } from "./build-env.js";
import type { WheelCandidate } from "./provider.js";
import {
  type DirectArtifact,
  localWheelFile,
  SourceBuilds,
  type WheelArtifact,
} from "./sources.js";
import type { BuildEvent, BuildOptions, PackageSource, PlannedPackage } from "./types.js";

const normalizeList = (names: readonly string[]) =>
  names
    .filter((name) => name !== ":none:")
    .map((name) => (name === ":all:" ? name : normalizeName(name)));

export function createSourceBuilds(
  options: BuildOptions,
  where: {
    client: IndexClient;
    cache: Cache | null;
    targets: readonly Target[];
    env: NodeJS.ProcessEnv;
    cwd: string;
    emit: (event: BuildEvent) => void;
  },
  fileOptions: Pick<RequirementsOptions, "noBinary" | "onlyBinary">,
): SourceBuilds {
  const { client, cache, targets, env, cwd, emit } = where;
  const preferred = [
    ...new Map(
      targets.map((target) => [target.runtime.name, target.runtime.python] as const),
    ).values(),
  ];
  const builder = new SourceBuilder({
    findPython: () =>
      findBuildPython({
        ...(options.buildPython === undefined ? {} : { explicit: options.buildPython }),
        preferred,
        env,
        cwd,
      }),
    installRequirements: (requirements, python, destination, purpose) =>
      installBuildRequirements(client, requirements, python, destination, purpose),
    cacheFolder: cache === null ? null : cache.bucketPath("built"),
    ...(options.configSettings === undefined ? {} : { configSettings: options.configSettings }),
    env,
    onEvent: (event) => emit({ type: event.type, message: event.message }),
  });
  return new SourceBuilds({
    client,
    builder,
    policy: {
      noBinary: normalizeList([...(options.noBinary ?? []), ...fileOptions.noBinary]),
      onlyBinary: normalizeList([...(options.onlyBinary ?? []), ...fileOptions.onlyBinary]),
      allowNative: normalizeList(options.allowNativeSdist ?? []),
    },
    env,
    emit: (message) => emit({ type: "detail", message }),
  });
}

/**
 * Fetches or builds every direct reference of the requirements (and the direct
 * references in their own dependencies), names the unnamed ones from their metadata, and
 * rewrites each requirement to a plain one on its project: the returned map makes the
 * reference that project's only candidate.
 */
export async function prepareDirectReferences(
  inputs: ParsedRequirements,
  sources: SourceBuilds,
  emit: (event: BuildEvent) => void,
  options: { hashChecking: boolean },
): Promise<Map<string, DirectArtifact>> {
  const directs = new Map<string, DirectArtifact>();
  const urls = new Map<string, string>();
  const add = async (
    requirement: Requirement,
    editable: boolean,
    hashes: readonly string[],
    where: string,
    configSettings?: Record<string, string | string[]>,
  ): Promise<DirectArtifact> => {
    const url = requirement.url!;
    if (options.hashChecking)
      await refuseUnhashable(url, requirement.name || redactUrl(url), where);
    const artifact = await sources.prepareDirect(url, {
      editable,
      ...(requirement.name === "" ? {} : { name: requirement.name }),
      ...(configSettings === undefined ? {} : { configSettings }),
    });
    if (requirement.normalizedName !== "" && requirement.normalizedName !== artifact.name) {
      throw new PylayerError(
        "direct-reference-name-mismatch",
        `${where}: ${requirement.name} @ ${redactUrl(url)} holds ${artifact.metadata.name} ${artifact.version.text}`,
        { hint: "Correct the name before @ (or the #egg= fragment) to the project's real name." },
      );
    }
    const previous = urls.get(artifact.name);
    if (previous !== undefined && previous !== url) {
      throw new PylayerError(
        "conflicting-direct-references",
        `${artifact.name} is required from two places: ${redactUrl(previous)} and ${redactUrl(url)}`,
        { hint: "Keep one direct reference per project." },
      );
    }
    if (options.hashChecking) checkDirectHash(artifact, url, hashes, where);
    if (previous === undefined) {
      urls.set(artifact.name, url);
      directs.set(artifact.name, artifact);
      if (editable) {
        emit({
          type: "info",
          message: `${artifact.metadata.name} ${artifact.version.text}: -e (editable) is installed as a regular wheel; Lambda has no editable installs`,
        });
      }
    }
    return artifact;
  };
  for (const line of inputs.requirements) {
    const requirement = line.requirement;
    if (requirement.url === undefined) {
      // `name --config-settings KEY=VALUE`: for the build of that project's sdist, if any.
      if (line.configSettings !== undefined) {
        sources.setConfigSettings(requirement.normalizedName, line.configSettings);
      }
      continue;
    }
    const where = `${line.source.file}:${line.source.line}`;
    const artifact = await add(
      requirement,
      line.editable === true,
      line.hashes,
      where,
      line.configSettings,
    );
    const { url: _url, ...plain } = requirement;
    line.requirement = { ...plain, name: artifact.metadata.name, normalizedName: artifact.name };
  }
  // Direct references among the dependencies of direct references (absolute URLs only:
  // a relative one in built metadata has no folder to be relative to).
  const queue = [...directs.values()];
  while (queue.length > 0) {
    const artifact = queue.shift()!;
    for (const text of artifact.metadata.requiresDist) {
      const match = /^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?\s*@\s*(\S+)/.exec(text);
      if (match === null) continue;
      const url = match[3]!;
      if (!/^(file:\/\/|https?:\/\/|git\+)/i.test(url)) continue;
      const name = normalizeName(match[1]!);
      if (directs.has(name)) continue;
      const dependency = await add(
        {
          name: match[1]!,
          normalizedName: name,
          extras: [],
          url,
          text,
          specifier: SpecifierSet.parse(""),
        },
        false,
        [],
        `${artifact.metadata.name} ${artifact.version.text}`,
      );
      queue.push(dependency);
    }
  }
  return directs;
}

/**
 * pip's hash-checking mode for direct references: an archive or wheel needs a sha256
 * (`#sha256=` in the URL, checked on download, or `--hash`); a folder or a git checkout
 * cannot be pinned by hash and is refused.
 */
async function refuseUnhashable(url: string, label: string, where: string): Promise<void> {
  const folder =
    /^file:/i.test(url) &&
    ((await stat(fileURLToPath(url.split("#")[0]!)).catch(() => null))?.isDirectory() ?? false);
  if (!isVcsUrl(url) && !folder) return;
  throw new PylayerError(
    "hashes-required",
    `${where}: ${label} comes from a ${folder ? "local folder" : "git repository"}, which hash-checking mode cannot verify`,
    {
      hint: "Build an sdist or wheel of it and require that file with #sha256=…, or drop --require-hashes / --hash.",
    },
  );
}

function checkDirectHash(
  artifact: DirectArtifact,
  url: string,
  hashes: readonly string[],
  where: string,
): void {
  const { source } = artifact;
  // A #sha256= fragment was checked when the file was read.
  const fragmentHash = /[#&]sha256=([0-9a-f]{64})/i.exec(url)?.[1];
  const given = hashes.filter((hash) => hash.startsWith("sha256:")).map((hash) => hash.slice(7));
  if (fragmentHash !== undefined) return;
  if (given.length === 0) {
    throw new PylayerError(
      "hashes-required",
      `${where}: hash-checking mode, but ${redactUrl(source.url)} has no #sha256= and no --hash`,
      { hint: `Add #sha256=${source.sha256 ?? "…"} to the URL (or --hash=sha256:… after it).` },
    );
  }
  if (!given.includes(source.sha256 ?? "")) {
    throw new PylayerError(
      "hash-mismatch",
      `${where}: ${redactUrl(source.url)} has sha256 ${source.sha256}, which is not among the --hash values`,
      { hint: "The file changed, or the hash is wrong; check where the file comes from." },
    );
  }
}

/**
 * The planned package of a candidate that is not an index wheel: the sdist is built (or
 * its build reused), and the wheel's fitness for the target decided.
 */
export async function sourcePackage(
  candidate: WheelCandidate,
  sources: SourceBuilds,
  target: Target,
  tell: (message: string) => void,
  options: { dryRun?: boolean } = {},
): Promise<
  Omit<PlannedPackage, "name" | "version" | "requiredBy" | "excluded"> & { file: DistributionFile }
> {
  let wheel: WheelArtifact;
  let source: PackageSource;
  const label = `${candidate.name} ${candidate.version.text}`;
  if (candidate.kind === "sdist" && options.dryRun === true) {
    return unbuiltSdist(candidate, sources, tell);
  }
  if (candidate.kind === "sdist") {
    wheel = await sources.buildSdist(candidate.file, candidate.name);
    source = {
      kind: "sdist",
      url: sources.shownUrl(candidate.file.url),
      sdist: candidate.file.filename,
      ...(candidate.file.hashes.sha256 === undefined
        ? {}
        : { sha256: candidate.file.hashes.sha256 }),
    };
    tell(
      sources.wheelsAllowed(candidate.name)
        ? `${label}: no compatible wheel, built from the sdist ${candidate.file.filename}`
        : `${label}: built from the sdist ${candidate.file.filename} (--no-binary)`,
    );
  } else {
    const direct = candidate.direct!;
    wheel = direct.wheel;
    source = direct.source;
    tell(`${label}: from ${describeSource(direct.source)}`);
  }
  if (wheel.built !== undefined) {
    source = {
      ...source,
      builtWith: `Python ${wheel.built.python.fullVersion} (${wheel.built.python.path})`,
    };
  }
  const fit = sources.fitFor(candidate.name, candidate.version.text, wheel, target);
  if (wheel.built !== undefined && !fit.pure) {
    tell(
      `${label}: ${wheel.filename} has compiled code built on this machine (--allow-native-sdist); the layer is checked against ${target.runtime.name}'s glibc`,
    );
  }
  const file = localWheelFile(wheel);
  return {
    filename: wheel.filename,
    url: file.url,
    sha256: wheel.sha256,
    tag: fit.tag,
    pure: fit.pure,
    source,
    file,
  };
}

/** `--dry-run`: how resolution read an unbuilt sdist's metadata, by its origin. */
const DRY_RUN_METADATA: Record<NonNullable<PackageSource["metadata"]>, string> = {
  static: "its static metadata (PEP 643) was read without a build",
  prepared:
    "its metadata is dynamic, so the backend's prepare_metadata_for_build_wheel ran in an isolated build environment; no wheel was built",
  built:
    "its metadata is dynamic and the backend has no prepare_metadata_for_build_wheel, so the wheel was built (and cached) to read it",
  cached:
    "its metadata is dynamic and the backend has no prepare_metadata_for_build_wheel, so the wheel was taken from the build cache to read it",
};

/**
 * `--dry-run`: the planned package of an index sdist, not built. Resolution read its
 * metadata without a wheel where it could (PEP 643 static PKG-INFO, or the backend's
 * prepare_metadata_for_build_wheel); what it did is said per package. Whether the wheel
 * will be pure is known only after the build, so `pure` is false and `tag` is `sdist`.
 */
function unbuiltSdist(
  candidate: WheelCandidate,
  sources: SourceBuilds,
  tell: (message: string) => void,
): Omit<PlannedPackage, "name" | "version" | "requiredBy" | "excluded"> & {
  file: DistributionFile;
} {
  const file = candidate.file;
  const origin = sources.metadataOrigin(file.filename);
  const how = origin === undefined ? "its metadata was not needed" : DRY_RUN_METADATA[origin];
  tell(
    `${candidate.name} ${candidate.version.text}: would be built from the sdist ${file.filename} (--dry-run: ${how})`,
  );
  return {
    filename: file.filename,
    url: redactUrl(file.url),
    ...(file.hashes.sha256 === undefined ? {} : { sha256: file.hashes.sha256 }),
    tag: "sdist",
    pure: false,
    source: {
      kind: "sdist",
      url: sources.shownUrl(file.url),
      sdist: file.filename,
      notBuilt: true,
      ...(origin === undefined ? {} : { metadata: origin }),
      ...(file.hashes.sha256 === undefined ? {} : { sha256: file.hashes.sha256 }),
    },
    file,
  };
}

function describeSource(source: PackageSource): string {
  switch (source.kind) {
    case "directory":
      return `the local project ${source.url}`;
    case "vcs":
      return `${source.url} (${source.requestedRevision} → ${source.commit})`;
    default:
      return source.url;
  }
}
