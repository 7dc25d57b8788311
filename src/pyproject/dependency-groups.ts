/**
 * PEP 735 dependency groups (`[dependency-groups]` in pyproject.toml), per the
 * "Dependency Groups" specification on packaging.python.org:
 * - group names are compared normalized (PEP 503); two keys that normalize alike are an error;
 * - a list holds PEP 508 strings and `{include-group = "name"}` tables, an include being
 *   replaced in place by the included group's expanded contents, duplicates kept;
 * - cycles are an error, and only the groups asked for are validated.
 */
import { PylayerError } from "../errors.js";
import { normalizeName, parseRequirement } from "../pep508/index.js";
import { isTable } from "./toml.js";

export interface GroupRequirement {
  /** PEP 508 text as written. */
  text: string;
  /** The normalized group the string is written in (after includes: the included group). */
  group: string;
  /** 1-based position within that group's list. */
  position: number;
}

/** Normalized group name → the key as written. Throws on duplicate normalized names. */
export function dependencyGroupNames(table: unknown, file: string): Map<string, string> {
  const names = new Map<string, string>();
  if (table === undefined) return names;
  if (!isTable(table)) {
    throw invalidGroups(file, "[dependency-groups] must be a table of lists");
  }
  const duplicates: string[] = [];
  for (const key of Object.keys(table)) {
    const normalized = normalizeName(key);
    const existing = names.get(normalized);
    if (existing !== undefined) duplicates.push(`${existing} and ${key}`);
    else names.set(normalized, key);
  }
  if (duplicates.length > 0) {
    throw invalidGroups(file, `duplicate dependency group names: ${duplicates.join("; ")}`);
  }
  return names;
}

/** Expands one group with its includes (PEP 735). */
export function expandDependencyGroup(
  table: unknown,
  group: string,
  file: string,
): GroupRequirement[] {
  const names = dependencyGroupNames(table, file);
  return expand(table as Record<string, unknown>, names, normalizeName(group), [], file);
}

function expand(
  table: Record<string, unknown>,
  names: Map<string, string>,
  group: string,
  stack: string[],
  file: string,
): GroupRequirement[] {
  if (stack.includes(group)) {
    throw invalidGroups(
      file,
      `dependency group include cycle: ${[...stack, group].map((name) => names.get(name) ?? name).join(" → ")}`,
    );
  }
  const key = names.get(group);
  if (key === undefined) {
    const known = [...names.values()];
    throw new PylayerError(
      "unknown-group",
      `${file} has no dependency group "${group}"${stack.length > 0 ? ` (included from "${names.get(stack.at(-1)!)}")` : ""}`,
      {
        hint:
          known.length === 0
            ? "The file has no [dependency-groups] table."
            : `Its groups are: ${known.join(", ")}.`,
      },
    );
  }
  const items = table[key];
  if (!Array.isArray(items)) {
    throw invalidGroups(file, `dependency group "${key}" must be a list`);
  }
  const result: GroupRequirement[] = [];
  items.forEach((item, index) => {
    if (typeof item === "string") {
      parseRequirement(item);
      result.push({ text: item, group, position: index + 1 });
    } else if (
      isTable(item) &&
      Object.keys(item).length === 1 &&
      typeof item["include-group"] === "string"
    ) {
      result.push(
        ...expand(table, names, normalizeName(item["include-group"]), [...stack, group], file),
      );
    } else {
      throw invalidGroups(
        file,
        `dependency group "${key}" item ${index + 1} is neither a requirement string nor {include-group = "…"}`,
      );
    }
  });
  return result;
}

function invalidGroups(file: string, message: string): PylayerError {
  return new PylayerError("invalid-pyproject", `${file}: ${message}`, {
    hint: 'Dependency groups are lists of requirement strings and {include-group = "name"} tables (PEP 735).',
  });
}
