/**
 * The factory's shared S3 wheel cache verifies what it reads back, as the local cache
 * does (issue 19, point 1): an object whose bytes are not the sha256 in its key (flipped
 * byte, truncated) is refused and counted, nothing of it stays in the local cache, and
 * the next upload replaces it; a damaged local wheel is never uploaded. Against moto.
 */
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, it } from "vitest";
import { Cache } from "../../src/cache/index.js";
import { SharedWheelCache, wheelCacheKey } from "../../src/factory/index.js";
import { createBucket, motoOptions, s3Client, uniqueName } from "../aws/moto.js";
import { motoForFile } from "../helpers/moto.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";

const moto = await motoForFile();
const REGION = "us-east-1";

describe.skipIf(moto === undefined)("the shared S3 wheel cache on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  const bucket = uniqueName("wheels");
  const shared = () => new SharedWheelCache(bucket, REGION, motoOptions(endpoint));

  beforeAll(async () => {
    await createBucket(endpoint, REGION, bucket);
  });

  async function putObject(key: string, body: Uint8Array) {
    const client = s3Client(endpoint, REGION);
    try {
      await client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    } finally {
      client.destroy();
    }
  }

  async function getObject(key: string): Promise<Uint8Array> {
    const client = s3Client(endpoint, REGION);
    try {
      const object = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return (await object.Body?.transformToByteArray()) ?? new Uint8Array();
    } finally {
      client.destroy();
    }
  }

  async function leftovers(cache: string): Promise<string[]> {
    return readdir(join(cache, "wheels-v1", ".tmp")).catch(() => []);
  }

  const flipped = (bytes: Uint8Array) => {
    const copy = Uint8Array.from(bytes);
    copy[Math.floor(copy.length / 2)]! ^= 0x01;
    return copy;
  };

  it.each([
    ["a flipped byte", flipped],
    ["a truncated object", (bytes: Uint8Array) => bytes.subarray(0, bytes.length - 100)],
  ])("refuses %s, keeps nothing of it, and the upload replaces it", async (name, damage) => {
    const wheel = buildWheel({ name: `damaged-${name.length}`, version: "1.0" });
    const planned = { sha256: wheel.sha256, filename: wheel.filename };
    const key = wheelCacheKey(wheel.sha256, wheel.filename);
    await putObject(key, damage(wheel.bytes));

    const folder = await temporaryFolder("pylayer-shared-cache-");
    const cache = new Cache(folder);
    const filled = await shared().fill(cache, [planned]);
    expect(filled).toEqual({ hits: 0, corrupt: 1, missing: [planned] });
    expect(await cache.getWheel(wheel.sha256, wheel.filename, { verify: false })).toBeNull();
    expect(await leftovers(folder)).toEqual([]);

    // The build downloads the wheel from the index; storing it replaces the damaged object.
    await cache.putWheelBytes(wheel.bytes, wheel.sha256, wheel.filename);
    expect(await shared().store(cache, filled.missing)).toBe(1);
    expect(Buffer.from(await getObject(key)).equals(Buffer.from(wheel.bytes))).toBe(true);

    const other = new Cache(await temporaryFolder("pylayer-shared-cache-"));
    expect(await shared().fill(other, [planned])).toEqual({ hits: 1, corrupt: 0, missing: [] });
    const path = await other.getWheel(wheel.sha256, wheel.filename);
    expect(path).not.toBeNull();
  });

  it("uses an intact object", async () => {
    const wheel = buildWheel({ name: "intact", version: "1.0" });
    await putObject(wheelCacheKey(wheel.sha256, wheel.filename), wheel.bytes);
    const cache = new Cache(await temporaryFolder("pylayer-shared-cache-"));
    const planned = { sha256: wheel.sha256, filename: wheel.filename };
    expect(await shared().fill(cache, [planned])).toEqual({ hits: 1, corrupt: 0, missing: [] });
  });

  it("never uploads a local wheel that does not match its sha256", async () => {
    const wheel = buildWheel({ name: "local-damage", version: "1.0" });
    const planned = { sha256: wheel.sha256, filename: wheel.filename };
    const cache = new Cache(await temporaryFolder("pylayer-shared-cache-"));
    const path = await cache.putWheelBytes(wheel.bytes, wheel.sha256, wheel.filename);
    await writeFile(path, flipped(wheel.bytes));
    expect(await shared().store(cache, [planned])).toBe(0);
    await expect(getObject(wheelCacheKey(wheel.sha256, wheel.filename))).rejects.toMatchObject({
      name: "NoSuchKey",
    });
  });
});
