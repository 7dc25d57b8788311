/**
 * Command-line parsing over `node:util.parseArgs`: typed option specs, generated
 * `--help` text with examples, and usage errors (exit code 2) with hints.
 */
import { parseArgs } from "node:util";
import { usageError } from "../errors.js";
import { closestMatch, editDistance } from "../strings.js";

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Shown in --help after the flag, e.g. `FILE`. */
  valueName?: string;
  description: string;
}

export interface CommandSpec {
  name: string;
  summary: string;
  /** Usage line(s) after `pylayer `. */
  usage: string[];
  options: Record<string, OptionSpec>;
  /** Names of positional arguments for help, e.g. `[REQUIREMENT...]`. */
  positionals?: string;
  examples: string[];
  /** Extra paragraphs shown at the end of --help. */
  notes?: string[];
}

export type ParsedValues = Record<string, string | boolean | string[] | undefined>;

export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: "boolean", description: "Print a machine-readable result on stdout" },
  quiet: { type: "boolean", short: "q", description: "Print only errors" },
  verbose: { type: "boolean", short: "v", description: "Print more detail" },
  help: { type: "boolean", short: "h", description: "Show this help" },
};

export function parseCommandArgs(
  spec: CommandSpec,
  argv: readonly string[],
): { values: ParsedValues; positionals: string[] } {
  const options = { ...spec.options, ...COMMON_OPTIONS };
  try {
    const parsed = parseArgs({
      args: [...argv],
      options: Object.fromEntries(
        Object.entries(options).map(([name, option]) => [
          name,
          {
            type: option.type,
            ...(option.short === undefined ? {} : { short: option.short }),
            ...(option.multiple ? { multiple: true } : {}),
          },
        ]),
      ),
      allowPositionals: spec.positionals !== undefined,
      strict: true,
    });
    return { values: parsed.values as ParsedValues, positionals: parsed.positionals };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message)?.[1];
    if (unknown !== undefined) {
      const suggestion = closestOption(unknown, Object.keys(options));
      throw usageError(
        `unknown option ${unknown} for "pylayer ${spec.name}"`,
        suggestion === undefined
          ? `Run "pylayer ${spec.name} --help" for the options.`
          : `Did you mean --${suggestion}?`,
      );
    }
    throw usageError(
      message.replace(/\. To specify a positional argument.*$/s, ""),
      `Run "pylayer ${spec.name} --help".`,
    );
  }
}

function closestOption(flag: string, names: string[]): string | undefined {
  return closestMatch(flag.replace(/^-+/, ""), names);
}

export { editDistance };

export function formatHelp(spec: CommandSpec): string {
  const lines: string[] = [spec.summary, "", "Usage:"];
  for (const usage of spec.usage) lines.push(`  pylayer ${usage}`);
  lines.push("", "Options:");
  const rows = Object.entries({ ...spec.options, ...COMMON_OPTIONS }).map(([name, option]) => {
    const flag = `${option.short === undefined ? "    " : `-${option.short}, `}--${name}${
      option.type === "string" ? ` ${option.valueName ?? "VALUE"}` : ""
    }`;
    return [flag, `${option.description}${option.multiple ? " (repeatable)" : ""}`] as const;
  });
  const width = Math.min(34, Math.max(...rows.map(([flag]) => flag.length)) + 2);
  for (const [flag, description] of rows) {
    lines.push(
      flag.length + 2 > width
        ? `  ${flag}\n  ${" ".repeat(width)}${description}`
        : `  ${flag.padEnd(width)}${description}`,
    );
  }
  if (spec.examples.length > 0) {
    lines.push("", "Examples:");
    for (const example of spec.examples) lines.push(`  ${example}`);
  }
  for (const note of spec.notes ?? []) lines.push("", note);
  return `${lines.join("\n")}\n`;
}

/** Reads a repeatable string option, also accepting comma-separated values. */
export function listOption(values: ParsedValues, name: string, splitCommas = true): string[] {
  const value = values[name];
  if (value === undefined || typeof value === "boolean") return [];
  const list = Array.isArray(value) ? value : [value];
  // `--runtime ""` (an unset shell variable, say) is a mistake, not a request for the default.
  if (list.some((item) => item.trim() === "")) {
    throw usageError(
      `--${name} was given an empty value`,
      `Give --${name} a value, or leave the option out.`,
    );
  }
  return splitCommas
    ? list
        .flatMap((item) => item.split(","))
        .map((item) => item.trim())
        .filter(Boolean)
    : list;
}

export function stringOption(values: ParsedValues, name: string): string | undefined {
  const value = values[name];
  if (Array.isArray(value)) return value.at(-1);
  return typeof value === "string" ? value : undefined;
}

/**
 * Reads a positive number option (`--timeout 30`); `integer` refuses fractions. A value
 * that is not one is a usage error naming the flag.
 */
export function positiveNumberOption(
  values: ParsedValues,
  name: string,
  options: { integer?: boolean; example: string; allowZero?: boolean },
): number | undefined {
  const text = stringOption(values, name);
  if (text === undefined) return undefined;
  const number = Number(text);
  if (
    text.trim() === "" ||
    !Number.isFinite(number) ||
    number < 0 ||
    (number === 0 && options.allowZero !== true) ||
    (options.integer === true && !Number.isSafeInteger(number))
  ) {
    const kind = options.integer === true ? "whole number" : "number";
    throw usageError(
      options.allowZero === true
        ? `--${name} ${text} is not a ${kind} (0 or more)`
        : `--${name} ${text} is not a positive ${kind}`,
      `Use e.g. --${name} ${options.example}.`,
    );
  }
  return number;
}

export function booleanOption(values: ParsedValues, name: string): boolean {
  return values[name] === true;
}
