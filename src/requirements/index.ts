/**
 * pip's requirements-file format (pip reference, "Requirements File Format"): requirements
 * by name, direct references (`name @ URL`, bare paths, URLs and `git+` URLs, `-e`; made
 * absolute against the file's folder by `location.ts`), hashes, nested `-r`/`-c` files and
 * the index/binary options.
 *
 * Decisions where pip is lenient or pylayer differs:
 * - A file included (by `-r` or `-c`) from a constraints file contributes constraints
 *   (pip reads a `-r` there as requirements).
 * - `--config-settings KEY=VALUE` after a requirement (or `-e PATH`) is kept for that
 *   requirement's source build; `--global-option` is refused.
 * - Options other than `--hash` and `--config-settings` after a requirement are errors (pip ignores them silently),
 *   and so is `--hash` on a line without a requirement (pip warns).
 * - Files are read as UTF-8 (a BOM is skipped); PEP 263 coding comments are not honoured.
 * - `--use-feature` is accepted and ignored; long options must be spelled in full.
 */
import { readFile as readFileFromDisk } from "node:fs/promises";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { isPylayerError, PylayerError } from "../errors.js";
import { normalizeName, parseRequirement, type Requirement } from "../pep508/index.js";
import { addConfigSetting } from "../pep517/config-settings.js";
import { type LogicalLine, logicalLines, splitShellWords } from "./lines.js";
import { locationRequirement } from "./location.js";

export interface RequirementLine {
  requirement: Requirement;
  /** `algorithm:hex` (sha256, sha384 or sha512), lower-case, in the order written. */
  hashes: string[];
  /** The file as included (joined onto the including file's folder) and its 1-based line. */
  source: { file: string; line: number };
  /** `-e`: installed as a regular wheel all the same (Lambda has no editable installs). */
  editable?: boolean;
  /** `--config-settings KEY=VALUE` after the requirement: for its own source build only. */
  configSettings?: Record<string, string | string[]>;
}

export interface RequirementsOptions {
  /** The last `--index-url` given, if any. */
  indexUrl?: string;
  extraIndexUrls: string[];
  /** Find-links locations: URLs as written, paths resolved against the file's folder. */
  findLinks: string[];
  noIndex: boolean;
  pre: boolean;
  /** PEP 503-normalized names or `:all:`, after pip's `--only-binary`/`--no-binary` rules. */
  onlyBinary: string[];
  noBinary: string[];
  preferBinary?: boolean;
  trustedHosts: string[];
  /** `--require-hashes`: every requirement must carry a hash. */
  requireHashes: boolean;
}

export interface ParsedRequirements {
  requirements: RequirementLine[];
  constraints: RequirementLine[];
  options: RequirementsOptions;
}

export interface ParseRequirementsOptions {
  /** Source of `${NAME}` expansions (default: `process.env`). */
  env?: NodeJS.ProcessEnv;
  /** Reads an included file (default: UTF-8 from disk). */
  readFile?: (path: string) => Promise<string>;
}

/** Parses a requirements file and every file it includes. */
export async function parseRequirementsFile(
  path: string,
  options: ParseRequirementsOptions = {},
): Promise<ParsedRequirements> {
  const readFile = options.readFile ?? readFromDisk;
  let content: string;
  try {
    content = await readFile(path);
  } catch (error) {
    throw new PylayerError(
      "requirements-file-not-found",
      `Cannot read requirements file ${path}: ${describeReadError(error)}`,
      { hint: "Check the path of the requirements file.", cause: error },
    );
  }
  return parseRequirementsText(content, path, options);
}

/**
 * Parses requirements-file text as if it were the file `file`: nested `-r`/`-c` paths and
 * relative `--find-links` paths are resolved against `file`'s folder.
 */
export async function parseRequirementsText(
  text: string,
  file: string,
  options: ParseRequirementsOptions = {},
): Promise<ParsedRequirements> {
  const reader = new RequirementsReader(
    options.env ?? process.env,
    options.readFile ?? readFromDisk,
  );
  await reader.read(text, file, false, [resolve(file)]);
  return reader.result;
}

/**
 * Combines several parsed files as if one included the others in order: requirements
 * and constraints are concatenated, the last index URL wins, lists are united in order,
 * flags are or-ed, and binary rules are replayed in order.
 */
