/**
 * The decisions of publish, prune and attach as pure functions over data, so each rule
 * is tested without a server: what to skip, how to upload, which versions to delete,
 * and the new layer list of a function.
 */
import { PylayerError, usageError } from "../errors.js";
import type { LayerManifest } from "../layer/index.js";
import {
  layerArnOf,
  MAX_LAYERS_PER_FUNCTION,
  validateAccountId,
  validateArchitectures,
  validateOrganizationId,
  validateRuntimes,
} from "./validate.js";
import type { LayerZipInfo } from "./zip-info.js";

/** Lambda's limit for a zip sent in the PublishLayerVersion request itself (50 MiB). */
export const DIRECT_UPLOAD_LIMIT = 50 * 1024 * 1024;
/** Lambda's unzipped limit for a function and all its layers (250 MiB = 262,144,000 bytes). */
export const UNZIPPED_LIMIT = 262_144_000;

export interface Compatibility {
  runtimes: string[];
  architectures: string[];
  /** Where the values came from, for messages. */
  source: "manifest" | "flags" | "manifest and flags";
  warnings: string[];
}

/**
 * Compatible runtimes and architectures: the flags where given, else what the build
 * recorded in the zip's manifest. A zip without a manifest needs both flags.
 */
export function resolveCompatibility(
  manifest: LayerManifest | undefined,
  flags: { runtimes?: readonly string[]; architectures?: readonly string[] },
  zipPath: string,
): Compatibility {
  const flagRuntimes = flags.runtimes ?? [];
  const flagArchitectures = flags.architectures ?? [];
  const runtimes = flagRuntimes.length > 0 ? validateRuntimes(flagRuntimes) : manifest?.runtimes;
  const architectures =
    flagArchitectures.length > 0
      ? validateArchitectures(flagArchitectures)
      : manifest?.architectures;
  if (runtimes === undefined || architectures === undefined) {
    const missing = [runtimes === undefined ? "--runtime" : "", architectures ? "" : "--arch"]
      .filter(Boolean)
      .join(" and ");
    throw new PylayerError(
      "publish-compatibility-unknown",
      `${zipPath} was not built by pylayer (its zip comment has no manifest), so its compatible runtimes and architectures are unknown`,
      {
        hint: `Give ${missing}, e.g. --runtime python3.12 --arch x86_64.`,
        exitCode: 2,
      },
    );
  }
  const warnings: string[] = [];
  if (manifest !== undefined) {
    const builtFor = (values: readonly string[], recorded: readonly string[], what: string) => {
      const extra = values.filter((value) => !recorded.includes(value));
      if (extra.length > 0) {
        warnings.push(
          `${zipPath} was built for ${what} ${recorded.join(", ")}; it is published as compatible with ${extra.join(", ")} too, as asked`,
        );
      }
    };
    if (flagRuntimes.length > 0) builtFor(runtimes, manifest.runtimes, "runtimes");
    if (flagArchitectures.length > 0)
      builtFor(architectures, manifest.architectures, "architectures");
  }
  const fromFlags = flagRuntimes.length > 0 || flagArchitectures.length > 0;
  const fromManifest = flagRuntimes.length === 0 || flagArchitectures.length === 0;
  return {
    runtimes: [...runtimes],
    architectures: [...architectures],
    source: fromFlags && fromManifest ? "manifest and flags" : fromFlags ? "flags" : "manifest",
    warnings,
  };
}

/** Refuses a layer over Lambda's unzipped limit before anything is uploaded. */
export function checkUnzippedSize(zip: Pick<LayerZipInfo, "path" | "unzippedSize">): void {
  if (zip.unzippedSize > UNZIPPED_LIMIT) {
    throw new PylayerError(
      "layer-too-large",
      `${zip.path} unzips to ${zip.unzippedSize.toLocaleString("en-US")} bytes; Lambda's limit for a function and all its layers is ${UNZIPPED_LIMIT.toLocaleString("en-US")} bytes (250 MiB)`,
      {
        hint: "Leave packages out (--exclude, --exclude-runtime-provided) or split the dependencies over several layers.",
      },
    );
  }
}

