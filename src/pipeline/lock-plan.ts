/**
 * Planning from a lock file: the same `{ plan, context }` as `planBuild`, without
 * resolving. For each target the lock selects its packages (markers, extras, groups);
 * each package's wheel is the best one for the target by tag among the files the lock
 * records; files the lock knows only by name and hash are found on the index. Downloads
 * are verified against the lock's hashes (the index client checks every recorded hash).
 */
import { PylayerError, redactUrl, usageError } from "../errors.js";
import type { DistributionFile, IndexClient } from "../index/index.js";
import {
  chooseWheel,
  type IndexLookup,
  type LockedPackage,
  type LockFile,
  readLockFile,
} from "../lock/index.js";
import { Version } from "../pep440/index.js";
import { normalizeName } from "../pep508/index.js";
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_RUNTIME,
  makeTargets,
  RUNTIMES,
  type Target,
} from "../runtime/index.js";
import { isWheelFilename, parseWheelFilename, tagToString } from "../tags/index.js";
import {
  absolute,
  excludedNames,
  openIndexClient,
  type PlanContext,
  plannedIndexes,
  planOutputs,
} from "./plan.js";
import { allOrFirstFailure } from "./settle.js";
import { createSourceBuilds, sourcePackage } from "./source-plan.js";
import { localWheelFile, type SourceBuilds } from "./sources.js";
import type { BuildOptions, BuildPlan, PlannedPackage, TargetPlan } from "./types.js";
import { RUNTIME_PROVIDED_PACKAGES } from "./types.js";

/** Hash algorithms a lock may record that pylayer verifies (at least one is required). */
const VERIFIED_HASHES = ["sha256", "sha384", "sha512"];

