/**
 * Error paths moto cannot produce (access denied, throttling, expired tokens, a bucket
 * in another region, missing credentials), through the real SDK against a loopback
 * server that answers as Lambda and S3 do on the wire:
 * Lambda (REST-JSON): status + `x-amzn-ErrorType` header + `{"Message": …}`;
 * S3 (REST-XML): status + `<Error><Code>…</Code>…</Error>` (+ `x-amz-bucket-region`).
 */

import { mkdtemp, rm } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { DIRECT_UPLOAD_LIMIT, type PublishResult, publishLayer } from "../../src/aws/index.js";
import { main } from "../../src/cli/main.js";
import { isPylayerError } from "../../src/errors.js";
import { encodeManifest } from "../../src/layer/index.js";
import { writeDeterministicZip } from "../../src/zip/index.js";
import { TEST_CREDENTIALS, writeLayerZip } from "./moto.js";

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";

interface Seen {
  method: string;
  path: string;
  region: string;
}

type Responder = (request: Seen, response: ServerResponse) => void;

function regionOf(request: IncomingMessage): string {
  return /Credential=[^/]+\/\d+\/([^/]+)\//.exec(request.headers.authorization ?? "")?.[1] ?? "";
}

function lambdaError(response: ServerResponse, status: number, type: string, message: string) {
  response.writeHead(status, { "content-type": "application/json", "x-amzn-errortype": type });
  response.end(JSON.stringify({ Type: "User", Message: message }));
}

function json(response: ServerResponse, body: unknown) {
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify(body));
}

const PUBLISHED = {
  LayerArn: "arn:aws:lambda:us-east-1:123456789012:layer:demo",
  LayerVersionArn: "arn:aws:lambda:us-east-1:123456789012:layer:demo:1",
  Version: 1,
  Content: { CodeSha256: "x", CodeSize: 1 },
};

