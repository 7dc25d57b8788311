/**
 * PEP 751 `pylock.toml` / `pylock.<name>.toml` ("pylock.toml Specification" on
 * packaging.python.org), installed as its "Installation" section prescribes:
 * - `lock-version` 1.x is read (a newer minor version with unknown keys gives a warning),
 *   any other major version is an error;
 * - `requires-python` and `environments` must admit the target, or the lock cannot serve it;
 * - the `extras` and `dependency_groups` marker variables are the requested extras and the
 *   `default-groups` plus requested groups;
 * - each package whose `marker` holds is installed; its `requires-python` must hold; two
 *   selected entries for one name are an ambiguity error;
 * - `wheels` (by `url` or `path`, with `hashes` and `size`) are the only installable
 *   source, plus an `archive` that is a wheel; `sdist`-only, `vcs` and `directory` entries
 *   cannot go into a layer and are reported.
 */
import { dirname } from "node:path";
import { z } from "zod";
import { PylayerError } from "../errors.js";
import { evaluateMarker, type Marker, normalizeName } from "../pep508/index.js";
import { parseTomlText, readTextFile, validate } from "../pyproject/toml.js";
import { markerEnvironment, type Target } from "../runtime/index.js";
import { isWheelFilename } from "../tags/index.js";
import { vcsUrl } from "../vcs/index.js";
import {
  checkLockRequiresPython,
  filenameFromLocation,
  LOCK_HINT,
  locationToUrl,
  normalizeHashes,
  parseLockMarker,
  unknownSelection,
} from "./common.js";
import type { LockedFile, LockedPackage, LockFile, LockRequest } from "./types.js";

const FileSchema = z.object({
  name: z.string().optional(),
  url: z.string().optional(),
  path: z.string().optional(),
  size: z.number().int().nonnegative().optional(),
  hashes: z
    .record(z.string(), z.string())
    .refine((hashes) => Object.keys(hashes).length > 0, "must list at least one hash"),
  "upload-time": z.unknown().optional(),
  subdirectory: z.string().optional(),
});

const PackageSchema = z.object({
  name: z.string(),
  version: z.string().optional(),
  marker: z.string().optional(),
  "requires-python": z.string().optional(),
  dependencies: z.array(z.record(z.string(), z.unknown())).optional(),
  vcs: z.record(z.string(), z.unknown()).optional(),
  directory: z.record(z.string(), z.unknown()).optional(),
  archive: FileSchema.optional(),
  index: z.string().optional(),
  sdist: FileSchema.optional(),
  wheels: z.array(FileSchema).optional(),
});

const PylockSchema = z.object({
  "lock-version": z.string(),
  environments: z.array(z.string()).optional(),
  "requires-python": z.string().optional(),
  extras: z.array(z.string()).default([]),
  "dependency-groups": z.array(z.string()).default([]),
  "default-groups": z.array(z.string()).default([]),
  "created-by": z.string(),
  packages: z.array(PackageSchema),
});

type PylockPackage = z.infer<typeof PackageSchema>;

const KNOWN_TOP_LEVEL_KEYS = new Set([
  "lock-version",
  "environments",
  "requires-python",
  "extras",
  "dependency-groups",
  "default-groups",
  "created-by",
  "packages",
  "tool",
]);

interface ParsedPackage {
  entry: PylockPackage;
  index: number;
  name: string;
  marker: Marker | undefined;
}

export async function readPylock(path: string): Promise<LockFile> {
  const text = await readTextFile(path, "lock file");
  return parsePylock(text, path);
}

