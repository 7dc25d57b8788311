/**
 * The `custom.pylayer` block of a serverless.yml, read and checked (no I/O), and the
 * service's Python functions with the target each is built for. Option names follow
 * serverless-python-requirements where the meaning is the same (`layer`, `fileName`,
 * `slim`, `slimPatterns`, `noDeploy`), so that migrating is mostly renaming the block.
 */
import { basename, join } from "node:path";
import { PylayerError } from "../errors.js";
import { lockFormatFromName } from "../lock/names.js";
import type { BuildOptions } from "../pipeline/types.js";
import { closestMatch } from "../strings.js";

/** The Lambda layer settings the framework accepts under `layers.NAME` that `layer:` may set. */
const LAYER_KEYS = ["name", "description", "licenseInfo", "retain", "allowedAccounts"] as const;

export interface LayerSettings {
  name?: string;
  description?: string;
  licenseInfo?: string;
  retain?: boolean;
  allowedAccounts?: string[];
}

export interface PylayerServerlessOptions {
  /** One shared layer of the dependencies instead of dependencies in each function package. */
  layer: false | LayerSettings;
  /** The input, relative to the service (layer mode) or the function's module folder. */
  fileName?: string;
  exclude: string[];
  excludeRuntimeProvided: boolean;
  slim: boolean;
  slimPatterns: string[];
  compile: boolean;
  check: boolean;
  checkImports: boolean;
  indexUrl?: string;
  extraIndexUrls: string[];
  findLinks: string[];
  noIndex: boolean;
  pre: boolean;
  cacheDir?: string;
  noCache: boolean;
  /** More globs left out of function packages, on top of `package.patterns`. */
  sourceExclude: string[];
}

type Kind = "boolean" | "string" | "strings";

const KEYS: Record<string, Kind | "layer"> = {
  layer: "layer",
  fileName: "string",
  exclude: "strings",
  noDeploy: "strings",
  excludeRuntimeProvided: "boolean",
  slim: "boolean",
  slimPatterns: "strings",
  compile: "boolean",
  check: "boolean",
  checkImports: "boolean",
  indexUrl: "string",
  extraIndexUrls: "strings",
  findLinks: "strings",
  noIndex: "boolean",
  pre: "boolean",
  cacheDir: "string",
  noCache: "boolean",
  sourceExclude: "strings",
};

/**
 * serverless-python-requirements options with no pylayer counterpart, and why: a user who
 * renamed `custom.pythonRequirements` to `custom.pylayer` is told what to do instead.
 */
export const MIGRATION_HINTS: Record<string, string> = {
  dockerizePip:
    "pylayer needs no Docker: it picks the manylinux wheels of the function's runtime and architecture. Remove dockerizePip (and dockerImage, dockerFile, dockerSsh, dockerEnv).",
  dockerImage: "pylayer needs no Docker. Remove dockerImage.",
  dockerFile: "pylayer needs no Docker. Remove dockerFile.",
  zip: "pylayer has no unzip-at-import mode in the plugin. Remove zip; use layer: true (or `pylayer build --mode runtime`) when the function is too big.",
  useStaticCache:
    "pylayer always caches (wheels by sha256, layers by runtime, architecture and inputs). Remove useStaticCache; noCache: true turns caching off.",
  useDownloadCache: "pylayer always caches downloads by sha256. Remove useDownloadCache.",
  cacheLocation: "Rename cacheLocation to cacheDir.",
  staticCacheMaxVersions: "pylayer's cache prunes itself. Remove staticCacheMaxVersions.",
  pipCmdExtraArgs:
    "pylayer does not run pip. Use indexUrl, extraIndexUrls, findLinks, noIndex or pre (PIP_INDEX_URL and pip.conf are read too).",
  usePipenv: "pylayer reads Pipfile.lock directly. Remove usePipenv.",
  usePoetry: "pylayer reads poetry.lock directly. Remove usePoetry.",
  strip: "pylayer never strips shared libraries. Remove strip.",
  invalidateCaches: "pylayer's cache is keyed by its inputs. Remove invalidateCaches.",
};

/**
 * The warning for a `custom.pythonRequirements` block (serverless-python-requirements'
 * configuration) left in a service whose plugin is not installed: pylayer reads none of
 * it, so each key is said with where it goes in `custom.pylayer`. Undefined when the block
 * is absent.
 */
