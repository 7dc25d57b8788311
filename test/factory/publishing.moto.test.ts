/**
 * How the builder publishes, against moto (Lambda, S3): a zip over the direct-upload
 * limit is staged in each region's own bucket (`{region}` in the staging setting) and
 * published from there, the staged objects deleted afterwards; without a staging bucket
 * such an item fails alone with pylayer's code and hint. Keep-N pruning deletes all but
 * the newest N versions per layer and region after each publish (the factory's default,
 * or the item's own `keep`). The direct-upload limit is lowered here so that small
 * zips take the S3 route; its default is Lambda's 50 MiB.
 */
import { GetLayerVersionCommand, ListLayerVersionsCommand } from "@aws-sdk/client-lambda";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECT_UPLOAD_LIMIT } from "../../src/aws/index.js";
import type { FactorySettings, WorkItem } from "../../src/factory/index.js";
import { createHandler, settingsFromEnvironment } from "../../src/lambda/index.js";
import { createBucket, lambdaClient, motoOptions, s3Client, uniqueName } from "../aws/moto.js";
import { type IndexServer, writeFileIndex } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { startCatalogueIndex } from "./fixture.js";

const moto = await motoForFile();
const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];

describe("the builder's settings from its Lambda environment", () => {
  it("reads the staging buckets and the versions kept; the direct-upload limit stays Lambda's", () => {
    const settings = settingsFromEnvironment({
      AWS_REGION: "eu-west-1",
      PYLAYER_FACTORY_STAGING_BUCKETS: "acme-staging-{region}, us-east-1=acme-virginia",
      PYLAYER_FACTORY_KEEP: "3",
    });
    expect(settings.stagingBuckets).toEqual(["acme-staging-{region}", "us-east-1=acme-virginia"]);
    expect(settings.defaultKeep).toBe(3);
    expect(settings.directUploadLimit).toBeUndefined();
    expect(DIRECT_UPLOAD_LIMIT).toBe(50 * 1024 * 1024);
  });
});

