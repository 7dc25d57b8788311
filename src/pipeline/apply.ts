/**
 * Applying a plan: download the planned wheels (concurrently, verified, cached),
 * plan each wheel's installation into the layout, and write one deterministic zip per
 * output. Nothing here decides versions; it only carries out the plan.
 */
import { mkdir } from "node:fs/promises";
import { basename, dirname, resolve } from "node:path";
import { CACHED_LAYERS_KEPT, sha256Hex } from "../cache/index.js";
import type { WheelSource, ZipSources } from "../check/reuse.js";
import type { LocalPython } from "../compile/index.js";
import { fileSystemError, PylayerError, usageError } from "../errors.js";
import { copyFileVerified, fileInTheWay, pathExists } from "../files.js";
import {
  collectSourceFiles,
  DEFAULT_HANDLER,
  type FunctionSource,
  findShadowing,
  shadowingError,
  sourceEntries,
} from "../function/index.js";
import { assembleLayer, assertNoEntries, encodeManifest } from "../layer/index.js";
import type { Architecture } from "../runtime/index.js";
import { createEntryReader } from "../slim/layer-files.js";
import {
  cachedInstallPlan,
  type InstallPlan,
  installPlanKey,
  type Layout,
  layoutFor,
  planWheelInstall,
  restoreInstallPlan,
} from "../wheel/index.js";
import {
  deterministicTimestamp,
  type PlannedEntry,
  type PreviousZip,
  writeDeterministicZip,
  ZipReader,
  type ZipRecord,
} from "../zip/index.js";
import { previousZipOf, storeRecords, wheelSourceKey } from "./layer-records.js";
import type { PlanContext } from "./plan.js";
import { allOrFirstFailure } from "./settle.js";
import { findCompilers, type TransformOptions, transformEntries } from "./transform.js";
import type {
  BuildCacheReport,
  BuildEvent,
  BuildPlan,
  OutputPlan,
  PlannedPackage,
  ZipReport,
} from "./types.js";
import { pylayerVersion } from "./version.js";

export async function applyPlan(
  plan: BuildPlan,
  context: PlanContext,
  onEvent: (event: BuildEvent) => void = () => {},
  transform: TransformOptions = {},
): Promise<{
  zips: ZipReport[];
  warnings: string[];
  /** Zip path → what its entries were made from (for the check); absent for cached zips. */
  zipSources: Map<string, ZipSources>;
  counters: ApplyCounters;
}> {
  for (const output of plan.outputs) {
    const file = await fileInTheWay(output.path);
    if (file !== undefined) {
      throw usageError(
        `cannot write ${output.path}: ${file} is a file, not a folder`,
        "Choose an output (-o) whose folders are folders.",
      );
    }
  }
  const pythons = await findCompilers(transform, context.targets, context.env);
  const needed = new Set<string>();
  // The sha256 the index announced; a download verifies it (and fills in missing ones).
  const hashes = new Map<string, string>();
  for (const target of plan.targets) {
    for (const item of target.packages) {
      if (item.excluded !== undefined) continue;
      needed.add(item.filename);
      if (item.sha256 !== undefined) hashes.set(item.filename, item.sha256.toLowerCase());
    }
  }
  const readers = new Map<string, Promise<ZipReader>>();
  const source =
    context.function === undefined
      ? undefined
      : await readFunctionSource(context.function, context.cwd, plan, onEvent);
  const work: OutputWork = {
    source,
    plan,
    context,
    paths: new Map(),
    hashes,
    verifiers: new Map(),
    verified: (path) => work.verifiers.get(path)?.() ?? Promise.resolve(),
    openReader: (path) => {
      let reader = readers.get(path);
      if (reader === undefined) {
        reader = work.verified(path).then(() => ZipReader.open(path));
        readers.set(path, reader);
      }
      return reader;
    },
    mtime: deterministicTimestamp(context.env),
    warnings: [],
    onEvent,
    transform: { options: transform, pythons },
    zipSources: new Map(),
    installPlans: new Map(),
    pending: [],
    counters: {
      layers: { reused: 0, built: 0, fromPrevious: 0 },
      installs: { reused: 0, planned: 0, evicted: 0 },
    },
  };

  // When every output is in the cache of built layers (keyed by the announced hashes),
  // there is nothing to download.
  if (context.cache && [...needed].every((filename) => hashes.has(filename))) {
    const zips: ZipReport[] = [];
    const cachedWarnings: string[] = [];
    for (const output of plan.outputs) {
      const hit = await fromLayerCache(output, work, await layerCacheKey(output, work));
      if (hit === null) break;
      zips.push(hit.zip);
      cachedWarnings.push(...hit.warnings);
    }
    if (zips.length === plan.outputs.length) {
      work.counters.layers.reused = zips.length;
      return {
        zips,
        warnings: [...work.warnings, ...cachedWarnings],
        zipSources: work.zipSources,
        counters: work.counters,
      };
    }
  }

  if (needed.size > 0) {
    onEvent({ type: "phase", phase: "download", message: `Fetching ${needed.size} wheels` });
  }
  let done = 0;
  await allOrFirstFailure(
    [...needed].map(async (filename) => {
      const file = context.files.get(filename);
      if (file === undefined) throw new Error(`no index file recorded for ${filename}`);
      const { path, sha256, verified } = await (
        context.clients?.get(filename) ?? context.client
      ).downloadDeferred(file);
      work.paths.set(filename, path);
      work.verifiers.set(path, verified);
      hashes.set(filename, sha256);
      done++;
      onEvent({ type: "progress", message: `Fetched ${done}/${needed.size} wheels` });
    }),
  );
  try {
    const zips: ZipReport[] = [];
    for (const output of plan.outputs) zips.push(await buildOutput(output, work));
    return {
      zips,
      warnings: work.warnings,
      zipSources: work.zipSources,
      counters: work.counters,
    };
  } finally {
    await Promise.all(work.pending);
    await Promise.all([...readers.values()].map(async (reader) => (await reader).close()));
  }
}

