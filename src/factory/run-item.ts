/**
 * `runWorkItem`: build one layer for one target, check it, publish it to each region
 * (skipped where the newest version has the same CodeSha256), record the versions and
 * prune old ones. The Lambda handler and `pylayer factory run --local` both call it.
 *
 * It never throws for a failure of the item: the result carries the error (pylayer's
 * code and hint) and whether it is retryable, so one bad item fails alone.
 */
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { pruneLayers } from "../aws/layers.js";
import { publishLayer } from "../aws/publish.js";
import { Cache, defaultCacheDir } from "../cache/index.js";
import { applyPlan } from "../pipeline/apply.js";
import { planLayer } from "../pipeline/inputs.js";
import type { BuildOptions } from "../pipeline/types.js";
import { pylayerVersion } from "../pipeline/version.js";
import { factoryError, reportError } from "./errors.js";
import { type LayerRecord, RecordTable } from "./records.js";
import {
  type ErrorReport,
  type FactorySettings,
  type Finding,
  type ItemResult,
  type RegionOutcome,
  unattemptedResult,
  type WorkItem,
} from "./types.js";
import { plannedWheels, SharedWheelCache } from "./wheel-cache.js";

/**
 * sha256 over what the item's build depends on: input text, target, options and
 * pylayer's version. With a lock input an equal fingerprint means an identical zip.
 */
export async function itemFingerprint(item: WorkItem): Promise<string> {
  const facts = {
    version: await pylayerVersion(),
    input: item.input,
    runtime: item.runtime,
    architecture: item.architecture,
    options: Object.fromEntries(
      Object.entries(item.options).sort(([a], [b]) => a.localeCompare(b)),
    ),
  };
  return createHash("sha256").update(JSON.stringify(facts)).digest("hex");
}

/** The lock file's name as the build reads it (its kind is told by the name). */
function inputFileName(item: WorkItem): string {
  return item.input.kind === "lock" ? basename(item.input.filename) : "requirements.txt";
}

function buildOptions(item: WorkItem, folder: string, settings: FactorySettings): BuildOptions {
  const { options } = item;
  const inputPath = join(folder, inputFileName(item));
  const index = {
    ...(options.indexUrl === undefined ? {} : { indexUrl: options.indexUrl }),
    ...(options.extraIndexUrls === undefined ? {} : { extraIndexUrls: options.extraIndexUrls }),
    ...(options.findLinks === undefined ? {} : { findLinks: options.findLinks }),
  };
  return {
    ...(item.input.kind === "lock" ? { lock: inputPath } : { requirementFiles: [inputPath] }),
    runtimes: [item.runtime],
    architectures: [item.architecture],
    output: join(folder, `${item.layerName}.zip`),
    cwd: folder,
    discover: false,
    index,
    ...(options.exclude === undefined ? {} : { exclude: options.exclude }),
    ...(options.excludeRuntimeProvided === undefined
      ? {}
      : { excludeRuntimeProvided: options.excludeRuntimeProvided }),
    ...(options.pre === undefined ? {} : { pre: options.pre }),
    // A catalogue publishes the newest versions that fit: the warm cache of an earlier run
    // must not keep that run's versions (see BuildOptions.upgrade).
    upgrade: true,
    cacheDir: cacheDirOf(settings),
    ...(settings.env === undefined ? {} : { env: settings.env }),
  };
}

function cacheDirOf(settings: FactorySettings): string {
  return (
    settings.cacheDir ?? defaultCacheDir(settings.env ?? process.env, process.platform, tmpdir())
  );
}

/** Refuses an item the factory must not publish (its layer name outside the prefix). */
function validateItem(item: WorkItem, settings: FactorySettings): void {
  const prefix = settings.namePrefix;
  if (prefix !== undefined && prefix !== "" && !item.layerName.startsWith(prefix)) {
    throw factoryError(
      "factory-name-outside-prefix",
      `${item.id}: layer name ${item.layerName} does not start with the factory's prefix ${prefix}`,
      `Set prefix = "${prefix}" in the manifest (layer names are "{prefix}{layer}-{python}-{arch}" by default).`,
    );
  }
  if (item.regions.length === 0) {
    throw factoryError(
      "factory-no-regions",
      `${item.id}: no regions to publish to`,
      'Give regions = ["us-east-1", …] in the manifest or the layer.',
    );
  }
}

