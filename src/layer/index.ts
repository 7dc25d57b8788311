/**
 * A layer is the union of installed wheels in one layout, plus a small manifest kept
 * in the zip comment (never extracted to /opt) so that `publish` and `check` know
 * what the zip was built for.
 */
import { PylayerError } from "../errors.js";
import type { Architecture } from "../runtime/index.js";
import type { InstallPlan } from "../wheel/index.js";
import type { PlannedEntry } from "../zip/index.js";

export interface LayerManifest {
  runtimes: string[];
  architectures: Architecture[];
  /** `function`: a function package (dependencies and source at the zip root, `/var/task`). */
  layout: "python" | "site-packages" | "function";
  packages: { name: string; version: string }[];
  /** A function package's handler setting (`module.function`). */
  handler?: string;
}

const MANIFEST_PREFIX = "pylayer-manifest:";

/** Serializes the manifest for the zip comment (≤ 65,535 bytes; package list trimmed if needed). */
export function encodeManifest(manifest: LayerManifest): string {
  let text = MANIFEST_PREFIX + JSON.stringify(manifest);
  if (Buffer.byteLength(text) > 65_000) {
    text = MANIFEST_PREFIX + JSON.stringify({ ...manifest, packages: [] });
  }
  return text;
}

/** Reads a manifest written by `encodeManifest`, or undefined for zips from other tools. */
export function decodeManifest(comment: string): LayerManifest | undefined {
  if (!comment.startsWith(MANIFEST_PREFIX)) return undefined;
  try {
    return JSON.parse(comment.slice(MANIFEST_PREFIX.length)) as LayerManifest;
  } catch {
    return undefined;
  }
}

export interface FileConflict {
  path: string;
  /** Package names in install order; the first one's file is kept. */
  packages: string[];
}

/**
 * Merges the install plans of several wheels into one list of zip entries. Two
 * wheels writing the same path is reported; the file of the package that sorts first
 * by name is kept, so the outcome does not depend on download order.
 */
export function assembleLayer(installs: readonly InstallPlan[]): {
  entries: PlannedEntry[];
  conflicts: FileConflict[];
} {
  const sorted = [...installs].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const owners = new Map<string, string[]>();
  const entries: PlannedEntry[] = [];
  for (const install of sorted) {
    for (const entry of install.entries) {
      const existing = owners.get(entry.name);
      if (existing === undefined) {
        owners.set(entry.name, [install.name]);
        entries.push(entry);
      } else {
        existing.push(install.name);
      }
    }
  }
  const conflicts = [...owners.entries()]
    .filter(([, packages]) => packages.length > 1)
    .map(([path, packages]) => ({ path, packages }))
    .sort((a, b) => (a.path < b.path ? -1 : 1));
  return { entries, conflicts };
}

export function assertNoEntries(installs: readonly InstallPlan[]): void {
  if (installs.length === 0) {
    throw new PylayerError(
      "empty-layer",
      "every resolved package is excluded: the layer would be empty",
      {
        hint: "Remove some --exclude options.",
      },
    );
  }
}
