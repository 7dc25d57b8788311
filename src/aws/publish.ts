/**
 * `publishLayer`: publish one layer zip to one or more regions, idempotently.
 *
 * Everything that can be checked locally is checked before any call (name,
 * description, license, permissions, sizes, compatibility, bucket for large zips).
 * Then every region runs concurrently and independently: newest version's CodeSha256
 * and compatibility compared (skip when equal), the zip sent in the request or
 * uploaded to that region's bucket, the version published, permissions granted. One
 * region failing leaves the others' results intact.
 */
import { readFile } from "node:fs/promises";
import type {
  Architecture as LambdaArchitecture,
  LambdaClient,
  ListLayerVersionsCommandOutput,
  Runtime,
} from "@aws-sdk/client-lambda";
import { type PylayerError, usageError } from "../errors.js";
import {
  type AwsEvent,
  type AwsOptions,
  awsErrorCode,
  awsFailure,
  callAws,
  createLambdaClient,
  createS3Client,
  resolveRegions,
} from "./clients.js";
import {
  bucketForRegion,
  checkUnzippedSize,
  chooseUploadRoute,
  DIRECT_UPLOAD_LIMIT,
  decidePublish,
  type ExistingVersion,
  type PermissionStatement,
  permissionStatements,
  resolveCompatibility,
  s3KeyFor,
  type UploadRoute,
  unappliedSettings,
  validateBucketSpecs,
} from "./decisions.js";
import { mapAwsError } from "./errors.js";
import {
  type LayerReference,
  parseLayerReference,
  validateDescription,
  validateLicense,
} from "./validate.js";
import { inspectLayerZip, type LayerZipInfo } from "./zip-info.js";

export interface PublishOptions {
  zipPath: string;
  /** Layer name or layer ARN. */
  name: string;
  /** Default: the layer ARN's region, else the configured default region. */
  regions?: string[];
  description?: string;
  /** SPDX identifier or URL (LicenseInfo, ≤ 512 characters). */
  license?: string;
  /** Compatible runtimes; default from the zip's manifest. */
  runtimes?: string[];
  /** Compatible architectures; default from the zip's manifest. */
  architectures?: string[];
  /** `BUCKET`, `REGION=BUCKET`, `{region}` placeholders; needed for zips over 50 MiB. */
  s3Buckets?: string[];
  s3Prefix?: string;
  /** Delete the uploaded object once the version is published (or publishing failed). */
  s3Cleanup?: boolean;
  public?: boolean;
  organizationId?: string;
  accounts?: string[];
  /** Publish even when the newest version is identical. */
  force?: boolean;
  /**
   * Largest zip sent in the request itself; larger ones go through `s3Buckets`. Default
   * and maximum: Lambda's limit (DIRECT_UPLOAD_LIMIT, 50 MiB). Tests lower it.
   */
  directUploadLimit?: number;
  aws?: AwsOptions;
  onEvent?: (event: AwsEvent) => void;
}

export interface GrantedPermission extends PermissionStatement {
  status: "added" | "existing";
}

export interface PublishRegionResult {
  region: string;
  status: "published" | "unchanged" | "failed";
  /** Why it was published or skipped. */
  reason: string;
  layerArn?: string;
  layerVersionArn?: string;
  version?: number;
  codeSha256?: string;
  codeSize?: number;
  upload?: UploadRoute;
  s3?: { bucket: string; key: string; deleted: boolean };
  permissions: GrantedPermission[];
  error?: PylayerError;
}

export interface PublishResult {
  /** The layer name or ARN as given. */
  name: string;
  zip: Omit<LayerZipInfo, "manifest">;
  runtimes: string[];
  architectures: string[];
  warnings: string[];
  regions: PublishRegionResult[];
  /** False when any region failed. */
  ok: boolean;
}

/** Options checked without touching AWS; thrown errors name the flag. */
export interface ValidatedPublishInputs {
  layer: LayerReference;
  statements: PermissionStatement[];
  bucketSpecs: string[];
}

/** Checks the inputs that need neither the zip nor AWS (used by `build --publish` before building). */
export function validatePublishInputs(
  options: Pick<
    PublishOptions,
    "name" | "description" | "license" | "public" | "organizationId" | "accounts" | "s3Buckets"
  >,
): ValidatedPublishInputs {
  const layer = parseLayerReference(options.name, false);
  validateDescription(options.description);
  validateLicense(options.license);
  const statements = permissionStatements({
    ...(options.public === undefined ? {} : { public: options.public }),
    ...(options.organizationId === undefined ? {} : { organizationId: options.organizationId }),
    ...(options.accounts === undefined ? {} : { accounts: options.accounts }),
  });
  return { layer, statements, bucketSpecs: validateBucketSpecs(options.s3Buckets ?? []) };
}

