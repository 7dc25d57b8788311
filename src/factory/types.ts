/**
 * The layer factory's data: a work item (one layer for one runtime and architecture,
 * published to several regions), what building and publishing it produced, and the
 * settings shared by every item of a run (tables, buckets, retries).
 *
 * Work items and results are plain JSON: they travel through Step Functions (Map
 * state input and output) and `--json` unchanged.
 */
import type { AwsOptions } from "../aws/index.js";
import type { Architecture } from "../runtime/index.js";

/** What a layer is built from: requirement lines, or a lock file's text. */
export type WorkInput =
  | { kind: "requirements"; text: string }
  | { kind: "lock"; filename: string; text: string };

/** Build and publish options of one item (the manifest's `[options]` merged with the layer's). */
export interface WorkOptions {
  slim?: boolean;
  excludeRuntimeProvided?: boolean;
  exclude?: string[];
  pre?: boolean;
  indexUrl?: string;
  extraIndexUrls?: string[];
  findLinks?: string[];
  description?: string;
  license?: string;
  public?: boolean;
  accounts?: string[];
  organizationId?: string;
  /** Run `checkLayer` and refuse to publish a layer with error findings (default true). */
  check?: boolean;
  /** Versions kept per layer and region after publishing; older ones are deleted. */
  keep?: number;
}

export interface WorkItem {
  /** `layer/runtime/arch`, unique in a manifest. */
  id: string;
  /** The manifest's name for the layer (its key under `[layers]`). */
  layer: string;
  /** The Lambda layer name this item publishes (starts with the manifest's prefix). */
  layerName: string;
  runtime: string;
  architecture: Architecture;
  regions: string[];
  input: WorkInput;
  options: WorkOptions;
}

export type RegionStatus = "published" | "unchanged" | "failed" | "not-attempted";

export interface RegionOutcome {
  region: string;
  status: RegionStatus;
  layerVersionArn?: string;
  version?: number;
  /** How a published zip reached Lambda: in the request, or staged in the region's bucket. */
  upload?: "direct" | "s3";
  /** Versions deleted by the keep-N policy. */
  pruned?: number[];
  error?: ErrorReport;
}

/** A PylayerError as data; `retryable` is the error class the state machine retries on. */
export interface ErrorReport {
  code: string;
  message: string;
  hint?: string;
  retryable: boolean;
}

export interface Finding {
  code: string;
  severity: string;
  message: string;
}

export interface ItemResult {
  id: string;
  layer: string;
  layerName: string;
  runtime: string;
  architecture: Architecture;
  /** `ok`: every region published or unchanged. */
  status: "ok" | "failed";
  /** True when the recorded fingerprint matched in every region and the build was skipped. */
  buildSkipped: boolean;
  /** Hex sha256 of the zip, and Lambda's CodeSha256 (base64). */
  sha256?: string;
  codeSha256?: string;
  size?: number;
  unzippedSize?: number;
  packages?: { name: string; version: string }[];
  findings: Finding[];
  regions: RegionOutcome[];
  /** Why the item failed as a whole (build, check, or every failing region's first error). */
  error?: ErrorReport;
  /**
   * Shared wheel cache: wheels read from it, objects refused because their bytes did not
   * match their sha256 (replaced by the upload), and wheels written to it.
   */
  wheelCache?: { hits: number; corrupt: number; uploads: number };
  attempts: number;
  durationMs: number;
}

/**
 * The result of `item` before anything succeeded: failed, no findings, every region not
 * attempted. Builders fill it in; a run that never reached a builder reports it as is.
 */
export function unattemptedResult(item: WorkItem, attempts: number): ItemResult {
  return {
    id: item.id,
    layer: item.layer,
    layerName: item.layerName,
    runtime: item.runtime,
    architecture: item.architecture,
    status: "failed",
    buildSkipped: false,
    findings: [],
    regions: item.regions.map((region) => ({ region, status: "not-attempted" })),
    attempts,
    durationMs: 0,
  };
}

/** Settings of a whole factory run (the Lambda function's environment, or the CLI's flags). */
export interface FactorySettings {
  /** DynamoDB table of the latest version per (layer, runtime, arch, region). */
  table?: string;
  /** Region of the table (default: the first region of the item). */
  tableRegion?: string;
  /** S3 bucket shared by builders as a wheel cache keyed by sha256. */
  wheelCacheBucket?: string;
  wheelCacheRegion?: string;
  /** Staging buckets for zips over 50 MB: `BUCKET`, `REGION=BUCKET` or a name with `{region}`. */
  stagingBuckets?: string[];
  /**
   * Zips larger than this are staged in `stagingBuckets` (default and maximum: Lambda's
   * 50 MiB request limit; tests lower it to exercise staging with small zips).
   */
  directUploadLimit?: number;
  /** Versions kept per layer and region when the item does not say (`keep`). */
  defaultKeep?: number;
  /** Items whose layer name does not start with it are refused. */
  namePrefix?: string;
  /** Local cache folder (Lambda: under /tmp, kept across warm invocations). */
  cacheDir?: string;
  /** Where each item's work folder is made (default the OS temporary folder). */
  workDir?: string;
  aws?: AwsOptions;
  env?: NodeJS.ProcessEnv;
}
