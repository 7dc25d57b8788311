/**
 * Which indexes and find-links locations to use, and how patiently to talk to them
 * (timeout, retries), read the way pip and uv users expect. The sources, in order:
 *
 *   1. explicit flags (the caller also passes options found in requirements files here)
 *   2. pip's environment: PIP_INDEX_URL, PIP_EXTRA_INDEX_URL, PIP_FIND_LINKS (whitespace
 *      separated), PIP_NO_INDEX, PIP_TIMEOUT, PIP_RETRIES
 *   3. uv's environment: UV_DEFAULT_INDEX then UV_INDEX_URL (primary), UV_INDEX and
 *      UV_EXTRA_INDEX_URL (space separated, in that order), UV_FIND_LINKS (comma
 *      separated), UV_NO_INDEX, UV_INDEX_STRATEGY,
 *      UV_HTTP_TIMEOUT, UV_HTTP_RETRIES
 *   4. configuration files: the project's pylayer settings (`pylayer.toml` or
 *      `[tool.pylayer]`, passed in by the caller), uv's (`UV_CONFIG_FILE`, else the
 *      project's `uv.toml` or `[tool.uv]` in `cwd` or the nearest folder above it, then
 *      the user's and the system's `uv.toml`),
 *      then pip's, in pip's loading order (a later file overrides an earlier one; in each
 *      file `[install]` overrides `[global]`; pip.conf's `timeout` and `retries` too)
 *   5. PyPI, https://pypi.org/simple/; uv's 30 s timeout and 3 retries
 *
 * Each setting is taken whole from the first source that sets it, with one exception,
 * uv's rule for indexes: indexes given on the command line or in the environment (1–3)
 * take precedence over those from configuration files (4). The ordered index list is the
 * extra indexes of 1–3, their index URL, then the extra indexes of 4, then the index URL
 * of 4 unless 1–3 set one, then PyPI when nobody set an index URL. So `-i URL` with an
 * `extra-index-url` in pip.conf asks URL first, as typed.
 *
 * Paths (anything without a `scheme://`) become file URLs, relative ones resolved
 * against `cwd`.
 */
import { readFile as readFileFromDisk } from "node:fs/promises";
import { isAbsolute, posix, resolve, win32 } from "node:path";
import { pathToFileURL } from "node:url";
import { PylayerError, redactUrl, usageError } from "../errors.js";
import { isTable, parseTomlText } from "../pyproject/toml.js";
import {
  type ConfiguredIndex,
  INDEX_STRATEGIES,
  type IndexSettings,
  type IndexStrategy,
} from "./types.js";

export const PYPI_SIMPLE_URL = "https://pypi.org/simple/";
/** uv's defaults (pip's are 15 s and 5). */
export const DEFAULT_TIMEOUT_SECONDS = 30;
export const DEFAULT_RETRIES = 3;

export interface IndexFlags {
  indexUrl: string;
  extraIndexUrls: string[];
  findLinks: string[];
  noIndex: boolean;
  /** pip's `--timeout`: seconds without data before a request fails (> 0, fractions allowed). */
  timeoutSeconds: number;
  /** pip's `--retries`: further attempts after a transient failure (≥ 0). */
  retries: number;
  strategy: IndexStrategy;
}

/** Index settings read from a configuration file by the caller (pylayer.toml, [tool.pylayer]). */
export interface ConfigurationIndexSettings {
  /** Where they come from, for messages: `pylayer.toml` with its path. */
  source: string;
  values: Partial<Pick<IndexFlags, "indexUrl" | "extraIndexUrls" | "strategy">>;
}

export interface ResolveIndexSettingsInput {
  flags?: Partial<IndexFlags>;
  env?: NodeJS.ProcessEnv;
  homeDir?: string;
  cwd?: string;
  platform?: NodeJS.Platform;
  /** Index settings of the project's pylayer configuration, ranked with the configuration files. */
  configuration?: ConfigurationIndexSettings;
  /** Reads a config file; must reject (e.g. ENOENT) when the file does not exist. */
  readFile?: (path: string) => Promise<string>;
}