export function parsePylock(text: string, path: string): LockFile {
  const raw = parseTomlText(text, path);
  const version = raw["lock-version"];
  const warnings: string[] = [];
  if (typeof version === "string") {
    const [major, minor] = version.split(".");
    if (major !== "1") {
      throw new PylayerError(
        "lock-version-unsupported",
        `${path} has lock-version ${version}; pylayer reads pylock.toml version 1.x`,
        { hint: "Upgrade pylayer, or write the lock with a tool that produces lock-version 1.0." },
      );
    }
    if (minor !== undefined && minor !== "0") {
      const unknown = Object.keys(raw).filter((key) => !KNOWN_TOP_LEVEL_KEYS.has(key));
      if (unknown.length > 0) {
        warnings.push(
          `${path} (lock-version ${version}) has keys pylayer does not know: ${unknown.join(", ")}`,
        );
      }
    }
  }
  const lock = validate(PylockSchema, raw, path, "invalid-lock", LOCK_HINT);
  const folder = dirname(path);
  const environments = (lock.environments ?? []).map((environment, index) => ({
    text: environment,
    marker: parseLockMarker(environment, path, `environments[${index}]`),
  }));
  const packages: ParsedPackage[] = lock.packages.map((entry, index) => ({
    entry,
    index,
    name: normalizeName(entry.name),
    marker:
      entry.marker === undefined
        ? undefined
        : parseLockMarker(entry.marker, path, `packages[${index}].marker (${entry.name})`),
  }));
  const extras = lock.extras.map(normalizeName);
  const groups = lock["dependency-groups"].map(normalizeName);
  const defaultGroups = lock["default-groups"].map(normalizeName);

  const environmentAdmits = (target: Target) => {
    const environment = markerEnvironment(target);
    return environments.some(({ marker }) => evaluateMarker(marker, environment));
  };

  return {
    format: "pylock",
    path,
    warnings,
    declaredTargets(candidates) {
      if (environments.length === 0) return undefined;
      const matching = candidates.filter((target) => {
        try {
          checkLockRequiresPython(path, lock["requires-python"], target);
        } catch {
          return false;
        }
        return environmentAdmits(target);
      });
      return matching.length > 0 ? matching : undefined;
    },
    select(target: Target, request: LockRequest): LockedPackage[] {
      checkLockRequiresPython(path, lock["requires-python"], target);
      if (environments.length > 0 && !environmentAdmits(target)) {
        throw new PylayerError(
          "lock-environment-mismatch",
          `${path} was not made for ${target.id}: none of its environments matches (${environments.map(({ text }) => text).join("; ")})`,
          {
            hint: "Choose a runtime and architecture the lock covers (--runtime, --arch), or re-lock with pylayer lock for this target.",
          },
        );
      }
      for (const extra of request.extras) {
        if (!extras.includes(extra)) throw unknownSelection("extra", extra, path, extras);
      }
      const knownGroups = [...groups, ...defaultGroups];
      for (const group of request.groups) {
        if (!knownGroups.includes(group)) throw unknownSelection("group", group, path, groups);
      }
      const environment = markerEnvironment(target);
      const activeGroups = [...new Set([...defaultGroups, ...request.groups])];
      const chosen = new Map<string, ParsedPackage>();
      for (const item of packages) {
        if (
          item.marker !== undefined &&
          !evaluateMarker(item.marker, environment, request.extras, activeGroups)
        ) {
          continue;
        }
        checkLockRequiresPython(
          path,
          item.entry["requires-python"],
          target,
          `${item.entry.name} ${item.entry.version ?? ""}`.trim(),
        );
        const previous = chosen.get(item.name);
        if (previous !== undefined) {
          throw new PylayerError(
            "lock-ambiguous",
            `${path}: packages[${previous.index}] and packages[${item.index}] both install ${item.entry.name} on ${target.id}`,
            {
              hint: "A lock may list a package several times only with markers that never hold together; regenerate the lock.",
            },
          );
        }
        chosen.set(item.name, item);
      }
      return [...chosen.values()].map((item) => toLockedPackage(item, path, folder));
    },
  };
}

