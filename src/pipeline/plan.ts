/**
 * Planning: from requirements and targets to a `BuildPlan`, with no side effects but
 * index reads (and the cache). Every target is resolved on its own, concurrently,
 * against one shared index client so that pages and metadata are fetched once.
 */
import { homedir } from "node:os";
import { isAbsolute, join, resolve as resolvePath } from "node:path";
import type { Cache } from "../cache/index.js";
import { PylayerError, redactUrl, usageError } from "../errors.js";
import type { FunctionSource } from "../function/index.js";
import {
  type ConfigurationIndexSettings,
  type DistributionFile,
  IndexClient,
  type IndexSettings,
  resolveIndexSettings,
  responseLimitsFromEnv,
} from "../index/index.js";
import {
  evaluateMarker,
  normalizeName,
  parseRequirement,
  requirementToString,
} from "../pep508/index.js";
import { projectAdmitsPython, projectRequirements, readPyproject } from "../pyproject/index.js";
import {
  emptyOptions,
  mergeRequirements,
  type ParsedRequirements,
  parseRequirementsFile,
  type RequirementLine,
  type RequirementsOptions,
} from "../requirements/index.js";
import { locationRequirement } from "../requirements/location.js";
import { DEFAULT_RESOLVER_BUDGET, resolve } from "../resolver/index.js";
import {
  DEFAULT_ARCHITECTURE,
  DEFAULT_RUNTIME,
  makeTargets,
  markerEnvironment,
  RUNTIMES,
  type Target,
} from "../runtime/index.js";
import { openCache } from "./cache-folder.js";
import { withIndexHints } from "./index-hints.js";
import { settledTargetPlans, unsatisfiableRequirements } from "./matrix.js";
import {
  asCachedResolution,
  type CachedResolution,
  resolutionKey,
  storable,
} from "./plan-cache.js";
import { ProgressTracker } from "./progress.js";
import { PYTHON_PROJECT, TargetProvider, type WheelCandidate } from "./provider.js";
import { createSourceBuilds, prepareDirectReferences, sourcePackage } from "./source-plan.js";
import type { SourceBuilds } from "./sources.js";
import {
  type BuildEvent,
  type BuildOptions,
  type BuildPlan,
  type LayoutKind,
  type OutputPlan,
  type PlannedIndex,
  type PlannedPackage,
  RUNTIME_PROVIDED_PACKAGES,
  type TargetPlan,
} from "./types.js";

/** What applying a plan needs beyond the plan itself (live objects, not serialized). */
export interface PlanContext {
  client: IndexClient;
  /** The index file behind each planned wheel, by file name. */
  files: Map<string, DistributionFile>;
  /** The client to download a file with, by file name, when not `client` (a lock's own index). */
  clients?: Map<string, IndexClient>;
  /**
   * Every file a lock lists for `name==version`, for exports that record all usable
   * hashes. Plans resolved from an index leave it out (the index lists them).
   */
  lockedFiles?: Map<string, DistributionFile[]>;
  /** Where built layers are kept and looked up; null or absent: always build. */
  cache?: Cache | null;
  /** The plan is a resolution reused from the cache (`plans-v1`). */
  resolutionReused?: boolean;
  /** Source builds of this plan; `dispose` removes their scratch folders once applied. */
  sources?: SourceBuilds;
  /** The function's source, when the plan is for a function package. */
  function?: FunctionSource;
  targets: Target[];
  layout: LayoutKind;
  cwd: string;
  env: NodeJS.ProcessEnv;
}

/**
 * The plan of a function package whose source declares no dependencies: every target
 * installs nothing, and the zip holds the source alone.
 */
export async function planWithoutDependencies(
  options: BuildOptions,
): Promise<{ plan: BuildPlan; context: PlanContext }> {
  const { cwd, env, targets, layout, emit } = planSetup(options, "function");
  const { client, cache } = await openIndexClient(options, { cwd, env, emit });
  const targetPlans: TargetPlan[] = targets.map((target) => ({
    id: target.id,
    runtime: target.runtime.name,
    architecture: target.architecture,
    packages: [],
  }));
  return {
    plan: {
      targets: targetPlans,
      outputs: planOutputs(targetPlans, targets, layout, options.output, cwd),
      warnings: [],
    },
    context: {
      client,
      cache,
      files: new Map(),
      targets,
      layout,
      cwd,
      env,
      ...(options.function === undefined ? {} : { function: options.function }),
    },
  };
}

