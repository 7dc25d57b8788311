/**
 * `runFactoryLocal`: the work items of a manifest run in this process by a pool of
 * workers, each calling the Lambda handler's own `runWorkItem`, with the state
 * machine's retry policy (retryable errors retried with exponential backoff, user
 * errors never).
 */
import { availableParallelism, freemem } from "node:os";
import { mapWithLimit } from "../aws/clients.js";
import { runWorkItem } from "./run-item.js";
import type { FactorySettings, ItemResult, WorkItem } from "./types.js";

/** The state machine's retry policy, shared by the CDK construct and the local runner. */
export const RETRY_POLICY = {
  /** Attempts after the first. */
  maxAttempts: 4,
  intervalSeconds: 5,
  backoffRate: 2,
  maxDelaySeconds: 120,
} as const;

/** Memory one build is given on Lambda (the construct's default) and assumed to use here. */
export const BUILDER_MEMORY_MB = 2048;

/** Workers: one per core, no more than the free memory holds builds, at least one. */
export function defaultConcurrency(): number {
  const byMemory = Math.floor(freemem() / (BUILDER_MEMORY_MB * 1024 * 1024));
  return Math.max(1, Math.min(availableParallelism(), byMemory));
}

export interface LocalRunOptions extends FactorySettings {
  concurrency?: number;
  /** Retries of retryable failures (default RETRY_POLICY.maxAttempts). */
  retries?: number;
  /** First backoff delay in milliseconds (default RETRY_POLICY.intervalSeconds × 1000). */
  retryDelayMs?: number;
  onItem?: (event: { item: WorkItem; result?: ItemResult; attempt: number; done: number }) => void;
}

export async function runFactoryLocal(
  items: readonly WorkItem[],
  options: LocalRunOptions = {},
): Promise<ItemResult[]> {
  const retries = options.retries ?? RETRY_POLICY.maxAttempts;
  const firstDelay = options.retryDelayMs ?? RETRY_POLICY.intervalSeconds * 1000;
  let done = 0;
  return mapWithLimit(items, options.concurrency ?? defaultConcurrency(), async (item) => {
    let attempt = 1;
    for (;;) {
      options.onItem?.({ item, attempt, done });
      const result = await runWorkItem(item, options);
      result.attempts = attempt;
      if (result.error?.retryable !== true || attempt > retries) {
        done += 1;
        options.onItem?.({ item, result, attempt, done });
        return result;
      }
      const delay = Math.min(
        firstDelay * RETRY_POLICY.backoffRate ** (attempt - 1),
        RETRY_POLICY.maxDelaySeconds * 1000,
      );
      await new Promise((resolve) => setTimeout(resolve, delay));
      attempt += 1;
    }
  });
}

/** One row per item and region: what the results table shows and `--json` lists. */
export interface ResultRow {
  id: string;
  layerName: string;
  region: string;
  status: string;
  version?: number;
  layerVersionArn?: string;
  sha256?: string;
  error?: string;
}

export function resultRows(results: readonly ItemResult[]): ResultRow[] {
  return results.flatMap((result) =>
    result.regions.map((region): ResultRow => {
      const error = region.error ?? (region.status === "not-attempted" ? result.error : undefined);
      return {
        id: result.id,
        layerName: result.layerName,
        region: region.region,
        status: region.status,
        ...(region.version === undefined ? {} : { version: region.version }),
        ...(region.layerVersionArn === undefined
          ? {}
          : { layerVersionArn: region.layerVersionArn }),
        ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
        ...(error === undefined ? {} : { error: error.code }),
      };
    }),
  );
}