type SettingName = keyof IndexFlags;

interface PartialSettings {
  values: Partial<IndexFlags>;
  origin: Partial<Record<SettingName, string>>;
}

const TRUE_WORDS = new Set(["y", "yes", "t", "true", "on", "1"]);
const FALSE_WORDS = new Set(["n", "no", "f", "false", "off", "0"]);

/** Python's `strtobool`, which pip applies to boolean options from env and config. */
function parseBoolean(value: string, source: string): boolean {
  const word = value.trim().toLowerCase();
  if (TRUE_WORDS.has(word)) return true;
  if (FALSE_WORDS.has(word)) return false;
  throw new PylayerError("invalid-config", `${source} has "${value}", which is not a boolean.`, {
    hint: "Use true/false, yes/no, on/off or 1/0.",
  });
}

/** A number of seconds (pip: a float) or of retries (an integer ≥ 0), from `source`. */
function parseNumberSetting(
  value: string,
  source: string,
  kind: "timeoutSeconds" | "retries",
): number {
  const number = Number(value.trim());
  const valid =
    value.trim() !== "" &&
    Number.isFinite(number) &&
    (kind === "timeoutSeconds" ? number > 0 : Number.isSafeInteger(number) && number >= 0);
  if (!valid) {
    throw new PylayerError(
      "invalid-config",
      `${source} has "${value}", which is not ${kind === "timeoutSeconds" ? "a positive number of seconds" : "a whole number of retries (0 or more)"}.`,
      { hint: kind === "timeoutSeconds" ? "Use e.g. 60." : "Use e.g. 5, or 0 for no retries." },
    );
  }
  return number;
}

/** PIP_TIMEOUT/UV_HTTP_TIMEOUT-style variables into `settings`. */
function numberFromEnvironment(
  settings: PartialSettings,
  env: NodeJS.ProcessEnv,
  variables: { timeoutSeconds: string; retries: string },
): void {
  for (const kind of ["timeoutSeconds", "retries"] as const) {
    const value = env[variables[kind]];
    if (nonEmpty(value)) {
      settings.values[kind] = parseNumberSetting(value, variables[kind], kind);
      settings.origin[kind] = `env ${variables[kind]}`;
    }
  }
}

function nonEmpty(value: string | undefined): value is string {
  return value !== undefined && value.trim() !== "";
}

function splitWhitespace(value: string): string[] {
  return value.split(/\s+/).filter((part) => part !== "");
}

/** uv's `--index` accepts `name=url`; the name only matters to uv's own config. */
function stripIndexName(value: string): string {
  const equals = value.indexOf("=");
  if (equals <= 0) return value;
  const name = value.slice(0, equals);
  return /^[A-Za-z0-9_.-]+$/.test(name) && !name.includes(":") ? value.slice(equals + 1) : value;
}

function fromPipEnvironment(env: NodeJS.ProcessEnv): PartialSettings {
  const settings: PartialSettings = { values: {}, origin: {} };
  if (nonEmpty(env.PIP_INDEX_URL)) {
    settings.values.indexUrl = env.PIP_INDEX_URL.trim();
    settings.origin.indexUrl = "env PIP_INDEX_URL";
  }
  if (nonEmpty(env.PIP_EXTRA_INDEX_URL)) {
    settings.values.extraIndexUrls = splitWhitespace(env.PIP_EXTRA_INDEX_URL);
    settings.origin.extraIndexUrls = "env PIP_EXTRA_INDEX_URL";
  }
  if (nonEmpty(env.PIP_FIND_LINKS)) {
    settings.values.findLinks = splitWhitespace(env.PIP_FIND_LINKS);
    settings.origin.findLinks = "env PIP_FIND_LINKS";
  }
  if (nonEmpty(env.PIP_NO_INDEX)) {
    settings.values.noIndex = parseBoolean(env.PIP_NO_INDEX, "PIP_NO_INDEX");
    settings.origin.noIndex = "env PIP_NO_INDEX";
  }
  numberFromEnvironment(settings, env, { timeoutSeconds: "PIP_TIMEOUT", retries: "PIP_RETRIES" });
  return settings;
}

