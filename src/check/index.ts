/**
 * `checkLayer`: everything pylayer can tell about a layer zip before it is deployed,
 * for each target (runtime × architecture) it is meant for:
 * layout → native code (ELF, read statically) → Python-level → import test → sizes.
 *
 * Works on any zip, including ones built by other tools; when the zip carries pylayer's
 * manifest (its comment), the targets default to the ones it was built for.
 */
import { Cache, sha256File } from "../cache/index.js";
import { usageError } from "../errors.js";
import { parseHandler } from "../function/index.js";
import {
  describeMissingInterpreter,
  findInterpreter,
  hostMismatch,
  interpreterHint,
} from "../invoke/environment.js";
import { decodeManifest } from "../layer/index.js";
import { makeTargets, type Target } from "../runtime/index.js";
import { readZipComment, ZipReader } from "../zip/index.js";
import { checkFunction, chooseHandler, handlerFound, type LayerInput } from "./function.js";
import { defaultImportModules, prepareSandbox, runImportTest } from "./import-test.js";
import { type LayerFiles, readLayerFiles } from "./layer-files.js";
import { checkLayout } from "./layout.js";
import { checkNative, FUNCTION_PLACE, LAYER_PLACE, scanNativeFiles } from "./native.js";
import { checkPython } from "./python.js";
import {
  asStaticAnalysis,
  layerCheckKey,
  type WheelFactsMemo,
  type WheelSource,
  wheelFactsFor,
} from "./reuse.js";
import { checkSizes, measureSizes } from "./sizes.js";
import {
  type CheckOptions,
  type CheckResult,
  FINDING_CODES,
  type Finding,
  type ImportTestReport,
  type Severity,
} from "./types.js";

export { type ElfInfo, identifyBinary, parseElf, type VersionNeed } from "./elf.js";
export { BASE_LIBRARIES, type BaseLibrary, type OsFacts, osFacts } from "./os-facts.js";
export type { WheelSource } from "./reuse.js";
export { UNZIPPED_LIMIT, ZIPPED_DIRECT_UPLOAD_LIMIT } from "./sizes.js";
export * from "./types.js";
export { CHECKER_VERSION } from "./version.js";

const SEVERITY_ORDER: Record<Severity, number> = { error: 0, warning: 1, info: 2 };

export async function checkLayer(path: string, options: CheckOptions = {}): Promise<CheckResult> {
  const cache = options.cacheDir === undefined ? null : new Cache(options.cacheDir);
  return checkLayerWith(path, options, { cache });
}

/** What a build knows about a zip it wrote, to check it without reading it all again. */
export interface KnownZip {
  /** Where check results are kept; null: none. */
  cache: Cache | null;
  /** The zip's sha256 (hashed here when absent). */
  sha256?: string;
  /** The entries the build copied raw from each wheel. */
  wheels?: readonly WheelSource[];
  /** Wheel facts this build has read already (shared by the checks of its zips). */
  wheelFacts?: WheelFactsMemo;
  /**
   * Bytes the build wrote itself as entries of the zip (its dist-info RECORD and INSTALLER
   * files), by entry name: the check takes such a text from here instead of the zip when
   * its CRC-32 and length are the zip record's (the entry itself is verified like any other).
   */
  generated?: ReadonlyMap<string, Buffer>;
}

/**
 * `checkLayer` for a zip whose origin is known: its static result is looked up in the
 * cache by the zip's sha256 (with the targets, kind, handler and layers), and entries
 * copied from a wheel whose facts are cached are not read again (src/check/reuse.ts).
 */