export async function planFromLock(
  options: BuildOptions & { lock: string },
): Promise<{ plan: BuildPlan; context: PlanContext }> {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  const emit = options.onEvent ?? (() => {});
  if (
    options.requirements?.length ||
    options.requirementFiles?.length ||
    options.constraintFiles?.length ||
    options.pyproject !== undefined
  ) {
    throw usageError(
      "--lock cannot be combined with requirements, -r, -c or --pyproject",
      "A lock file already says exactly what to install; pass only --lock FILE.",
    );
  }
  const lock = await readLockFile(absolute(options.lock, cwd));
  const targets = lockTargets(options, lock);
  const layout = options.layout ?? "python";
  const { client, cache, clientFor, settings } = await openIndexClient(options, {
    cwd,
    env,
    emit,
  });
  emit({
    type: "phase",
    phase: "resolve",
    message: `Reading ${lock.path} for ${targets.map((target) => target.id).join(", ")}`,
  });
  const request = {
    extras: (options.extras ?? []).map(normalizeName),
    groups: (options.groups ?? []).map(normalizeName),
  };
  const selections = targets.map((target) => ({
    target,
    // A uv `virtual` project is not installed itself; its dependencies are selected already.
    packages: lock.select(target, request).filter((item) => item.virtual !== true),
  }));
  const sources = selections.some(({ packages }) =>
    packages.some((item) => item.direct !== undefined),
  )
    ? createSourceBuilds(
        options,
        { client, cache, targets, env, cwd, emit },
        { noBinary: [], onlyBinary: [] },
      )
    : undefined;
  for (const warning of lock.warnings) emit({ type: "warning", message: warning });
  const unsupported = new Map<string, LockedPackage>();
  for (const { packages } of selections) {
    for (const item of packages)
      if (item.unsupported !== undefined) unsupported.set(`${item.name} ${item.version}`, item);
  }
  if (unsupported.size > 0) {
    const list = [...unsupported.values()].map(
      (item) =>
        `${item.name}${item.version === "" ? "" : ` ${item.version}`} is ${item.unsupported}`,
    );
    throw new PylayerError(
      "lock-unsupported-source",
      `${lock.path}: ${list.length === 1 ? "a package" : `${list.length} packages`} cannot be installed into a layer: ${list.join("; ")}`,
      {
        hint: "A layer holds installed wheels only. Publish such packages to an index (or build their wheels into a folder passed with --find-links) and lock them by version.",
        details: {
          packages: [...unsupported.values()].map((item) => ({
            name: item.name,
            version: item.version,
            reason: item.unsupported,
          })),
        },
      },
    );
  }

  const files = new Map<string, DistributionFile>();
  const told = new Set<string>();
  const tellOnce = (message: string) => {
    if (told.has(message)) return;
    told.add(message);
    emit({ type: "info", message });
  };
  const clients = new Map<string, IndexClient>();
  const lockedFiles = new Map<string, DistributionFile[]>();
  const excluded = excludedNames(options);
  const candidatesOf = memoize((item: LockedPackage) =>
    lockedCandidates(item, lock, client, clientFor, clients),
  );

  const targetPlans = await allOrFirstFailure(
    selections.map(async ({ target, packages }): Promise<TargetPlan> => {
      const planned = await allOrFirstFailure(
        packages.map(async (item): Promise<PlannedPackage> => {
          if (item.direct !== undefined) {
            const planned = await lockedDirectPackage(
              item,
              item.direct,
              sources!,
              target,
              lock,
              tellOnce,
            );
            files.set(planned.filename, planned.file);
            const { file: _file, ...rest } = planned;
            const reason = excluded.get(item.name);
            return { ...rest, ...(reason === undefined ? {} : { excluded: reason }) };
          }
          const candidates = await candidatesOf(item);
          lockedFiles.set(`${item.name}==${item.version}`, candidates);
          const selection = chooseWheel(candidates, target);
          if (selection.chosen === undefined)
            throw noWheel(lock, item, target, candidates, selection.rejected);
          const file = selection.chosen.file;
          await verifyHashOnlyMatch(item, file, client, clients, lock);
          files.set(file.filename, file);
          const reason = excluded.get(item.name);
          return {
            name: item.name,
            version: item.version,
            filename: file.filename,
            url: redactUrl(file.url),
            ...(file.hashes.sha256 === undefined ? {} : { sha256: file.hashes.sha256 }),
            ...(file.size === undefined ? {} : { size: file.size }),
            tag: tagToString(selection.chosen.tag),
            pure: selection.chosen.tag.platform === "any",
            requiredBy: item.requiredBy,
            ...(reason === undefined ? {} : { excluded: reason }),
          };
        }),
      );
      planned.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      return {
        id: target.id,
        runtime: target.runtime.name,
        architecture: target.architecture,
        packages: planned,
      };
    }),
  );
  const warnings = [...client.warnings];
  for (const name of excluded.keys()) {
    if (targetPlans.some((plan) => plan.packages.some((item) => item.name === name))) continue;
    if (
      !options.excludeRuntimeProvided ||
      !RUNTIME_PROVIDED_PACKAGES.includes(name as (typeof RUNTIME_PROVIDED_PACKAGES)[number])
    ) {
      warnings.push(`--exclude ${name}: no such package in the lock`);
    }
  }
  const outputs = planOutputs(targetPlans, targets, layout, options.output, cwd);
  return {
    plan: {
      input: { kind: lock.format, path: lock.path, discovered: false },
      // Where the files the lock names without a URL are looked up.
      index: { strategy: settings.strategy ?? "first-index", indexes: plannedIndexes(settings) },
      targets: targetPlans,
      outputs,
      warnings,
    },
    context: {
      client,
      cache,
      ...(sources === undefined ? {} : { sources }),
      files,
      clients,
      lockedFiles,
      targets,
      layout,
      cwd,
      env,
    },
  };
}

/**
 * A package the lock records by its source (a workspace member, a local folder, a git
 * commit, an archive): built like a direct reference, checked against the lock's name
 * and version, and fitted to the target like any source build.
 */
async function lockedDirectPackage(
  item: LockedPackage,
  direct: { url: string; editable?: boolean },
  sources: SourceBuilds,
  target: Target,
  lock: LockFile,
  tell: (message: string) => void,
): Promise<PlannedPackage & { file: DistributionFile }> {
  const artifact = await sources.prepareDirect(direct.url, {
    ...(direct.editable === true ? { editable: true } : {}),
    name: item.name,
  });
  if (
    artifact.name !== item.name ||
    (item.version !== "" && !artifact.version.equals(Version.parse(item.version)))
  ) {
    throw new PylayerError(
      "lock-source-mismatch",
      `${lock.path}: ${item.name} ${item.version} is locked from ${redactUrl(direct.url)}, which now builds ${artifact.metadata.name} ${artifact.version.text}`,
      {
        hint: "The source changed since the lock was written; update the lock (uv lock, poetry lock, pylayer lock).",
      },
    );
  }
  const planned = await sourcePackage(
    {
      name: item.name,
      version: artifact.version,
      kind: "direct",
      file: localWheelFile(artifact.wheel),
      direct: artifact,
      tag: artifact.wheel.tags[0] ?? "",
      pure: artifact.wheel.pure,
      yanked: false,
    },
    sources,
    target,
    tell,
  );
  if (direct.editable === true) {
    tell(
      `${item.name} ${artifact.version.text}: editable in the lock, installed as a regular wheel; Lambda has no editable installs`,
    );
  }
  return {
    name: item.name,
    version: artifact.version.text,
    requiredBy: item.requiredBy,
    ...planned,
  };
}

