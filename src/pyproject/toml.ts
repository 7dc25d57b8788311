/**
 * Reading TOML and JSON project files with errors that name the file, the line and
 * the key, and validating their structure with zod.
 */
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import type * as SmolToml from "smol-toml";
import type { z } from "zod";
import { PylayerError } from "../errors.js";

export type TomlTable = Record<string, unknown>;

let smolToml: typeof SmolToml | undefined;

/**
 * smol-toml, loaded on first use (synchronously, through its CommonJS build) so that
 * commands which find no TOML file to read do not pay for loading the parser.
 */
function toml(): typeof SmolToml {
  smolToml ??= createRequire(import.meta.url)("smol-toml") as typeof SmolToml;
  return smolToml;
}

/** Reads a UTF-8 file; `file-not-found` names what the file was for. */
export async function readTextFile(path: string, what: string): Promise<string> {
  try {
    const text = await readFile(path, "utf8");
    return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new PylayerError(
      code === "ENOENT" || code === "ENOTDIR" ? "file-not-found" : "file-unreadable",
      `cannot read ${what} ${path}: ${(error as Error).message}`,
      { hint: `Check the path of the ${what}.`, cause: error },
    );
  }
}

/**
 * Parses TOML text. Integers stay exact (`bigint`) when `exactIntegers` is set, so that
 * hashes computed over the data can tell `1` from `1.0` as Python's tomllib does.
 */
export function parseTomlText(
  text: string,
  path: string,
  options: { exactIntegers?: boolean } = {},
): TomlTable {
  const { parse, TomlError } = toml();
  try {
    return options.exactIntegers
      ? (parse(text, { integersAsBigInt: true }) as TomlTable)
      : (parse(text) as TomlTable);
  } catch (error) {
    if (error instanceof TomlError) {
      const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
      throw new PylayerError("invalid-toml", `${path}:${error.line}:${error.column}: ${reason}`, {
        hint: "Fix the TOML syntax at that line.",
        cause: error,
      });
    }
    throw error;
  }
}

export async function readTomlFile(path: string, what: string): Promise<TomlTable> {
  return parseTomlText(await readTextFile(path, what), path);
}

/** Parses JSON text, naming the file on a syntax error. */
export function parseJsonText(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PylayerError("invalid-json", `${path}: ${(error as Error).message}`, {
      hint: "The file is not valid JSON; regenerate it with the tool that wrote it.",
      cause: error,
    });
  }
}

/**
 * Validates `data` against a zod schema. Failures become one `code` error listing each
 * problem as `key.path: message`, so a hand-edited or foreign file says what is wrong.
 */
export function validate<T extends z.ZodType>(
  schema: T,
  data: unknown,
  path: string,
  code: string,
  hint: string,
): z.infer<T> {
  const result = schema.safeParse(data);
  if (result.success) return result.data;
  const problems = result.error.issues.slice(0, 5).map((issue) => {
    const where = issue.path.length === 0 ? "(top level)" : formatKeyPath(issue.path);
    return `${where}: ${issue.message}`;
  });
  const more =
    result.error.issues.length > 5 ? `\n  … and ${result.error.issues.length - 5} more` : "";
  throw new PylayerError(code, `${path} is not valid:\n  ${problems.join("\n  ")}${more}`, {
    hint,
  });
}

function formatKeyPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const part of path) {
    if (typeof part === "number") text += `[${part}]`;
    else text += text === "" ? String(part) : `.${String(part)}`;
  }
  return text;
}

export function isTable(value: unknown): value is TomlTable {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
