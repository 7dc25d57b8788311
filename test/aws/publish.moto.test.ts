/** publishLayer against moto_server: direct and S3 uploads, skip-if-unchanged, regions, permissions. */
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  GetLayerVersionCommand,
  GetLayerVersionPolicyCommand,
  ListLayerVersionsCommand,
} from "@aws-sdk/client-lambda";
import { HeadObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DIRECT_UPLOAD_LIMIT, publishLayer } from "../../src/aws/index.js";
import { isPylayerError } from "../../src/errors.js";
import { encodeManifest, type LayerManifest } from "../../src/layer/index.js";
import { writeDeterministicZip } from "../../src/zip/index.js";
import { motoForFile } from "../helpers/moto.js";
import {
  createBucket,
  lambdaClient,
  motoOptions,
  s3Client,
  uniqueName,
  writeLayerZip,
} from "./moto.js";

const moto = await motoForFile();

const MANIFEST: LayerManifest = {
  runtimes: ["python3.12", "python3.13"],
  architectures: ["arm64"],
  layout: "python",
  packages: [{ name: "demo", version: "1.0" }],
};

describe.skipIf(moto === undefined)("publishLayer on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  const aws = motoOptions(endpoint);
  let folder = "";
  let smallZip = "";
  let otherZip = "";

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), "pylayer-aws-"));
    smallZip = join(folder, "small.zip");
    otherZip = join(folder, "other.zip");
    await writeLayerZip(smallZip, { "python/demo.py": "VALUE = 1\n" }, encodeManifest(MANIFEST));
    await writeLayerZip(otherZip, { "python/demo.py": "VALUE = 2\n" }, encodeManifest(MANIFEST));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function versionsOf(name: string, region = "us-east-1"): Promise<number[]> {
    const client = lambdaClient(endpoint, region);
    try {
      const listed = await client.send(new ListLayerVersionsCommand({ LayerName: name }));
      return (listed.LayerVersions ?? []).map((item) => item.Version ?? 0);
    } finally {
      client.destroy();
    }
  }

  it("publishes a small zip in the request, with compatibility from the build manifest", async () => {
    const name = uniqueName("direct");
    const result = await publishLayer({
      zipPath: smallZip,
      name,
      regions: ["us-east-1"],
      description: "demo layer",
      license: "MIT",
      aws,
    });
    expect(result.ok).toBe(true);
    expect(result.runtimes).toEqual(["python3.12", "python3.13"]);
    expect(result.architectures).toEqual(["arm64"]);
    const [region] = result.regions;
    expect(region).toMatchObject({
      region: "us-east-1",
      status: "published",
      upload: "direct",
      version: 1,
      layerVersionArn: `arn:aws:lambda:us-east-1:123456789012:layer:${name}:1`,
      codeSha256: result.zip.codeSha256,
    });
    const client = lambdaClient(endpoint);
    try {
      const details = await client.send(
        new GetLayerVersionCommand({ LayerName: name, VersionNumber: 1 }),
      );
      expect(details.CompatibleRuntimes).toEqual(["python3.12", "python3.13"]);
      expect(details.CompatibleArchitectures).toEqual(["arm64"]);
      expect(details.Description).toBe("demo layer");
      expect(details.LicenseInfo).toBe("MIT");
      expect(details.Content?.CodeSha256).toBe(result.zip.codeSha256);
    } finally {
      client.destroy();
    }
  });

  it("skips an unchanged layer, publishes with --force, and publishes changed content", async () => {
    const name = uniqueName("skip");
    const first = await publishLayer({ zipPath: smallZip, name, regions: ["us-east-1"], aws });
    const events: string[] = [];
    const second = await publishLayer({
      zipPath: smallZip,
      name,
      regions: ["us-east-1"],
      aws,
      description: "a new description",
      onEvent: (event) => {
        if (event.type === "warning") events.push(event.message);
      },
    });
    expect(first.regions[0]?.status).toBe("published");
    // Issue 18, point 7: the description of a skipped publish is not dropped silently.
    expect(events).toEqual([
      expect.stringMatching(
        /^us-east-1: nothing was published \(version 1 has the same content\), so --description "a new description" was not applied: .* --force/,
      ),
    ]);
    expect(second.regions[0]).toMatchObject({
      status: "unchanged",
      version: 1,
      layerVersionArn: first.regions[0]?.layerVersionArn,
    });
    expect(await versionsOf(name)).toEqual([1]);

    const forced = await publishLayer({
      zipPath: smallZip,
      name,
      regions: ["us-east-1"],
      force: true,
      aws,
    });
    expect(forced.regions[0]).toMatchObject({ status: "published", version: 2, reason: "--force" });

    const changed = await publishLayer({ zipPath: otherZip, name, regions: ["us-east-1"], aws });
    expect(changed.regions[0]).toMatchObject({ status: "published", version: 3 });
    expect(changed.regions[0]?.reason).toMatch(/content changed since version 2/);

    const recompatible = await publishLayer({
      zipPath: otherZip,
      name,
      regions: ["us-east-1"],
      architectures: ["x86_64", "arm64"],
      aws,
    });
    expect(recompatible.regions[0]).toMatchObject({ status: "published", version: 4 });
    expect(recompatible.regions[0]?.reason).toMatch(/architectures changed/);
    expect(recompatible.warnings.join("\n")).toMatch(/built for architectures arm64/);
    expect(await versionsOf(name)).toEqual([4, 3, 2, 1]);
  });

  it("publishes to two regions concurrently", async () => {
    const name = uniqueName("regions");
    const result = await publishLayer({
      zipPath: smallZip,
      name,
      regions: ["eu-west-1", "ap-southeast-2"],
      aws,
    });
    expect(result.ok).toBe(true);
    expect(result.regions.map((item) => [item.region, item.status, item.layerVersionArn])).toEqual([
      ["eu-west-1", "published", `arn:aws:lambda:eu-west-1:123456789012:layer:${name}:1`],
      ["ap-southeast-2", "published", `arn:aws:lambda:ap-southeast-2:123456789012:layer:${name}:1`],
    ]);
    expect(await versionsOf(name, "eu-west-1")).toEqual([1]);
    expect(await versionsOf(name, "ap-southeast-2")).toEqual([1]);
    expect(await versionsOf(name, "us-east-1")).toEqual([]);
  });

  it("grants permissions visible through GetLayerVersionPolicy, idempotently", async () => {
    const name = uniqueName("perm");
    const publicResult = await publishLayer({
      zipPath: smallZip,
      name,
      regions: ["us-east-1"],
      public: true,
      aws,
    });
    expect(publicResult.regions[0]?.permissions).toEqual([
      { statementId: "pylayer-public", principal: "*", status: "added" },
    ]);
    const shared = await publishLayer({
      zipPath: otherZip,
      name,
      regions: ["us-east-1"],
      organizationId: "o-abcdef1234",
      accounts: ["111122223333", "444455556666"],
      aws,
    });
    expect(shared.regions[0]?.version).toBe(2);
    // Unchanged zip: nothing published, the grants are found in place.
    const again = await publishLayer({
      zipPath: otherZip,
      name,
      regions: ["us-east-1"],
      organizationId: "o-abcdef1234",
      accounts: ["111122223333", "444455556666"],
      aws,
    });
    expect(again.regions[0]?.status).toBe("unchanged");
    expect(again.regions[0]?.permissions.map((item) => item.status)).toEqual([
      "existing",
      "existing",
      "existing",
    ]);

    const client = lambdaClient(endpoint);
    try {
      const policyOf = async (version: number) => {
        const response = await client.send(
          new GetLayerVersionPolicyCommand({ LayerName: name, VersionNumber: version }),
        );
        return JSON.parse(response.Policy ?? "{}") as {
          Statement: { Sid: string; Principal: unknown; Action: string; OrganizationId?: string }[];
        };
      };
      const first = await policyOf(1);
      expect(first.Statement).toEqual([
        expect.objectContaining({
          Sid: "pylayer-public",
          Principal: "*",
          Action: "lambda:GetLayerVersion",
        }),
      ]);
      const second = await policyOf(2);
      expect(second.Statement.map((statement) => statement.Sid)).toEqual([
        "pylayer-org-o-abcdef1234",
        "pylayer-account-111122223333",
        "pylayer-account-444455556666",
      ]);
      // moto puts OrganizationId in the statement; AWS writes it as an aws:PrincipalOrgID condition.
      expect(second.Statement[0]).toMatchObject({ Principal: "*", OrganizationId: "o-abcdef1234" });
      expect(JSON.stringify(second.Statement[1]?.Principal)).toContain("111122223333");
    } finally {
      client.destroy();
    }
  });

  it("refuses a zip without a manifest unless --runtime and --arch are given", async () => {
    const bare = join(folder, "bare.zip");
    await writeLayerZip(bare, { "python/x.py": "" });
    const name = uniqueName("bare");
    const error = await publishLayer({ zipPath: bare, name, regions: ["us-east-1"], aws }).catch(
      (caught: unknown) => caught,
    );
    expect(isPylayerError(error) && error.code).toBe("publish-compatibility-unknown");
    const result = await publishLayer({
      zipPath: bare,
      name,
      regions: ["us-east-1"],
      runtimes: ["python3.11"],
      architectures: ["aarch64"],
      aws,
    });
    expect(result.runtimes).toEqual(["python3.11"]);
    expect(result.architectures).toEqual(["arm64"]);
    expect(result.regions[0]?.status).toBe("published");
  });

  it("uploads a zip over 50 MB through S3 (multipart), cleans up, and keeps other regions' results when one fails", {
    timeout: 120_000,
  }, async () => {
    const large = join(folder, "large.zip");
    // Stored random bytes: incompressible, so the zip itself is over 50 MB.
    await writeDeterministicZip(
      large,
      [
        {
          name: "python/blob.bin",
          mode: 0o644,
          source: {
            kind: "bytes",
            data: randomBytes(DIRECT_UPLOAD_LIMIT + 1024 * 1024),
            compress: false,
          },
        },
      ],
      { comment: encodeManifest(MANIFEST) },
    );
    const name = uniqueName("large");
    const bucket = uniqueName("pylayer-bucket");
    await createBucket(endpoint, "us-east-1", bucket);
    // eu-central-1 is given a bucket that does not exist: that region fails on upload.
    const result = await publishLayer({
      zipPath: large,
      name,
      regions: ["us-east-1", "eu-central-1"],
      s3Buckets: [bucket, `eu-central-1=${uniqueName("missing")}`],
      s3Prefix: "layers",
      s3Cleanup: true,
      aws,
    });
    expect(result.zip.size).toBeGreaterThan(DIRECT_UPLOAD_LIMIT);
    expect(result.ok).toBe(false);
    const [east, central] = result.regions;
    expect(east).toMatchObject({
      region: "us-east-1",
      status: "published",
      upload: "s3",
      version: 1,
      codeSha256: result.zip.codeSha256,
      codeSize: result.zip.size,
      s3: { bucket, key: `layers/${name}/${result.zip.sha256}.zip`, deleted: true },
    });
    expect(central?.status).toBe("failed");
    expect(central?.error?.code).toBe("aws-not-found");
    expect(central?.error?.message).toContain("s3:PutObject");
    const client = s3Client(endpoint);
    try {
      const head = await client
        .send(new HeadObjectCommand({ Bucket: bucket, Key: east?.s3?.key ?? "" }))
        .catch((error: unknown) => error);
      expect((head as { name?: string }).name).toBe("NotFound");
    } finally {
      client.destroy();
    }
  });
});