/** What every plan starts from: folder, environment, targets, layout and the event sink. */
function planSetup(options: BuildOptions, defaultLayout: LayoutKind) {
  return {
    cwd: options.cwd ?? process.cwd(),
    env: options.env ?? process.env,
    targets: makeTargets(
      options.runtimes?.length ? options.runtimes : [DEFAULT_RUNTIME],
      options.architectures?.length ? options.architectures : [DEFAULT_ARCHITECTURE],
    ),
    layout: options.layout ?? defaultLayout,
    emit: options.onEvent ?? (() => {}),
  };
}

export async function planBuild(
  options: BuildOptions,
): Promise<{ plan: BuildPlan; context: PlanContext }> {
  const { cwd, env, targets, layout, emit } = planSetup(options, "python");
  const budget = options.resolverBudget;
  if (budget !== undefined && !(Number.isSafeInteger(budget) && budget > 0)) {
    throw usageError(
      `The resolver budget must be a positive whole number of candidates, not ${budget}.`,
      `The default is ${DEFAULT_RESOLVER_BUDGET}.`,
    );
  }
  const project = await readProjectInput(options, cwd, targets, emit);
  const inputs = await readInputs(options, cwd, env, project);

  const fileOptions = inputs.options;
  const { client, cache, settings } = await openIndexClient(
    options,
    { cwd, env, emit },
    fileOptions,
  );

  const hashes = collectHashes(inputs.requirements);
  const sources = createSourceBuilds(
    options,
    { client, cache, targets, env, cwd, emit },
    fileOptions,
  );
  const directs = await prepareDirectReferences(inputs, sources, emit, {
    hashChecking: fileOptions.requireHashes || hashes.size > 0,
  });
  if (fileOptions.requireHashes && hashes.size === 0 && directs.size === 0) {
    throw new PylayerError(
      "hashes-required",
      "--require-hashes is set but no requirement has a --hash",
      {
        hint: "Add --hash=sha256:… to every requirement, or drop --require-hashes.",
      },
    );
  }
  const allowPrereleases = options.pre === true || fileOptions.pre;
  emit({
    type: "phase",
    phase: "resolve",
    message: `Resolving for ${targets.map((t) => t.id).join(", ")}`,
  });
  const excluded = excludedNames(options);
  // What the requirements say, and everything else a resolution depends on.
  const requirementInputs = {
    requirements: inputs.requirements.map((line) => requirementToString(line.requirement)),
    constraints: inputs.constraints.map((line) => requirementToString(line.requirement)),
    hashes: [...hashes].map(([name, digests]) => [name, [...digests].sort()]).sort(),
  };
  const otherInputs = {
    allowPrereleases,
    onlyBinary: [...fileOptions.onlyBinary].sort(),
    noBinary: [...sources.policy.noBinary].sort(),
    onlyBinaryPolicy: [...sources.policy.onlyBinary].sort(),
    allowNative: [...sources.policy.allowNative].sort(),
    requireHashes: fileOptions.requireHashes,
    targets: targets.map((target) => target.id),
    exclude: [...excluded].sort(),
    excludeRuntimeProvided: options.excludeRuntimeProvided === true,
    index: {
      indexUrl: redactUrl(settings.indexUrl),
      extraIndexUrls: settings.extraIndexUrls.map(redactUrl),
      order: (settings.indexes ?? []).map((index) => redactUrl(index.url)),
      strategy: settings.strategy ?? "first-index",
      noIndex: settings.noIndex,
    },
  };
  const cacheable = cache !== null && settings.findLinks.length === 0 && directs.size === 0;
  const resolutionCacheKey = cacheable
    ? await resolutionKey({ ...requirementInputs, ...otherInputs })
    : null;
  // The versions the last build of the same targets, index and options chose, whatever its
  // requirements: a resolution tries them first, so versions move only when the requirements
  // need it, when a kept version is gone or yanked, or with --upgrade (pip's only-if-needed).
  const pinsKey = cacheable ? await resolutionKey({ pinsOf: otherInputs }) : null;
  // --upgrade resolves afresh: no earlier resolution is reused.
  if (resolutionCacheKey !== null && cache !== null && options.upgrade !== true) {
    const cached = asCachedResolution(await cache.getPlan(resolutionCacheKey));
    if (cached !== null && (await client.pagesUnchanged(cached.pages))) {
      for (const event of cached.events) emit(event);
      emit({
        type: "detail",
        message: `Resolution reused: same inputs, and the ${Object.keys(cached.pages).length} index pages it read are unchanged`,
      });
      const outputs = planOutputs(cached.plan.targets, targets, layout, options.output, cwd);
      return {
        plan: {
          index: {
            strategy: settings.strategy ?? "first-index",
            indexes: plannedIndexes(settings),
          },
          ...cached.plan,
          outputs,
        },
        context: {
          client,
          cache,
          resolutionReused: true,
          sources,
          files: new Map(cached.files.map((file) => [file.filename, file])),
          targets,
          layout,
          cwd,
          env,
        },
      };
    }
  }
  const resolutionEvents: BuildEvent[] = [];
  const files = new Map<string, DistributionFile>();
  const told = new Set<string>();
  const tellOnce = (message: string) => {
    if (told.has(message)) return;
    told.add(message);
    emit({ type: "info", message });
  };
  /** `name version` of each yanked wheel chosen → the warning about it. */
  const yankWarnings = new Map<string, string>();
  /** Target id → its requirements that cannot be satisfied there (matrix builds that fail). */
  const unsatisfiable = new Map<string, string[]>();
  const previous =
    pinsKey === null || cache === null || options.upgrade === true
      ? null
      : asPreviousPins(await cache.getPlan(pinsKey));
  const preferences = previous?.targets ?? null;
  if (preferences !== null) {
    emit({
      type: "detail",
      message:
        "Keeping the versions of the last build of these targets where they still fit (--upgrade resolves every package afresh)",
    });
  }
  const settled = await Promise.allSettled(
    targets.map(async (target): Promise<TargetPlan> => {
      const environment = markerEnvironment(target);
      const applies = (line: RequirementLine) =>
        line.requirement.marker === undefined ||
        evaluateMarker(line.requirement.marker, environment);
      const kept = preferences?.[target.id];
      const provider = new TargetProvider(client, target, {
        hashes,
        sources,
        directs,
        ...(kept === undefined ? {} : { preferences: new Map(Object.entries(kept)) }),
      });
      const resolution = await resolve(provider, {
        requirements: inputs.requirements.filter(applies).map((line) => line.requirement),
        constraints: inputs.constraints.filter(applies).map((line) => line.requirement),
        allowPrereleases,
        target: target.id,
        ...(options.resolverBudget === undefined ? {} : { budget: options.resolverBudget }),
      }).catch(async (error: unknown) => {
        const hinted = await withIndexHints(error, client);
        if (targets.length > 1) {
          unsatisfiable.set(
            target.id,
            await unsatisfiableRequirements(
              provider,
              inputs.requirements.filter(applies).map((line) => line.requirement),
              allowPrereleases,
              error,
            ),
          );
        }
        throw withRequirementSource(withTargetHint(hinted, target), inputs);
      });
      for (const warning of resolution.warnings) {
        const event: BuildEvent = { type: "warning", message: `${target.id}: ${warning}` };
        resolutionEvents.push(event);
        emit(event);
      }
      const packages = await Promise.all(
        resolution.packages
          .filter((resolved) => resolved.name !== PYTHON_PROJECT)
          .map(async (resolved): Promise<PlannedPackage> => {
            const candidate: WheelCandidate = resolved.candidate;
            const reason = excluded.get(resolved.name);
            const common = {
              name: resolved.name,
              version: candidate.version.text,
              requiredBy: [...resolved.requiredBy],
              ...(reason === undefined ? {} : { excluded: reason }),
            };
            if (candidate.kind === "wheel") {
              files.set(candidate.file.filename, candidate.file);
              return {
                ...common,
                filename: candidate.file.filename,
                url: redactUrl(candidate.file.url),
                ...(candidate.file.hashes.sha256 === undefined
                  ? {}
                  : { sha256: candidate.file.hashes.sha256 }),
                ...(candidate.file.size === undefined ? {} : { size: candidate.file.size }),
                tag: candidate.tag,
                pure: candidate.pure,
                ...(candidate.file.yanked === false
                  ? {}
                  : { yanked: yankWarning(resolved, candidate.file.yanked, yankWarnings) }),
              };
            }
            const fromSource = await sourcePackage(candidate, sources, target, tellOnce, {
              dryRun: options.dryRun === true,
            });
            files.set(fromSource.filename, fromSource.file);
            const { file: _file, ...planned } = fromSource;
            return { ...common, ...planned };
          }),
      );
      if (hashes.size > 0) requireHashes(packages, hashes, target);
      return {
        id: target.id,
        runtime: target.runtime.name,
        architecture: target.architecture,
        packages,
      };
    }),
  );
  const targetPlans = settledTargetPlans(targets, settled, unsatisfiable);
  const warnings = [...client.warnings, ...yankWarnings.values()];
  for (const name of excluded.keys()) {
    if (!targetPlans.some((plan) => plan.packages.some((item) => item.name === name))) {
      if (
        !RUNTIME_PROVIDED_PACKAGES.includes(name as (typeof RUNTIME_PROVIDED_PACKAGES)[number]) ||
        !options.excludeRuntimeProvided
      ) {
        warnings.push(`--exclude ${name}: no such package in the resolution`);
      }
    }
  }
  const outputs = planOutputs(targetPlans, targets, layout, options.output, cwd);
  const plan: BuildPlan = {
    index: { strategy: settings.strategy ?? "first-index", indexes: plannedIndexes(settings) },
    targets: targetPlans,
    outputs,
    warnings,
  };
  // A resolution made while a source was unreachable is not reused: once the source is
  // back, the same inputs may resolve differently.
  // A dry run with --upgrade previews; the build after it without --upgrade keeps versions.
  if (
    resolutionCacheKey !== null &&
    cache !== null &&
    !(options.dryRun === true && options.upgrade === true) &&
    !sources.used &&
    storable(files.values()) &&
    client.unreachableSources().length === 0
  ) {
    const resolution: CachedResolution = {
      pages: client.consultedPages(),
      plan: { targets: targetPlans, outputs: [], warnings },
      files: [...files.values()],
      events: resolutionEvents,
    };
    // A cache that cannot be written costs the next build time, not this one.
    await cache.putPlan(resolutionCacheKey, resolution).catch(() => undefined);
  }
  // A dry run leaves the last build's versions as they were: the build it previews keeps them.
  if (pinsKey !== null && cache !== null && options.dryRun !== true) {
    const pins: PreviousPins = {
      targets: Object.fromEntries(
        targetPlans.map((target) => [
          target.id,
          Object.fromEntries(target.packages.map((item) => [item.name, item.version])),
        ]),
      ),
    };
    await cache.putPlan(pinsKey, pins).catch(() => undefined);
  }
  return { plan, context: { client, cache, sources, files, targets, layout, cwd, env } };
}

