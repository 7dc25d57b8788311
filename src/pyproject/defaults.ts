import { dirname, isAbsolute, join, resolve } from "node:path";
import { PylayerError } from "../errors.js";
import { pathExists } from "../files.js";
import { closestMatch } from "../strings.js";
import { isTable, readTomlFile, type TomlTable } from "./toml.js";

export type DefaultValueKind = "string" | "boolean" | "list" | "number";

export interface DefaultKeySpec {
  kind: DefaultValueKind;
  /** Paths are resolved against the folder of the file that sets them. */
  path?: "path" | "path-or-url";
}

/** Every key `[tool.pylayer]` accepts, by the command-line option it stands for. */
export const PROJECT_DEFAULT_KEYS: Readonly<Record<string, DefaultKeySpec>> = {
  // Inputs
  requirement: { kind: "list", path: "path" },
  constraint: { kind: "list", path: "path" },
  pyproject: { kind: "string", path: "path" },
  lock: { kind: "string", path: "path" },
  extra: { kind: "list" },
  group: { kind: "list" },
  // Targets and output
  runtime: { kind: "list" },
  arch: { kind: "list" },
  output: { kind: "string", path: "path" },
  extract: { kind: "string", path: "path" },
  layout: { kind: "string" },
  mode: { kind: "string" },
  source: { kind: "string", path: "path" },
  handler: { kind: "string" },
  "source-exclude": { kind: "list" },
  exclude: { kind: "list" },
  "exclude-runtime-provided": { kind: "boolean" },
  // Index and cache
  "index-url": { kind: "string" },
  "extra-index-url": { kind: "list" },
  "index-strategy": { kind: "string" },
  "find-links": { kind: "list", path: "path-or-url" },
  "no-index": { kind: "boolean" },
  "allow-unreachable-index": { kind: "list" },
  codeartifact: { kind: "string" },
  "codeartifact-owner": { kind: "string" },
  "codeartifact-region": { kind: "string" },
  timeout: { kind: "number" },
  retries: { kind: "number" },
  pre: { kind: "boolean" },
  "resolver-budget": { kind: "number" },
  // Source builds
  "no-binary": { kind: "list" },
  "only-binary": { kind: "list" },
  "prefer-binary": { kind: "boolean" },
  "allow-native-sdist": { kind: "list" },
  "build-python": { kind: "string" },
  "config-settings": { kind: "list" },
  "cache-dir": { kind: "string", path: "path" },
  "no-cache": { kind: "boolean" },
  "no-check": { kind: "boolean" },
  "check-imports": { kind: "boolean" },
  slim: { kind: "boolean" },
  "slim-pattern": { kind: "list" },
  compile: { kind: "boolean" },
  // Publishing
  publish: { kind: "string" },
  name: { kind: "string" },
  region: { kind: "list" },
  description: { kind: "string" },
  license: { kind: "string" },
  "s3-bucket": { kind: "list" },
  "s3-prefix": { kind: "string" },
  "s3-cleanup": { kind: "boolean" },
  public: { kind: "boolean" },
  org: { kind: "string" },
  account: { kind: "list" },
  profile: { kind: "string" },
  "endpoint-url": { kind: "string" },
};

export type DefaultValue = string | boolean | string[];

export interface ProjectDefaults {
  /** The file the defaults come from. */
  file: string;
  /** `pylayer.toml` or `[tool.pylayer]`. */
  section: string;
  /** Option name → value, paths made absolute. */
  values: Record<string, DefaultValue>;
}

/**
 * The defaults for a project folder: `pylayer.toml` when present, else `[tool.pylayer]`
 * of `pyproject.toml`, else none.
 */