export function mergeRequirements(...parts: ParsedRequirements[]): ParsedRequirements {
  const merged: ParsedRequirements = { requirements: [], constraints: [], options: emptyOptions() };
  for (const part of parts) {
    merged.requirements.push(...part.requirements);
    merged.constraints.push(...part.constraints);
    const from = part.options;
    const into = merged.options;
    if (from.indexUrl !== undefined) into.indexUrl = from.indexUrl;
    addUnique(into.extraIndexUrls, from.extraIndexUrls);
    addUnique(into.findLinks, from.findLinks);
    addUnique(into.trustedHosts, from.trustedHosts);
    into.noIndex ||= from.noIndex;
    into.pre ||= from.pre;
    into.preferBinary = (into.preferBinary ?? false) || (from.preferBinary ?? false);
    into.requireHashes ||= from.requireHashes;
    if (from.noBinary.length > 0) applyBinaryRule(from.noBinary.join(","), "noBinary", into);
    if (from.onlyBinary.length > 0) applyBinaryRule(from.onlyBinary.join(","), "onlyBinary", into);
  }
  return merged;
}

type OptionKey =
  | "index-url"
  | "extra-index-url"
  | "no-index"
  | "constraint"
  | "requirement"
  | "editable"
  | "find-links"
  | "no-binary"
  | "only-binary"
  | "prefer-binary"
  | "require-hashes"
  | "pre"
  | "trusted-host"
  | "use-feature"
  | "hash"
  | "global-option"
  | "config-settings";

interface OptionSpec {
  readonly key: OptionKey;
  readonly takesValue: boolean;
}

/** The options pip accepts in requirements files, by every spelling. */
const OPTIONS: ReadonlyMap<string, OptionSpec> = new Map<string, OptionSpec>([
  ["-i", { key: "index-url", takesValue: true }],
  ["--index-url", { key: "index-url", takesValue: true }],
  ["--pypi-url", { key: "index-url", takesValue: true }],
  ["--extra-index-url", { key: "extra-index-url", takesValue: true }],
  ["--no-index", { key: "no-index", takesValue: false }],
  ["-c", { key: "constraint", takesValue: true }],
  ["--constraint", { key: "constraint", takesValue: true }],
  ["-r", { key: "requirement", takesValue: true }],
  ["--requirement", { key: "requirement", takesValue: true }],
  ["-e", { key: "editable", takesValue: true }],
  ["--editable", { key: "editable", takesValue: true }],
  ["-f", { key: "find-links", takesValue: true }],
  ["--find-links", { key: "find-links", takesValue: true }],
  ["--no-binary", { key: "no-binary", takesValue: true }],
  ["--only-binary", { key: "only-binary", takesValue: true }],
  ["--prefer-binary", { key: "prefer-binary", takesValue: false }],
  ["--require-hashes", { key: "require-hashes", takesValue: false }],
  ["--pre", { key: "pre", takesValue: false }],
  ["--trusted-host", { key: "trusted-host", takesValue: true }],
  ["--use-feature", { key: "use-feature", takesValue: true }],
  ["--hash", { key: "hash", takesValue: true }],
  ["--global-option", { key: "global-option", takesValue: true }],
  ["-C", { key: "config-settings", takesValue: true }],
  ["--config-settings", { key: "config-settings", takesValue: true }],
]);

const SUPPORTED_OPTIONS_HINT =
  "Requirements files may use -r/--requirement, -c/--constraint, -i/--index-url, --extra-index-url, -f/--find-links, --no-index, --pre, --only-binary, --no-binary, --prefer-binary, --trusted-host, --require-hashes, and --hash or --config-settings after a requirement.";

const PER_REQUIREMENT_BUILD_HINT =
  "Write name --config-settings KEY=VALUE on the requirement's line (as pip does), or give settings for every source build on the command line (--config-settings KEY=VALUE).";

/** One `--config-settings KEY=VALUE` of a requirement line. */
function addLineConfigSetting(
  settings: Record<string, string | string[]>,
  option: ParsedOption,
  where: string,
): void {
  if (!addConfigSetting(settings, option.value)) {
    throw new PylayerError(
      "invalid-option",
      `${where}: ${option.written} ${option.value} is not KEY=VALUE`,
      { hint: "Write --config-settings KEY=VALUE (repeat it for several)." },
    );
  }
}

interface ParsedOption {
  readonly spec: OptionSpec;
  /** The option as written, e.g. `--index-url`. */
  readonly written: string;
  readonly value: string;
}

/** Hash algorithms pip accepts for `--hash`, with their hex digest lengths. */
const HASH_LENGTHS: ReadonlyMap<string, number> = new Map([
  ["sha256", 64],
  ["sha384", 96],
  ["sha512", 128],
]);

