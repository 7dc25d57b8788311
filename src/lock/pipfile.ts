/**
 * pipenv's `Pipfile.lock` (pipfile-spec 6): a flat list per category, each package with
 * `version` (`==X`), `hashes` (`sha256:…`, of any of its files), `markers` and `index`
 * (a source name from `_meta.sources`).
 *
 * - `default` is installed; `develop` with `--group dev` (or `--group develop`); other
 *   categories by their name. Packages whose markers do not hold on the target are skipped.
 * - Files are known by hash only, so they are looked up on the package's source (the one
 *   its `index` names, else the first of `_meta.sources`), where the wheel whose sha256 is
 *   one of the recorded hashes is chosen. A source on pypi.org stands for the configured
 *   index (--index-url, PIP_INDEX_URL, pip.conf), so mirrors keep working.
 * - `git` (at `ref`), `path` (editable or not) and `file` entries are built from source
 *   like direct references (an editable one as a regular wheel).
 *
 * Freshness: `_meta.hash.sha256` is sha256 of `json.dumps(data, sort_keys=True,
 * separators=(",", ":"))` where data is `{"_meta": {"sources": [[source]]…, "requires":
 * [requires]}, "default": [packages], "develop": [dev-packages], <other categories>}` of the
 * Pipfile (plette's `Pipfile.get_hash`, with pipenv's default source when the Pipfile has
 * none); recent pipenv first normalizes package names (PEP 503). Both are accepted.
 */
import { createHash } from "node:crypto";
import { access } from "node:fs/promises";
import { dirname, join } from "node:path";
import { z } from "zod";
import { PylayerError } from "../errors.js";
import { evaluateMarker, normalizeName } from "../pep508/index.js";
import {
  isTable,
  parseJsonText,
  parseTomlText,
  readTextFile,
  type TomlTable,
  validate,
} from "../pyproject/toml.js";
import { markerEnvironment, type Target } from "../runtime/index.js";
import { vcsUrl } from "../vcs/index.js";
import {
  LOCK_HINT,
  locationToUrl,
  parseHashString,
  parseLockMarker,
  unknownSelection,
} from "./common.js";
import { pythonJsonDumps } from "./python-json.js";
import type { LockedPackage, LockFile, LockRequest } from "./types.js";

const EntrySchema = z.looseObject({
  version: z.string().optional(),
  hashes: z.array(z.string()).default([]),
  markers: z.string().optional(),
  index: z.string().optional(),
  extras: z.array(z.string()).optional(),
  git: z.string().optional(),
  ref: z.string().optional(),
  subdirectory: z.string().optional(),
  path: z.string().optional(),
  file: z.string().optional(),
  editable: z.boolean().optional(),
});

const MetaSchema = z.object({
  hash: z.object({ sha256: z.string() }).optional(),
  "pipfile-spec": z.number().optional(),
  requires: z.record(z.string(), z.unknown()).optional(),
  sources: z
    .array(z.object({ name: z.string(), url: z.string(), verify_ssl: z.boolean().optional() }))
    .default([]),
});

const CategorySchema = z.record(z.string(), EntrySchema);

type Entry = z.infer<typeof EntrySchema>;

const PYPI_HOSTS = /^https?:\/\/(pypi\.org|pypi\.python\.org|files\.pythonhosted\.org)(\/|$)/i;

export async function readPipfileLock(
  path: string,
  options: { checkFresh?: boolean } = {},
): Promise<LockFile> {
  const pipfilePath = join(dirname(path), "Pipfile");
  let pipfile: string | undefined;
  if (options.checkFresh !== false) {
    try {
      await access(pipfilePath);
      pipfile = await readTextFile(pipfilePath, "Pipfile");
    } catch {
      pipfile = undefined;
    }
  }
  return parsePipfileLock(await readTextFile(path, "lock file"), path, {
    ...(pipfile === undefined ? {} : { pipfile: { text: pipfile, path: pipfilePath } }),
  });
}