/** The versions the last build chose, tried first by the next resolution of its targets. */
interface PreviousPins {
  /** Target id → project name → version. */
  targets: Record<string, Record<string, string>>;
}

function asPreviousPins(value: unknown): PreviousPins | null {
  if (typeof value !== "object" || value === null) return null;
  const { targets } = value as Partial<Record<keyof PreviousPins, unknown>>;
  if (typeof targets !== "object" || targets === null) return null;
  for (const pins of Object.values(targets)) {
    if (typeof pins !== "object" || pins === null) return null;
    if (!Object.values(pins).every((version) => typeof version === "string")) return null;
  }
  return value as PreviousPins;
}

/**
 * Records the warning about a yanked wheel that a requirement pins (PEP 592: installers
 * warn when they use one) and returns its reason for the plan ("" when none is given).
 */
function yankWarning(
  resolved: { name: string; candidate: WheelCandidate; requirements: readonly string[] },
  yanked: { reason?: string },
  warnings: Map<string, string>,
): string {
  const reason = yanked.reason?.trim() ?? "";
  const { name, candidate } = resolved;
  const pins = resolved.requirements.filter((text) => {
    try {
      return parseRequirement(text).specifier.pinsExactly(candidate.version);
    } catch {
      return false;
    }
  });
  warnings.set(
    `${name} ${candidate.version.text}`,
    `${name} ${candidate.version.text} is yanked (${reason === "" ? "no reason given" : `reason: ${reason}`}); it is used because ${pins.join(", ") || "a constraint"} pins that exact version (PEP 592).`,
  );
  return reason;
}