export async function publishLayer(options: PublishOptions): Promise<PublishResult> {
  const aws = options.aws ?? {};
  const emit = options.onEvent ?? (() => {});
  const { layer, statements, bucketSpecs } = validatePublishInputs(options);
  const zip = await inspectLayerZip(options.zipPath);
  const compatibility = resolveCompatibility(
    zip.manifest,
    {
      ...(options.runtimes === undefined ? {} : { runtimes: options.runtimes }),
      ...(options.architectures === undefined ? {} : { architectures: options.architectures }),
    },
    options.zipPath,
  );
  checkUnzippedSize(zip);
  const route = chooseUploadRoute(
    zip,
    bucketSpecs,
    Math.min(options.directUploadLimit ?? DIRECT_UPLOAD_LIMIT, DIRECT_UPLOAD_LIMIT),
  );
  const requested =
    options.regions !== undefined && options.regions.length > 0
      ? options.regions
      : layer.arn === undefined
        ? undefined
        : [layer.arn.region];
  const regions = await resolveRegions(requested, aws);
  if (layer.arn !== undefined && regions.some((region) => region !== layer.arn?.region)) {
    throw usageError(
      `${options.name} is a layer in ${layer.arn.region}; it cannot be published to ${regions.filter((region) => region !== layer.arn?.region).join(", ")}`,
      "Give the layer's name instead of its ARN to publish to several regions.",
    );
  }
  if (route === "s3") {
    for (const region of regions) {
      if (bucketForRegion(bucketSpecs, region) === undefined) {
        throw usageError(
          `no --s3-bucket applies to ${region}`,
          `Add --s3-bucket ${region}=BUCKET, or a bucket for every region (a name with {region} in it).`,
        );
      }
    }
  }
  const zipBytes = route === "direct" ? await readFile(options.zipPath) : undefined;
  const { manifest: _manifest, ...zipFacts } = zip;
  const context: RegionContext = {
    options,
    aws,
    emit,
    layer,
    statements,
    bucketSpecs,
    zip,
    zipBytes,
    route,
    runtimes: compatibility.runtimes,
    architectures: compatibility.architectures,
  };
  const results = await Promise.all(regions.map((region) => publishInRegion(region, context)));
  return {
    name: options.name,
    zip: zipFacts,
    runtimes: compatibility.runtimes,
    architectures: compatibility.architectures,
    warnings: compatibility.warnings,
    regions: results,
    ok: results.every((result) => result.status !== "failed"),
  };
}

interface RegionContext {
  options: PublishOptions;
  aws: AwsOptions;
  emit: (event: AwsEvent) => void;
  layer: LayerReference;
  statements: PermissionStatement[];
  bucketSpecs: string[];
  zip: LayerZipInfo;
  zipBytes: Buffer | undefined;
  route: UploadRoute;
  runtimes: string[];
  architectures: string[];
}