/** The source pipenv assumes (and hashes) for a Pipfile without `[[source]]`. */
export const PIPENV_DEFAULT_SOURCE = {
  name: "pypi",
  url: "https://pypi.org/simple",
  verify_ssl: true,
} as const;

/** The hashes pipenv may have recorded for this Pipfile: plette's, then with normalized names. */
export function pipfileHashes(pipfile: TomlTable): string[] {
  const sections = new Set([
    "source",
    "packages",
    "dev-packages",
    "requires",
    "scripts",
    "pipfile",
    "pipenv",
  ]);
  const variant = (normalize: boolean) => {
    const names = (section: unknown) =>
      isTable(section)
        ? Object.fromEntries(
            Object.entries(section).map(([key, value]) => [
              normalize ? normalizeName(key) : key,
              value,
            ]),
          )
        : {};
    const data: Record<string, unknown> = {
      _meta: {
        sources: pipfile.source ?? [PIPENV_DEFAULT_SOURCE],
        requires: pipfile.requires ?? {},
      },
      default: names(pipfile.packages),
      develop: names(pipfile["dev-packages"]),
    };
    for (const [category, values] of Object.entries(pipfile)) {
      if (sections.has(category) || category === "default" || category === "develop") continue;
      data[category] = names(values);
    }
    const text = pythonJsonDumps(data, { itemSeparator: ",", keySeparator: ":" });
    return createHash("sha256").update(text, "utf8").digest("hex");
  };
  return [variant(false), variant(true)];
}

export function parsePipfileLock(
  text: string,
  path: string,
  options: { pipfile?: { text: string; path: string } } = {},
): LockFile {
  const raw = parseJsonText(text, path);
  if (!isTable(raw)) {
    throw new PylayerError("invalid-lock", `${path} is not a Pipfile.lock (not a JSON object)`, {
      hint: LOCK_HINT,
    });
  }
  const meta = validate(MetaSchema, raw._meta, `${path} _meta`, "invalid-lock", LOCK_HINT);
  const spec = meta["pipfile-spec"];
  if (spec !== undefined && spec > 6) {
    throw new PylayerError(
      "lock-version-unsupported",
      `${path} uses pipfile-spec ${spec}; pylayer reads pipfile-spec 6 and earlier`,
      { hint: "Upgrade pylayer, or regenerate the lock with a pipenv that writes pipfile-spec 6." },
    );
  }
  const categories = new Map<string, Record<string, Entry>>();
  for (const [key, value] of Object.entries(raw)) {
    if (key === "_meta") continue;
    categories.set(
      key,
      validate(CategorySchema, value, `${path} ${key}`, "invalid-lock", LOCK_HINT),
    );
  }
  if (options.pipfile !== undefined && meta.hash !== undefined) {
    const pipfile = parseTomlText(options.pipfile.text, options.pipfile.path, {
      exactIntegers: true,
    });
    if (!pipfileHashes(pipfile).includes(meta.hash.sha256.toLowerCase())) {
      throw new PylayerError(
        "lock-stale",
        `${path} is out of date with ${options.pipfile.path} (_meta.hash.sha256 no longer matches the Pipfile)`,
        { hint: "Run `pipenv lock` to update the lock file, then build again." },
      );
    }
  }
  const warnings: string[] = [];
  const sourceUrl = (name: string | undefined): string | undefined => {
    const source =
      name === undefined ? meta.sources[0] : meta.sources.find((item) => item.name === name);
    if (source === undefined) {
      if (name === undefined) return undefined;
      throw new PylayerError(
        "invalid-lock",
        `${path}: no source named "${name}" in _meta.sources`,
        { hint: LOCK_HINT },
      );
    }
    return PYPI_HOSTS.test(source.url) ? undefined : source.url;
  };
  const requiredPython = meta.requires?.python_version;

  return {
    format: "pipfile",
    path,
    warnings,
    select(target: Target, request: LockRequest): LockedPackage[] {
      if (request.extras.length > 0) throw unknownSelection("extra", request.extras[0]!, path, []);
      const wanted = ["default"];
      for (const group of request.groups) {
        const category =
          group === "dev" || group === "develop"
            ? "develop"
            : [...categories.keys()].find((key) => normalizeName(key) === group);
        if (category === undefined || !categories.has(category)) {
          throw unknownSelection(
            "group",
            group,
            path,
            [...categories.keys()]
              .filter((key) => key !== "default")
              .map((key) => (key === "develop" ? "dev" : key)),
          );
        }
        wanted.push(category);
      }
      const [major, minor] = target.runtime.python;
      if (typeof requiredPython === "string" && requiredPython !== `${major}.${minor}`) {
        const warning = `${path} was locked for Python ${requiredPython}; ${target.id} runs Python ${major}.${minor} (markers are evaluated for the target)`;
        if (!warnings.includes(warning)) warnings.push(warning);
      }
      const environment = markerEnvironment(target);
      const chosen = new Map<string, LockedPackage>();
      for (const category of wanted) {
        for (const [name, entry] of Object.entries(categories.get(category) ?? {})) {
          const normalized = normalizeName(name);
          if (entry.markers !== undefined && entry.markers.trim() !== "") {
            const marker = parseLockMarker(entry.markers, path, `${category}.${name}.markers`);
            if (!evaluateMarker(marker, environment)) continue;
          }
          const existing = chosen.get(normalized);
          if (existing !== undefined) {
            existing.requiredBy.push(category);
            continue;
          }
          chosen.set(normalized, toLockedPackage(normalized, entry, category, path, sourceUrl));
        }
      }
      return [...chosen.values()];
    },
  };
}