/** A function package's source, read once for every output (and its cache key). */
interface FunctionWork {
  /** Absolute source folder. */
  folder: string;
  /** The handler named by the caller; the manifest records only this one. */
  handler: string | undefined;
  entries: PlannedEntry[];
  /** sha256 over the source files' names, modes and contents. */
  digest: string;
  bytes: number;
}

async function readFunctionSource(
  source: FunctionSource,
  cwd: string,
  plan: BuildPlan,
  onEvent: (event: BuildEvent) => void,
): Promise<FunctionWork> {
  const folder = resolve(cwd, source.source);
  // The zips this build writes are never part of the source, even when -o points inside it.
  const outputs = plan.outputs.map((output) => output.path);
  const files = await collectSourceFiles(source, cwd, outputs);
  const { entries, digest, bytes } = await sourceEntries(files);
  onEvent({
    type: "detail",
    message: `Function source ${folder}: ${files.length} files (${bytes} bytes)`,
  });
  return { folder, handler: source.handler, entries, digest, bytes };
}

/** What writing the outputs of one plan shares. */
interface OutputWork {
  source: FunctionWork | undefined;
  plan: BuildPlan;
  context: PlanContext;
  /** Wheel file name → local path. */
  paths: Map<string, string>;
  /** Wheel file name → sha256. */
  hashes: Map<string, string>;
  /** Local wheel path → its `DeferredWheel.verified` (a cached wheel is hashed when first read). */
  verifiers: Map<string, () => Promise<void>>;
  /** Resolves once the wheel at `path` may be read: every read of a wheel's bytes awaits it. */
  verified: (path: string) => Promise<void>;
  /** A reader of the wheel at `path` (after `verified`), shared by the outputs. */
  openReader: (path: string) => Promise<ZipReader>;
  mtime: Date;
  /** Collects the warnings of every output. */
  warnings: string[];
  onEvent: (event: BuildEvent) => void;
  transform: { options: TransformOptions; pythons: Map<string, LocalPython> };
  /** Filled by `writeOutput`: zip path → what its entries were made from. */
  zipSources: Map<string, ZipSources>;
  /** Install plans read or made by this build, by cache key (outputs share them; plans are never changed). */
  installPlans: Map<string, InstallPlan>;
  /** Cache writes that need not hold up the next output; awaited before `applyPlan` returns. */
  pending: Promise<void>[];
  counters: ApplyCounters;
}