describe("AWS errors through the SDK", () => {
  let server: Server;
  let endpoint = "";
  let responder: Responder = (_request, response) => response.end();
  const seen: Seen[] = [];
  let folder = "";
  let smallZip = "";
  let largeZip = "";

  beforeAll(async () => {
    server = createServer((request, response) => {
      request.resume();
      request.on("end", () => {
        const entry = {
          method: request.method ?? "",
          path: request.url ?? "",
          region: regionOf(request),
        };
        seen.push(entry);
        responder(entry, response);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    folder = await mkdtemp(join(tmpdir(), "pylayer-aws-errors-"));
    const manifest = encodeManifest({
      runtimes: ["python3.12"],
      architectures: ["x86_64"],
      layout: "python",
      packages: [],
    });
    smallZip = join(folder, "small.zip");
    await writeLayerZip(smallZip, { "python/demo.py": "" }, manifest);
    largeZip = join(folder, "large.zip");
    await writeDeterministicZip(
      largeZip,
      [
        {
          name: "python/zeros.bin",
          mode: 0o644,
          source: { kind: "bytes", data: Buffer.alloc(DIRECT_UPLOAD_LIMIT + 1), compress: false },
        },
      ],
      { comment: manifest },
    );
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(folder, { recursive: true, force: true });
  });

  const aws = () => ({ endpointUrl: endpoint, credentials: TEST_CREDENTIALS, env: {} });

  async function publishSmall(regions = ["us-east-1"]): Promise<PublishResult> {
    seen.length = 0;
    return publishLayer({ zipPath: smallZip, name: "demo", regions, aws: aws() });
  }

  it("names the missing permission on access denied", async () => {
    responder = (request, response) => {
      if (request.method === "GET") json(response, { LayerVersions: [] });
      else
        lambdaError(
          response,
          403,
          "AccessDeniedException",
          "User: arn:aws:iam::123456789012:user/ci is not authorized to perform: lambda:PublishLayerVersion",
        );
    };
    const result = await publishSmall();
    const error = result.regions[0]?.error;
    expect(error?.code).toBe("aws-access-denied");
    expect(error?.message).toContain("lambda:PublishLayerVersion");
    expect(error?.hint).toMatch(/Grant lambda:PublishLayerVersion/);
  });

  it("names lambda:ListLayerVersions when the unchanged check is denied, and suggests --force", async () => {
    responder = (_request, response) =>
      lambdaError(response, 403, "AccessDeniedException", "not authorized");
    const result = await publishSmall();
    expect(result.regions[0]?.error?.code).toBe("aws-access-denied");
    expect(result.regions[0]?.error?.message).toMatch(/lambda:ListLayerVersions.*--force/);
  });

  it("reports throttling after the SDK's retries", async () => {
    responder = (_request, response) =>
      lambdaError(response, 429, "TooManyRequestsException", "Rate exceeded");
    seen.length = 0;
    const result = await publishLayer({
      zipPath: smallZip,
      name: "demo",
      regions: ["us-east-1"],
      aws: { ...aws(), maxAttempts: 2 },
    });
    expect(seen).toHaveLength(2);
    expect(result.regions[0]?.error?.code).toBe("aws-throttled");
    expect(result.regions[0]?.error?.message).toMatch(
      /throttled lambda:ListLayerVersions in us-east-1 after 2 attempts/,
    );
    expect(result.regions[0]?.error?.hint).toMatch(/AWS_MAX_ATTEMPTS/);
  });

  it("says expired credentials are expired", async () => {
    responder = (_request, response) =>
      lambdaError(
        response,
        403,
        "ExpiredTokenException",
        "The security token included in the request is expired",
      );
    const result = await publishSmall();
    expect(result.regions[0]?.error?.code).toBe("aws-credentials-expired");
    expect(result.regions[0]?.error?.hint).toMatch(/aws sso login/);
  });

  it("explains a bucket in another region (S3 PermanentRedirect)", async () => {
    responder = (request, response) => {
      if (request.path.startsWith("/2018-10-31/")) {
        json(response, { LayerVersions: [] });
        return;
      }
      response.writeHead(301, {
        "content-type": "application/xml",
        "x-amz-bucket-region": "eu-west-1",
      });
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message><Bucket>artifacts</Bucket><Endpoint>artifacts.s3.eu-west-1.amazonaws.com</Endpoint></Error>',
      );
    };
    seen.length = 0;
    const result = await publishLayer({
      zipPath: largeZip,
      name: "demo",
      regions: ["us-east-1"],
      s3Buckets: ["artifacts"],
      aws: aws(),
    });
    const error = result.regions[0]?.error;
    expect(error?.code).toBe("s3-bucket-wrong-region");
    expect(error?.message).toMatch(/is in eu-west-1, not us-east-1 \(s3:PutObject\)/);
    expect(error?.hint).toMatch(/--s3-bucket us-east-1=BUCKET/);
    // Nothing was published.
    expect(
      seen.some((request) => request.method === "POST" && request.path.startsWith("/2018")),
    ).toBe(false);
  });

  it("keeps the other regions' results and exits 1 with a per-region summary", async () => {
    responder = (request, response) => {
      if (request.region === "eu-west-1") {
        lambdaError(response, 403, "AccessDeniedException", "not authorized");
      } else if (request.method === "GET") {
        json(response, { LayerVersions: [] });
      } else {
        json(response, PUBLISHED);
      }
    };
    let stdout = "";
    let stderr = "";
    const out = vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
      stdout += String(chunk);
      return true;
    });
    const err = vi.spyOn(process.stderr, "write").mockImplementation((chunk) => {
      stderr += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = await main(
        [
          "publish",
          smallZip,
          "--name",
          "demo",
          "--region",
          "us-east-1",
          "--region",
          "eu-west-1",
          "--endpoint-url",
          endpoint,
        ],
        { AWS_ACCESS_KEY_ID: "testing", AWS_SECRET_ACCESS_KEY: "testing", NO_COLOR: "1" },
      );
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
    expect(code).toBe(1);
    expect(stdout).toMatch(
      /published us-east-1 +arn:aws:lambda:us-east-1:123456789012:layer:demo:1/,
    );
    expect(stdout).toMatch(/failed +eu-west-1 +aws-access-denied/);
    expect(stderr).toMatch(/error: eu-west-1: access denied: lambda:ListLayerVersions/);
    expect(stderr).toMatch(/1 published, 0 unchanged, 1 failed/);
  });

  it("says when no credentials can be found, naming the profile", async () => {
    responder = (_request, response) => json(response, { LayerVersions: [] });
    const saved = { ...process.env };
    for (const variable of Object.keys(process.env)) {
      if (variable.startsWith("AWS_")) delete process.env[variable];
    }
    process.env.AWS_CONFIG_FILE = join(folder, "missing-config");
    process.env.AWS_SHARED_CREDENTIALS_FILE = join(folder, "missing-credentials");
    // Never ask the instance metadata service (not loopback).
    process.env.AWS_EC2_METADATA_DISABLED = "true";
    try {
      const noChain = await publishLayer({
        zipPath: smallZip,
        name: "demo",
        regions: ["us-east-1"],
        aws: { endpointUrl: endpoint, env: {} },
      });
      expect(noChain.regions[0]?.error?.code).toBe("aws-no-credentials");
      expect(noChain.regions[0]?.error?.hint).toMatch(/AWS_PROFILE/);
      const profile = await publishLayer({
        zipPath: smallZip,
        name: "demo",
        regions: ["us-east-1"],
        aws: { endpointUrl: endpoint, env: {}, profile: "nowhere" },
      });
      expect(profile.regions[0]?.error?.code).toBe("aws-no-credentials");
      expect(profile.regions[0]?.error?.message).toMatch(/profile "nowhere"/);
    } finally {
      process.env = saved;
    }
  });

  it("refuses large zips without a bucket and oversized layers before any request", async () => {
    seen.length = 0;
    const noBucket = await publishLayer({
      zipPath: largeZip,
      name: "demo",
      regions: ["us-east-1"],
      aws: aws(),
    }).catch((error: unknown) => error);
    expect(isPylayerError(noBucket) && noBucket.code).toBe("publish-needs-s3-bucket");
    expect(isPylayerError(noBucket) && noBucket.hint).toMatch(/--s3-bucket/);

    // 300 entries of 1 MB of zeros: about 0.3 MB zipped, 300 MB unzipped.
    const huge = join(folder, "huge.zip");
    const megabyte = Buffer.alloc(1024 * 1024);
    await writeDeterministicZip(
      huge,
      Array.from({ length: 300 }, (_, index) => ({
        name: `python/zeros-${index}.bin`,
        mode: 0o644,
        source: { kind: "bytes" as const, data: megabyte },
      })),
      {
        comment: encodeManifest({
          runtimes: ["python3.12"],
          architectures: ["x86_64"],
          layout: "python",
          packages: [],
        }),
      },
    );
    const tooLarge = await publishLayer({
      zipPath: huge,
      name: "demo",
      regions: ["us-east-1"],
      aws: aws(),
    }).catch((error: unknown) => error);
    expect(isPylayerError(tooLarge) && tooLarge.code).toBe("layer-too-large");
    expect(isPylayerError(tooLarge) && tooLarge.message).toMatch(
      /unzips to 314,572,800 bytes; Lambda's limit .* is 262,144,000 bytes/,
    );
    expect(seen).toHaveLength(0);
  });
});
