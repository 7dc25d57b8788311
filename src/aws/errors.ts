/**
 * Turns what the AWS SDK throws into PylayerErrors with a stable code and a hint.
 *
 * The SDK's service errors carry the AWS error code as `name` and the HTTP response in
 * `$metadata`/`$response`; credential-chain errors are `CredentialsProviderError` or
 * `TokenProviderError`. The caller names the IAM action it was performing, so an access
 * denial can say which permission is missing (AWS's own message does not always).
 */
import { isPylayerError, PylayerError } from "../errors.js";

export interface AwsCallContext {
  /** The IAM action of the call, e.g. `lambda:PublishLayerVersion`. */
  permission: string;
  region: string;
  /** What the call was about, e.g. a layer or bucket name, for the message. */
  resource?: string;
  /** The profile in use, for credential hints. */
  profile?: string;
}

interface SdkErrorShape {
  name?: string;
  message?: string;
  code?: string;
  Code?: string;
  Region?: string;
  $metadata?: { httpStatusCode?: number; attempts?: number };
  $response?: { statusCode?: number; headers?: Record<string, string | undefined> };
}

const THROTTLING_CODES = new Set([
  "TooManyRequestsException",
  "ThrottlingException",
  "Throttling",
  "ThrottledException",
  "SlowDown",
  "RequestLimitExceeded",
  "RequestThrottled",
  "RequestThrottledException",
  "ProvisionedThroughputExceededException",
  "EC2ThrottledException",
]);

const EXPIRED_CREDENTIAL_CODES = new Set(["ExpiredTokenException", "ExpiredToken"]);
const INVALID_CREDENTIAL_CODES = new Set([
  "UnrecognizedClientException",
  "InvalidClientTokenId",
  "InvalidAccessKeyId",
  "SignatureDoesNotMatch",
  "InvalidSignatureException",
  "IncompleteSignature",
]);
const ACCESS_DENIED_CODES = new Set(["AccessDeniedException", "AccessDenied", "Forbidden"]);
const WRONG_REGION_CODES = new Set([
  "PermanentRedirect",
  "AuthorizationHeaderMalformed",
  "IllegalLocationConstraintException",
]);
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "TimeoutError",
  "RequestTimeout",
]);

/** The IAM permissions of an operation are documented per command in the README's "Publish" section. */
const POLICY_HINT = "The README's Publish section lists the IAM policy each pylayer command needs.";

function credentialSourceHint(profile: string | undefined): string {
  return profile === undefined
    ? "Set AWS_PROFILE (or --profile) to a configured profile, export AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run on a host with an instance/task role. `aws configure list` shows what the AWS CLI would use."
    : `Check the profile "${profile}" in ~/.aws/config and ~/.aws/credentials (\`aws configure list --profile ${profile}\`).`;
}

function ssoHint(profile: string | undefined): string {
  return `Run \`aws sso login${profile === undefined ? "" : ` --profile ${profile}`}\` and try again.`;
}

/** The region a wrong-region S3 error names, when it names one. */
function bucketRegionOf(error: SdkErrorShape): string | undefined {
  const header = error.$response?.headers?.["x-amz-bucket-region"];
  if (header !== undefined && header !== "") return header;
  if (error.Region !== undefined && error.Region !== "") return error.Region;
  const message = error.message ?? "";
  return (
    /expecting '([a-z0-9-]+)'/.exec(message)?.[1] ??
    /bucket is in this region: ([a-z0-9-]+)/i.exec(message)?.[1]
  );
}

/** True for an error meaning "this S3 bucket lives in another region" (from S3 or relayed by Lambda). */
export function isWrongRegionError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const shape = error as SdkErrorShape;
  const code = shape.name ?? shape.Code ?? "";
  const message = shape.message ?? "";
  if (WRONG_REGION_CODES.has(code)) return true;
  if (shape.$metadata?.httpStatusCode === 301) return true;
  return /PermanentRedirect|bucket is in this region|AuthorizationHeaderMalformed/.test(message);
}