/** What applying reused from the cache and what it made: the build result's `cache` less its resolution. */
export type ApplyCounters = Omit<BuildCacheReport, "resolution">;

/**
 * One output zip, from the cache of built layers when the same inputs built it before.
 * A zip's bytes are a function of the wheels (by sha256), the targets, the layout, the
 * timestamp, the slim and compile settings (with the compiling Python's exact version)
 * and pylayer's own version, so the cache key is a digest of exactly these.
 */
async function buildOutput(output: OutputPlan, work: OutputWork): Promise<ZipReport> {
  const { context, warnings, onEvent } = work;
  const cache = context.cache ?? null;
  if (cache === null) return (await writeOutput(output, work)).report;
  const key = await layerCacheKey(output, work);
  const cached = await fromLayerCache(output, work, key);
  if (cached !== null) {
    warnings.push(...cached.warnings);
    work.counters.layers.reused++;
    return cached.zip;
  }
  const before = warnings.length;
  const events: BuildEvent[] = [];
  const recordingOnEvent = (event: BuildEvent) => {
    if (event.type === "detail" || event.type === "info" || event.type === "warning") {
      events.push(event);
    }
    onEvent(event);
  };
  const { report, written } = await writeOutput(output, { ...work, onEvent: recordingOnEvent });
  // A cache that cannot be written (full disk, read-only) costs the next build time, not this one.
  const stored = await cache
    .putLayer(
      key,
      report.path,
      report.size,
      report.sha256,
      { zip: report, warnings: warnings.slice(before), events },
      // Every zip of this build stays (a warm matrix of twelve targets is twelve hits).
      Math.max(CACHED_LAYERS_KEPT, work.plan.outputs.length),
    )
    .then(
      () => true,
      () => false,
    );
  if (stored) {
    // The next zip of this lineage copies its unchanged records from this one. Stored while
    // the build goes on (`applyPlan` waits for it before it returns).
    work.pending.push(
      cache
        .putLatestLayer(written.lineage, {
          layer: key,
          ...storeRecords(written.records, written.lineage, work.mtime),
        })
        .catch(() => undefined),
    );
  }
  return report;
}

/**
 * Copies the layer stored under `key` to the output path (through a temporary file and
 * a rename, hashing the copy) and tells what its build told; null when the cache does not
 * have it (or another build pruned it meanwhile), or when the copy does not hash to the
 * sha256 recorded with it: the entry is then evicted, a warning says so, and the caller
 * builds the layer again. The reported digest is the one of the bytes written.
 */
async function fromLayerCache(
  output: OutputPlan,
  { context, warnings, onEvent }: OutputWork,
  key: string,
): Promise<{ zip: ZipReport; warnings: string[] } | null> {
  const cache = context.cache;
  if (!cache) return null;
  const corrupt = (path: string, reason: string) => {
    const message = `cached layer ${path} was corrupt (${reason}); removed it, building the layer again`;
    warnings.push(message);
  };
  const cached = await cache.getLayer(key, { onCorrupt: corrupt });
  if (cached == null || !isCachedReport(cached.report)) return null;
  await mkdir(dirname(output.path), { recursive: true }).catch((error) => {
    throw writeFailed(output.path, error);
  });
  let copied: Awaited<ReturnType<typeof copyFileVerified>>;
  try {
    copied = await copyFileVerified(cached.path, output.path, cached.sha256, { link: true });
  } catch (error) {
    if (
      (error as { code?: unknown }).code === "ENOENT" &&
      (error as { path?: unknown }).path === cached.path
    ) {
      return null;
    }
    throw writeFailed(output.path, error);
  }
  if (copied === null) {
    await cache.evictLayer(key);
    corrupt(cached.path, "its bytes do not match the sha256 recorded with it");
    return null;
  }
  // What the build reported while assembling (--verbose lists slim removals) is told again.
  for (const event of cached.report.events) onEvent(event);
  onEvent({ type: "phase", phase: "write", message: `Writing ${output.path}` });
  onEvent({
    type: "detail",
    message: `${output.path}: same inputs as cached layer ${key.slice(0, 16)}, ${copied.linked ? "linked" : "copied"}`,
  });
  return {
    zip: {
      ...cached.report.zip,
      path: output.path,
      size: copied.size,
      sha256: copied.sha256,
      sha256Base64: copied.sha256Base64,
    },
    warnings: cached.report.warnings,
  };
}

