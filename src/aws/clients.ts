/**
 * Region, endpoint and credential settings for the AWS SDK clients, resolved the way
 * the AWS CLI resolves them, and the clients themselves (SDK modules load lazily, so
 * importing pylayer costs nothing until an AWS command runs).
 *
 * Endpoints (AWS CLI v2, "Service-specific endpoints"): `--endpoint-url` first; then,
 * unless AWS_IGNORE_CONFIGURED_ENDPOINT_URLS is true, `AWS_ENDPOINT_URL_<SERVICE>`
 * (`AWS_ENDPOINT_URL_LAMBDA`, `AWS_ENDPOINT_URL_S3`), then `AWS_ENDPOINT_URL`; then the
 * profile's `services` section and `endpoint_url`, which the SDK reads from the shared
 * config files itself (its order for the environment variables is the same).
 *
 * Regions: `--region` (repeatable); else AWS_REGION, then AWS_DEFAULT_REGION (the AWS
 * CLI's variable, which the JavaScript SDK alone does not read), then the profile's
 * `region` as the SDK loads it.
 *
 * Credentials: explicit ones; else, with no profile chosen, AWS_ACCESS_KEY_ID and
 * AWS_SECRET_ACCESS_KEY from `env`; else the SDK's default chain (profile, SSO,
 * credential_process, web identity, container and instance roles). Like the SDK and
 * the AWS CLI, a chosen profile wins over static keys in the environment.
 */
import type { LambdaClient, LambdaClientConfig } from "@aws-sdk/client-lambda";
import type { S3Client, S3ClientConfig } from "@aws-sdk/client-s3";
import type { PylayerError } from "../errors.js";
import { mapAwsError, regionMissingError } from "./errors.js";
import { validateRegion } from "./validate.js";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

/** How to reach AWS; every field is optional and falls back as the AWS CLI does. */
export interface AwsOptions {
  /** Named profile from ~/.aws/config (default: AWS_PROFILE, then "default"). */
  profile?: string;
  /** Overrides every service's endpoint (like `--endpoint-url`). */
  endpointUrl?: string;
  /** Environment to read AWS_* settings from (default process.env). */
  env?: NodeJS.ProcessEnv;
  credentials?: AwsCredentials;
  /** Total attempts per call, retries included (default: AWS_MAX_ATTEMPTS, else the SDK's 3). */
  maxAttempts?: number;
}

export type AwsService = "lambda" | "s3" | "dynamodb" | "sfn" | "codeartifact";

function isTrue(value: string | undefined): boolean {
  return value !== undefined && value.trim().toLowerCase() === "true";
}

/** The endpoint override for `service`, or undefined to let the SDK pick (config file, then AWS). */
export function resolveEndpoint(service: AwsService, options: AwsOptions = {}): string | undefined {
  if (options.endpointUrl !== undefined && options.endpointUrl !== "") return options.endpointUrl;
  const env = options.env ?? process.env;
  if (isTrue(env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS)) return undefined;
  const serviceSpecific = env[`AWS_ENDPOINT_URL_${service.toUpperCase()}`];
  if (serviceSpecific !== undefined && serviceSpecific !== "") return serviceSpecific;
  const general = env.AWS_ENDPOINT_URL;
  if (general !== undefined && general !== "") return general;
  return undefined;
}

export function resolveProfile(options: AwsOptions = {}): string | undefined {
  const env = options.env ?? process.env;
  const profile = options.profile ?? env.AWS_PROFILE;
  return profile === undefined || profile === "" ? undefined : profile;
}

function staticCredentials(options: AwsOptions): AwsCredentials | undefined {
  if (options.credentials !== undefined) return options.credentials;
  if (resolveProfile(options) !== undefined) return undefined;
  const env = options.env ?? process.env;
  const accessKeyId = env.AWS_ACCESS_KEY_ID;
  const secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
  if (!accessKeyId || !secretAccessKey) return undefined;
  const sessionToken = env.AWS_SESSION_TOKEN;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}

function maxAttempts(options: AwsOptions): number | undefined {
  if (options.maxAttempts !== undefined) return options.maxAttempts;
  const value = Number((options.env ?? process.env).AWS_MAX_ATTEMPTS);
  return Number.isInteger(value) && value > 0 ? value : undefined;
}