export async function loadProjectDefaults(folder: string): Promise<ProjectDefaults | undefined> {
  const pylayerToml = join(folder, "pylayer.toml");
  if (await pathExists(pylayerToml)) {
    const data = await readTomlFile(pylayerToml, "pylayer.toml");
    const tool = isTable(data.tool) ? data.tool : undefined;
    // A pylayer.toml may also be written as a [tool.pylayer] table.
    const table = isTable(tool?.pylayer) && Object.keys(data).length === 1 ? tool.pylayer : data;
    return parseProjectDefaults(table, pylayerToml, "pylayer.toml");
  }
  const pyprojectToml = join(folder, "pyproject.toml");
  if (await pathExists(pyprojectToml)) {
    const data = await readTomlFile(pyprojectToml, "pyproject.toml");
    const tool = isTable(data.tool) ? data.tool : undefined;
    if (tool?.pylayer === undefined) return undefined;
    if (!isTable(tool.pylayer)) {
      throw new PylayerError(
        "invalid-defaults",
        `${pyprojectToml}: [tool.pylayer] must be a table`,
        {
          hint: 'Write e.g. [tool.pylayer] with runtime = ["python3.12"].',
        },
      );
    }
    return parseProjectDefaults(tool.pylayer, pyprojectToml, "[tool.pylayer]");
  }
  return undefined;
}

/** Validates a defaults table: known keys, right types; paths made absolute. */
export function parseProjectDefaults(
  table: TomlTable,
  file: string,
  section: string,
): ProjectDefaults {
  const folder = dirname(file);
  const values: Record<string, DefaultValue> = {};
  for (const [key, value] of Object.entries(table)) {
    const spec = PROJECT_DEFAULT_KEYS[key];
    if (spec === undefined) {
      const suggestion = closestMatch(key, Object.keys(PROJECT_DEFAULT_KEYS));
      throw new PylayerError("unknown-default", `${file}: unknown key "${key}" in ${section}`, {
        hint:
          suggestion === undefined
            ? `Valid keys are the command-line option names: ${Object.keys(PROJECT_DEFAULT_KEYS).join(", ")}.`
            : `Did you mean "${suggestion}"?`,
        details: { key, ...(suggestion === undefined ? {} : { suggestion }) },
      });
    }
    values[key] = checkValue(key, value, spec, file, section, folder);
  }
  return { file, section, values };
}

function checkValue(
  key: string,
  value: unknown,
  spec: DefaultKeySpec,
  file: string,
  section: string,
  folder: string,
): DefaultValue {
  const wrongType = (expected: string) =>
    new PylayerError("invalid-default", `${file}: "${key}" in ${section} must be ${expected}`, {
      hint: `Write e.g. ${example(key, spec)}.`,
    });
  const place = (text: string) => {
    if (spec.path === undefined) return text;
    if (spec.path === "path-or-url" && /^[a-z][a-z0-9+.-]*:\/\//i.test(text)) return text;
    return isAbsolute(text) ? text : resolve(folder, text);
  };
  switch (spec.kind) {
    case "boolean":
      if (typeof value !== "boolean") throw wrongType("true or false");
      return value;
    case "string":
      if (typeof value !== "string") throw wrongType("a string");
      return place(value);
    case "number":
      // Kept as text, like the command-line value it stands for (checked where it is read).
      if (typeof value !== "number" && typeof value !== "bigint") throw wrongType("a number");
      return String(value);
    case "list":
      if (typeof value === "string") return [place(value)];
      if (!Array.isArray(value) || value.some((item) => typeof item !== "string")) {
        throw wrongType("a string or a list of strings");
      }
      return (value as string[]).map(place);
  }
}

function example(key: string, spec: DefaultKeySpec): string {
  switch (spec.kind) {
    case "boolean":
      return `${key} = true`;
    case "string":
      return `${key} = "…"`;
    case "number":
      return `${key} = 30`;
    case "list":
      return `${key} = ["…", "…"]`;
  }
}

/**
 * Fills the options a command knows and the user did not give with the project's
 * defaults. `values` are parsed command-line values keyed by option name; the result is
 * a new object. Booleans set to false in the defaults leave the option unset.
 */
export function mergeProjectDefaults<T extends Record<string, unknown>>(
  values: T,
  defaults: ProjectDefaults | undefined,
  optionNames: Iterable<string>,
): T {
  if (defaults === undefined) return values;
  const merged: Record<string, unknown> = { ...values };
  for (const name of optionNames) {
    const value = defaults.values[name];
    if (value === undefined || merged[name] !== undefined) continue;
    if (value === false) continue;
    merged[name] = Array.isArray(value) ? [...value] : value;
  }
  return merged as T;
}