/** Bump when the bytes pylayer writes for the same inputs change within one version. */
const LAYER_FORMAT = 1;

async function layerCacheKey(
  output: OutputPlan,
  { plan, context, hashes, mtime, transform, source }: OutputWork,
): Promise<string> {
  const targets = context.targets.filter((target) => output.targets.includes(target.id));
  const first = plan.targets.find((target) => output.targets.includes(target.id))!;
  const compilers = transform.options.compile
    ? targets.map((target) => {
        const python = transform.pythons.get(target.runtime.python.join("."));
        return python === undefined ? null : [python.fullVersion, python.cacheTag];
      })
    : [];
  const inputs = {
    format: LAYER_FORMAT,
    pylayer: await pylayerVersion(),
    layout: output.layout,
    targets: targets.map((target) => [target.runtime.name, target.architecture]),
    mtime: mtime.getTime(),
    wheels: first.packages
      .filter((item) => item.excluded === undefined)
      .map((item) => [item.name, item.version, item.filename, hashes.get(item.filename)]),
    slim: transform.options.slim === true,
    slimPatterns: transform.options.slimPatterns ?? [],
    compile: transform.options.compile === true,
    compilers,
    ...(source === undefined ? {} : { source: source.digest, handler: source.handler ?? null }),
  };
  return sha256Hex(JSON.stringify(inputs));
}

interface CachedReport {
  zip: ZipReport;
  warnings: string[];
  events: BuildEvent[];
}

function isCachedReport(value: unknown): value is CachedReport {
  if (typeof value !== "object" || value === null) return false;
  const { zip, warnings, events } = value as Partial<Record<keyof CachedReport, unknown>>;
  return (
    typeof zip === "object" &&
    zip !== null &&
    typeof (zip as ZipReport).sha256 === "string" &&
    Array.isArray(warnings) &&
    warnings.every((warning) => typeof warning === "string") &&
    Array.isArray(events) &&
    events.every((event) => typeof (event as BuildEvent).message === "string")
  );
}

function writeFailed(path: string, error: unknown): PylayerError {
  if (error instanceof PylayerError) return error;
  const known = fileSystemError(error, path);
  if (known !== undefined) return known;
  return new PylayerError("write-failed", `could not write ${path}: ${(error as Error).message}`, {
    hint: "Check that the folder is writable and the disk has room.",
    cause: error,
  });
}