export function commonConfig(service: AwsService, region: string, options: AwsOptions) {
  const endpoint = resolveEndpoint(service, options);
  const profile = resolveProfile(options);
  const credentials = staticCredentials(options);
  const attempts = maxAttempts(options);
  return {
    region,
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(profile === undefined ? {} : { profile }),
    ...(credentials === undefined ? {} : { credentials }),
    ...(attempts === undefined ? {} : { maxAttempts: attempts }),
  };
}

export async function createLambdaClient(
  region: string,
  options: AwsOptions = {},
): Promise<LambdaClient> {
  const { LambdaClient } = await import("@aws-sdk/client-lambda");
  const config: LambdaClientConfig = commonConfig("lambda", region, options);
  return new LambdaClient(config);
}

/** A DynamoDB client (endpoint override: AWS_ENDPOINT_URL_DYNAMODB, then AWS_ENDPOINT_URL). */
export async function createDynamoClient(
  region: string,
  options: AwsOptions = {},
): Promise<import("@aws-sdk/client-dynamodb").DynamoDBClient> {
  const { DynamoDBClient } = await import("@aws-sdk/client-dynamodb");
  return new DynamoDBClient(commonConfig("dynamodb", region, options));
}

/** A Step Functions client (endpoint override: AWS_ENDPOINT_URL_SFN, then AWS_ENDPOINT_URL). */
export async function createSfnClient(
  region: string,
  options: AwsOptions = {},
): Promise<import("@aws-sdk/client-sfn").SFNClient> {
  const { SFNClient } = await import("@aws-sdk/client-sfn");
  return new SFNClient(commonConfig("sfn", region, options));
}

export async function createS3Client(region: string, options: AwsOptions = {}): Promise<S3Client> {
  const { S3Client } = await import("@aws-sdk/client-s3");
  const base = commonConfig("s3", region, options);
  const config: S3ClientConfig = {
    ...base,
    // A custom endpoint (moto, LocalStack, MinIO, an IP address) rarely resolves
    // bucket subdomains; path-style addressing works everywhere.
    ...(base.endpoint === undefined ? {} : { forcePathStyle: true }),
  };
  return new S3Client(config);
}

/**
 * The regions to work in: the given ones (checked, without duplicates, in order), else
 * the configured default region.
 */
export async function resolveRegions(
  requested: readonly string[] | undefined,
  options: AwsOptions = {},
): Promise<string[]> {
  if (requested !== undefined && requested.length > 0) {
    return [...new Set(requested.map(validateRegion))];
  }
  return [await defaultRegion(options)];
}

export async function defaultRegion(options: AwsOptions = {}): Promise<string> {
  const env = options.env ?? process.env;
  for (const name of ["AWS_REGION", "AWS_DEFAULT_REGION"] as const) {
    const value = env[name];
    if (value !== undefined && value !== "") return validateRegion(value);
  }
  // The profile's region, loaded by the SDK from the shared config files.
  const { LambdaClient } = await import("@aws-sdk/client-lambda");
  const profile = resolveProfile(options);
  const client = new LambdaClient(profile === undefined ? {} : { profile });
  try {
    const region = await client.config.region();
    if (typeof region !== "string" || region === "") throw regionMissingError();
    return validateRegion(region);
  } catch (error) {
    if (error instanceof Error && /Region is missing/i.test(error.message)) {
      throw regionMissingError(error);
    }
    throw error;
  } finally {
    client.destroy();
  }
}

/**
 * Runs one SDK call, turning its failure into a PylayerError that names `permission`
 * (the IAM action) and the region.
 */
export async function callAws<T>(
  permission: string,
  region: string,
  options: AwsOptions,
  call: () => Promise<T>,
  resource?: string,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw awsFailure(error, permission, region, options, resource);
  }
}

/** The PylayerError for a failed SDK call (see `mapAwsError`), with the profile in use for hints. */
export function awsFailure(
  error: unknown,
  permission: string,
  region: string,
  options: AwsOptions,
  resource?: string,
): PylayerError {
  const profile = resolveProfile(options);
  return mapAwsError(error, {
    permission,
    region,
    ...(resource === undefined ? {} : { resource }),
    ...(profile === undefined ? {} : { profile }),
  });
}

/** The AWS error code of an SDK error (its `name`), for the few codes handled rather than reported. */
export function awsErrorCode(error: unknown): string | undefined {
  return typeof error === "object" && error !== null
    ? (error as { name?: string }).name
    : undefined;
}

/** Runs `work` on every item with at most `limit` in flight; results keep the input order. */
export async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!, index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** What the AWS operations report while they run (the CLI shows it as progress). */
export interface AwsEvent {
  type: "progress" | "detail" | "warning";
  message: string;
}