export async function checkLayerWith(
  path: string,
  options: CheckOptions,
  known: KnownZip,
): Promise<CheckResult> {
  const started = performance.now();
  const env = options.env ?? process.env;
  const progress = (message: string) => options.onEvent?.({ type: "progress", message });
  // A result found in the cache needs only the zip's comment (its manifest), read from the
  // end record; the central directory (thousands of entries) is read when the zip is.
  let opened: ZipReader | undefined;
  const openReader = async () => {
    opened ??= await ZipReader.open(path, { sequential: true });
    return opened;
  };
  const comment =
    known.cache === null
      ? (await openReader()).comment
      : await readZipComment(path).catch(async () => (await openReader()).comment);
  const layers: LayerInput[] = [];
  try {
    const findings: Finding[] = [];
    const manifest = decodeManifest(comment);
    const kind =
      options.kind ??
      (manifest !== undefined
        ? manifest.layout === "function"
          ? "function"
          : "layer"
        : (options.layers?.length ?? 0) > 0 || options.handler !== undefined
          ? "function"
          : "layer");
    if (kind === "layer" && (options.layers?.length ?? 0) > 0) {
      throw usageError(
        `${path} is a layer; --layer lists the layers of a function package`,
        "Check the function's zip with its layers: pylayer check function.zip --layer layer.zip.",
      );
    }
    if ((options.layers?.length ?? 0) > MAX_LAYERS) {
      throw usageError(
        `a function can use at most ${MAX_LAYERS} layers; ${options.layers!.length} were given`,
        "Merge layers (one pylayer build can hold all the dependencies) or move some into the function package.",
      );
    }
    const targets = chooseTargets(path, comment, options, findings);
    const handlerSetting = options.handler ?? manifest?.handler;
    const handler = chooseHandler(handlerSetting);
    const { cache } = known;
    const corruptCacheEntry = (entryPath: string, reason: string) =>
      options.onEvent?.({
        type: "warning",
        message: `cached check result ${entryPath} was corrupt (${reason}); removed it, checking again`,
      });
    const cacheKey =
      cache === null
        ? undefined
        : await layerCheckKey({
            zipSha256: known.sha256 ?? (await sha256File(path)),
            kind,
            targets: targets.map((target) => target.id),
            handler: handlerSetting ?? null,
            layers: await Promise.all((options.layers ?? []).map((layer) => sha256File(layer))),
          });
    const report: NonNullable<CheckResult["cache"]> = {
      result: "computed",
      wheelsReused: 0,
      wheelsRead: 0,
    };
    let analysis =
      cache === null || cacheKey === undefined
        ? null
        : asStaticAnalysis(
            await cache.getCheck("layers", cacheKey, { onCorrupt: corruptCacheEntry }),
          );
    let files: LayerFiles | undefined;
    const readLayers = async () => {
      for (const layerPath of options.layers ?? []) {
        const layerReader = await ZipReader.open(layerPath);
        layers.push({ path: layerPath, files: await readLayerFiles(layerReader) });
      }
    };
    if (analysis !== null) {
      report.result = "reused";
      progress(`Reusing the check result of ${path}`);
    } else {
      progress(`Reading ${path}`);
      const reader = await openReader();
      const reuse =
        known.wheels === undefined || known.wheels.length === 0
          ? undefined
          : await wheelFactsFor(reader, known.wheels, cache, corruptCacheEntry, known.wheelFacts);
      report.wheelsReused = reuse?.wheelsReused ?? 0;
      report.wheelsRead = reuse?.wheelsRead ?? 0;
      const facts = reuse?.facts ?? new Map();
      const corrupt = await verifyEntries(reader, facts, progress);
      if (corrupt.length > 0) {
        // Nothing else can be trusted in a damaged zip: report the damage alone.
        analysis = {
          corrupt: true,
          perTarget: [corrupt],
          sizes: measureSizes({ reader }),
          elfFiles: 0,
        };
      } else {
        files = await readLayerFiles(reader, facts, known.generated);
        await readLayers();
        const scanned = await scanNativeFiles(files, (done, total) =>
          progress(`Reading native code ${done}/${total}`),
        );
        const perTarget: Finding[][] = [];
        for (const target of targets) {
          const targetFindings: Finding[] = [];
          if (kind === "function") {
            targetFindings.push(...checkFunction(files, target, handler, layers));
          } else targetFindings.push(...(await checkLayout(files, target)));
          targetFindings.push(
            ...checkNative(
              files,
              scanned,
              target,
              kind === "function" ? FUNCTION_PLACE : LAYER_PLACE,
            ),
          );
          targetFindings.push(...checkPython(files, target));
          perTarget.push(targetFindings);
        }
        analysis = {
          corrupt: false,
          perTarget,
          sizes: measureSizes(files),
          elfFiles: scanned.filter((file) => file.kind === "elf").length,
        };
      }
      if (cache !== null && cacheKey !== undefined) {
        // A cache that cannot be written costs the next check time, not this one.
        await cache.putCheck("layers", cacheKey, analysis).catch(() => undefined);
      }
    }
    const cacheReport = cache === null ? {} : { cache: report };
    if (analysis.corrupt) {
      const corrupt = analysis.perTarget.flat();
      return {
        path,
        kind,
        targets: targets.map((target) => target.id),
        ok: false,
        counts: { error: corrupt.length, warning: 0, info: 0 },
        findings: corrupt,
        sizes: analysis.sizes,
        importTests: [],
        elfFiles: 0,
        durationMs: performance.now() - started,
        ...cacheReport,
      };
    }
    const importTests: ImportTestReport[] = [];
    // The import test depends on this machine's interpreters: it is never cached.
    const layerFiles = async () => {
      if (files === undefined) {
        files = await readLayerFiles(await openReader());
        await readLayers();
      }
      return files;
    };
    const sandbox = lazySandbox(layerFiles, kind, layers);
    try {
      for (const [index, target] of targets.entries()) {
        findings.push(...(analysis.perTarget[index] ?? []));
        const { report: importReport, findings: importFindings } = await importTest(
          layerFiles,
          target,
          sandbox,
          options,
          env,
          progress,
          kind === "function"
            ? {
                kind,
                handler: handler.handler,
                handlerPresent: async () =>
                  handlerFound(await layerFiles(), layers, target, handler.handler),
              }
            : { kind },
        );
        importTests.push(importReport);
        findings.push(...importFindings);
      }
    } finally {
      await sandbox.dispose();
    }
    findings.push(
      ...checkSizes(analysis.sizes, kind === "function" ? "function package" : "layer"),
    );
    findings.sort((a, b) => SEVERITY_ORDER[a.severity] - SEVERITY_ORDER[b.severity]);
    const counts: Record<Severity, number> = { error: 0, warning: 0, info: 0 };
    for (const finding of findings) counts[finding.severity]++;
    return {
      path,
      kind,
      ...(options.layers?.length ? { layers: [...options.layers] } : {}),
      targets: targets.map((target) => target.id),
      ok: counts.error === 0,
      counts,
      findings,
      sizes: analysis.sizes,
      importTests,
      elfFiles: analysis.elfFiles,
      durationMs: performance.now() - started,
      ...cacheReport,
    };
  } finally {
    await opened?.close();
    for (const layer of layers) await layer.files.reader.close();
  }
}