/** Writes one output zip; `written` is what the next zip of its lineage copies from it. */
async function writeOutput(
  output: OutputPlan,
  work: OutputWork,
): Promise<{ report: ZipReport; written: { records: ZipRecord[]; lineage: string } }> {
  const { plan, context, openReader, mtime, warnings, onEvent, transform, source } = work;
  const targetPlans = plan.targets.filter((target) => output.targets.includes(target.id));
  const first = targetPlans[0]!;
  const targets = context.targets.filter((target) => output.targets.includes(target.id));
  const runtimeNames = new Set(targets.map((target) => target.runtime.name));
  const layout = {
    ...layoutFor(output.layout, targets[0]!.runtime),
    // One zip shared by several Python versions: scripts run whichever python3 the runtime has.
    ...(runtimeNames.size > 1 ? { pythonExecutable: "/var/lang/bin/python3" } : {}),
  };
  onEvent({
    type: "phase",
    phase: "install",
    message: `Installing ${first.packages.length} packages for ${output.targets.join(", ")}`,
  });
  const installs: InstallPlan[] = await Promise.all(
    first.packages
      .filter((item) => item.excluded === undefined)
      .map((item) => installPlanOf(item.filename, layout, work)),
  );
  if (source === undefined) assertNoEntries(installs);
  else assertNoShadowing(source, installs);
  const skipped = droppedFiles(installs);
  if (skipped.length > 0) {
    warnings.push(
      `${skipped.length === 1 ? "1 file" : `${skipped.length} files`} of the wheels not installed in ${basename(output.path)} (Lambda does not use them: ${[...new Set(skipped.map((file) => file.reason))].join("; ")}); -v or --json lists them`,
    );
    for (const file of skipped) {
      onEvent({
        type: "detail",
        message: `not installed: ${file.path} (${file.package}): ${file.reason}`,
      });
    }
  }
  const assembled = assembleLayer(installs);
  const { conflicts } = assembled;
  const { entries, report: transformReport } = await transformEntries(
    assembled.entries,
    createEntryReader(openReader),
    transform.options,
    targets
      .map((target) => transform.pythons.get(target.runtime.python.join(".")))
      .filter(
        (python, index, all): python is LocalPython =>
          python !== undefined && all.indexOf(python) === index,
      ),
    onEvent,
  );
  for (const install of installs) warnings.push(...install.warnings);
  for (const conflict of conflicts) {
    warnings.push(
      `${conflict.path} is written by ${conflict.packages.join(" and ")}; the file of ${conflict.packages[0]} is kept`,
    );
  }
  const runtimes = [...new Set(targets.map((target) => target.runtime.name))];
  const architectures = [
    ...new Set(targets.map((target) => target.architecture)),
  ] as Architecture[];
  const comment = encodeManifest({
    runtimes,
    architectures,
    layout: output.layout,
    packages: installs.map((install) => ({ name: install.name, version: install.version })),
    ...(source?.handler === undefined ? {} : { handler: source.handler }),
  });
  const zipEntries = source === undefined ? entries : [...entries, ...source.entries];
  const sha256ByPath = wheelHashesByPath(work);
  work.zipSources.set(output.path, {
    wheels: wheelSourcesOf(zipEntries, sha256ByPath, work.verified),
    generated: distInfoTextsOf(zipEntries),
  });
  onEvent({ type: "phase", phase: "write", message: `Writing ${output.path}` });
  const lineage = await layerLineage(layout, targets, work);
  const previous = await previousLayer(lineage, work);
  let result: Awaited<ReturnType<typeof writeDeterministicZip>>;
  try {
    await mkdir(dirname(output.path), { recursive: true });
    result = await writeDeterministicZip(output.path, zipEntries, {
      mtime,
      comment,
      previous: previous?.zip,
      prepareSource: work.verified,
      sourceKey: (entrySource) => {
        const sha256 = sha256ByPath.get(entrySource.archivePath);
        return sha256 === undefined ? undefined : wheelSourceKey(sha256, entrySource.entry.name);
      },
    });
  } catch (error) {
    throw writeFailed(output.path, error);
  }
  // A previous zip pruned by another build meanwhile is simply not used; one whose bytes
  // changed is evicted and said.
  if (
    previous !== undefined &&
    result.previousRejected !== undefined &&
    (await pathExists(previous.zip.path))
  ) {
    await context.cache?.evictLayer(previous.key).catch(() => undefined);
    warnings.push(
      `cached layer ${previous.zip.path} was not used (${result.previousRejected}); removed it, wrote ${basename(output.path)} from the wheels`,
    );
  }
  work.counters.layers.built++;
  if ((result.copiedFromPrevious ?? 0) > 0) {
    work.counters.layers.fromPrevious++;
    onEvent({
      type: "detail",
      message: `${output.path}: ${result.copiedFromPrevious} of ${result.entryCount} entries copied from the previous layer ${previous!.key.slice(0, 16)}`,
    });
  }
  const report: ZipReport = {
    path: result.path,
    size: result.size,
    unzippedSize: result.unzippedSize,
    sha256: result.sha256,
    sha256Base64: result.sha256Base64,
    targets: output.targets,
    runtimes,
    architectures,
    layout: output.layout,
    ...reportPackages(first.packages),
    ...transformReport,
    ...(skipped.length === 0 ? {} : { skipped }),
    ...(source === undefined
      ? {}
      : {
          function: {
            source: source.folder,
            handler: source.handler ?? DEFAULT_HANDLER,
            files: source.entries.length,
            bytes: source.bytes,
          },
        }),
  };
  return { report, written: { records: result.records, lineage } };
}