function toLockedPackage(item: ParsedPackage, path: string, folder: string): LockedPackage {
  const { entry } = item;
  const where = `packages[${item.index}] (${entry.name})`;
  const base = {
    name: item.name,
    version: entry.version ?? "",
    wheels: [] as LockedFile[],
    otherFiles: [] as string[],
    requiredBy: [entry.marker === undefined ? "lock" : `lock; ${entry.marker}`],
  };
  const sources = (["vcs", "directory", "archive", "sdist", "wheels"] as const).filter(
    (key) => entry[key] !== undefined,
  );
  const exclusive = sources.filter(
    (key) => key === "vcs" || key === "directory" || key === "archive",
  );
  if (exclusive.length > 1 || (exclusive.length === 1 && sources.length > 1)) {
    throw new PylayerError(
      "invalid-lock",
      `${path}: ${where} has conflicting sources (${sources.join(", ")})`,
      { hint: "vcs, directory and archive exclude every other source (PEP 751)." },
    );
  }
  if (entry.vcs !== undefined)
    return { ...base, direct: { url: pylockVcsUrl(entry.vcs, path, folder, where) } };
  if (entry.directory !== undefined) {
    const location = entry.directory.path;
    if (typeof location !== "string") {
      throw new PylayerError("invalid-lock", `${path}: ${where}.directory has no path`, {
        hint: LOCK_HINT,
      });
    }
    const subdirectory =
      typeof entry.directory.subdirectory === "string" ? entry.directory.subdirectory : undefined;
    return {
      ...base,
      direct: {
        url: locationToUrl(
          subdirectory === undefined ? location : `${location}/${subdirectory}`,
          folder,
        ),
        ...(entry.directory.editable === true ? { editable: true } : {}),
      },
    };
  }
  if (entry.archive !== undefined) {
    const file = toLockedFile(entry.archive, path, folder, `${where}.archive`);
    if (!isWheelFilename(file.filename)) return { ...base, direct: { url: withSha256(file) } };
    return { ...base, wheels: [file] };
  }
  if (entry.version === undefined) {
    throw new PylayerError("invalid-lock", `${path}: ${where} has wheels but no version`, {
      hint: LOCK_HINT,
    });
  }
  if ((entry.wheels ?? []).length === 0 && entry.sdist !== undefined) {
    // Only an sdist is locked: it is built, its hash checked on download.
    return {
      ...base,
      direct: { url: withSha256(toLockedFile(entry.sdist, path, folder, `${where}.sdist`)) },
    };
  }
  return {
    ...base,
    wheels: (entry.wheels ?? []).map((wheel, index) =>
      toLockedFile(wheel, path, folder, `${where}.wheels[${index}]`),
    ),
    otherFiles:
      entry.sdist === undefined
        ? []
        : [toLockedFile(entry.sdist, path, folder, `${where}.sdist`).filename],
  };
}

function toLockedFile(
  file: z.infer<typeof FileSchema>,
  path: string,
  folder: string,
  where: string,
): LockedFile {
  const location = file.path ?? file.url;
  if (location === undefined) {
    throw new PylayerError("invalid-lock", `${path}: ${where} has neither url nor path`, {
      hint: LOCK_HINT,
    });
  }
  return {
    filename: file.name ?? filenameFromLocation(location),
    url: locationToUrl(location, folder),
    hashes: normalizeHashes(file.hashes),
    ...(file.size === undefined ? {} : { size: file.size }),
  };
}

/** An archive's URL with the `#sha256=` its download is checked against. */
function withSha256(file: LockedFile): string {
  const sha256 = file.hashes.sha256;
  return sha256 === undefined ? file.url : `${file.url}#sha256=${sha256}`;
}

/** PEP 751 `[packages.vcs]`: `type` git, `url` or `path`, `commit-id`, `subdirectory`. */
function pylockVcsUrl(
  vcs: Record<string, unknown>,
  path: string,
  folder: string,
  where: string,
): string {
  if (vcs.type !== "git") {
    throw new PylayerError(
      "lock-unsupported-source",
      `${path}: ${where}.vcs is ${String(vcs.type)}; only git is supported`,
      {
        hint: "Lock the package from an index or as a git repository.",
      },
    );
  }
  const location =
    typeof vcs.url === "string"
      ? vcs.url
      : typeof vcs.path === "string"
        ? locationToUrl(vcs.path, folder)
        : undefined;
  const commit = vcs["commit-id"];
  if (location === undefined || typeof commit !== "string") {
    throw new PylayerError(
      "invalid-lock",
      `${path}: ${where}.vcs needs url (or path) and commit-id`,
      { hint: LOCK_HINT },
    );
  }
  const subdirectory = typeof vcs.subdirectory === "string" ? vcs.subdirectory : undefined;
  return vcsUrl({ repository: location, revision: commit, subdirectory });
}
