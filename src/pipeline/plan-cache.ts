/**
 * Reusing a resolution. A plan is a function of its inputs (requirements, constraints,
 * hashes, targets, index settings, options, pylayer's version) and of the index pages it
 * read (wheel metadata is immutable: cached by hash). When a build has the same inputs
 * as an earlier one and every page it read still reads the same
 * (`IndexClient.pagesUnchanged`: fresh by the index's max-age, revalidated with a 304, or
 * a `file://` page read again), the earlier plan is the answer and the resolver does not
 * run. A changed page, find-links or no cache resolve as usual. */
import { sha256Hex } from "../cache/index.js";
import type { DistributionFile } from "../index/index.js";
import type { BuildEvent, BuildPlan } from "./types.js";
import { pylayerVersion } from "./version.js";

/** Bump when what a plan holds, or how it is made from the same inputs, changes. */
const PLAN_FORMAT = 1;

export interface CachedResolution {
  /** Page URL → sha256 of the body read (null: the index had no such page). */
  pages: Record<string, string | null>;
  /** The plan without its outputs, which depend on `--output` and the folder, not on the index. */
  plan: BuildPlan;
  files: DistributionFile[];
  /** Warnings the resolution reported as events, told again on reuse. */
  events: BuildEvent[];
}

/** The cache key of a resolution: a digest of `inputs` (plain JSON data) and the version. */
export async function resolutionKey(inputs: Record<string, unknown>): Promise<string> {
  return sha256Hex(
    JSON.stringify({ format: PLAN_FORMAT, pylayer: await pylayerVersion(), ...inputs }),
  );
}

/** Checks the shape of a stored resolution; null when it is not one. */
export function asCachedResolution(value: unknown): CachedResolution | null {
  if (typeof value !== "object" || value === null) return null;
  const { pages, plan, files, events } = value as Partial<Record<keyof CachedResolution, unknown>>;
  if (typeof pages !== "object" || pages === null || Array.isArray(pages)) return null;
  if (!Array.isArray(files) || !Array.isArray(events)) return null;
  if (typeof plan !== "object" || plan === null) return null;
  const { targets, outputs, warnings } = plan as Partial<BuildPlan>;
  if (!Array.isArray(targets) || !Array.isArray(outputs) || !Array.isArray(warnings)) return null;
  return value as CachedResolution;
}

/** Whether a resolution can be stored: no file URL may carry credentials. */
export function storable(files: Iterable<DistributionFile>): boolean {
  for (const file of files) {
    const url = new URL(file.url);
    if (url.username !== "" || url.password !== "") return false;
  }
  return true;
}