export type UploadRoute = "direct" | "s3";

/**
 * Zips up to `limit` (Lambda's 50 MiB; lowered only by tests, so that the S3 route is
 * exercised without 50 MiB zips) go in the request; larger ones need an S3 bucket.
 */
export function chooseUploadRoute(
  zip: Pick<LayerZipInfo, "path" | "size">,
  bucketSpecs: readonly string[],
  limit: number = DIRECT_UPLOAD_LIMIT,
): UploadRoute {
  if (zip.size <= limit) return "direct";
  if (bucketSpecs.length === 0) {
    throw new PylayerError(
      "publish-needs-s3-bucket",
      `${zip.path} is ${zip.size.toLocaleString("en-US")} bytes, over the ${limit.toLocaleString("en-US")} bytes${limit === DIRECT_UPLOAD_LIMIT ? " (50 MiB)" : ""} Lambda accepts in a request`,
      {
        hint: "Give --s3-bucket BUCKET (in the same region as the layer; --s3-bucket my-bucket-{region} or REGION=BUCKET for several regions). The zip is uploaded there first.",
        exitCode: 2,
      },
    );
  }
  return "s3";
}

/**
 * The bucket for `region`. Each spec is `BUCKET` (every region) or `REGION=BUCKET`;
 * `{region}` in a bucket name is replaced by the region. A region-specific spec wins.
 */
export function bucketForRegion(specs: readonly string[], region: string): string | undefined {
  let fallback: string | undefined;
  for (const spec of specs) {
    const equals = spec.indexOf("=");
    if (equals === -1) {
      fallback ??= spec;
    } else if (spec.slice(0, equals) === region) {
      return spec.slice(equals + 1).replaceAll("{region}", region);
    }
  }
  return fallback?.replaceAll("{region}", region);
}

/** Checks every bucket spec's shape; returns the specs unchanged. */
export function validateBucketSpecs(specs: readonly string[]): string[] {
  for (const spec of specs) {
    const bucket = spec.includes("=") ? spec.slice(spec.indexOf("=") + 1) : spec;
    const name = bucket.replaceAll("{region}", "us-east-1");
    if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name)) {
      throw usageError(
        `--s3-bucket ${spec}: "${bucket}" is not an S3 bucket name`,
        "Bucket names are 3–63 lowercase letters, digits, dots and hyphens. Use BUCKET, REGION=BUCKET, or a name containing {region}.",
      );
    }
  }
  return [...specs];
}

/**
 * The object key of an upload: content-addressed, so a key always holds the same bytes.
 * A prefix gets a `/` appended unless it ends with one.
 */
export function s3KeyFor(prefix: string | undefined, layerName: string, sha256: string): string {
  const folder =
    prefix === undefined || prefix === "" ? "" : prefix.endsWith("/") ? prefix : `${prefix}/`;
  return `${folder}${layerName}/${sha256}.zip`;
}

/** The facts about an existing layer version the skip decision compares. */
export interface ExistingVersion {
  version: number;
  layerVersionArn: string;
  codeSha256: string | undefined;
  runtimes: readonly string[];
  architectures: readonly string[];
  description?: string;
  license?: string;
}

export interface PublishDecision {
  action: "publish" | "skip";
  reason: string;
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a);
  const right = new Set(b);
  return left.size === right.size && [...left].every((value) => right.has(value));
}

/**
 * Skip when the newest version has the same CodeSha256 and the same runtimes and
 * architectures (order does not matter); `force` always publishes.
 */