function fromUvEnvironment(env: NodeJS.ProcessEnv): PartialSettings {
  const settings: PartialSettings = { values: {}, origin: {} };
  for (const name of ["UV_DEFAULT_INDEX", "UV_INDEX_URL"] as const) {
    const value = env[name];
    if (nonEmpty(value)) {
      settings.values.indexUrl = stripIndexName(value.trim());
      settings.origin.indexUrl = `env ${name}`;
      break;
    }
  }
  const extras: string[] = [];
  const extraSources: string[] = [];
  for (const name of ["UV_INDEX", "UV_EXTRA_INDEX_URL"] as const) {
    const value = env[name];
    if (nonEmpty(value)) {
      extras.push(...splitWhitespace(value).map(stripIndexName));
      extraSources.push(`env ${name}`);
    }
  }
  if (extraSources.length > 0) {
    settings.values.extraIndexUrls = extras;
    settings.origin.extraIndexUrls = extraSources.join(", ");
  }
  if (nonEmpty(env.UV_FIND_LINKS)) {
    settings.values.findLinks = env.UV_FIND_LINKS.split(",")
      .map((part) => part.trim())
      .filter((part) => part !== "");
    settings.origin.findLinks = "env UV_FIND_LINKS";
  }
  if (nonEmpty(env.UV_NO_INDEX)) {
    settings.values.noIndex = parseBoolean(env.UV_NO_INDEX, "UV_NO_INDEX");
    settings.origin.noIndex = "env UV_NO_INDEX";
  }
  if (nonEmpty(env.UV_INDEX_STRATEGY)) {
    settings.values.strategy = parseStrategy(env.UV_INDEX_STRATEGY.trim(), "env UV_INDEX_STRATEGY");
    settings.origin.strategy = "env UV_INDEX_STRATEGY";
  }
  numberFromEnvironment(settings, env, {
    timeoutSeconds: "UV_HTTP_TIMEOUT",
    retries: "UV_HTTP_RETRIES",
  });
  return settings;
}

/** An `--index-strategy` value; a usage error from a flag, `invalid-config` from elsewhere. */
export function parseStrategy(value: string, origin: string): IndexStrategy {
  if ((INDEX_STRATEGIES as readonly string[]).includes(value)) return value as IndexStrategy;
  const message = `index strategy "${value}" (from ${origin}) is not one of ${INDEX_STRATEGIES.join(", ")}`;
  const hint =
    "first-index (the default) takes each project from the first index that has it, which keeps a public project from shadowing a private one (dependency confusion); unsafe-first-match and unsafe-best-match consider every index.";
  if (origin === "flag") throw usageError(message, hint);
  throw new PylayerError("invalid-config", `${message}.`, { hint });
}

/**
 * uv's configuration files that pylayer reads for indexes, most specific first:
 * `UV_CONFIG_FILE` alone when set; else the project's (`projectUvConfiguration`), the
 * user's (`$XDG_CONFIG_HOME/uv/uv.toml`, `~/.config/uv/uv.toml`) and the system's
 * (`$XDG_CONFIG_DIRS/uv/uv.toml`, `/etc/uv/uv.toml`). `UV_NO_CONFIG` disables all but
 * `UV_CONFIG_FILE`, as in uv.
 */