const FILE_URL = /^file:/i;
const URL_WITH_SCHEME = /^[A-Za-z][A-Za-z0-9+.-]+:\/\//;

class RequirementsReader {
  readonly result: ParsedRequirements = {
    requirements: [],
    constraints: [],
    options: emptyOptions(),
  };
  private readonly environment: NodeJS.ProcessEnv;
  private readonly readFile: (path: string) => Promise<string>;

  constructor(environment: NodeJS.ProcessEnv, readFile: (path: string) => Promise<string>) {
    this.environment = environment;
    this.readFile = readFile;
  }

  /** `stack` holds the resolved paths of `file` and every file that includes it. */
  async read(
    content: string,
    file: string,
    constraint: boolean,
    stack: readonly string[],
  ): Promise<void> {
    for (const line of logicalLines(content, this.environment)) {
      await this.readLine(line, file, constraint, stack);
    }
  }

  private async readLine(
    line: LogicalLine,
    file: string,
    constraint: boolean,
    stack: readonly string[],
  ): Promise<void> {
    const where = `${file}:${line.line}`;
    const { requirementText, optionText } = splitRequirementAndOptions(line.text);
    const words = splitShellWords(optionText);
    if (words === undefined) {
      throw new PylayerError("invalid-option", `${where}: unclosed quote in "${line.written}"`, {
        hint: "Close the quote, or remove it.",
      });
    }
    const options = parseOptions(words, where);

    if (requirementText !== "") {
      const hashes: string[] = [];
      const configSettings: Record<string, string | string[]> = {};
      for (const option of options) {
        if (option.spec.key === "hash") {
          hashes.push(parseHash(option.value, where));
        } else if (option.spec.key === "config-settings") {
          addLineConfigSetting(configSettings, option, where);
        } else if (option.spec.key === "global-option") {
          throw new PylayerError(
            "unsupported-requirement",
            `${where}: ${option.written} on a requirement line is not supported`,
            { hint: PER_REQUIREMENT_BUILD_HINT },
          );
        } else {
          throw new PylayerError(
            "invalid-option",
            `${where}: ${option.written} cannot follow a requirement on the same line`,
            {
              hint: `Put ${option.written} on a line of its own; only --hash may follow a requirement.`,
            },
          );
        }
      }
      const requirement = readRequirement(requirementText, where, dirname(file));
      if (constraint && requirement.extras.length > 0) {
        throw new PylayerError(
          "invalid-requirement",
          `${where}: the constraint "${line.written}" has extras, which constraints cannot have`,
          { hint: "Remove the [extras] from the constraint and put them on the requirement." },
        );
      }
      const entry: RequirementLine = {
        requirement,
        hashes,
        source: { file, line: line.line },
        ...(Object.keys(configSettings).length === 0 ? {} : { configSettings }),
      };
      (constraint ? this.result.constraints : this.result.requirements).push(entry);
      return;
    }

    // `-e PATH --config-settings KEY=VALUE`: the settings belong to the editable requirement.
    const editable = options.find((option) => option.spec.key === "editable");
    const lineSettings: Record<string, string | string[]> = {};
    for (const option of options) {
      if (editable !== undefined && option.spec.key === "config-settings") {
        addLineConfigSetting(lineSettings, option, where);
        continue;
      }
      await this.applyOption(option, line, file, constraint, stack);
    }
    if (editable !== undefined && Object.keys(lineSettings).length > 0) {
      const list = constraint ? this.result.constraints : this.result.requirements;
      const entry = list[list.length - 1];
      if (entry !== undefined) entry.configSettings = lineSettings;
    }
  }

