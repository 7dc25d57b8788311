/**
 * AWS clients, credentials and fixtures for tests against moto_server (started by
 * `motoForFile` of test/helpers/moto.ts). Test files share one server under CI, so every
 * test uses names of its own (`uniqueName`) and never resets moto.
 */
import { randomBytes } from "node:crypto";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsOptions } from "../../src/aws/index.js";
import { writeDeterministicZip } from "../../src/zip/index.js";

// The SDK's notice that its future releases need Node 22 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export const TEST_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
/** moto's default account. */
export const ACCOUNT_ID = "123456789012";

/** AWS options that reach only moto: explicit endpoint, fake credentials, no environment. */
export function motoOptions(endpoint: string): AwsOptions {
  return { endpointUrl: endpoint, credentials: TEST_CREDENTIALS, env: {} };
}

/** The environment the CLI gets in tests: moto endpoint and fake credentials only. */
export function motoEnv(endpoint: string, region = "us-east-1"): NodeJS.ProcessEnv {
  return {
    AWS_ENDPOINT_URL: endpoint,
    AWS_ACCESS_KEY_ID: "testing",
    AWS_SECRET_ACCESS_KEY: "testing",
    AWS_REGION: region,
    AWS_EC2_METADATA_DISABLED: "true",
    NO_COLOR: "1",
  };
}

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString("hex")}`;
}

export function lambdaClient(endpoint: string, region = "us-east-1"): LambdaClient {
  return new LambdaClient({ region, endpoint, credentials: TEST_CREDENTIALS });
}

export function s3Client(endpoint: string, region = "us-east-1"): S3Client {
  return new S3Client({ region, endpoint, credentials: TEST_CREDENTIALS, forcePathStyle: true });
}

export async function createBucket(endpoint: string, region: string, name: string) {
  const client = s3Client(endpoint, region);
  try {
    await client.send(
      new CreateBucketCommand({
        Bucket: name,
        ...(region === "us-east-1"
          ? {}
          : { CreateBucketConfiguration: { LocationConstraint: region as never } }),
      }),
    );
  } finally {
    client.destroy();
  }
}

/**
 * An IAM role for CreateFunction (moto checks that it exists), created with a raw IAM
 * query request so the tests need no IAM client; moto does not verify signatures.
 */
export async function createRole(endpoint: string, name: string): Promise<string> {
  const response = await fetch(`${endpoint}/`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization:
        "AWS4-HMAC-SHA256 Credential=testing/20240101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
    },
    body: new URLSearchParams({
      Action: "CreateRole",
      Version: "2010-05-08",
      RoleName: name,
      AssumeRolePolicyDocument: JSON.stringify({
        Version: "2012-10-17",
        Statement: [
          {
            Effect: "Allow",
            Principal: { Service: "lambda.amazonaws.com" },
            Action: "sts:AssumeRole",
          },
        ],
      }),
    }),
  });
  const text = await response.text();
  const arn = /<Arn>([^<]+)<\/Arn>/.exec(text)?.[1];
  if (!response.ok || arn === undefined) throw new Error(`CreateRole failed: ${text}`);
  return arn;
}

/** A small layer zip written by pylayer's writer, with an optional manifest comment. */
export async function writeLayerZip(
  path: string,
  files: Record<string, string>,
  comment?: string,
): Promise<void> {
  await writeDeterministicZip(
    path,
    Object.entries(files).map(([name, text]) => ({
      name,
      mode: 0o644,
      source: { kind: "bytes" as const, data: Buffer.from(text) },
    })),
    comment === undefined ? {} : { comment },
  );
}

/**
 * Makes moto's Step Functions run executions (its state-machine interpreter: Pass, Map,
 * Wait, Choice, S3 ItemReader; not Lambda tasks, which need Docker). A server-wide
 * setting: every test that uses Step Functions on a shared server calls it first.
 */
export async function executeStateMachines(endpoint: string): Promise<void> {
  const response = await fetch(`${endpoint}/moto-api/config`, {
    method: "POST",
    body: JSON.stringify({ stepfunctions: { execute_state_machine: true } }),
  });
  if (!response.ok) throw new Error(`moto config: HTTP ${response.status}`);
}
