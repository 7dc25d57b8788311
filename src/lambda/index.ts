/**
 * `pylayer/lambda`: the layer factory's builder as a Node.js Lambda handler.
 *
 * Input: one work item (`{ item }` as the LayerFactory state machine sends it, or the
 * item itself). Output: the item's result (version ARNs, sha256, size, findings). A
 * user error (bad requirement, failing check, name outside the prefix) is returned in
 * the result, so the item fails alone and is not retried; a retryable failure
 * (throttling, AWS service errors) is thrown as `PylayerRetryableError`, which the
 * state machine retries with backoff.
 *
 * Settings come from the environment (the construct sets them):
 * - `PYLAYER_FACTORY_TABLE`: DynamoDB table of the latest versions (optional)
 * - `PYLAYER_FACTORY_WHEEL_CACHE_BUCKET`: S3 bucket shared as a wheel cache (optional)
 * - `PYLAYER_FACTORY_STAGING_BUCKETS`: comma-separated `BUCKET`, `REGION=BUCKET` or
 *   `name-{region}` for zips over 50 MB
 * - `PYLAYER_FACTORY_NAME_PREFIX`: layer names outside it are refused
 * - `PYLAYER_FACTORY_KEEP`: versions kept per layer and region (items may say otherwise)
 * - `PYLAYER_CACHE_DIR`: default `/tmp/pylayer-cache`, kept across warm invocations
 */
import { RetryableItemError } from "../factory/errors.js";
import { runWorkItem } from "../factory/run-item.js";
import type { FactorySettings, ItemResult, WorkItem } from "../factory/types.js";

export type BuilderEvent = WorkItem | { item: WorkItem };

function list(value: string | undefined): string[] | undefined {
  const entries = (value ?? "")
    .split(",")
    .map((entry) => entry.trim())
    .filter(Boolean);
  return entries.length === 0 ? undefined : entries;
}

/** The builder's settings from a Lambda environment. */
export function settingsFromEnvironment(env: NodeJS.ProcessEnv = process.env): FactorySettings {
  const region = env.AWS_REGION;
  const table = env.PYLAYER_FACTORY_TABLE;
  const wheelCache = env.PYLAYER_FACTORY_WHEEL_CACHE_BUCKET;
  const staging = list(env.PYLAYER_FACTORY_STAGING_BUCKETS);
  const prefix = env.PYLAYER_FACTORY_NAME_PREFIX;
  const keep = Number(env.PYLAYER_FACTORY_KEEP);
  return {
    ...(table ? { table } : {}),
    ...(table && region ? { tableRegion: region } : {}),
    ...(wheelCache ? { wheelCacheBucket: wheelCache } : {}),
    ...(wheelCache && region ? { wheelCacheRegion: region } : {}),
    ...(staging === undefined ? {} : { stagingBuckets: staging }),
    ...(prefix ? { namePrefix: prefix } : {}),
    ...(Number.isInteger(keep) && keep > 0 ? { defaultKeep: keep } : {}),
    // /tmp is the only writable folder on Lambda; a warm sandbox keeps its cache.
    cacheDir: env.PYLAYER_CACHE_DIR || "/tmp/pylayer-cache",
    workDir: "/tmp/pylayer-work",
    env,
  };
}

/** A handler with explicit settings (tests, other hosts); `handler` reads them from the environment. */
export function createHandler(
  settings: FactorySettings,
): (event: BuilderEvent) => Promise<ItemResult> {
  return async (event) => {
    const item = "item" in event ? event.item : event;
    const result = await runWorkItem(item, settings);
    if (result.error?.retryable === true) throw new RetryableItemError(result.error);
    return result;
  };
}

let fromEnvironment: ((event: BuilderEvent) => Promise<ItemResult>) | undefined;

export async function handler(event: BuilderEvent): Promise<ItemResult> {
  fromEnvironment ??= createHandler(settingsFromEnvironment());
  return fromEnvironment(event);
}

export { RETRYABLE_ERROR_NAME } from "../factory/errors.js";
export type { FactorySettings, ItemResult, WorkItem } from "../factory/types.js";