async function fromUvConfigFiles(
  input: { env: NodeJS.ProcessEnv; cwd: string; homeDir: string; platform: NodeJS.Platform },
  readFile: (path: string) => Promise<string>,
): Promise<PartialSettings[]> {
  const { env, cwd, homeDir, platform } = input;
  const candidates: string[] = [];
  const layers: PartialSettings[] = [];
  if (nonEmpty(env.UV_CONFIG_FILE)) {
    candidates.push(resolve(cwd, env.UV_CONFIG_FILE));
  } else if (
    !(nonEmpty(env.UV_NO_CONFIG) && TRUE_WORDS.has(env.UV_NO_CONFIG.trim().toLowerCase()))
  ) {
    const project = await projectUvConfiguration(cwd, readFile);
    if (project !== undefined) layers.push(project);
    if (platform !== "win32") {
      const configHome =
        nonEmpty(env.XDG_CONFIG_HOME) && env.XDG_CONFIG_HOME.startsWith("/")
          ? env.XDG_CONFIG_HOME
          : posix.join(homeDir, ".config");
      candidates.push(posix.join(configHome, "uv", "uv.toml"));
      const configDirs = nonEmpty(env.XDG_CONFIG_DIRS) ? env.XDG_CONFIG_DIRS : "/etc/xdg";
      for (const directory of configDirs.split(":")) {
        if (directory !== "") candidates.push(posix.join(directory, "uv", "uv.toml"));
      }
      candidates.push("/etc/uv/uv.toml");
    }
  }
  for (const path of candidates) {
    const text = await readUvFile(path, readFile);
    if (text !== undefined) layers.push(uvSettings(parseTomlText(text, path), path));
  }
  return layers;
}

/**
 * The project's uv settings, found as uv finds them: in `cwd` or the nearest folder above
 * it that has a `uv.toml`, or a `pyproject.toml` with a `[tool.uv]` table (a pyproject.toml
 * without one does not stop the search). In one folder, `uv.toml` wins over `[tool.uv]`.
 * `cwd` is the folder `pylayer.toml` and `[tool.pylayer]` are read from, so the project's
 * pylayer and uv settings come from the same project.
 */
async function projectUvConfiguration(
  cwd: string,
  readFile: (path: string) => Promise<string>,
): Promise<PartialSettings | undefined> {
  for (let folder = posix.resolve(cwd); ; folder = posix.dirname(folder)) {
    const uvToml = posix.join(folder, "uv.toml");
    const uvText = await readUvFile(uvToml, readFile);
    if (uvText !== undefined) return uvSettings(parseTomlText(uvText, uvToml), uvToml);
    const pyproject = posix.join(folder, "pyproject.toml");
    const pyprojectText = await readUvFile(pyproject, readFile);
    if (pyprojectText !== undefined) {
      // uv skips (with a warning) a pyproject.toml it cannot parse while discovering settings;
      // one that is the build's input fails where it is read as the input.
      const tool = tomlOrUndefined(pyprojectText, pyproject)?.tool;
      if (isTable(tool) && isTable(tool.uv)) return uvSettings(tool.uv, `${pyproject} [tool.uv]`);
    }
    if (posix.dirname(folder) === folder) return undefined;
  }
}

function tomlOrUndefined(text: string, path: string): Record<string, unknown> | undefined {
  try {
    return parseTomlText(text, path);
  } catch {
    return undefined;
  }
}

/** A uv configuration file's text, or undefined when there is none. */
async function readUvFile(
  path: string,
  readFile: (path: string) => Promise<string>,
): Promise<string | undefined> {
  try {
    return await readFile(path);
  } catch (error) {
    if (isMissingFile(error)) return undefined;
    throw new PylayerError("invalid-config", `uv configuration file ${path} cannot be read.`, {
      cause: error,
      hint: "Fix its permissions, or set UV_NO_CONFIG=1 to ignore uv's configuration files.",
    });
  }
}

