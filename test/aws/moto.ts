/**
 * moto_server for the AWS integration tests.
 *
 * `.ci/run` starts one server and exports PYLAYER_MOTO_ENDPOINT; without it, each test
 * file starts its own server on a free loopback port (when Python 3.11 has moto) and
 * stops it afterwards. When moto is missing the tests are skipped with a visible
 * message — except under PYLAYER_CI=1, where a missing moto fails the run.
 *
 * Test files share one server under CI, so every test uses names of its own
 * (`uniqueName`) and never resets moto.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { CreateBucketCommand, S3Client } from "@aws-sdk/client-s3";
import type { AwsOptions } from "../../src/aws/index.js";
import { writeDeterministicZip } from "../../src/zip/index.js";

// The SDK's notice that its future releases need Node 22 is noise in test output.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/** The Python that has moto (PYLAYER_MOTO_PYTHON overrides, e.g. to check the missing-moto paths). */
export const PYTHON = process.env.PYLAYER_MOTO_PYTHON ?? "python3.11";
export const TEST_CREDENTIALS = { accessKeyId: "testing", secretAccessKey: "testing" };
/** moto's default account. */
export const ACCOUNT_ID = "123456789012";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with code ${child.exitCode}:\n${log()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${log()}`);
}

/** The endpoint of a running moto_server, or undefined (with a printed reason) when tests must skip. */
export async function startMoto(): Promise<Moto | undefined> {
  const given = process.env.PYLAYER_MOTO_ENDPOINT;
  if (given !== undefined && given !== "") {
    return { endpoint: given.replace(/\/$/, ""), stop: async () => {} };
  }
  const probe = spawnSync(PYTHON, ["-c", "import moto.server"], { encoding: "utf8" });
  if (probe.status !== 0) {
    const reason = `moto is not available to ${PYTHON} (${(probe.stderr || String(probe.error ?? "")).trim().split("\n").at(-1)})`;
    if (process.env.PYLAYER_CI === "1") {
      throw new Error(`${reason}; CI must run the AWS tests: install moto[server] for ${PYTHON}`);
    }
    console.warn(
      `\n*** SKIPPING the AWS integration tests: ${reason}. Install it with: ${PYTHON} -m pip install 'moto[server]' ***\n`,
    );
    return undefined;
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(PYTHON, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await waitUntilUp(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

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