describe.skipIf(moto === undefined)("publishing from the builder on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  let index: IndexServer;
  let home = "";

  beforeAll(async () => {
    index = await startCatalogueIndex();
    home = await temporaryFolder("pylayer-factory-publishing-");
  });

  afterAll(async () => {
    await index?.close();
  });

  function settings(extra: Partial<FactorySettings> = {}): FactorySettings {
    return {
      cacheDir: `${home}/cache`,
      workDir: `${home}/work`,
      env: isolatedEnv(home),
      aws: motoOptions(endpoint),
      ...extra,
    };
  }

  function item(layerName: string, requirements: string, options: WorkItem["options"] = {}) {
    return {
      id: "alpha/python3.12/arm64",
      layer: "alpha",
      layerName,
      runtime: "python3.12",
      architecture: "arm64",
      regions: REGIONS,
      input: { kind: "requirements", text: requirements },
      options: { indexUrl: index.url, ...options },
    } satisfies WorkItem;
  }

  async function versionsOf(name: string, region: string): Promise<number[]> {
    const client = lambdaClient(endpoint, region);
    try {
      const listed = await client.send(new ListLayerVersionsCommand({ LayerName: name }));
      return (listed.LayerVersions ?? []).map((entry) => entry.Version ?? 0).sort();
    } finally {
      client.destroy();
    }
  }

  it("stages a zip over the direct-upload limit in each region's bucket and cleans up", async () => {
    const staging = uniqueName("staging");
    for (const region of REGIONS) await createBucket(endpoint, region, `${staging}-${region}`);
    const name = uniqueName("big");
    const handler = createHandler(
      settings({ stagingBuckets: [`${staging}-{region}`], directUploadLimit: 200 }),
    );
    const result = await handler({ item: item(name, "alpha-lib==1.0.0\n") });
    expect(result.status, JSON.stringify(result.error)).toBe("ok");
    expect(result.size).toBeGreaterThan(200);
    expect(result.regions.map((region) => [region.region, region.status, region.upload])).toEqual(
      REGIONS.map((region) => [region, "published", "s3"]),
    );
    for (const region of REGIONS) {
      const lambda = lambdaClient(endpoint, region);
      const s3 = s3Client(endpoint, region);
      try {
        const version = await lambda.send(
          new GetLayerVersionCommand({ LayerName: name, VersionNumber: 1 }),
        );
        expect(version.Content?.CodeSha256).toBe(result.codeSha256);
        expect(version.Content?.CodeSize).toBe(result.size);
        const left = await s3.send(new ListObjectsV2Command({ Bucket: `${staging}-${region}` }));
        expect(left.Contents ?? []).toEqual([]);
      } finally {
        lambda.destroy();
        s3.destroy();
      }
    }
    // The same zip again: unchanged everywhere, nothing uploaded.
    const again = await handler({ item: item(name, "alpha-lib==1.0.0\n") });
    expect(again.regions.map((region) => [region.status, region.upload])).toEqual(
      REGIONS.map(() => ["unchanged", undefined]),
    );
  });

  it("fails an item over the limit alone, with code and hint, when no staging bucket is set", async () => {
    const result = await createHandler(settings({ directUploadLimit: 200 }))({
      item: item(uniqueName("big"), "alpha-lib==1.0.0\n"),
    });
    expect(result.status).toBe("failed");
    expect(result.error).toMatchObject({ code: "publish-needs-s3-bucket", retryable: false });
    expect(result.error?.hint).toContain("{region}");
  });

  it("publishes an unpinned requirement's new release on the next run, warm cache or not", async () => {
    // A catalogue follows the index: the cache an earlier run left must not keep its versions.
    const folder = await temporaryFolder();
    const indexUrl = await writeFileIndex(folder, [
      buildWheel({ name: "fresh-lib", version: "1.0.0" }),
    ]);
    const name = uniqueName("fresh");
    const handler = createHandler(settings());
    const first = await handler({ item: item(name, "fresh-lib\n", { indexUrl }) });
    expect(first.status, JSON.stringify(first.error)).toBe("ok");
    await writeFileIndex(folder, [
      buildWheel({ name: "fresh-lib", version: "1.0.0" }),
      buildWheel({ name: "fresh-lib", version: "1.1.0" }),
    ]);
    const second = await handler({ item: item(name, "fresh-lib\n", { indexUrl }) });
    expect(second.status, JSON.stringify(second.error)).toBe("ok");
    expect(second.codeSha256).not.toBe(first.codeSha256);
    expect(second.regions.map((region) => region.status)).toEqual(REGIONS.map(() => "published"));
  });

  it("keeps the newest N versions per layer and region", async () => {
    const name = uniqueName("kept");
    const handler = createHandler(settings({ defaultKeep: 2 }));
    // Three different zips: versions 1, 2, 3; after the third, version 1 is deleted.
    const inputs = ["alpha-lib==1.0.0\n", "delta-lib==5.0.0\n", "alpha-lib\ndelta-lib\n"];
    const pruned: (number[] | undefined)[][] = [];
    for (const requirements of inputs) {
      const result = await handler({ item: item(name, requirements) });
      expect(result.status, JSON.stringify(result.error)).toBe("ok");
      pruned.push(result.regions.map((region) => region.pruned));
    }
    expect(pruned).toEqual([
      [undefined, undefined, undefined],
      [undefined, undefined, undefined],
      [[1], [1], [1]],
    ]);
    for (const region of REGIONS) expect(await versionsOf(name, region)).toEqual([2, 3]);
    // An item's own keep wins over the factory's default.
    const result = await handler({ item: item(name, "gamma-lib\n", { keep: 1 }) });
    expect(result.regions.map((region) => [region.version, region.pruned])).toEqual(
      REGIONS.map(() => [4, [3, 2]]),
    );
    for (const region of REGIONS) expect(await versionsOf(name, region)).toEqual([4]);
  });
});