/** The index keys of one uv settings table: index-url, extra-index-url, [[index]], find-links, no-index, index-strategy. */
function uvSettings(table: Record<string, unknown>, source: string): PartialSettings {
  const settings: PartialSettings = { values: {}, origin: {} };
  const strings = (key: string): string[] | undefined => {
    const value = table[key];
    if (value === undefined) return undefined;
    if (typeof value === "string") return [value];
    if (Array.isArray(value) && value.every((item) => typeof item === "string")) return value;
    throw new PylayerError(
      "invalid-config",
      `${source}: ${key} must be a string or a list of strings.`,
      {
        hint: `Write e.g. ${key} = ["https://example.com/simple/"].`,
      },
    );
  };
  const indexUrl = strings("index-url")?.[0];
  const extras = strings("extra-index-url") ?? [];
  let defaultIndex: string | undefined;
  const entries = Array.isArray(table.index) ? table.index : [];
  const named: string[] = [];
  for (const entry of entries) {
    if (!isTable(entry) || typeof entry.url !== "string") continue;
    // An explicit index serves only the packages pinned to it in [tool.uv.sources].
    if (entry.explicit === true) continue;
    if (entry.default === true) defaultIndex = entry.url;
    else named.push(entry.url);
  }
  if (defaultIndex !== undefined || indexUrl !== undefined) {
    settings.values.indexUrl = defaultIndex ?? indexUrl!;
    settings.origin.indexUrl = source;
  }
  if (named.length > 0 || table["extra-index-url"] !== undefined) {
    // uv asks [[index]] entries before extra-index-url.
    settings.values.extraIndexUrls = [...named, ...extras];
    settings.origin.extraIndexUrls = source;
  }
  const findLinks = strings("find-links");
  if (findLinks !== undefined) {
    settings.values.findLinks = findLinks;
    settings.origin.findLinks = source;
  }
  if (typeof table["no-index"] === "boolean") {
    settings.values.noIndex = table["no-index"];
    settings.origin.noIndex = source;
  }
  if (typeof table["index-strategy"] === "string") {
    settings.values.strategy = parseStrategy(table["index-strategy"], source);
    settings.origin.strategy = source;
  }
  return settings;
}

/**
 * Parses an INI file the way Python's configparser does for pip: `[section]`
 * headers, `key = value` or `key: value`, `#`/`;` comment lines, indented
 * continuation lines. Keys are lowercased with `_` read as `-` (pip's normalization).
 */
export function parseIniFile(text: string): Map<string, Map<string, string>> {
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  let lastKey: string | undefined;
  for (const rawLine of text.split(/\r?\n/)) {
    const line = rawLine.replace(/^\uFEFF/, "");
    const trimmed = line.trim();
    if (trimmed === "" || trimmed.startsWith("#") || trimmed.startsWith(";")) {
      if (trimmed === "") lastKey = undefined;
      continue;
    }
    if (/^\s/.test(line) && current !== undefined && lastKey !== undefined) {
      current.set(lastKey, `${current.get(lastKey) ?? ""}\n${trimmed}`);
      continue;
    }
    const header = /^\[([^\]]+)\]/.exec(trimmed);
    if (header !== null) {
      const name = header[1]!.trim().toLowerCase();
      current = sections.get(name) ?? new Map();
      sections.set(name, current);
      lastKey = undefined;
      continue;
    }
    const separator = /[=:]/.exec(trimmed);
    if (separator === null || current === undefined) continue;
    const key = trimmed.slice(0, separator.index).trim().toLowerCase().replace(/_/g, "-");
    const value = trimmed.slice(separator.index + 1).trim();
    current.set(key, value);
    lastKey = key;
  }
  return sections;
}

/**
 * pip's configuration files in loading order (later overrides earlier), as its
 * documentation describes: `PIP_CONFIG_FILE`, then global, user (legacy before
 * current), site. `PIP_CONFIG_FILE=os.devnull` disables all of them.
 */