  private async applyOption(
    option: ParsedOption,
    line: LogicalLine,
    file: string,
    constraint: boolean,
    stack: readonly string[],
  ): Promise<void> {
    const where = `${file}:${line.line}`;
    const settings = this.result.options;
    switch (option.spec.key) {
      case "requirement":
      case "constraint":
        await this.include(
          option,
          where,
          file,
          constraint || option.spec.key === "constraint",
          stack,
        );
        return;
      case "editable": {
        const requirement = locationRequirement(option.value, dirname(file));
        if (requirement === undefined) {
          throw new PylayerError(
            "invalid-requirement",
            `${where}: "${line.written}" is neither a local project path nor a VCS URL`,
            { hint: "Write -e ./path/to/project or -e git+https://host/repo.git@REV#egg=NAME." },
          );
        }
        const entry: RequirementLine = {
          requirement,
          hashes: [],
          source: { file, line: line.line },
          editable: true,
        };
        (constraint ? this.result.constraints : this.result.requirements).push(entry);
        return;
      }
      case "index-url":
        settings.indexUrl = option.value;
        return;
      case "extra-index-url":
        addUnique(settings.extraIndexUrls, [option.value]);
        return;
      case "find-links":
        addUnique(settings.findLinks, [resolveLocation(option.value, file)]);
        return;
      case "trusted-host":
        addUnique(settings.trustedHosts, [option.value]);
        return;
      case "no-index":
        settings.noIndex = true;
        return;
      case "pre":
        settings.pre = true;
        return;
      case "prefer-binary":
        settings.preferBinary = true;
        return;
      case "require-hashes":
        settings.requireHashes = true;
        return;
      case "no-binary":
      case "only-binary":
        if (option.value.startsWith("-") || option.value === "") {
          throw new PylayerError("invalid-option", `${where}: ${option.written} needs a value`, {
            hint: `Write ${option.written} :all:, ${option.written} :none: or ${option.written} name1,name2.`,
          });
        }
        applyBinaryRule(
          option.value,
          option.spec.key === "no-binary" ? "noBinary" : "onlyBinary",
          settings,
        );
        return;
      case "use-feature":
        return; // pip feature switches change pip itself; nothing for pylayer to do
      case "hash":
        throw new PylayerError(
          "invalid-option",
          `${where}: --hash applies to the requirement on its own line, and this line has none`,
          { hint: "Write the requirement and its hashes on one line: name==1.0 --hash=sha256:…" },
        );
      case "global-option":
        throw new PylayerError(
          "unsupported-requirement",
          `${where}: ${option.written} in a requirements file is not supported`,
          { hint: PER_REQUIREMENT_BUILD_HINT },
        );
      case "config-settings":
        throw new PylayerError(
          "invalid-option",
          `${where}: ${option.written} applies to the requirement on its own line, and this line has none`,
          { hint: PER_REQUIREMENT_BUILD_HINT },
        );
    }
  }

  private async include(
    option: ParsedOption,
    where: string,
    file: string,
    constraint: boolean,
    stack: readonly string[],
  ): Promise<void> {
    const target = option.value;
    if (URL_WITH_SCHEME.test(target) || FILE_URL.test(target)) {
      throw new PylayerError(
        "unsupported-requirement",
        `${where}: ${option.written} ${target} names a URL; pylayer reads included files from disk only`,
        { hint: "Download the file next to this one and include it by path." },
      );
    }
    const path = isAbsolute(target) ? target : join(dirname(file), target);
    const resolved = resolve(path);
    if (stack.includes(resolved)) {
      const chain = [...stack.slice(stack.indexOf(resolved)), resolved].join(" → ");
      throw new PylayerError(
        "requirements-include-cycle",
        `${where}: ${option.written} ${target} includes a file that is already being read (${chain})`,
        { hint: "Remove one of the -r/-c lines so that no file includes itself." },
      );
    }
    let content: string;
    try {
      content = await this.readFile(path);
    } catch (error) {
      throw new PylayerError(
        "requirements-file-not-found",
        `${where}: cannot read ${path} (${option.written} ${target}): ${describeReadError(error)}`,
        {
          hint: `Paths after ${option.written} are relative to the folder of the file that names them.`,
          cause: error,
        },
      );
    }
    await this.read(content, path, constraint, [...stack, resolved]);
  }
}

/**
 * pip's split of a line into the requirement and its options: words (split on spaces)
 * up to the first one starting with `-` are the requirement, the rest are options.
 */
function splitRequirementAndOptions(text: string): {
  requirementText: string;
  optionText: string;
} {
  const words = text.split(" ");
  const firstOption = words.findIndex((word) => word.startsWith("-"));
  if (firstOption === -1) return { requirementText: text.trim(), optionText: "" };
  return {
    requirementText: words.slice(0, firstOption).join(" ").trim(),
    optionText: words.slice(firstOption).join(" "),
  };
}