async function publishInRegion(
  region: string,
  context: RegionContext,
): Promise<PublishRegionResult> {
  const { aws, emit, layer } = context;
  const permissions: GrantedPermission[] = [];
  let s3: PublishRegionResult["s3"];
  let lambda: LambdaClient | undefined;
  try {
    lambda = await createLambdaClient(region, aws);
    const sdk = await import("@aws-sdk/client-lambda");
    const client = lambda;
    const latest =
      context.options.force === true
        ? undefined
        : await newestVersion(client, sdk, layer.layerName, region, aws);
    const decision = decidePublish(
      latest,
      {
        codeSha256: context.zip.codeSha256,
        runtimes: context.runtimes,
        architectures: context.architectures,
      },
      context.options.force === true,
    );
    emit({ type: "detail", message: `${region}: ${decision.action} — ${decision.reason}` });
    if (decision.action === "skip" && latest !== undefined) {
      const unapplied = unappliedSettings(latest, context.options);
      if (unapplied !== undefined) emit({ type: "warning", message: `${region}: ${unapplied}` });
      await grantPermissions(client, sdk, latest.version, region, context, permissions);
      return {
        region,
        status: "unchanged",
        reason: decision.reason,
        layerArn: latest.layerVersionArn.replace(/:\d+$/, ""),
        layerVersionArn: latest.layerVersionArn,
        version: latest.version,
        codeSha256: context.zip.codeSha256,
        permissions,
      };
    }
    let content: { ZipFile: Uint8Array } | { S3Bucket: string; S3Key: string };
    if (context.route === "direct") {
      content = { ZipFile: context.zipBytes! };
    } else {
      const bucket = bucketForRegion(context.bucketSpecs, region)!;
      const key = s3KeyFor(context.options.s3Prefix, layer.name, context.zip.sha256);
      emit({ type: "progress", message: `${region}: uploading to s3://${bucket}/${key}` });
      await uploadToS3(bucket, key, region, context);
      s3 = { bucket, key, deleted: false };
      content = { S3Bucket: bucket, S3Key: key };
    }
    emit({ type: "progress", message: `${region}: publishing ${layer.name}` });
    const published = await callAws(
      "lambda:PublishLayerVersion",
      region,
      aws,
      () =>
        client.send(
          new sdk.PublishLayerVersionCommand({
            LayerName: layer.layerName,
            Content: content,
            CompatibleRuntimes: context.runtimes as Runtime[],
            CompatibleArchitectures: context.architectures as LambdaArchitecture[],
            ...(context.options.description === undefined
              ? {}
              : { Description: context.options.description }),
            ...(context.options.license === undefined
              ? {}
              : { LicenseInfo: context.options.license }),
          }),
        ),
      s3 === undefined ? layer.name : `${layer.name} from s3://${s3.bucket}/${s3.key}`,
    );
    const version = published.Version!;
    await grantPermissions(client, sdk, version, region, context, permissions);
    return {
      region,
      status: "published",
      reason: decision.reason,
      ...(published.LayerArn === undefined ? {} : { layerArn: published.LayerArn }),
      ...(published.LayerVersionArn === undefined
        ? {}
        : { layerVersionArn: published.LayerVersionArn }),
      version,
      ...(published.Content?.CodeSha256 === undefined
        ? {}
        : { codeSha256: published.Content.CodeSha256 }),
      ...(published.Content?.CodeSize === undefined
        ? {}
        : { codeSize: published.Content.CodeSize }),
      upload: context.route,
      ...(s3 === undefined ? {} : { s3 }),
      permissions,
    };
  } catch (error) {
    const mapped = mapAwsError(error, { permission: "publish", region });
    return {
      region,
      status: "failed",
      reason: mapped.message,
      upload: context.route,
      ...(s3 === undefined ? {} : { s3 }),
      permissions,
      error: mapped,
    };
  } finally {
    lambda?.destroy();
    // `s3` is the object inside the returned result, so its `deleted` flag reaches the caller.
    if (s3 !== undefined && context.options.s3Cleanup === true) {
      s3.deleted = await deleteObject(s3.bucket, s3.key, region, context);
    }
  }
}

type LambdaSdk = typeof import("@aws-sdk/client-lambda");

/** The newest version of the layer in the region with its CodeSha256, or undefined when it has none. */
async function newestVersion(
  client: LambdaClient,
  sdk: LambdaSdk,
  layerName: string,
  region: string,
  aws: AwsOptions,
): Promise<ExistingVersion | undefined> {
  let listed: ListLayerVersionsCommandOutput;
  try {
    listed = await client.send(
      new sdk.ListLayerVersionsCommand({ LayerName: layerName, MaxItems: 1 }),
    );
  } catch (error) {
    if (awsErrorCode(error) === "ResourceNotFoundException") return undefined;
    throw awsFailure(
      error,
      "lambda:ListLayerVersions",
      region,
      aws,
      `${layerName}; --force publishes without this check`,
    );
  }
  const newest = listed.LayerVersions?.[0];
  if (newest?.Version === undefined) return undefined;
  const version = newest.Version;
  // ListLayerVersions does not return CodeSha256; GetLayerVersion does.
  const details = await callAws(
    "lambda:GetLayerVersion",
    region,
    aws,
    () =>
      client.send(new sdk.GetLayerVersionCommand({ LayerName: layerName, VersionNumber: version })),
    `${layerName}:${version}; --force publishes without this check`,
  );
  return {
    version,
    layerVersionArn: details.LayerVersionArn ?? "",
    codeSha256: details.Content?.CodeSha256,
    runtimes: details.CompatibleRuntimes ?? [],
    architectures: details.CompatibleArchitectures ?? [],
    ...(details.Description === undefined ? {} : { description: details.Description }),
    ...(details.LicenseInfo === undefined ? {} : { license: details.LicenseInfo }),
  };
}