export function pipConfigFilePaths(input: {
  env: NodeJS.ProcessEnv;
  homeDir: string;
  platform: NodeJS.Platform;
}): string[] {
  const { env, homeDir, platform } = input;
  const devNull = platform === "win32" ? "nul" : "/dev/null";
  const paths: string[] = [];
  const configFile = env.PIP_CONFIG_FILE;
  if (nonEmpty(configFile)) {
    if (configFile.trim().toLowerCase() === devNull) return [];
    paths.push(configFile);
  }
  const virtualEnv = env.VIRTUAL_ENV;
  if (platform === "win32") {
    const programData = nonEmpty(env.PROGRAMDATA) ? env.PROGRAMDATA : "C:\\ProgramData";
    paths.push(win32.join(programData, "pip", "pip.ini"));
    paths.push(win32.join(homeDir, "pip", "pip.ini"));
    const appData = nonEmpty(env.APPDATA) ? env.APPDATA : win32.join(homeDir, "AppData", "Roaming");
    paths.push(win32.join(appData, "pip", "pip.ini"));
    if (nonEmpty(virtualEnv)) paths.push(win32.join(virtualEnv, "pip.ini"));
    return paths;
  }
  if (platform === "darwin") {
    paths.push("/Library/Application Support/pip/pip.conf");
    paths.push(posix.join(homeDir, ".pip", "pip.conf"));
    // pip uses ~/Library/Application Support/pip when that folder exists, else
    // ~/.config/pip; both are listed and a missing file is skipped.
    paths.push(posix.join(homeDir, ".config", "pip", "pip.conf"));
    paths.push(posix.join(homeDir, "Library", "Application Support", "pip", "pip.conf"));
  } else {
    const configDirs = nonEmpty(env.XDG_CONFIG_DIRS) ? env.XDG_CONFIG_DIRS : "/etc/xdg";
    for (const directory of configDirs.split(":")) {
      if (directory !== "") paths.push(posix.join(directory, "pip", "pip.conf"));
    }
    paths.push("/etc/pip.conf");
    paths.push(posix.join(homeDir, ".pip", "pip.conf"));
    const configHome =
      nonEmpty(env.XDG_CONFIG_HOME) && env.XDG_CONFIG_HOME.startsWith("/")
        ? env.XDG_CONFIG_HOME
        : posix.join(homeDir, ".config");
    paths.push(posix.join(configHome, "pip", "pip.conf"));
  }
  if (nonEmpty(virtualEnv)) paths.push(posix.join(virtualEnv, "pip.conf"));
  return paths;
}

function isMissingFile(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === "ENOENT" || code === "ENOTDIR" || code === "EISDIR";
}

async function fromPipConfigFiles(
  paths: string[],
  readFile: (path: string) => Promise<string>,
): Promise<PartialSettings> {
  const settings: PartialSettings = { values: {}, origin: {} };
  for (const path of paths) {
    let text: string;
    try {
      text = await readFile(path);
    } catch (error) {
      if (isMissingFile(error)) continue;
      throw new PylayerError("invalid-config", `pip configuration file ${path} cannot be read.`, {
        cause: error,
        hint: "Fix its permissions, or set PIP_CONFIG_FILE=/dev/null to ignore pip's configuration.",
      });
    }
    const sections = parseIniFile(text);
    for (const sectionName of ["global", "install"]) {
      const section = sections.get(sectionName);
      if (section === undefined) continue;
      const source = `${path} [${sectionName}]`;
      const indexUrl = section.get("index-url");
      if (nonEmpty(indexUrl)) {
        settings.values.indexUrl = indexUrl.trim();
        settings.origin.indexUrl = source;
      }
      const extraIndexUrl = section.get("extra-index-url");
      if (extraIndexUrl !== undefined) {
        settings.values.extraIndexUrls = splitWhitespace(extraIndexUrl);
        settings.origin.extraIndexUrls = source;
      }
      const findLinks = section.get("find-links");
      if (findLinks !== undefined) {
        settings.values.findLinks = splitWhitespace(findLinks);
        settings.origin.findLinks = source;
      }
      const noIndex = section.get("no-index");
      if (nonEmpty(noIndex)) {
        settings.values.noIndex = parseBoolean(noIndex, `${source} no-index`);
        settings.origin.noIndex = source;
      }
      for (const [key, kind] of [
        ["timeout", "timeoutSeconds"],
        ["retries", "retries"],
      ] as const) {
        const value = section.get(key);
        if (nonEmpty(value)) {
          settings.values[kind] = parseNumberSetting(value, `${source} ${key}`, kind);
          settings.origin[kind] = source;
        }
      }
    }
  }
  return settings;
}