export function pythonRequirementsWarning(block: unknown): string | undefined {
  if (block === undefined || block === null) return undefined;
  const keys = typeof block === "object" && !Array.isArray(block) ? Object.keys(block).sort() : [];
  const lines = keys.map((key) => {
    if (KEYS[key] !== undefined) return `  ${key}: move it to custom.pylayer.${key}`;
    const hint = MIGRATION_HINTS[key];
    if (hint !== undefined) return `  ${key}: ${hint}`;
    return `  ${key}: pylayer has no such option; remove it`;
  });
  return [
    "pylayer: custom.pythonRequirements is serverless-python-requirements' configuration; that plugin is not installed and pylayer does not read the block, so none of its settings apply:",
    ...lines,
    "Hint: move what applies to custom.pylayer and remove custom.pythonRequirements (README: Migrating from serverless-python-requirements).",
  ].join("\n");
}

function configError(message: string, hint: string): PylayerError {
  return new PylayerError("serverless-config", message, { hint });
}

function readKind(key: string, value: unknown, kind: Kind): boolean | string | string[] {
  const where = `custom.pylayer.${key}`;
  if (kind === "boolean") {
    if (typeof value !== "boolean") {
      throw configError(
        `${where} is ${JSON.stringify(value)}, not true or false`,
        `Write ${key}: true or ${key}: false.`,
      );
    }
    return value;
  }
  if (kind === "string") {
    if (typeof value !== "string" || value === "") {
      throw configError(
        `${where} is ${JSON.stringify(value)}, not a string`,
        `Write ${key}: VALUE.`,
      );
    }
    return value;
  }
  if (!Array.isArray(value) || !value.every((item) => typeof item === "string")) {
    throw configError(
      `${where} is ${JSON.stringify(value)}, not a list of strings`,
      `Write ${key}: [VALUE, …].`,
    );
  }
  return value as string[];
}

function readLayer(value: unknown): false | LayerSettings {
  if (value === undefined || value === false) return false;
  if (value === true) return {};
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw configError(
      `custom.pylayer.layer is ${JSON.stringify(value)}, not true, false or a table`,
      "Write layer: true, or layer: { name: …, description: … }.",
    );
  }
  const settings: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) {
    if (!(LAYER_KEYS as readonly string[]).includes(key)) {
      throw configError(
        `custom.pylayer.layer.${key} is not a layer setting pylayer passes on`,
        `Use ${LAYER_KEYS.join(", ")} (pylayer sets compatibleRuntimes and compatibleArchitectures from the functions).`,
      );
    }
    settings[key] = item;
  }
  return settings as LayerSettings;
}

/** Reads `custom.pylayer` (absent: every default). Unknown keys fail with a suggestion or a migration hint. */
export function readOptions(block: unknown): PylayerServerlessOptions {
  const options: PylayerServerlessOptions = {
    layer: false,
    exclude: [],
    excludeRuntimeProvided: false,
    slim: false,
    slimPatterns: [],
    compile: false,
    check: true,
    checkImports: false,
    extraIndexUrls: [],
    findLinks: [],
    noIndex: false,
    pre: false,
    noCache: false,
    sourceExclude: [],
  };
  if (block === undefined || block === null) return options;
  if (typeof block !== "object" || Array.isArray(block)) {
    throw configError(
      "custom.pylayer is not a table",
      "Write custom: { pylayer: { layer: true } }, or leave it out.",
    );
  }
  const values: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(block)) {
    const kind = KEYS[key];
    if (kind === undefined) {
      const migration = MIGRATION_HINTS[key];
      if (migration !== undefined) {
        throw configError(
          `custom.pylayer.${key} is a serverless-python-requirements option`,
          migration,
        );
      }
      const suggestion = closestMatch(key, Object.keys(KEYS));
      throw configError(
        `custom.pylayer.${key} is not a pylayer option`,
        suggestion === undefined
          ? `Use one of ${Object.keys(KEYS).join(", ")}.`
          : `Did you mean ${suggestion}?`,
      );
    }
    values[key] = kind === "layer" ? readLayer(value) : readKind(key, value, kind);
  }
  const { noDeploy, exclude, ...rest } = values;
  return {
    ...options,
    ...(rest as Partial<PylayerServerlessOptions>),
    exclude: [
      ...((exclude as string[] | undefined) ?? []),
      ...((noDeploy as string[] | undefined) ?? []),
    ],
  };
}

/**
 * The build input `fileName` names, relative to `folder` (the service, or a function's
 * module folder): a lock file, a pyproject.toml, else a requirements file. Absent: nothing,
 * so that pylayer discovers the input in the folder as `pylayer build` does.
 */
export function inputOptions(folder: string, fileName: string | undefined): Partial<BuildOptions> {
  if (fileName === undefined) return {};
  const path = join(folder, fileName);
  if (lockFormatFromName(path) !== undefined) return { lock: path };
  if (basename(path) === "pyproject.toml") return { pyproject: path };
  return { requirementFiles: [path] };
}