export function mapAwsError(error: unknown, context: AwsCallContext): PylayerError {
  if (isPylayerError(error)) return error;
  const shape: SdkErrorShape =
    typeof error === "object" && error !== null ? (error as SdkErrorShape) : {};
  const name = shape.name ?? "Error";
  const code = shape.Code ?? shape.code ?? name;
  const message = (shape.message ?? String(error)).trim();
  const status = shape.$metadata?.httpStatusCode ?? shape.$response?.statusCode;
  const where = `in ${context.region}`;
  const about = context.resource === undefined ? "" : ` (${context.resource})`;
  const options = (hint: string) => ({ hint, cause: error });

  if (name === "CredentialsProviderError" || name === "TokenProviderError") {
    if (/SSO session .*expired|Token is expired|session has expired|sso.*expired/i.test(message)) {
      return new PylayerError(
        "aws-sso-expired",
        `the AWS SSO session has expired: ${message}`,
        options(ssoHint(context.profile)),
      );
    }
    return new PylayerError(
      "aws-no-credentials",
      `no AWS credentials found${context.profile === undefined ? "" : ` for profile "${context.profile}"`}: ${message}`,
      options(credentialSourceHint(context.profile)),
    );
  }
  if (name === "Error" && /Region is missing/i.test(message)) {
    return regionMissingError(error);
  }
  if (EXPIRED_CREDENTIAL_CODES.has(code)) {
    return new PylayerError(
      "aws-credentials-expired",
      `the AWS credentials have expired (${code} from ${context.permission} ${where})`,
      options(
        `Refresh them: ${ssoHint(context.profile).replace(/^Run/, "run")}, or renew the session token you exported.`,
      ),
    );
  }
  if (INVALID_CREDENTIAL_CODES.has(code)) {
    return new PylayerError(
      "aws-credentials-invalid",
      `AWS rejected the credentials (${code} from ${context.permission} ${where}): ${message}`,
      options(
        `Check the access key and secret, or the endpoint if you use --endpoint-url. ${credentialSourceHint(context.profile)}`,
      ),
    );
  }
  if (isWrongRegionError(error)) {
    const bucketRegion = bucketRegionOf(shape);
    return new PylayerError(
      "s3-bucket-wrong-region",
      `the S3 bucket${about} is ${bucketRegion === undefined ? "in another region" : `in ${bucketRegion}`}, not ${context.region} (${context.permission})`,
      options(
        `Lambda reads layer code only from a bucket in the layer's own region. Give one bucket per region: --s3-bucket ${context.region}=BUCKET, or a name with {region} in it such as --s3-bucket my-layers-{region}.`,
      ),
    );
  }
  if (ACCESS_DENIED_CODES.has(code) || (status === 403 && !THROTTLING_CODES.has(code))) {
    return new PylayerError(
      "aws-access-denied",
      `access denied: ${context.permission}${about} ${where} is not allowed for these credentials${message === "" ? "" : ` — ${message}`}`,
      options(`Grant ${context.permission} to the identity in use. ${POLICY_HINT}`),
    );
  }
  if (THROTTLING_CODES.has(code) || status === 429) {
    const attempts = shape.$metadata?.attempts;
    return new PylayerError(
      "aws-throttled",
      `AWS throttled ${context.permission} ${where}${attempts === undefined ? "" : ` after ${attempts} attempts`} (${code})`,
      options(
        "Wait a moment and run the command again; publish to fewer regions at once, or raise the SDK's retries with AWS_MAX_ATTEMPTS=10 and AWS_RETRY_MODE=adaptive.",
      ),
    );
  }
  if (code === "RequestEntityTooLargeException" || status === 413) {
    return new PylayerError(
      "aws-request-too-large",
      `the request of ${context.permission} ${where} was too large for Lambda${about}`,
      options("Upload through S3 with --s3-bucket (zips over 50 MiB must go through S3)."),
    );
  }
  if (code === "CodeStorageExceededException") {
    return new PylayerError(
      "aws-code-storage-exceeded",
      `Lambda's code storage ${where} is full (${context.permission})`,
      options(
        "Delete old layer versions, e.g. `pylayer layers prune NAME --keep 3`, or ask AWS for a higher quota.",
      ),
    );
  }
  if (
    code === "ResourceNotFoundException" ||
    code === "NoSuchBucket" ||
    code === "NoSuchKey" ||
    code === "NotFound"
  ) {
    return new PylayerError(
      "aws-not-found",
      `${context.permission}${about} ${where}: not found${message === "" || message === code ? "" : ` — ${message}`}`,
      options("Check the name and the region (--region)."),
    );
  }
  if (code === "ResourceConflictException" || code === "PreconditionFailedException") {
    return new PylayerError(
      "aws-conflict",
      `${context.permission}${about} ${where} conflicts with a change in progress: ${message}`,
      options(
        "Another update is running or just ran; wait a few seconds and run the command again.",
      ),
    );
  }
  if (code === "InvalidParameterValueException" || code === "ValidationException") {
    return new PylayerError(
      "aws-invalid-parameter",
      `${context.permission}${about} ${where} was refused: ${message}`,
      options("Check the values given; the message above is AWS's."),
    );
  }
  if (NETWORK_CODES.has(code) || NETWORK_CODES.has(shape.code ?? "")) {
    return new PylayerError(
      "aws-network",
      `could not reach AWS for ${context.permission} ${where}: ${message}`,
      options(
        "Check the network, proxy settings and --endpoint-url / AWS_ENDPOINT_URL if you set one.",
      ),
    );
  }
  return new PylayerError(
    "aws-error",
    `${context.permission}${about} ${where} failed: ${code}${message === "" || message === code ? "" : `: ${message}`}`,
    options(POLICY_HINT),
  );
}

export function regionMissingError(cause?: unknown): PylayerError {
  return new PylayerError("aws-region-missing", "no AWS region given or configured", {
    hint: "Pass --region (repeatable), set AWS_REGION or AWS_DEFAULT_REGION, or set region in your AWS profile.",
    exitCode: 2,
    ...(cause === undefined ? {} : { cause }),
  });
}
