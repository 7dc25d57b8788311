/** Helpers shared by the lock file readers. */
import { isAbsolute, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { PylayerError } from "../errors.js";
import { SpecifierSet } from "../pep440/index.js";
import { type Marker, parseMarker } from "../pep508/index.js";
import type { Target } from "../runtime/index.js";

/** `sha256:ABC…` → `{ sha256: "abc…" }`. */
export function parseHashString(text: string, where: string): Record<string, string> {
  const separator = text.indexOf(":");
  if (separator <= 0) {
    throw new PylayerError("invalid-lock", `${where}: "${text}" is not an algorithm:digest hash`, {
      hint: "Regenerate the lock file with the tool that wrote it.",
    });
  }
  return { [text.slice(0, separator).toLowerCase()]: text.slice(separator + 1).toLowerCase() };
}

/** Lowercase algorithms and digests. */
export function normalizeHashes(hashes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(hashes).map(([algorithm, digest]) => [
      algorithm.toLowerCase(),
      digest.toLowerCase(),
    ]),
  );
}

/** The last path segment of a URL or path, percent-decoded. */
export function filenameFromLocation(location: string): string {
  const withoutQuery = location.replace(/[?#].*$/, "");
  const last = withoutQuery.split(/[/\\]/).pop() ?? "";
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** A URL for a lock entry: URLs as written, paths relative to the lock's folder as `file:` URLs. */
export function locationToUrl(location: string, folder: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(location)) return location;
  return pathToFileURL(isAbsolute(location) ? location : resolve(folder, location)).href;
}

export function parseLockMarker(text: string, file: string, where: string): Marker {
  try {
    return parseMarker(text);
  } catch (error) {
    if (error instanceof PylayerError) {
      throw new PylayerError("invalid-lock", `${file}: ${where}: ${error.message}`, {
        hint: "Regenerate the lock file with the tool that wrote it.",
        cause: error,
      });
    }
    throw error;
  }
}

/** Throws `lock-requires-python` when the target's Python is outside the lock's range. */
export function checkLockRequiresPython(
  file: string,
  requiresPython: string | undefined,
  target: Target,
  what = "the lock",
): void {
  if (requiresPython === undefined || requiresPython.trim() === "") return;
  let specifier: SpecifierSet;
  try {
    specifier = SpecifierSet.parse(requiresPython);
  } catch {
    return;
  }
  if (!specifier.contains(target.runtime.pythonFullVersion, { prereleases: true })) {
    throw new PylayerError(
      "lock-requires-python",
      `${file}: ${what} requires Python ${requiresPython}, but ${target.runtime.name} runs Python ${target.runtime.pythonFullVersion} (target ${target.id})`,
      {
        hint: "Choose a runtime the lock covers with --runtime, or re-lock for this Python version.",
      },
    );
  }
}

export function unknownSelection(
  kind: "extra" | "group",
  name: string,
  file: string,
  known: readonly string[],
): PylayerError {
  return new PylayerError(
    kind === "extra" ? "unknown-extra" : "unknown-group",
    `${file} has no ${kind === "extra" ? "extra" : "dependency group"} "${name}"`,
    {
      hint:
        known.length === 0
          ? `The lock records no ${kind === "extra" ? "extras" : "dependency groups"}.`
          : `It has: ${[...known].sort().join(", ")}.`,
    },
  );
}

export const LOCK_HINT = "Regenerate the lock file with the tool that wrote it.";