export function decidePublish(
  latest: ExistingVersion | undefined,
  wanted: { codeSha256: string; runtimes: readonly string[]; architectures: readonly string[] },
  force: boolean,
): PublishDecision {
  if (force) return { action: "publish", reason: "--force" };
  if (latest === undefined) return { action: "publish", reason: "no version exists yet" };
  if (latest.codeSha256 !== wanted.codeSha256) {
    return {
      action: "publish",
      reason: `content changed since version ${latest.version} (CodeSha256 ${latest.codeSha256 ?? "unknown"} → ${wanted.codeSha256})`,
    };
  }
  if (!sameSet(latest.runtimes, wanted.runtimes)) {
    return {
      action: "publish",
      reason: `compatible runtimes changed since version ${latest.version} (${latest.runtimes.join(", ") || "none"} → ${wanted.runtimes.join(", ")})`,
    };
  }
  if (!sameSet(latest.architectures, wanted.architectures)) {
    return {
      action: "publish",
      reason: `compatible architectures changed since version ${latest.version} (${latest.architectures.join(", ") || "none"} → ${wanted.architectures.join(", ")})`,
    };
  }
  return {
    action: "skip",
    reason: `version ${latest.version} has the same CodeSha256 and compatibility`,
  };
}

/**
 * When nothing is published, the settings given that the existing version does not have
 * (layer versions are immutable, so they were not applied): a warning saying so and how
 * to get them, or undefined.
 */
export function unappliedSettings(
  latest: ExistingVersion,
  wanted: { description?: string | undefined; license?: string | undefined },
): string | undefined {
  const differing = [
    ...(wanted.description !== undefined && wanted.description !== (latest.description ?? "")
      ? [`--description "${wanted.description}"`]
      : []),
    ...(wanted.license !== undefined && wanted.license !== (latest.license ?? "")
      ? [`--license "${wanted.license}"`]
      : []),
  ];
  if (differing.length === 0) return undefined;
  return `nothing was published (version ${latest.version} has the same content), so ${differing.join(" and ")} ${differing.length === 1 ? "was" : "were"} not applied: layer versions cannot be changed; publish again with --force to make a new version with ${differing.length === 1 ? "it" : "them"}`;
}

export interface PermissionRequest {
  public?: boolean;
  organizationId?: string;
  accounts?: readonly string[];
}

/** One AddLayerVersionPermission call; the statement id is fixed per grantee, so repeats are detected. */
export interface PermissionStatement {
  statementId: string;
  principal: string;
  organizationId?: string;
}

export function permissionStatements(request: PermissionRequest): PermissionStatement[] {
  const accounts = [...new Set(request.accounts ?? [])];
  if (request.public === true && (request.organizationId !== undefined || accounts.length > 0)) {
    throw usageError(
      "--public grants every AWS account; --org and --account would add nothing",
      "Give either --public, or --org and/or --account.",
    );
  }
  const statements: PermissionStatement[] = [];
  if (request.public === true) statements.push({ statementId: "pylayer-public", principal: "*" });
  if (request.organizationId !== undefined) {
    const organizationId = validateOrganizationId(request.organizationId);
    statements.push({
      statementId: `pylayer-org-${organizationId}`,
      principal: "*",
      organizationId,
    });
  }
  for (const account of accounts) {
    statements.push({
      statementId: `pylayer-account-${validateAccountId(account)}`,
      principal: account,
    });
  }
  return statements;
}

export interface VersionSummary {
  version: number;
  layerVersionArn: string;
  createdDate?: string;
}

export interface PruneKept extends VersionSummary {
  reason: string;
  usedBy: string[];
}

export interface PruneDeleted extends VersionSummary {
  usedBy: string[];
}

export interface PrunePlan {
  keep: PruneKept[];
  delete: PruneDeleted[];
}

/**
 * Keeps the newest `keep` versions and, unless `includeUsed`, every version a function
 * still uses; the rest are deleted. Versions are ordered by number, newest first.
 * `usedBy` maps a layer version ARN to the functions (qualified names) using it.
 */
export function planPrune(
  versions: readonly VersionSummary[],
  usedBy: ReadonlyMap<string, readonly string[]>,
  keep: number,
  includeUsed: boolean,
): PrunePlan {
  if (!Number.isInteger(keep) || keep < 0) {
    throw usageError(`--keep ${keep} is not a whole number ≥ 0`, "E.g. --keep 3.");
  }
  const newestFirst = [...versions].sort((a, b) => b.version - a.version);
  const plan: PrunePlan = { keep: [], delete: [] };
  newestFirst.forEach((version, index) => {
    const users = [...(usedBy.get(version.layerVersionArn) ?? [])].sort();
    if (index < keep) {
      plan.keep.push({ ...version, reason: `one of the newest ${keep}`, usedBy: users });
    } else if (users.length > 0 && !includeUsed) {
      plan.keep.push({ ...version, reason: `used by ${users.join(", ")}`, usedBy: users });
    } else {
      plan.delete.push({ ...version, usedBy: users });
    }
  });
  return plan;
}