/**
 * Checks the length and CRC-32 of every entry (streamed), as Lambda's unzip will: one
 * `corrupt-entry` error per damaged entry, naming it. Entries whose wheel facts are known
 * were verified when their wheel was read.
 */
async function verifyEntries(
  reader: ZipReader,
  facts: ReadonlyMap<string, unknown>,
  progress: (message: string) => void,
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const entries = reader.entries.filter((entry) => !entry.isDirectory && !facts.has(entry.name));
  for (let start = 0; start < entries.length; start += VERIFY_PROGRESS_STEP) {
    const slice = entries.slice(start, start + VERIFY_PROGRESS_STEP);
    const results = await reader.verifyEach(slice, 0);
    for (const [index, result] of results.entries()) {
      if (Buffer.isBuffer(result)) continue;
      findings.push({
        code: FINDING_CODES.corruptEntry,
        severity: "error",
        message: result.message,
        hint: "The zip is damaged: build or download it again. Lambda would refuse to extract it.",
        file: slice[index]!.name,
      });
    }
    if (start + slice.length < entries.length) {
      progress(`Verifying entries ${start + slice.length}/${entries.length}`);
    }
  }
  return findings.sort((a, b) => (a.file ?? "").localeCompare(b.file ?? ""));
}

/** Entries verified between two progress messages. */
const VERIFY_PROGRESS_STEP = 500;

/** Lambda's limit of layers per function. */
export const MAX_LAYERS = 5;

