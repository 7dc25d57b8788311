/**
 * A wheel cache shared by every builder through one S3 bucket, keyed like the local
 * cache by the sha256 of the wheel (`wheels-v1/sha256/<hex>/<filename>`), so a wheel
 * downloaded from the index once serves all builders in all regions. Objects are
 * immutable: a key names its bytes. An object is hashed while it is read back and used
 * only when its sha256 is the one in its key (as the local cache verifies its wheels); a
 * damaged or truncated object is counted as `corrupt`, the wheel comes from the index,
 * and `store` replaces the object. Wheels are uploaded only after the local copy is
 * verified too, so a damaged local file never reaches the bucket.
 *
 * A failure of the shared cache never fails a build: the wheel comes from the index.
 */
import { readFile } from "node:fs/promises";
import type { Readable } from "node:stream";
import { type AwsOptions, createS3Client } from "../aws/clients.js";
import type { Cache } from "../cache/index.js";
import type { BuildPlan } from "../pipeline/index.js";

export function wheelCacheKey(sha256: string, filename: string): string {
  return `wheels-v1/sha256/${sha256}/${filename}`;
}

interface PlannedWheel {
  sha256: string;
  filename: string;
}

/** The wheels of a plan whose sha256 the index announced (or the lock recorded). */
export function plannedWheels(plan: BuildPlan): PlannedWheel[] {
  const seen = new Map<string, PlannedWheel>();
  for (const target of plan.targets) {
    for (const item of target.packages) {
      if (item.excluded !== undefined || item.sha256 === undefined) continue;
      seen.set(item.sha256, { sha256: item.sha256.toLowerCase(), filename: item.filename });
    }
  }
  return [...seen.values()];
}

export class SharedWheelCache {
  constructor(
    readonly bucket: string,
    readonly region: string,
    readonly aws: AwsOptions,
  ) {}

  /** Copies the planned wheels the local cache lacks from the bucket; returns those still missing. */
  async fill(
    cache: Cache,
    wheels: PlannedWheel[],
  ): Promise<{ hits: number; corrupt: number; missing: PlannedWheel[] }> {
    const { GetObjectCommand } = await import("@aws-sdk/client-s3");
    const client = await createS3Client(this.region, this.aws);
    const missing: PlannedWheel[] = [];
    let hits = 0;
    let corrupt = 0;
    try {
      for (const wheel of wheels) {
        if ((await cache.getWheel(wheel.sha256, wheel.filename, { verify: false })) !== null) {
          continue;
        }
        try {
          const object = await client.send(
            new GetObjectCommand({
              Bucket: this.bucket,
              Key: wheelCacheKey(wheel.sha256, wheel.filename),
            }),
          );
          const body = object.Body as Readable | undefined;
          if (body === undefined) throw new Error("empty body");
          const path = await cache.putWheelStream(body, wheel.sha256, wheel.filename);
          if (path === null) {
            corrupt += 1;
            missing.push(wheel);
            continue;
          }
          hits += 1;
        } catch {
          missing.push(wheel);
        }
      }
    } finally {
      client.destroy();
    }
    return { hits, corrupt, missing };
  }

  /**
   * Uploads the wheels the bucket lacked (or held damaged), from the local cache after
   * verifying each; returns how many were written.
   */
  async store(cache: Cache, wheels: PlannedWheel[]): Promise<number> {
    if (wheels.length === 0) return 0;
    const { PutObjectCommand } = await import("@aws-sdk/client-s3");
    const client = await createS3Client(this.region, this.aws);
    let uploads = 0;
    try {
      for (const wheel of wheels) {
        const path = await cache.getWheel(wheel.sha256, wheel.filename);
        if (path === null) continue;
        try {
          await client.send(
            new PutObjectCommand({
              Bucket: this.bucket,
              Key: wheelCacheKey(wheel.sha256, wheel.filename),
              Body: await readFile(path),
              ContentType: "application/zip",
            }),
          );
          uploads += 1;
        } catch {
          // The next builder downloads it from the index instead.
        }
      }
    } finally {
      client.destroy();
    }
    return uploads;
  }
}