export interface FunctionFacts {
  functionName: string;
  runtime: string | undefined;
  architectures: readonly string[];
  packageType: string | undefined;
  layers: readonly string[];
}

export interface LayerVersionFacts {
  layerVersionArn: string;
  runtimes: readonly string[];
  architectures: readonly string[];
}

export interface AttachPlan {
  layers: string[];
  change: "added" | "replaced" | "unchanged";
  /** The version ARN that was replaced in place. */
  replaced?: string;
}

/**
 * The function's new layer list: an older (or newer) version of the same layer is
 * replaced at its position, otherwise the layer goes last; other layers keep their
 * order. Refuses an image function, a runtime or architecture outside the layer's
 * compatible ones (an empty list on the layer means no restriction), and more than
 * 5 layers.
 */
export function planAttach(fn: FunctionFacts, layer: LayerVersionFacts): AttachPlan {
  if (fn.packageType === "Image" || fn.runtime === undefined) {
    throw new PylayerError(
      "attach-image-function",
      `${fn.functionName} is a container-image function; Lambda does not add layers to those`,
      { hint: "Copy the layer's files into the image instead." },
    );
  }
  if (layer.runtimes.length > 0 && !layer.runtimes.includes(fn.runtime)) {
    throw new PylayerError(
      "attach-incompatible-runtime",
      `${fn.functionName} runs ${fn.runtime}, but ${layer.layerVersionArn} is compatible with ${layer.runtimes.join(", ")} only`,
      {
        hint: `Build and publish the layer for ${fn.runtime} (pylayer build … --runtime ${fn.runtime} --publish NAME), or attach a version built for it.`,
      },
    );
  }
  const functionArchitectures = fn.architectures.length > 0 ? fn.architectures : ["x86_64"];
  const unsupported = functionArchitectures.filter(
    (architecture) => layer.architectures.length > 0 && !layer.architectures.includes(architecture),
  );
  if (unsupported.length > 0) {
    throw new PylayerError(
      "attach-incompatible-architecture",
      `${fn.functionName} runs on ${unsupported.join(", ")}, but ${layer.layerVersionArn} is compatible with ${layer.architectures.join(", ")} only`,
      {
        hint: `Build and publish the layer for ${unsupported.join(", ")} (--arch ${unsupported[0]}), or attach a version built for it.`,
      },
    );
  }
  const layerArn = layerArnOf(layer.layerVersionArn);
  const position = fn.layers.findIndex((arn) => layerArnOf(arn) === layerArn);
  if (position === -1) {
    const layers = [...fn.layers, layer.layerVersionArn];
    if (layers.length > MAX_LAYERS_PER_FUNCTION) {
      throw new PylayerError(
        "attach-too-many-layers",
        `${fn.functionName} already has ${fn.layers.length} layers; adding ${layer.layerVersionArn} would exceed Lambda's limit of ${MAX_LAYERS_PER_FUNCTION}`,
        {
          hint: "Merge dependencies into fewer layers (one pylayer build can hold them all), or remove a layer from the function.",
        },
      );
    }
    return { layers, change: "added" };
  }
  const current = fn.layers[position]!;
  // Any further copy of the same layer is dropped: Lambda refuses two versions of one layer.
  const layers = fn.layers
    .map((arn, index) => (index === position ? layer.layerVersionArn : arn))
    .filter((arn, index) => index === position || layerArnOf(arn) !== layerArn);
  if (current === layer.layerVersionArn && layers.length === fn.layers.length) {
    return { layers, change: "unchanged" };
  }
  return { layers, change: "replaced", replaced: current };
}