/**
 * The install plan of one wheel into `layout`: from this build's plans or the cache of
 * install plans (`installs-v1`, by wheel sha256 + file name + layout + install format +
 * pylayer's version) when an earlier output or build planned it, else planned from the
 * wheel and stored. The
 * wheel itself was verified by `download` (see src/wheel/install-cache.ts for why a cached
 * plan cannot ship unverified bytes). A damaged entry is evicted, said, and planned again.
 */
async function installPlanOf(
  filename: string,
  layout: Layout,
  work: OutputWork,
): Promise<InstallPlan> {
  const { context, paths, hashes, counters } = work;
  const path = paths.get(filename)!;
  const sha256 = hashes.get(filename);
  const cache = context.cache ?? null;
  if (cache === null || sha256 === undefined) return planInstall(filename, path, layout, work);
  const keyInputs = {
    wheelSha256: sha256,
    wheelFilename: filename,
    layout,
    installer: INSTALLER,
    pylayer: await pylayerVersion(),
  };
  // A plan that names no interpreter is kept under the key without it (every Python
  // version of a matrix shares it); one with scripts under the key with this interpreter.
  const anyInterpreterKey = installPlanKey({ ...keyInputs, anyInterpreter: true });
  const interpreterKey = installPlanKey(keyInputs);
  const known = work.installPlans.get(anyInterpreterKey) ?? work.installPlans.get(interpreterKey);
  if (known !== undefined) {
    counters.installs.reused++;
    return known;
  }
  const remember = (plan: InstallPlan) => {
    work.installPlans.set(plan.namesInterpreter ? interpreterKey : anyInterpreterKey, plan);
    return plan;
  };
  const corrupt = (entryPath: string, reason: string) => {
    counters.installs.evicted++;
    work.warnings.push(
      `cached install plan ${entryPath} of ${filename} was corrupt (${reason}); removed it, planning the wheel again`,
    );
  };
  for (const key of [anyInterpreterKey, interpreterKey]) {
    const cached = await cache.getInstall(key, { onCorrupt: corrupt });
    if (cached === null) continue;
    const restored = restoreInstallPlan(cached, path);
    if (restored !== null && !(key === anyInterpreterKey && restored.namesInterpreter)) {
      counters.installs.reused++;
      return remember(restored);
    }
    await cache.evictInstall(key).catch(() => undefined);
    corrupt(key, "it is not an install plan");
  }
  const planned = await planInstall(filename, path, layout, work);
  remember(planned);
  // Stored while the build goes on (`applyPlan` waits for it before it returns). A cache
  // that cannot be written costs the next build time, not this one.
  work.pending.push(
    cache
      .putInstall(
        planned.namesInterpreter ? interpreterKey : anyInterpreterKey,
        cachedInstallPlan(planned),
      )
      .catch(() => undefined),
  );
  return planned;
}

async function planInstall(
  filename: string,
  path: string,
  layout: Layout,
  work: OutputWork,
): Promise<InstallPlan> {
  const planned = await planWheelInstall(path, await work.openReader(path), layout, {
    installer: INSTALLER,
    wheelFilename: filename,
  });
  work.counters.installs.planned++;
  return planned;
}

/** What INSTALLER says in every installed dist-info. */
const INSTALLER = "pylayer";

/** Each downloaded wheel's sha256 by its local path. */
function wheelHashesByPath(work: OutputWork): Map<string, string> {
  const sha256ByPath = new Map<string, string>();
  for (const [filename, path] of work.paths) {
    const sha256 = work.hashes.get(filename);
    if (sha256 !== undefined) sha256ByPath.set(path, sha256);
  }
  return sha256ByPath;
}