/**
 * Adds each requested statement unless the version's policy already has its statement
 * id (AWS would answer ResourceConflictException; moto would add a duplicate).
 */
async function grantPermissions(
  client: LambdaClient,
  sdk: LambdaSdk,
  version: number,
  region: string,
  context: RegionContext,
  granted: GrantedPermission[],
): Promise<void> {
  if (context.statements.length === 0) return;
  const resource = `${context.layer.name}:${version}`;
  const existing = await existingStatementIds(client, sdk, version, region, context, resource);
  for (const statement of context.statements) {
    if (existing.has(statement.statementId)) {
      granted.push({ ...statement, status: "existing" });
      continue;
    }
    try {
      await client.send(
        new sdk.AddLayerVersionPermissionCommand({
          LayerName: context.layer.layerName,
          VersionNumber: version,
          StatementId: statement.statementId,
          Action: "lambda:GetLayerVersion",
          Principal: statement.principal,
          ...(statement.organizationId === undefined
            ? {}
            : { OrganizationId: statement.organizationId }),
        }),
      );
      granted.push({ ...statement, status: "added" });
    } catch (error) {
      if (awsErrorCode(error) === "ResourceConflictException") {
        granted.push({ ...statement, status: "existing" });
        continue;
      }
      throw awsFailure(error, "lambda:AddLayerVersionPermission", region, context.aws, resource);
    }
  }
}

async function existingStatementIds(
  client: LambdaClient,
  sdk: LambdaSdk,
  version: number,
  region: string,
  context: RegionContext,
  resource: string,
): Promise<Set<string>> {
  try {
    const response = await client.send(
      new sdk.GetLayerVersionPolicyCommand({
        LayerName: context.layer.layerName,
        VersionNumber: version,
      }),
    );
    const policy = JSON.parse(response.Policy ?? "{}") as { Statement?: { Sid?: string }[] };
    return new Set((policy.Statement ?? []).flatMap((statement) => statement.Sid ?? []));
  } catch (error) {
    // A version without any permission has no policy.
    if (awsErrorCode(error) === "ResourceNotFoundException") return new Set();
    throw awsFailure(error, "lambda:GetLayerVersionPolicy", region, context.aws, resource);
  }
}

/** Size of each part of a multipart upload; lib-storage sends a single PUT below it. */
const PART_SIZE = 16 * 1024 * 1024;

async function uploadToS3(
  bucket: string,
  key: string,
  region: string,
  context: RegionContext,
): Promise<void> {
  const [{ Upload }, { createReadStream }] = await Promise.all([
    import("@aws-sdk/lib-storage"),
    import("node:fs"),
  ]);
  const client = await createS3Client(region, context.aws);
  try {
    await callAws(
      "s3:PutObject",
      region,
      context.aws,
      async () => {
        const upload = new Upload({
          client,
          params: {
            Bucket: bucket,
            Key: key,
            Body: createReadStream(context.zip.path),
            ContentType: "application/zip",
          },
          partSize: PART_SIZE,
          queueSize: 4,
          leavePartsOnError: false,
        });
        upload.on("httpUploadProgress", (progress) => {
          if (progress.loaded !== undefined) {
            const percent = Math.floor((progress.loaded / context.zip.size) * 100);
            context.emit({
              type: "progress",
              message: `${region}: uploading to s3://${bucket}/${key} ${percent}%`,
            });
          }
        });
        await upload.done();
      },
      `s3://${bucket}/${key}`,
    );
  } finally {
    client.destroy();
  }
}

/** Deletes an uploaded object; a failure is reported as a warning, never hides the publish result. */
async function deleteObject(
  bucket: string,
  key: string,
  region: string,
  context: RegionContext,
): Promise<boolean> {
  const { DeleteObjectCommand } = await import("@aws-sdk/client-s3");
  const client = await createS3Client(region, context.aws);
  try {
    await callAws(
      "s3:DeleteObject",
      region,
      context.aws,
      () => client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key })),
      `s3://${bucket}/${key}`,
    );
    return true;
  } catch (error) {
    context.emit({
      type: "warning",
      message: `${region}: could not delete s3://${bucket}/${key}: ${(error as Error).message}`,
    });
    return false;
  } finally {
    client.destroy();
  }
}