/**
 * When wheels were refused for the target's glibc or CPU, names the targets where they
 * would run: the nearest fix is often "python3.12" or "--arch arm64", not a version pin.
 */
/**
 * An error about a project that a requirements or constraints file names directly says
 * which file and line (`requirements.txt:3: No project named …`); the file as included,
 * so a `-r ../../x.txt` is found again. Requirements given on the command line are left
 * as they are.
 */
export function withRequirementSource(
  error: unknown,
  inputs: { requirements: readonly RequirementLine[]; constraints: readonly RequirementLine[] },
): unknown {
  if (!(error instanceof PylayerError)) return error;
  const project = error.details?.project;
  if (typeof project !== "string") return error;
  const line = [...inputs.requirements, ...inputs.constraints].find(
    (candidate) =>
      normalizeName(candidate.requirement.name) === normalizeName(project) &&
      !candidate.source.file.startsWith("<"),
  );
  if (line === undefined) return error;
  const { file, line: lineNumber } = line.source;
  return new PylayerError(error.code, `${file}:${lineNumber}: ${error.message}`, {
    ...(error.hint === undefined ? {} : { hint: error.hint }),
    exitCode: error.exitCode,
    cause: error,
    details: { ...error.details, source: { file, line: lineNumber } },
  });
}

export function withTargetHint(error: unknown, target: Target): unknown {
  if (!(error instanceof PylayerError) || error.code !== "no-matching-distribution") return error;
  const versions = (error.details?.versions ?? []) as { version: string; reason: string }[];
  const suggestions: string[] = [];
  const glibcNeeds = versions
    .map((line) => /needs glibc (\d+)\.(\d+)/.exec(line.reason))
    .filter((match): match is RegExpExecArray => match !== null)
    .map((match) => [Number(match[1]), Number(match[2])] as const);
  if (glibcNeeds.length > 0) {
    const lowest = glibcNeeds.reduce((a, b) => (a[0] * 1000 + a[1] <= b[0] * 1000 + b[1] ? a : b));
    const runtime = RUNTIMES.find(
      (candidate) =>
        candidate.python[1] >= target.runtime.python[1] &&
        candidate.glibc[0] * 1000 + candidate.glibc[1] >= lowest[0] * 1000 + lowest[1],
    );
    if (runtime !== undefined) {
      suggestions.push(
        `wheels needing glibc ${lowest.join(".")} run on ${runtime.name} and later (${runtime.os}, glibc ${runtime.glibc.join(".")})`,
      );
    }
  }
  const otherMachine = versions.some((line) => /^built for (x86_64|aarch64)/.test(line.reason));
  if (otherMachine) {
    const other = target.architecture === "x86_64" ? "arm64" : "x86_64";
    suggestions.push(`some wheels exist for ${other} (--arch ${other})`);
  }
  if (suggestions.length === 0) return error;
  return new PylayerError(error.code, error.message, {
    hint: `${error.hint ?? ""} On Lambda: ${suggestions.join("; ")}.`.trim(),
    exitCode: error.exitCode,
    ...(error.details === undefined ? {} : { details: error.details }),
    cause: error.cause,
  });
}