/**
 * What decides that two zips' records of the same name and source are the same bytes:
 * pylayer's version (the writer), the layout with its targets (where each wheel entry is
 * installed) and the timestamp. The zip written last for a lineage is the previous zip of
 * the next one (`layers-v1/latest`).
 */
async function layerLineage(
  layout: Layout,
  targets: readonly { runtime: { name: string }; architecture: string }[],
  work: OutputWork,
): Promise<string> {
  return sha256Hex(
    JSON.stringify({
      format: LAYER_FORMAT,
      pylayer: await pylayerVersion(),
      layout,
      targets: targets.map((target) => [target.runtime.name, target.architecture]),
      mtime: work.mtime.getTime(),
    }),
  );
}

/** The zip written last for `lineage`, with its records, when the cache still has both. */
async function previousLayer(
  lineage: string,
  { context }: OutputWork,
): Promise<{ key: string; zip: PreviousZip } | undefined> {
  const cache = context.cache;
  if (!cache) return undefined;
  const stored = await cache.getLatestLayer(lineage).catch(() => null);
  const key = (stored as { layer?: unknown } | null)?.layer;
  if (typeof key !== "string") return undefined;
  // A key that is not a sha256 is refused by the cache, like a missing layer.
  const layer = await cache.getLayer(key).catch(() => null);
  if (layer === null) return undefined;
  const zip = previousZipOf(stored, layer, lineage);
  return zip === null ? undefined : { key, zip };
}

/** The entries of a zip copied raw from each planned wheel, by the wheel's sha256. */
function wheelSourcesOf(
  entries: readonly PlannedEntry[],
  sha256ByPath: ReadonlyMap<string, string>,
  verified: (path: string) => Promise<void>,
): WheelSource[] {
  const sources = new Map<string, WheelSource>();
  for (const entry of entries) {
    if (entry.source.kind !== "zip") continue;
    const { archivePath } = entry.source;
    const sha256 = sha256ByPath.get(archivePath);
    if (sha256 === undefined) continue;
    let source = sources.get(archivePath);
    if (source === undefined) {
      source = { sha256, path: archivePath, verified: () => verified(archivePath), entries: [] };
      sources.set(archivePath, source);
    }
    source.entries.push({ zipName: entry.name, wheelName: entry.source.entry.name });
  }
  return [...sources.values()];
}

/** The dist-info files among the entries pylayer writes itself (RECORD, INSTALLER), by name. */
function distInfoTextsOf(entries: readonly PlannedEntry[]): Map<string, Buffer> {
  const texts = new Map<string, Buffer>();
  for (const entry of entries) {
    if (entry.source.kind === "bytes" && entry.name.includes(".dist-info/")) {
      texts.set(entry.name, entry.source.data);
    }
  }
  return texts;
}

function assertNoShadowing(source: FunctionWork, installs: readonly InstallPlan[]): void {
  const shadowing = findShadowing(
    source.entries.map((entry) => entry.name),
    installs,
  );
  if (shadowing.length > 0) throw shadowingError(shadowing, source.folder);
}

/**
 * Files of the wheels that the layer leaves out (C headers, signatures of the rewritten
 * RECORD, scripts replaced by entry points): reported, never dropped silently. RECORD and
 * INSTALLER are rewritten, not left out, so they are not listed.
 */
function droppedFiles(installs: readonly InstallPlan[]): NonNullable<ZipReport["skipped"]> {
  return installs.flatMap((install) =>
    install.skipped
      .filter((file) => !/\.dist-info\/(RECORD|INSTALLER)$/.test(file.path))
      .map((file) => ({ package: `${install.name} ${install.version}`, ...file })),
  );
}

/** A target's planned packages as a zip report lists them: installed, and left out with why. */
export function reportPackages(
  packages: readonly PlannedPackage[],
): Pick<ZipReport, "packages" | "excluded"> {
  return {
    packages: packages
      .filter((item) => item.excluded === undefined)
      .map((item) => ({
        name: item.name,
        version: item.version,
        wheel: item.filename,
        tag: item.tag,
      })),
    excluded: packages
      .filter((item) => item.excluded !== undefined)
      .map((item) => ({ name: item.name, version: item.version, reason: item.excluded! })),
  };
}
