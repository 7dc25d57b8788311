/** Names, endpoints, regions, error mapping and zip inspection, without any server. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  inspectLayerZip,
  mapAwsError,
  parseFunctionReference,
  parseLayerReference,
  resolveEndpoint,
  resolveRegions,
  validatePublishInputs,
} from "../../src/aws/index.js";
import { layerNamesForBuild } from "../../src/cli/commands/build.js";
import { isPylayerError } from "../../src/errors.js";
import { encodeManifest } from "../../src/layer/index.js";
import { writeLayerZip } from "./moto.js";

function codeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return isPylayerError(error) ? error.code : `not a PylayerError: ${String(error)}`;
  }
  return undefined;
}

describe("layer names and ARNs (LayerName: [a-zA-Z0-9-_]+, 1–140, or an ARN)", () => {
  it.each([
    ["deps", { layerName: "deps", name: "deps" }],
    ["my_deps-2", { layerName: "my_deps-2", name: "my_deps-2" }],
    ["deps:7", { layerName: "deps", name: "deps", version: 7 }],
    [
      "arn:aws:lambda:eu-west-1:123456789012:layer:deps",
      {
        layerName: "arn:aws:lambda:eu-west-1:123456789012:layer:deps",
        name: "deps",
        arn: { partition: "aws", region: "eu-west-1", accountId: "123456789012" },
      },
    ],
    [
      "arn:aws-cn:lambda:cn-north-1:123456789012:layer:deps:3",
      {
        layerName: "arn:aws-cn:lambda:cn-north-1:123456789012:layer:deps",
        name: "deps",
        version: 3,
        arn: { partition: "aws-cn", region: "cn-north-1", accountId: "123456789012" },
      },
    ],
    ["x".repeat(140), { layerName: "x".repeat(140), name: "x".repeat(140) }],
  ])("parses %s", (text, expected) => {
    expect(parseLayerReference(text)).toEqual(expected);
  });

  it.each([
    "",
    "x".repeat(141),
    "has space",
    "dots.not.allowed",
    "deps:latest",
    "arn:aws:lambda:us-east-1:12345:layer:deps",
    "arn:aws:s3:::bucket",
  ])("refuses %j", (text) => {
    expect(codeOf(() => parseLayerReference(text))).toBe("invalid-layer-name");
  });

  it("refuses a version where a layer is published", () => {
    expect(codeOf(() => parseLayerReference("deps:3", false))).toBe("invalid-layer-name");
  });

  it("parses function names and unqualified ARNs", () => {
    expect(parseFunctionReference("api")).toEqual({ functionName: "api" });
    expect(parseFunctionReference("arn:aws:lambda:eu-west-1:123456789012:function:api")).toEqual({
      functionName: "arn:aws:lambda:eu-west-1:123456789012:function:api",
      region: "eu-west-1",
    });
    expect(codeOf(() => parseFunctionReference("api:prod"))).toBe("usage");
  });

  it("checks description (≤ 256), license (≤ 512), organization and accounts locally", () => {
    expect(
      codeOf(() => validatePublishInputs({ name: "deps", description: "d".repeat(256) })),
    ).toBe(undefined);
    expect(
      codeOf(() => validatePublishInputs({ name: "deps", description: "d".repeat(257) })),
    ).toBe("description-too-long");
    expect(codeOf(() => validatePublishInputs({ name: "deps", license: "l".repeat(513) }))).toBe(
      "license-too-long",
    );
    expect(codeOf(() => validatePublishInputs({ name: "deps", s3Buckets: ["Bad_Bucket"] }))).toBe(
      "usage",
    );
    expect(
      codeOf(() =>
        validatePublishInputs({ name: "deps", s3Buckets: ["us-east-1=ok-bucket", "b-{region}"] }),
      ),
    ).toBe(undefined);
  });
});

describe("resolveEndpoint (AWS CLI order)", () => {
  const general = "http://general:1";
  const lambda = "http://lambda:1";
  const s3 = "http://s3:1";
  it.each([
    ["nothing set", {}, undefined, "lambda", undefined],
    ["general variable", { AWS_ENDPOINT_URL: general }, undefined, "lambda", general],
    [
      "service variable wins over general",
      { AWS_ENDPOINT_URL: general, AWS_ENDPOINT_URL_LAMBDA: lambda },
      undefined,
      "lambda",
      lambda,
    ],
    [
      "another service's variable does not apply",
      { AWS_ENDPOINT_URL: general, AWS_ENDPOINT_URL_LAMBDA: lambda },
      undefined,
      "s3",
      general,
    ],
    ["S3 variable", { AWS_ENDPOINT_URL_S3: s3 }, undefined, "s3", s3],
    [
      "flag wins over everything",
      { AWS_ENDPOINT_URL: general, AWS_ENDPOINT_URL_S3: s3 },
      "http://flag:1",
      "s3",
      "http://flag:1",
    ],
    [
      "ignore switch",
      { AWS_ENDPOINT_URL: general, AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
      undefined,
      "lambda",
      undefined,
    ],
    [
      "ignore switch does not ignore the flag",
      { AWS_IGNORE_CONFIGURED_ENDPOINT_URLS: "true" },
      "http://flag:1",
      "lambda",
      "http://flag:1",
    ],
    [
      "empty variable is unset",
      { AWS_ENDPOINT_URL_LAMBDA: "", AWS_ENDPOINT_URL: general },
      undefined,
      "lambda",
      general,
    ],
  ] as const)("%s", (_label, env, flag, service, expected) => {
    expect(
      resolveEndpoint(service, {
        env: { ...env },
        ...(flag === undefined ? {} : { endpointUrl: flag }),
      }),
    ).toBe(expected);
  });
});

describe("resolveRegions", () => {
  it("keeps the given regions in order without duplicates", async () => {
    expect(await resolveRegions(["eu-west-1", "us-east-1", "eu-west-1"], { env: {} })).toEqual([
      "eu-west-1",
      "us-east-1",
    ]);
  });
  it("prefers AWS_REGION, then AWS_DEFAULT_REGION", async () => {
    expect(
      await resolveRegions([], {
        env: { AWS_REGION: "eu-north-1", AWS_DEFAULT_REGION: "us-west-2" },
      }),
    ).toEqual(["eu-north-1"]);
    expect(await resolveRegions(undefined, { env: { AWS_DEFAULT_REGION: "us-west-2" } })).toEqual([
      "us-west-2",
    ]);
  });
  it("refuses something that is not a region", async () => {
    await expect(resolveRegions(["us-east-1a"], { env: {} })).rejects.toMatchObject({
      code: "usage",
    });
  });
});

describe("mapAwsError", () => {
  const context = {
    permission: "lambda:PublishLayerVersion",
    region: "us-east-1",
    resource: "deps",
  };
  const sdkError = (name: string, message: string, extra: Record<string, unknown> = {}) =>
    Object.assign(new Error(message), { name, ...extra });

  it.each([
    [
      "no credentials",
      sdkError("CredentialsProviderError", "Could not load credentials from any providers"),
      "aws-no-credentials",
    ],
    // Messages as @aws-sdk/credential-provider-sso and @aws-sdk/token-providers word them.
    [
      "expired SSO session",
      sdkError(
        "CredentialsProviderError",
        "The SSO session associated with this profile has expired. To refresh this SSO session run aws sso login with the corresponding profile.",
      ),
      "aws-sso-expired",
    ],
    [
      "expired SSO token",
      sdkError(
        "TokenProviderError",
        "Token is expired. To refresh this SSO session run 'aws sso login' with the corresponding profile.",
      ),
      "aws-sso-expired",
    ],
    [
      "expired session token",
      sdkError("ExpiredTokenException", "The security token included in the request is expired"),
      "aws-credentials-expired",
    ],
    [
      "S3 expired token",
      sdkError("ExpiredToken", "The provided token has expired."),
      "aws-credentials-expired",
    ],
    [
      "unknown key",
      sdkError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      ),
      "aws-credentials-invalid",
    ],
    [
      "access denied",
      sdkError("AccessDeniedException", "User is not authorized", {
        $metadata: { httpStatusCode: 403 },
      }),
      "aws-access-denied",
    ],
    [
      "bare 403",
      sdkError("Unknown", "", { $metadata: { httpStatusCode: 403 } }),
      "aws-access-denied",
    ],
    [
      "S3 PermanentRedirect",
      sdkError(
        "PermanentRedirect",
        "The bucket you are attempting to access must be addressed using the specified endpoint.",
        { $metadata: { httpStatusCode: 301 } },
      ),
      "s3-bucket-wrong-region",
    ],
    [
      "S3 AuthorizationHeaderMalformed",
      sdkError(
        "AuthorizationHeaderMalformed",
        "The authorization header is malformed; the region 'us-east-1' is wrong; expecting 'eu-west-1'",
        { $metadata: { httpStatusCode: 400 } },
      ),
      "s3-bucket-wrong-region",
    ],
    [
      "Lambda relaying S3's redirect",
      sdkError(
        "InvalidParameterValueException",
        "Error occurred while GetObject. S3 Error Code: PermanentRedirect. S3 Error Message: The bucket is in this region: eu-west-1. Please use this region to retry the request",
      ),
      "s3-bucket-wrong-region",
    ],
    [
      "throttled",
      sdkError("TooManyRequestsException", "Rate exceeded", {
        $metadata: { httpStatusCode: 429, attempts: 3 },
      }),
      "aws-throttled",
    ],
    [
      "S3 slow down",
      sdkError("SlowDown", "Please reduce your request rate.", {
        $metadata: { httpStatusCode: 503 },
      }),
      "aws-throttled",
    ],
    [
      "too large request",
      sdkError("RequestEntityTooLargeException", "Request must be smaller than 69905067 bytes"),
      "aws-request-too-large",
    ],
    [
      "code storage",
      sdkError("CodeStorageExceededException", "Code storage limit exceeded."),
      "aws-code-storage-exceeded",
    ],
    ["not found", sdkError("ResourceNotFoundException", "Function not found"), "aws-not-found"],
    ["conflict", sdkError("ResourceConflictException", "An update is in progress"), "aws-conflict"],
    [
      "validation",
      sdkError("InvalidParameterValueException", "Unsupported runtime"),
      "aws-invalid-parameter",
    ],
    [
      "connection refused",
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }),
      "aws-network",
    ],
    ["anything else", sdkError("ServiceException", "boom"), "aws-error"],
  ])("%s", (_label, error, code) => {
    expect(mapAwsError(error, context).code).toBe(code);
  });

  it("names the permission and the bucket's region", () => {
    const denied = mapAwsError(sdkError("AccessDeniedException", "no"), context);
    expect(denied.message).toMatch(
      /access denied: lambda:PublishLayerVersion \(deps\) in us-east-1/,
    );
    expect(denied.hint).toMatch(/^Grant lambda:PublishLayerVersion/);
    const redirect = mapAwsError(
      sdkError("PermanentRedirect", "moved", {
        $response: { statusCode: 301, headers: { "x-amz-bucket-region": "ap-south-1" } },
      }),
      { ...context, permission: "s3:PutObject" },
    );
    expect(redirect.message).toMatch(/is in ap-south-1, not us-east-1 \(s3:PutObject\)/);
    const malformed = mapAwsError(
      sdkError(
        "AuthorizationHeaderMalformed",
        "the region 'us-east-1' is wrong; expecting 'eu-west-1'",
      ),
      context,
    );
    expect(malformed.message).toMatch(/is in eu-west-1/);
  });

  it("tells SSO users which profile to log in with", () => {
    const expired = mapAwsError(sdkError("TokenProviderError", "Token is expired."), {
      ...context,
      profile: "dev",
    });
    expect(expired.hint).toBe("Run `aws sso login --profile dev` and try again.");
  });
});

describe("inspectLayerZip", () => {
  let folder = "";
  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pylayer-zipinfo-"));
  });
  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it("reads sizes, CodeSha256 and the manifest without extracting", async () => {
    const path = join(folder, "layer.zip");
    const manifest = {
      runtimes: ["python3.12"],
      architectures: ["arm64" as const],
      layout: "python" as const,
      packages: [{ name: "demo", version: "1" }],
    };
    await writeLayerZip(
      path,
      { "python/a.py": "a".repeat(1000), "python/b.py": "bb" },
      encodeManifest(manifest),
    );
    const info = await inspectLayerZip(path);
    // Two files and the python/ directory entry.
    expect(info.unzippedSize).toBe(1002);
    expect(info.entryCount).toBe(3);
    expect(info.manifest).toEqual(manifest);
    const { createHash } = await import("node:crypto");
    const { readFile } = await import("node:fs/promises");
    const bytes = await readFile(path);
    expect(info.size).toBe(bytes.length);
    expect(info.codeSha256).toBe(createHash("sha256").update(bytes).digest("base64"));
    expect(info.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));

    await writeLayerZip(join(folder, "bare.zip"), { "python/a.py": "" });
    expect((await inspectLayerZip(join(folder, "bare.zip"))).manifest).toBeUndefined();
  });
});

describe("layer names of a build", () => {
  it("uses NAME for one zip and NAME-py3XX-ARCH for a matrix", () => {
    const zip = (runtimes: string[], architectures: string[]) => ({
      path: "x",
      runtimes,
      architectures,
    });
    expect(
      layerNamesForBuild("deps", [zip(["python3.12", "python3.13"], ["x86_64", "arm64"])]),
    ).toEqual(["deps"]);
    expect(
      layerNamesForBuild("deps", [
        zip(["python3.12"], ["x86_64"]),
        zip(["python3.12"], ["arm64"]),
        zip(["python3.9"], ["x86_64"]),
      ]),
    ).toEqual(["deps-py312-x86_64", "deps-py312-arm64", "deps-py39-x86_64"]);
  });
});