/**
 * The Lambda targets a lock file declares it was made for (pylock `environments`…); empty
 * when it declares none or all of them.
 */
export async function declaredLockTargets(path: string): Promise<Target[]> {
  return declaredTargetsOf(await readLockFile(path));
}

function declaredTargetsOf(lock: LockFile): Target[] {
  const all = makeTargets(
    RUNTIMES.map((runtime) => runtime.name),
    ["x86_64", "arm64"],
  );
  const declared = lock.declaredTargets?.(all);
  return declared !== undefined && declared.length < all.length ? declared : [];
}

/** Targets from the options; else the lock's declared environments; else the defaults. */
function lockTargets(options: BuildOptions, lock: LockFile): Target[] {
  if (!options.runtimes?.length && !options.architectures?.length) {
    const declared = declaredTargetsOf(lock);
    if (declared.length > 0) return declared;
  }
  return makeTargets(
    options.runtimes?.length ? options.runtimes : [DEFAULT_RUNTIME],
    options.architectures?.length ? options.architectures : [DEFAULT_ARCHITECTURE],
  );
}

function memoize<K, V>(compute: (key: K) => Promise<V>): (key: K) => Promise<V> {
  const results = new Map<K, Promise<V>>();
  return (key) => {
    let result = results.get(key);
    if (result === undefined) {
      result = compute(key);
      results.set(key, result);
    }
    return result;
  };
}

function requireVerifiableHash(
  hashes: Record<string, string>,
  lock: LockFile,
  item: LockedPackage,
  filename: string,
): void {
  if (!VERIFIED_HASHES.some((algorithm) => hashes[algorithm] !== undefined)) {
    throw new PylayerError(
      "lock-missing-hash",
      `${lock.path}: ${filename} (${item.name} ${item.version}) has no sha256, sha384 or sha512 hash to verify`,
      { hint: "pylayer installs from locks only with verified hashes; regenerate the lock." },
    );
  }
}

/** The wheels a locked package may be installed from, as index files with the lock's hashes. */
async function lockedCandidates(
  item: LockedPackage,
  lock: LockFile,
  client: IndexClient,
  clientFor: (indexUrl: string) => IndexClient,
  clients: Map<string, IndexClient>,
): Promise<DistributionFile[]> {
  const candidates: DistributionFile[] = item.wheels.map((wheel) => {
    requireVerifiableHash(wheel.hashes, lock, item, wheel.filename);
    return {
      filename: wheel.filename,
      url: wheel.url,
      hashes: wheel.hashes,
      yanked: false,
      coreMetadata: false,
      ...(wheel.size === undefined ? {} : { size: wheel.size }),
      index: redactUrl(lock.path),
    };
  });
  if (item.indexLookup !== undefined) {
    const indexClient =
      item.indexLookup.index === undefined ? client : clientFor(item.indexLookup.index);
    for (const file of await lookUpOnIndex(item, item.indexLookup, indexClient, lock)) {
      candidates.push(file);
      if (indexClient !== client) clients.set(file.filename, indexClient);
    }
  }
  return candidates;
}

/**
 * Index files matching what the lock records: by file name (and hash, when the index
 * announces one), or — for locks that record hashes only — by version and hash. The
 * returned files carry the lock's hashes, so the download is verified against the lock.
 */