function configurationIndexSettings(
  configuration: NonNullable<NonNullable<BuildOptions["index"]>["configuration"]>,
): ConfigurationIndexSettings {
  const { source, ...values } = configuration;
  return { source, values };
}

/** The indexes of a build in the order they are asked, with where each was configured. */
export function plannedIndexes(settings: IndexSettings): PlannedIndex[] {
  if (settings.noIndex) return [];
  return (settings.indexes ?? []).map((index) => ({
    url: redactUrl(index.url),
    kind: index.kind,
    origin:
      index.origin === "flag"
        ? index.kind === "default"
          ? "--index-url"
          : "--extra-index-url"
        : index.origin,
    level: index.level,
  }));
}

/**
 * The lines that say which indexes a build uses, in which order and from where, with the
 * strategy; for every build that has more than one index or any from a configuration
 * file (a single index given on the command line, or PyPI by default, goes without saying).
 */
export function indexListing(settings: IndexSettings): string | undefined {
  const indexes = plannedIndexes(settings);
  if (indexes.length <= 1 && indexes.every((index) => index.level !== "configuration")) {
    return undefined;
  }
  const strategy = settings.strategy ?? "first-index";
  const rule =
    strategy === "first-index"
      ? "first-index: each project comes from the first index that has it"
      : strategy === "unsafe-first-match"
        ? "unsafe-first-match: every index is asked; earlier indexes' versions are tried first"
        : "unsafe-best-match: every index is asked; the best version wins";
  const lines = indexes.map(
    (index, position) =>
      `  ${position + 1}. ${index.url}  (${index.kind === "default" ? "index-url" : "extra-index-url"} from ${index.origin})`,
  );
  return [`Indexes, in the order asked (${rule}):`, ...lines].join("\n");
}