/** The extracted zip (and layers), made on first use and shared by every target's import test. */
function lazySandbox(
  files: () => Promise<LayerFiles>,
  kind: "layer" | "function",
  layers: readonly LayerInput[],
) {
  let prepared: ReturnType<typeof prepareSandbox> | undefined;
  return {
    get: () => {
      prepared ??= files().then((layerFiles) =>
        prepareSandbox(layerFiles, { kind, layers: layers.map((layer) => layer.files) }),
      );
      return prepared;
    },
    dispose: async () => {
      // A sandbox that failed to prepare has removed its folder already.
      const sandbox = await prepared?.catch(() => undefined);
      await sandbox?.dispose();
    },
  };
}

/** Runs the import test for one target where this machine can, else says why not. */
async function importTest(
  layerFiles: () => Promise<LayerFiles>,
  target: Target,
  sandbox: ReturnType<typeof lazySandbox>,
  options: CheckOptions,
  env: NodeJS.ProcessEnv,
  progress: (message: string) => void,
  what: {
    kind: "layer" | "function";
    handler?: string;
    handlerPresent?: () => Promise<boolean>;
  },
): Promise<{ report: ImportTestReport; findings: Finding[] }> {
  const report: ImportTestReport = { target: target.id, ran: false, outcomes: [] };
  if (options.importTest === false) {
    report.reason = "the import test was turned off";
    return { report, findings: [] };
  }
  const mismatch = hostMismatch(target.architecture);
  if (mismatch !== undefined) {
    report.reason = `the import test for ${target.id} cannot run here: ${mismatch}`;
    return {
      report,
      findings: [
        skipFinding(
          target,
          report.reason,
          "The static checks still apply; they read every ELF file without running it.",
        ),
      ],
    };
  }
  const search = await findInterpreter(target.runtime, {
    ...(options.python === undefined ? {} : { explicit: options.python }),
    env,
  });
  if (search.interpreter === undefined) {
    report.reason = `the import test for ${target.id} cannot run here: ${describeMissingInterpreter(target.runtime, search)}`;
    return {
      report,
      findings: [skipFinding(target, report.reason, interpreterHint(target.runtime))],
    };
  }
  report.interpreter = search.interpreter.path;
  const files = await layerFiles();
  const modules = options.imports?.length
    ? options.imports
    : defaultImportModules(files, target, what.kind);
  if (
    what.handler !== undefined &&
    !options.imports?.length &&
    (await what.handlerPresent?.()) === true
  ) {
    // The handler is loaded as Lambda's runtime loads it (a missing module is reported statically).
    const parsed = parseHandler(what.handler);
    modules.push(`${parsed.module}:${parsed.functionName}`);
  }
  if (modules.length === 0) {
    report.reason = `the ${what.kind === "function" ? "function package" : "layer"} has no top-level module to import`;
    return { report, findings: [] };
  }
  progress(`Importing ${modules.length} modules with ${search.interpreter.path}`);
  const { outcomes, findings } = await runImportTest(
    files,
    target,
    search.interpreter,
    await sandbox.get(),
    modules,
    { timeoutSeconds: options.importTimeoutSeconds ?? 60, env },
  );
  report.ran = true;
  report.outcomes = outcomes;
  return { report, findings };
}

function skipFinding(target: Target, reason: string, hint: string): Finding {
  return {
    code: FINDING_CODES.importTestSkipped,
    severity: "info",
    message: reason,
    hint,
    target: target.id,
  };
}

/** Targets from the options, else from the zip's manifest; the architecture defaults to x86_64. */
function chooseTargets(
  path: string,
  comment: string,
  options: CheckOptions,
  findings: Finding[],
): Target[] {
  const manifest = decodeManifest(comment);
  const runtimes = options.runtimes?.length ? options.runtimes : manifest?.runtimes;
  if (runtimes === undefined || runtimes.length === 0) {
    throw usageError(
      `${path} does not say which Lambda runtime it is for (it has no pylayer manifest)`,
      "Pass --runtime python3.X (and --arch x86_64 or arm64).",
    );
  }
  let architectures: string[] | undefined = options.architectures?.length
    ? options.architectures
    : manifest?.architectures;
  if (architectures === undefined || architectures.length === 0) {
    architectures = ["x86_64"];
    findings.push({
      code: FINDING_CODES.targetAssumed,
      severity: "info",
      message: `no architecture given and ${path} has no pylayer manifest: checking for x86_64`,
      hint: "Pass --arch arm64 if the function runs on Graviton.",
    });
  }
  return makeTargets(runtimes, architectures);
}