function tableOf(item: WorkItem, settings: FactorySettings): RecordTable | undefined {
  if (settings.table === undefined || settings.table === "") return undefined;
  return new RecordTable(
    settings.table,
    settings.tableRegion ?? item.regions[0] ?? "us-east-1",
    settings.aws ?? {},
  );
}

/** The records of this item's target, by region. */
async function recordsByRegion(
  item: WorkItem,
  table: RecordTable,
): Promise<Map<string, LayerRecord>> {
  const records = await table.layerRecords(item.layer);
  const byRegion = new Map<string, LayerRecord>();
  for (const record of records) {
    if (record.runtime === item.runtime && record.architecture === item.architecture) {
      byRegion.set(record.region, record);
    }
  }
  return byRegion;
}

export async function runWorkItem(
  item: WorkItem,
  settings: FactorySettings = {},
): Promise<ItemResult> {
  const started = performance.now();
  const result = unattemptedResult(item, 1);
  const aws = settings.aws ?? {};
  let folder: string | undefined;
  try {
    validateItem(item, settings);
    const fingerprint = await itemFingerprint(item);
    const table = tableOf(item, settings);
    const records = table === undefined ? new Map() : await recordsByRegion(item, table);
    // A lock pins every file by hash: the same fingerprint everywhere means the same zip,
    // so there is nothing to build or publish.
    if (
      item.input.kind === "lock" &&
      item.regions.every((region) => records.get(region)?.fingerprint === fingerprint)
    ) {
      const first = records.get(item.regions[0]!)!;
      return {
        ...result,
        status: "ok",
        buildSkipped: true,
        sha256: first.sha256,
        codeSha256: first.codeSha256,
        size: first.size,
        regions: item.regions.map((region) => {
          const record = records.get(region)!;
          return {
            region,
            status: "unchanged",
            layerVersionArn: record.layerVersionArn,
            version: record.version,
          };
        }),
        durationMs: Math.round(performance.now() - started),
      };
    }

    const workRoot = settings.workDir ?? tmpdir();
    await mkdir(workRoot, { recursive: true });
    folder = await mkdtemp(join(workRoot, "pylayer-item-"));
    await writeFile(join(folder, inputFileName(item)), item.input.text);
    const options = buildOptions(item, folder, settings);
    const { plan, context } = await planLayer(options);

    const shared =
      settings.wheelCacheBucket === undefined || settings.wheelCacheBucket === ""
        ? undefined
        : new SharedWheelCache(
            settings.wheelCacheBucket,
            settings.wheelCacheRegion ?? item.regions[0]!,
            aws,
          );
    const localCache = new Cache(options.cacheDir!);
    const filled =
      shared === undefined ? undefined : await shared.fill(localCache, plannedWheels(plan));

    const { zips } = await applyPlan(plan, context, () => {}, {
      ...(item.options.slim === undefined ? {} : { slim: item.options.slim }),
    });
    const zip = zips[0];
    if (zip === undefined) {
      throw factoryError(
        "factory-no-zip",
        `${item.id}: the build wrote no zip`,
        "Check the item's input.",
      );
    }
    Object.assign(result, {
      sha256: zip.sha256,
      codeSha256: zip.sha256Base64,
      size: zip.size,
      unzippedSize: zip.unzippedSize,
      packages: zip.packages.map((entry) => ({ name: entry.name, version: entry.version })),
    });
    if (shared !== undefined && filled !== undefined) {
      result.wheelCache = {
        hits: filled.hits,
        corrupt: filled.corrupt,
        uploads: await shared.store(localCache, filled.missing),
      };
    }

    if (item.options.check !== false) {
      const { checkLayer } = await import("../check/index.js");
      const check = await checkLayer(zip.path, {
        runtimes: [item.runtime],
        architectures: [item.architecture],
        // Static checks only: Lambda's Node.js runtime has no Python to import with, so
        // the builder's bundle ships none of the import test's .py programs.
        importTest: false,
        ...(settings.env === undefined ? {} : { env: settings.env }),
      });
      result.findings = check.findings.map(
        (finding): Finding => ({
          code: finding.code,
          severity: finding.severity,
          message: finding.message,
        }),
      );
      if (!check.ok) {
        const errors = check.findings.filter((finding) => finding.severity === "error");
        throw factoryError(
          "factory-check-failed",
          `${item.id}: the layer has ${errors.length} error finding(s), first: ${errors[0]?.message ?? "?"}`,
          "Run `pylayer check` on the layer locally; fix the requirements (or set check = false for the layer).",
        );
      }
    }

    const published = await publishLayer({
      zipPath: zip.path,
      name: item.layerName,
      regions: item.regions,
      runtimes: [item.runtime],
      architectures: [item.architecture],
      ...(item.options.description === undefined ? {} : { description: item.options.description }),
      ...(item.options.license === undefined ? {} : { license: item.options.license }),
      ...(item.options.public === undefined ? {} : { public: item.options.public }),
      ...(item.options.accounts === undefined ? {} : { accounts: item.options.accounts }),
      ...(item.options.organizationId === undefined
        ? {}
        : { organizationId: item.options.organizationId }),
      ...(settings.stagingBuckets === undefined ? {} : { s3Buckets: settings.stagingBuckets }),
      ...(settings.directUploadLimit === undefined
        ? {}
        : { directUploadLimit: settings.directUploadLimit }),
      s3Cleanup: true,
      aws,
    });
    result.regions = await Promise.all(
      published.regions.map(async (region): Promise<RegionOutcome> => {
        if (region.status === "failed") {
          return {
            region: region.region,
            status: "failed",
            ...(region.error === undefined ? {} : { error: reportError(region.error) }),
          };
        }
        const outcome: RegionOutcome = {
          region: region.region,
          status: region.status,
          ...(region.layerVersionArn === undefined
            ? {}
            : { layerVersionArn: region.layerVersionArn }),
          ...(region.version === undefined ? {} : { version: region.version }),
          ...(region.status === "published" && region.upload !== undefined
            ? { upload: region.upload }
            : {}),
        };
        try {
          if (
            table !== undefined &&
            region.layerVersionArn !== undefined &&
            region.version !== undefined
          ) {
            const recorded = records.get(region.region);
            if (recorded?.version !== region.version || recorded.fingerprint !== fingerprint) {
              await table.put({
                layer: item.layer,
                runtime: item.runtime,
                architecture: item.architecture,
                region: region.region,
                layerName: item.layerName,
                layerVersionArn: region.layerVersionArn,
                version: region.version,
                sha256: zip.sha256,
                codeSha256: zip.sha256Base64,
                size: zip.size,
                fingerprint,
                updatedAt: new Date().toISOString(),
              });
            }
          }
          const keep = item.options.keep ?? settings.defaultKeep;
          if (keep !== undefined && region.status === "published") {
            const pruned = await pruneLayers({
              name: item.layerName,
              keep,
              regions: [region.region],
              aws,
            });
            const deleted = pruned.regions.flatMap((entry) =>
              entry.deleted.map((version) => version.version),
            );
            if (deleted.length > 0) outcome.pruned = deleted;
          }
        } catch (error) {
          return { ...outcome, status: "failed", error: reportError(error) };
        }
        return outcome;
      }),
    );
    const failures = result.regions.flatMap((region) => region.error ?? []);
    if (failures.length === 0) {
      result.status = "ok";
    } else {
      result.error = firstError(failures);
    }
  } catch (error) {
    result.error = reportError(error);
  } finally {
    if (folder !== undefined) await rm(folder, { recursive: true, force: true });
  }
  result.durationMs = Math.round(performance.now() - started);
  return result;
}

/** The error that decides the item's class: a retryable one when any region can succeed later. */
function firstError(failures: ErrorReport[]): ErrorReport {
  return failures.find((failure) => failure.retryable) ?? failures[0]!;
}