/** The CodeArtifact repository of `options.index.codeArtifact`: its index URL and token. */
async function openCodeArtifact(
  options: BuildOptions,
  env: NodeJS.ProcessEnv,
  emit: (event: BuildEvent) => void,
): Promise<import("../aws/codeartifact.js").CodeArtifactIndex | undefined> {
  const repository = options.index?.codeArtifact;
  if (repository === undefined) return undefined;
  if (options.index?.indexUrl !== undefined) {
    throw usageError(
      "--codeartifact and --index-url both name the index",
      "Keep one; other indexes go in --extra-index-url.",
    );
  }
  const { openCodeArtifactIndex } = await import("../aws/codeartifact.js");
  const opened = await openCodeArtifactIndex(repository, { env, ...repository.aws });
  emit({
    type: "detail",
    message: `index ${opened.indexUrl} is CodeArtifact ${repository.domain}/${repository.repository} (token from the AWS SDK, kept in memory)`,
  });
  return opened;
}

/** The index client of a build: settings from options, requirement-file options, env and pip.conf. */
export async function openIndexClient(
  options: BuildOptions,
  where: { cwd: string; env: NodeJS.ProcessEnv; emit: (event: BuildEvent) => void },
  /** Index options found in requirements files (`--index-url` lines…). */
  fileOptions: Pick<
    RequirementsOptions,
    "indexUrl" | "extraIndexUrls" | "findLinks" | "noIndex"
  > = {
    extraIndexUrls: [],
    findLinks: [],
    noIndex: false,
  },
): Promise<{
  client: IndexClient;
  settings: IndexSettings;
  cache: Cache | null;
  /** Another client for one index URL, sharing cache, credentials files and progress. */
  clientFor(indexUrl: string): IndexClient;
}> {
  const { cwd, env, emit } = where;
  const codeArtifact = await openCodeArtifact(options, env, emit);
  const settings = await resolveIndexSettings({
    flags: {
      ...(codeArtifact !== undefined
        ? { indexUrl: codeArtifact.indexUrl }
        : (options.index?.indexUrl ?? fileOptions.indexUrl)
          ? { indexUrl: options.index?.indexUrl ?? fileOptions.indexUrl }
          : {}),
      ...(options.index?.extraIndexUrls?.length || fileOptions.extraIndexUrls.length
        ? {
            extraIndexUrls: [
              ...(options.index?.extraIndexUrls ?? []),
              ...fileOptions.extraIndexUrls,
            ],
          }
        : {}),
      ...(options.index?.findLinks?.length || fileOptions.findLinks.length
        ? { findLinks: [...(options.index?.findLinks ?? []), ...fileOptions.findLinks] }
        : {}),
      ...(options.index?.noIndex || fileOptions.noIndex ? { noIndex: true } : {}),
      ...(options.index?.strategy === undefined ? {} : { strategy: options.index.strategy }),
      ...(options.index?.timeoutSeconds === undefined
        ? {}
        : { timeoutSeconds: options.index.timeoutSeconds }),
      ...(options.index?.retries === undefined ? {} : { retries: options.index.retries }),
    },
    ...(options.index?.configuration === undefined
      ? {}
      : { configuration: configurationIndexSettings(options.index.configuration) }),
    env,
    cwd,
    homeDir: env.HOME ?? homedir(),
  });
  for (const [setting, origin] of Object.entries(settings.origin)) {
    emit({ type: "detail", message: `${setting} from ${origin}` });
  }
  const listing = indexListing(settings);
  if (listing !== undefined) emit({ type: "info", message: listing });
  const progress = new ProgressTracker(emit);
  const cache = await openCache(options, env);
  const netrcPath = env.NETRC ?? join(env.HOME ?? homedir(), ".netrc");
  const tokens = codeArtifact === undefined ? {} : { tokens: [codeArtifact.token] };
  const limits = responseLimitsFromEnv(env);
  const client = new IndexClient({
    settings,
    cache,
    netrcPath,
    limits,
    refresh: options.refresh === true,
    allowUnreachable: options.index?.allowUnreachableIndexes ?? [],
    onEvent: (event) => progress.handle(event),
    ...tokens,
  });
  const others = new Map<string, IndexClient>();
  return {
    client,
    settings,
    cache,
    clientFor(indexUrl: string) {
      let other = others.get(indexUrl);
      if (other === undefined) {
        other = new IndexClient({
          settings: {
            indexUrl,
            extraIndexUrls: [],
            findLinks: settings.findLinks,
            noIndex: false,
            timeoutSeconds: settings.timeoutSeconds,
            retries: settings.retries,
            origin: {},
          },
          cache,
          netrcPath,
          limits,
          refresh: options.refresh === true,
          onEvent: (event) => progress.handle(event),
          ...tokens,
        });
        others.set(indexUrl, other);
      }
      return other;
    },
  };
}