/** `user:token@host/path` without a scheme, as `***@host/path`; anything else as `redactUrl` shows it. */
function redactLocation(location: string): string {
  const credentials = /^[^/\\\s@:]+:[^/\\\s@]*@(?=[^/\\\s@]+)/.exec(location);
  return credentials === null
    ? redactUrl(location)
    : `***@${location.slice(credentials[0].length)}`;
}

/**
 * A URL stays as is; a path (relative to `cwd`) becomes a `file://` URL. Usage errors,
 * with credentials hidden: a scheme other than http, https and file (`htp://` would
 * otherwise read as a folder), and credentials without a scheme (`user:token@host/simple`
 * is a mistyped URL, not a path; its token would be printed as a path).
 */
export function locationToUrl(location: string, cwd: string, homeDir?: string): string {
  const trimmed = location.trim();
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(trimmed)?.[1]?.toLowerCase();
  if (scheme !== undefined && !["http", "https", "file"].includes(scheme)) {
    throw usageError(
      `${redactUrl(trimmed)} has the scheme "${scheme}://", which pylayer cannot read`,
      "Index and find-links locations are https://, http://, file:// URLs or local paths.",
    );
  }
  if (scheme !== undefined || /^file:/i.test(trimmed)) {
    return new URL(trimmed).href;
  }
  if (redactLocation(trimmed) !== redactUrl(trimmed)) {
    throw usageError(
      `${redactLocation(trimmed)} has credentials but no scheme`,
      "Write the full URL: https://USER:TOKEN@HOST/simple/ (or keep the credentials in ~/.netrc).",
    );
  }
  // pip expands a leading `~` in find-links paths.
  const expanded =
    homeDir !== undefined && (trimmed === "~" || /^~[/\\]/.test(trimmed))
      ? `${homeDir}${trimmed.slice(1)}`
      : trimmed;
  return pathToFileURL(isAbsolute(expanded) ? expanded : resolve(cwd, expanded)).href;
}

/** A simple-index root always ends with `/` so that `new URL(project + "/", root)` appends. */
export function indexRootUrl(location: string, cwd: string, homeDir?: string): string {
  const url = locationToUrl(location, cwd, homeDir);
  return url.endsWith("/") ? url : `${url}/`;
}

