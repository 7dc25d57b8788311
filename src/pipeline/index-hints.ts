/**
 * Resolution errors completed with what the indexes can tell, asked only once the
 * resolution has failed:
 * - `no-matching-distribution` when a later index, not consulted because of the
 *   `first-index` strategy, lists versions that match: the error says so and names
 *   `--index-strategy` (a pin that exists only on the second index is otherwise a puzzle);
 * - `project-not-found` with the project names nearest to the one asked for (a typo), from
 *   the indexes' project lists.
 */
import { PylayerError } from "../errors.js";
import type { IndexClient } from "../index/index.js";
import { projectNameFromFilename } from "../index/names.js";
import { type SpecifierSet, Version } from "../pep440/index.js";
import { parseRequirement } from "../pep508/index.js";
import { parseWheelFilename } from "../tags/index.js";

export async function withIndexHints(error: unknown, client: IndexClient): Promise<unknown> {
  if (!(error instanceof PylayerError)) return error;
  const project = error.details?.project;
  if (typeof project !== "string") return error;
  if (error.code === "no-matching-distribution") return unconsultedIndexes(error, project, client);
  if (error.code === "project-not-found") return closestNames(error, project, client);
  return error;
}

/** The specifiers of the requirements the error names (all versions when none is known). */
function specifiersOf(error: PylayerError): SpecifierSet[] {
  const requirements = (error.details?.requirements ?? []) as { requirement?: unknown }[];
  const specifiers: SpecifierSet[] = [];
  for (const entry of requirements) {
    if (typeof entry.requirement !== "string") continue;
    try {
      specifiers.push(parseRequirement(entry.requirement).specifier);
    } catch {
      // Not a requirement text: it restricts nothing here.
    }
  }
  return specifiers;
}

function versionOf(filename: string, project: string): string | undefined {
  if (filename.endsWith(".whl")) {
    try {
      return parseWheelFilename(filename).version;
    } catch {
      return undefined;
    }
  }
  if (projectNameFromFilename(filename) !== project) return undefined;
  const match = /-([^-]+)\.(tar\.gz|zip)$/i.exec(filename);
  return match?.[1];
}

async function unconsultedIndexes(
  error: PylayerError,
  project: string,
  client: IndexClient,
): Promise<PylayerError> {
  const listings = await client.unconsultedListings(project);
  if (listings.length === 0) return error;
  const specifiers = specifiersOf(error);
  const found: { index: string; versions: string[] }[] = [];
  for (const listing of listings) {
    const versions = new Map<string, Version>();
    for (const file of listing.files) {
      const text = versionOf(file.filename, project);
      const version = text === undefined ? null : Version.tryParse(text);
      if (version === null) continue;
      if (specifiers.every((specifier) => specifier.contains(version, { prereleases: true }))) {
        versions.set(version.text, version);
      }
    }
    if (versions.size > 0) {
      const sorted = [...versions.values()].sort((a, b) => b.compare(a)).map((v) => v.text);
      found.push({ index: listing.index, versions: sorted });
    }
  }
  if (found.length === 0) return error;
  const winner =
    (await client.getProject(project).catch(() => undefined))?.index ??
    "the first index that has it";
  const lines = found.map(
    ({ index, versions }) =>
      `  ${index} has ${project} ${versions.slice(0, 5).join(", ")}${versions.length > 5 ? ` (and ${versions.length - 5} more)` : ""}`,
  );
  return new PylayerError(
    error.code,
    `${error.message}\nMatching versions on an index that was not consulted (--index-strategy first-index takes ${project} only from ${winner}, the first index that has it):\n${lines.join("\n")}`,
    {
      hint: `If ${project} is meant to come from ${found[0]!.index}, ask that index first (--index-url / the order of --extra-index-url), or consult every index with --index-strategy unsafe-first-match (or unsafe-best-match); those accept a project of that name from any index, which first-index protects against (dependency confusion).`,
      exitCode: error.exitCode,
      cause: error,
      details: { ...error.details, unconsultedIndexes: found },
    },
  );
}

async function closestNames(
  error: PylayerError,
  project: string,
  client: IndexClient,
): Promise<PylayerError> {
  const names = await client.closestProjectNames(project).catch(() => []);
  if (names.length === 0) return error;
  return new PylayerError(error.code, error.message, {
    hint: `Did you mean ${names.map((name) => `"${name}"`).join(" or ")}? ${error.hint ?? ""}`.trim(),
    exitCode: error.exitCode,
    cause: error,
    details: { ...error.details, suggestions: names },
  });
}