/**
 * The requirements of `options.pyproject` (with `extras` and `groups`), after checking
 * that every target's Python is one the project accepts.
 */
async function readProjectInput(
  options: BuildOptions,
  cwd: string,
  targets: Target[],
  emit: (event: BuildEvent) => void,
): Promise<RequirementLine[]> {
  if (options.pyproject === undefined) {
    if (options.extras?.length || options.groups?.length) {
      throw usageError(
        `--${options.extras?.length ? "extra" : "group"} needs a pyproject.toml or a lock file`,
        "Pass --pyproject FILE or --lock FILE, or run in the project's folder without requirement arguments.",
      );
    }
    return [];
  }
  const pyproject = await readPyproject(absolute(options.pyproject, cwd));
  const project = projectRequirements(pyproject, {
    extras: options.extras ?? [],
    groups: options.groups ?? [],
  });
  for (const warning of project.warnings) emit({ type: "warning", message: warning });
  for (const target of targets) {
    if (!projectAdmitsPython(project.requiresPython, target.runtime.pythonFullVersion)) {
      throw new PylayerError(
        "project-requires-python",
        `${pyproject.path} requires Python ${project.requiresPython!.text}, but ${target.runtime.name} runs Python ${target.runtime.pythonFullVersion} (target ${target.id})`,
        { hint: "Choose a runtime the project supports with --runtime." },
      );
    }
  }
  if (
    project.requirements.length === 0 &&
    !options.requirements?.length &&
    !options.requirementFiles?.length
  ) {
    throw usageError(
      `nothing to build: ${pyproject.path} declares no dependencies${
        options.groups?.length ? " in the requested groups" : ""
      }`,
      "Add dependencies to [project].dependencies (or pass --group NAME for a dependency group).",
    );
  }
  return project.requirements;
}

async function readInputs(
  options: BuildOptions,
  cwd: string,
  env: NodeJS.ProcessEnv,
  projectLines: RequirementLine[],
): Promise<ParsedRequirements> {
  const parts: ParsedRequirements[] = [];
  const direct: RequirementLine[] = (options.requirements ?? []).map((text, index) => ({
    requirement: locationRequirement(text, cwd) ?? parseRequirement(text),
    hashes: [],
    source: { file: "<command line>", line: index + 1 },
  }));
  parts.push({
    requirements: [...projectLines, ...direct],
    constraints: [],
    options: emptyOptions(),
  });
  for (const file of options.requirementFiles ?? []) {
    parts.push(await parseRequirementsFile(absolute(file, cwd), { env }));
  }
  for (const file of options.constraintFiles ?? []) {
    const parsed = await parseRequirementsFile(absolute(file, cwd), { env });
    parts.push({
      ...parsed,
      requirements: [],
      constraints: [...parsed.requirements, ...parsed.constraints],
    });
  }
  const merged = mergeRequirements(...parts);
  if (merged.requirements.length === 0) {
    throw usageError(
      "nothing to build: no requirements given",
      'Pass requirements, e.g. "pylayer build requests", or -r requirements.txt.',
    );
  }
  return merged;
}

