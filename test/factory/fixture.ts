/**
 * A small catalogue for the factory tests: tiny generated wheels on a loopback index,
 * a manifest of 5 layers × 2 runtimes × 2 architectures × 3 regions (one layer cannot
 * be resolved, so its 4 items fail), a DynamoDB table in moto, and a loopback proxy in
 * front of moto that answers some PublishLayerVersion calls with Lambda's throttling
 * error (TooManyRequestsException, HTTP 429).
 */

import { writeFile } from "node:fs/promises";
import { createServer, request as httpRequest, type Server } from "node:http";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { TEST_CREDENTIALS } from "../aws/moto.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { buildWheel } from "../helpers/wheels.js";

export const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
export const GOOD_LAYERS = ["alpha", "beta", "gamma", "delta"];

export async function startCatalogueIndex(): Promise<IndexServer> {
  return startIndexServer([
    buildWheel({ name: "alpha-lib", version: "1.0.0" }),
    buildWheel({ name: "beta-lib", version: "2.1.0", requires: ["shared-lib>=1"] }),
    buildWheel({ name: "gamma-lib", version: "0.3.0", requires: ["shared-lib"] }),
    buildWheel({ name: "delta-lib", version: "5.0.0" }),
    buildWheel({ name: "shared-lib", version: "1.4.0" }),
  ]);
}

/** Writes the manifest (TOML) for `prefix` and returns its path. */
export async function writeCatalogueManifest(
  folder: string,
  prefix: string,
  indexUrl: string,
): Promise<string> {
  const path = join(folder, `${prefix}factory.toml`);
  await writeFile(join(folder, "delta.txt"), "delta-lib==5.0.0\n");
  await writeFile(
    path,
    [
      `prefix = "${prefix}"`,
      'runtimes = ["python3.12", "python3.13"]',
      'architectures = ["x86_64", "arm64"]',
      `regions = ${JSON.stringify(REGIONS)}`,
      "[options]",
      `index-url = "${indexUrl}"`,
      'license = "MIT"',
      "[layers.alpha]",
      'requirements = ["alpha-lib==1.0.0"]',
      "[layers.beta]",
      'requirements = ["beta-lib"]',
      "[layers.gamma]",
      'requirements = ["gamma-lib", "alpha-lib"]',
      "[layers.delta]",
      'requirements-file = "delta.txt"',
      "[layers.broken]",
      'requirements = ["no-such-project==1.0"]',
      "",
    ].join("\n"),
  );
  return path;
}

export async function createRecordTable(endpoint: string, name: string): Promise<void> {
  const client = new DynamoDBClient({
    region: "us-east-1",
    endpoint,
    credentials: TEST_CREDENTIALS,
  });
  try {
    await client.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "layer", AttributeType: "S" },
          { AttributeName: "target", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "layer", KeyType: "HASH" },
          { AttributeName: "target", KeyType: "RANGE" },
        ],
      }),
    );
  } finally {
    client.destroy();
  }
}

/** `LAYER-NAME REGION` pairs (by their end) whose first publish is throttled. */
export const THROTTLED =
  /-(beta-py312-x86_64 eu-west-1|gamma-py313-arm64 (eu-west-1|ap-southeast-2))$/;

export interface ThrottlingProxy {
  endpoint: string;
  /** PublishLayerVersion calls answered with 429. */
  throttled: () => number;
  close(): Promise<void>;
}

/**
 * Forwards to moto; the first PublishLayerVersion of each `LAYER-NAME REGION` matching
 * `throttle` is refused as Lambda refuses a call over its rate
 * (deterministic, so two runs of one catalogue meet the same throttling).
 */
export async function startThrottlingProxy(
  target: string,
  throttle = THROTTLED,
): Promise<ThrottlingProxy> {
  const upstream = new URL(target);
  const seen = new Set<string>();
  let throttled = 0;
  const server: Server = createServer((incoming, outgoing) => {
    const layerName =
      incoming.method === "POST"
        ? /\/layers\/([^/]+)\/versions$/.exec(incoming.url ?? "")?.[1]
        : undefined;
    if (layerName !== undefined) {
      // SigV4's credential scope names the region: Credential=KEY/DATE/REGION/lambda/aws4_request.
      const region = /Credential=[^/]+\/[^/]+\/([^/]+)\//.exec(
        String(incoming.headers.authorization ?? ""),
      )?.[1];
      const key = `${layerName} ${region}`;
      if (throttle.test(key) && !seen.has(key)) {
        seen.add(key);
        throttled += 1;
        incoming.resume();
        outgoing.writeHead(429, {
          "content-type": "application/json",
          "x-amzn-errortype": "TooManyRequestsException",
        });
        outgoing.end(
          JSON.stringify({
            Type: "User",
            message: "Rate exceeded",
            Reason: "CallerRateLimitExceeded",
          }),
        );
        return;
      }
    }
    const forward = httpRequest(
      {
        host: upstream.hostname,
        port: upstream.port,
        method: incoming.method,
        path: incoming.url,
        headers: incoming.headers,
      },
      (answer) => {
        outgoing.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(outgoing);
      },
    );
    forward.on("error", (error) => {
      outgoing.writeHead(502);
      outgoing.end(String(error));
    });
    incoming.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    throttled: () => throttled,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