function toLockedPackage(
  name: string,
  entry: Entry,
  category: string,
  path: string,
  sourceUrl: (name: string | undefined) => string | undefined,
): LockedPackage {
  const base: LockedPackage = {
    name,
    version: entry.version?.replace(/^===?/, "") ?? "",
    wheels: [],
    otherFiles: [],
    requiredBy: [category],
  };
  const direct = directUrl(entry, path, `${category}.${name}`);
  if (direct !== undefined) {
    return {
      ...base,
      direct: { url: direct, ...(entry.editable === true ? { editable: true } : {}) },
    };
  }
  if (entry.editable === true) {
    return { ...base, unsupported: "an editable requirement without git, path or file" };
  }
  if (entry.version === undefined || !/^===?/.test(entry.version)) {
    return { ...base, unsupported: `not pinned to one version (${entry.version ?? "no version"})` };
  }
  return {
    ...base,
    indexLookup: {
      index: sourceUrl(entry.index),
      files: entry.hashes.map((hash) => ({
        hashes: parseHashString(hash, `${path} ${category}.${name}`),
      })),
    },
  };
}

/**
 * The direct reference of a `git`, `path` or `file` entry, as the build reads it: git at
 * the locked `ref` (pipenv records the commit there) with `subdirectory`, a path (a
 * project folder or an archive) relative to the lock's folder, a file URL or path with
 * its sha256 when the entry records exactly one (checked on download). Undefined for an
 * index entry.
 */
function directUrl(entry: Entry, path: string, where: string): string | undefined {
  const folder = dirname(path);
  if (entry.git !== undefined) {
    const repository = entry.git.replace(/^git\+/i, "");
    const url = /^[a-z][a-z0-9+.-]*:\/\//i.test(repository)
      ? repository
      : /^[^/]+@[^:]+:/.test(repository)
        ? repository // scp-like git@host:org/repo, as git takes it
        : locationToUrl(repository, folder);
    return vcsUrl({ repository: url, revision: entry.ref, subdirectory: entry.subdirectory });
  }
  const location = entry.path ?? entry.file;
  if (location === undefined) return undefined;
  const url = locationToUrl(location, folder);
  if (entry.path !== undefined) return url;
  const sha256 = [
    ...new Set(entry.hashes.map((hash) => parseHashString(hash, where).sha256).filter(Boolean)),
  ];
  return sha256.length === 1 ? `${url}#sha256=${sha256[0]}` : url;
}