export function absolute(path: string, cwd: string): string {
  return isAbsolute(path) ? path : resolvePath(cwd, path);
}

export function excludedNames(options: BuildOptions): Map<string, string> {
  const excluded = new Map<string, string>();
  for (const name of options.exclude ?? [])
    excluded.set(normalizeName(name), "excluded with --exclude");
  if (options.excludeRuntimeProvided) {
    for (const name of RUNTIME_PROVIDED_PACKAGES) {
      excluded.set(name, "provided by the Lambda runtime (--exclude-runtime-provided)");
    }
  }
  return excluded;
}

function collectHashes(lines: readonly RequirementLine[]): Map<string, Set<string>> {
  const hashes = new Map<string, Set<string>>();
  for (const line of lines) {
    if (line.hashes.length === 0) continue;
    const set = hashes.get(line.requirement.normalizedName) ?? new Set<string>();
    for (const hash of line.hashes) {
      const [algorithm, digest] = hash.split(":", 2);
      if (algorithm !== "sha256" || digest === undefined) {
        throw new PylayerError(
          "unsupported-hash",
          `--hash=${hash} for ${line.requirement.name}: only sha256 is supported`,
          {
            hint: `Use --hash=sha256:<hex> (${line.source.file}:${line.source.line}).`,
          },
        );
      }
      set.add(digest.toLowerCase());
    }
    hashes.set(line.requirement.normalizedName, set);
  }
  return hashes;
}

/** pip's hash-checking mode: once any requirement has --hash, every installed wheel needs one. */
function requireHashes(
  packages: PlannedPackage[],
  hashes: Map<string, Set<string>>,
  target: Target,
): void {
  // Direct references were checked against their own hashes before resolution.
  const missing = packages.filter(
    (item) => !hashes.has(item.name) && (item.source === undefined || item.source.kind === "sdist"),
  );
  if (missing.length > 0) {
    throw new PylayerError(
      "hashes-required",
      `hash-checking mode (some requirements have --hash) but ${missing
        .map((item) => `${item.name} ${item.version}`)
        .join(", ")} ${missing.length === 1 ? "has" : "have"} no --hash (target ${target.id})`,
      {
        hint: "Pin every package with ==VERSION and --hash=sha256:…, e.g. with `pylayer export --format requirements`.",
      },
    );
  }
}

/**
 * One zip per target, or one shared zip when every target got the same pure-Python
 * wheels and the layout does not name a Python version.
 */
export function planOutputs(
  targetPlans: TargetPlan[],
  targets: Target[],
  layout: LayoutKind,
  output: string | undefined,
  cwd: string,
): OutputPlan[] {
  const signature = (plan: TargetPlan) =>
    JSON.stringify(plan.packages.map((item) => [item.name, item.filename, item.excluded ?? ""]));
  const first = targetPlans[0]!;
  const sameLayoutPath =
    layout !== "site-packages" || new Set(targets.map((target) => target.runtime.name)).size === 1;
  const shareable =
    targetPlans.length > 1 &&
    sameLayoutPath &&
    targetPlans.every((plan) => signature(plan) === signature(first)) &&
    targetPlans.every((plan) => plan.packages.every((item) => item.pure));
  const [zipName, folderName] =
    layout === "function" ? ["function.zip", "functions"] : ["layer.zip", "layers"];
  if (targetPlans.length === 1 || shareable) {
    const path =
      output === undefined
        ? join(cwd, zipName)
        : output.endsWith(".zip")
          ? absolute(output, cwd)
          : join(absolute(output, cwd), zipName);
    return [{ path, targets: targetPlans.map((plan) => plan.id), layout, shared: shareable }];
  }
  if (output?.endsWith(".zip")) {
    throw usageError(
      `-o ${output} names one zip, but ${targetPlans.length} targets need different wheels`,
      "Give a folder with -o (one zip per target is written there, named after runtime and architecture).",
    );
  }
  const folder = absolute(output ?? folderName, cwd);
  return targetPlans.map((plan) => ({
    path: join(folder, `${plan.id}.zip`),
    targets: [plan.id],
    layout,
    shared: false,
  }));
}