function parseOptions(words: readonly string[], where: string): ParsedOption[] {
  const options: ParsedOption[] = [];
  let index = 0;
  while (index < words.length) {
    const word = words[index]!;
    index += 1;
    if (!word.startsWith("-") || word === "-" || word === "--") {
      throw new PylayerError(
        "invalid-option",
        `${where}: unexpected "${word}" among the options of this line`,
        { hint: "Put each requirement on a line of its own, before any options." },
      );
    }
    let written: string;
    let attached: string | undefined;
    if (word.startsWith("--")) {
      const equals = word.indexOf("=");
      written = equals === -1 ? word : word.slice(0, equals);
      attached = equals === -1 ? undefined : word.slice(equals + 1);
    } else {
      written = word.slice(0, 2);
      attached = word.length > 2 ? word.slice(2) : undefined;
    }
    const spec = OPTIONS.get(written);
    if (spec === undefined) {
      throw new PylayerError(
        "unknown-option",
        `${where}: unknown option ${written} in a requirements file`,
        { hint: SUPPORTED_OPTIONS_HINT },
      );
    }
    if (!spec.takesValue) {
      if (attached !== undefined) {
        throw new PylayerError("invalid-option", `${where}: ${written} takes no value`, {
          hint: `Write ${written} alone.`,
        });
      }
      options.push({ spec, written, value: "" });
      continue;
    }
    let value = attached;
    if (value === undefined) {
      value = words[index];
      index += 1;
    }
    if (value === undefined) {
      throw new PylayerError("invalid-option", `${where}: ${written} needs a value`, {
        hint: `Write ${written} VALUE (or ${written}=VALUE for long options).`,
      });
    }
    options.push({ spec, written, value });
  }
  return options;
}

function parseHash(value: string, where: string): string {
  const separator = value.indexOf(":");
  const algorithm = separator === -1 ? "" : value.slice(0, separator).toLowerCase();
  const digest = separator === -1 ? "" : value.slice(separator + 1).toLowerCase();
  const length = HASH_LENGTHS.get(algorithm);
  if (length === undefined || digest.length !== length || !/^[0-9a-f]+$/.test(digest)) {
    throw new PylayerError("invalid-option", `${where}: --hash=${value} is not a valid hash`, {
      hint: "Hashes look like --hash=sha256:<64 hex digits> (sha256, sha384 and sha512 are accepted).",
    });
  }
  return `${algorithm}:${digest}`;
}

/** Parses one requirement line: a location (made absolute) or a PEP 508 requirement. */
function readRequirement(text: string, where: string, baseDir: string): Requirement {
  try {
    return locationRequirement(text, baseDir) ?? parseRequirement(text);
  } catch (error) {
    if (!isPylayerError(error)) throw error;
    throw new PylayerError(error.code, `${where}: ${error.message}`, {
      ...(error.hint === undefined ? {} : { hint: error.hint }),
      cause: error,
      ...(error.details === undefined ? {} : { details: error.details }),
    });
  }
}

/** pip's `--no-binary`/`--only-binary` rules: each excludes the other for the names given. */
function applyBinaryRule(
  value: string,
  target: "noBinary" | "onlyBinary",
  options: RequirementsOptions,
): void {
  const other = target === "noBinary" ? "onlyBinary" : "noBinary";
  let names = value.split(",");
  while (names.includes(":all:")) {
    options[other] = [];
    options[target] = [":all:"];
    names = names.slice(names.indexOf(":all:") + 1);
    if (!names.includes(":none:")) return;
  }
  for (const name of names) {
    if (name === ":none:") {
      options[target] = [];
      continue;
    }
    if (name === "") continue;
    const normalized = normalizeName(name);
    options[other] = options[other].filter((existing) => existing !== normalized);
    if (!options[target].includes(normalized)) options[target].push(normalized);
  }
}

function resolveLocation(value: string, file: string): string {
  if (URL_WITH_SCHEME.test(value) || FILE_URL.test(value) || isAbsolute(value)) return value;
  return resolve(dirname(file), value);
}

/** Options as if no requirements file set any. */
export function emptyOptions(): RequirementsOptions {
  return {
    extraIndexUrls: [],
    findLinks: [],
    noIndex: false,
    pre: false,
    onlyBinary: [],
    noBinary: [],
    preferBinary: false,
    trustedHosts: [],
    requireHashes: false,
  };
}

function addUnique(into: string[], values: readonly string[]): void {
  for (const value of values) if (!into.includes(value)) into.push(value);
}

async function readFromDisk(path: string): Promise<string> {
  return readFileFromDisk(path, "utf8");
}

function describeReadError(error: unknown): string {
  if (error instanceof Error && "code" in error && typeof error.code === "string") {
    return error.code === "ENOENT" ? "no such file" : error.code;
  }
  return error instanceof Error ? error.message : String(error);
}