async function lookUpOnIndex(
  item: LockedPackage,
  lookup: IndexLookup,
  client: IndexClient,
  lock: LockFile,
): Promise<DistributionFile[]> {
  if (lookup.files.length === 0) {
    throw new PylayerError(
      "lock-missing-hash",
      `${lock.path}: ${item.name} ${item.version} records no files or hashes`,
      {
        hint: "pylayer installs from locks only with verified hashes; regenerate the lock.",
      },
    );
  }
  let listed: DistributionFile[];
  try {
    listed = await client.getFiles(item.name);
  } catch (error) {
    if (error instanceof PylayerError && error.code === "project-not-found") {
      throw new PylayerError(
        "lock-file-not-found",
        `${lock.path}: ${item.name} ${item.version} is locked, but the index does not list ${item.name}`,
        {
          hint: "Point pylayer at the index the lock was made with (--index-url), or re-lock.",
          cause: error,
        },
      );
    }
    throw error;
  }
  const result: DistributionFile[] = [];
  const byName = lookup.files.filter((file) => file.filename !== undefined);
  if (byName.length > 0) {
    for (const recorded of byName) {
      const file = listed.find((candidate) => candidate.filename === recorded.filename);
      if (file === undefined) continue;
      requireVerifiableHash(recorded.hashes, lock, item, recorded.filename!);
      const announced = file.hashes.sha256;
      if (
        announced !== undefined &&
        recorded.hashes.sha256 !== undefined &&
        announced.toLowerCase() !== recorded.hashes.sha256
      ) {
        throw new PylayerError(
          "hash-mismatch",
          `${recorded.filename}: the index announces sha256 ${announced}, but ${lock.path} records ${recorded.hashes.sha256}`,
          {
            hint: "The file on the index differs from the locked one; check the index, or re-lock.",
          },
        );
      }
      result.push({ ...file, hashes: recorded.hashes });
    }
    return result;
  }
  // Hashes only (Pipfile.lock): wheels of the locked version whose announced sha256 is recorded.
  const recordedSha256 = new Set(
    lookup.files
      .map((file) => file.hashes.sha256)
      .filter((hash): hash is string => hash !== undefined),
  );
  for (const file of listed) {
    if (!isWheelFilename(file.filename)) continue;
    let version: string;
    try {
      version = parseWheelFilename(file.filename).version;
    } catch {
      continue;
    }
    if (normalizeVersionText(version) !== normalizeVersionText(item.version)) continue;
    const announced = file.hashes.sha256?.toLowerCase();
    if (announced === undefined) {
      // Verified after download (verifyHashOnlyMatch): the index does not say.
      result.push({ ...file, hashes: {} });
    } else if (recordedSha256.has(announced)) {
      result.push({ ...file, hashes: { sha256: announced } });
    }
  }
  return result;
}

function normalizeVersionText(text: string): string {
  return text.toLowerCase().replace(/_/g, "-");
}

/** For hash-only locks whose index announces no hash: download now and check the digest. */
async function verifyHashOnlyMatch(
  item: LockedPackage,
  file: DistributionFile,
  client: IndexClient,
  clients: Map<string, IndexClient>,
  lock: LockFile,
): Promise<void> {
  if (Object.keys(file.hashes).length > 0) return;
  const recorded = new Set((item.indexLookup?.files ?? []).map((entry) => entry.hashes.sha256));
  const { sha256 } = await (clients.get(file.filename) ?? client).download(file);
  if (!recorded.has(sha256)) {
    throw new PylayerError(
      "hash-mismatch",
      `${file.filename} from ${redactUrl(file.url)} has sha256 ${sha256}, which ${lock.path} does not record for ${item.name} ${item.version}`,
      { hint: "The file on the index differs from the locked one; check the index, or re-lock." },
    );
  }
  file.hashes = { sha256 };
}

function noWheel(
  lock: LockFile,
  item: LockedPackage,
  target: Target,
  candidates: DistributionFile[],
  rejected: { filename: string; reason: string }[],
): PylayerError {
  const listed = [
    ...rejected.map((entry) => `${entry.filename} (${entry.reason})`),
    ...item.otherFiles.map(
      (name) => `${name} (a source distribution: pylayer installs wheels only)`,
    ),
  ];
  const onlySdists = candidates.length === 0 && item.otherFiles.length > 0;
  const missing =
    item.indexLookup !== undefined && candidates.length === 0 && item.indexLookup.files.length > 0;
  const message = missing
    ? `${lock.path}: none of the files locked for ${item.name} ${item.version} is on the index (${item.indexLookup!.files.map((file) => file.filename ?? "by hash").join(", ")}), so no wheel can be installed on ${target.id}`
    : `${lock.path} lists no wheel of ${item.name} ${item.version} that runs on ${target.id}${
        listed.length === 0 ? " (it lists no files at all)" : `; it lists: ${listed.join("; ")}`
      }`;
  return new PylayerError("lock-no-wheel", message, {
    hint: onlySdists
      ? `The lock has only a source distribution of ${item.name}; pin a version that publishes wheels for Linux (manylinux) and re-lock.`
      : "The lock was probably made on another platform or Python: re-lock including Linux and this Python version (e.g. `pylayer lock --runtime … --arch …`), or pick another --runtime/--arch.",
    details: {
      package: item.name,
      version: item.version,
      target: target.id,
      files: [
        ...rejected,
        ...item.otherFiles.map((filename) => ({ filename, reason: "source distribution" })),
      ],
    },
  });
}