export async function resolveIndexSettings(
  input: ResolveIndexSettingsInput = {},
): Promise<IndexSettings> {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const platform = input.platform ?? process.platform;
  const homeDir = input.homeDir ?? (await import("node:os")).homedir();
  const readFile = input.readFile ?? ((path: string) => readFileFromDisk(path, "utf8"));

  const flags: PartialSettings = { values: {}, origin: {} };
  for (const [name, value] of Object.entries(input.flags ?? {}) as [SettingName, unknown][]) {
    if (value === undefined) continue;
    (flags.values as Record<string, unknown>)[name] =
      name === "strategy" ? parseStrategy(String(value), "flag") : value;
    flags.origin[name] = "flag";
  }
  const configuration: PartialSettings = { values: {}, origin: {} };
  if (input.configuration !== undefined) {
    const { source, values } = input.configuration;
    for (const [name, value] of Object.entries(values) as [SettingName, unknown][]) {
      if (value === undefined) continue;
      (configuration.values as Record<string, unknown>)[name] =
        name === "strategy" ? parseStrategy(String(value), source) : value;
      configuration.origin[name] = source;
    }
  }
  const commandLine = [flags, fromPipEnvironment(env), fromUvEnvironment(env)];
  const files = [
    configuration,
    ...(await fromUvConfigFiles({ env, cwd, homeDir, platform }, readFile)),
    await fromPipConfigFiles(pipConfigFilePaths({ env, homeDir, platform }), readFile),
  ];
  const pick = <Name extends SettingName>(
    layers: PartialSettings[],
    name: Name,
  ): { value: IndexFlags[Name]; origin: string } | undefined => {
    for (const layer of layers) {
      const value = layer.values[name];
      if (value !== undefined)
        return { value: value as IndexFlags[Name], origin: layer.origin[name]! };
    }
    return undefined;
  };
  const everywhere = [...commandLine, ...files];
  const findLinks = pick(everywhere, "findLinks") ?? { value: [], origin: "default" };
  const noIndex = pick(everywhere, "noIndex") ?? { value: false, origin: "default" };
  const strategy = pick(everywhere, "strategy") ?? {
    value: "first-index" as IndexStrategy,
    origin: "default",
  };
  const timeoutSeconds = pick(everywhere, "timeoutSeconds") ?? {
    value: DEFAULT_TIMEOUT_SECONDS,
    origin: "default",
  };
  const retries = pick(everywhere, "retries") ?? { value: DEFAULT_RETRIES, origin: "default" };

  const toUrl = (location: string, setting: string, origin: string, root: boolean) => {
    try {
      return root ? indexRootUrl(location, cwd, homeDir) : locationToUrl(location, cwd, homeDir);
    } catch (error) {
      if (error instanceof PylayerError) {
        // An unknown scheme, or credentials without one: a usage error when given as a flag.
        const fromFlag = origin === "flag";
        throw new PylayerError(
          fromFlag ? "usage" : "invalid-config",
          `${setting} (from ${origin}): ${error.message}`,
          { cause: error, exitCode: fromFlag ? 2 : 1, ...(error.hint ? { hint: error.hint } : {}) },
        );
      }
      throw new PylayerError(
        "invalid-config",
        `${setting} "${redactLocation(location)}" (from ${origin}) is not a valid URL or path.`,
        {
          cause: error,
          hint: "Use an absolute URL such as https://pypi.org/simple/ or a folder path.",
        },
      );
    }
  };

  // uv's rule: the command line and the environment before configuration files.
  const indexes: ConfiguredIndex[] = [];
  const add = (
    setting: { value: string[] | string; origin: string } | undefined,
    kind: ConfiguredIndex["kind"],
    level: ConfiguredIndex["level"],
  ) => {
    if (setting === undefined) return;
    const locations = Array.isArray(setting.value) ? setting.value : [setting.value];
    for (const location of locations) {
      const url = toUrl(
        location,
        kind === "default" ? "index-url" : "extra-index-url",
        setting.origin,
        true,
      );
      if (indexes.some((index) => index.url === url)) continue;
      indexes.push({ url, kind, origin: setting.origin, level });
    }
  };
  const commandLineIndex = pick(commandLine, "indexUrl");
  const configurationIndex = pick(files, "indexUrl");
  add(pick(commandLine, "extraIndexUrls"), "extra", "command-line");
  add(commandLineIndex, "default", "command-line");
  add(pick(files, "extraIndexUrls"), "extra", "configuration");
  if (commandLineIndex === undefined) add(configurationIndex, "default", "configuration");
  if (commandLineIndex === undefined && configurationIndex === undefined) {
    add({ value: PYPI_SIMPLE_URL, origin: "default" }, "default", "default");
  }
  const primary = indexes.find((index) => index.kind === "default")!;
  const extraOrigins = unique(
    indexes.filter((index) => index.kind === "extra").map((index) => index.origin),
  );
  return {
    indexUrl: primary.url,
    extraIndexUrls: indexes.filter((index) => index !== primary).map((index) => index.url),
    findLinks: unique(
      findLinks.value.map((location) => toUrl(location, "find-links", findLinks.origin, false)),
    ),
    noIndex: noIndex.value,
    indexes,
    strategy: strategy.value,
    timeoutSeconds: timeoutSeconds.value,
    retries: retries.value,
    origin: {
      indexUrl: primary.origin,
      extraIndexUrls: extraOrigins.length === 0 ? "default" : extraOrigins.join(", "),
      findLinks: findLinks.origin,
      noIndex: noIndex.origin,
      strategy: strategy.origin,
      timeoutSeconds: timeoutSeconds.origin,
      retries: retries.origin,
    },
  };
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}
