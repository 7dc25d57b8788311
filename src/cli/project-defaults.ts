/**
 * Applies the project defaults (`pylayer.toml` or `[tool.pylayer]` in pyproject.toml of
 * the current folder) to a command's parsed flags: an option not given on the command
 * line takes the project's value. Shared by every command that accepts such options.
 */
import { loadProjectDefaults, mergeProjectDefaults } from "../pyproject/defaults.js";
import type { CommandSpec } from "./args.js";
import type { CommandContext } from "./main.js";

export async function withProjectDefaults(
  context: CommandContext,
  spec: CommandSpec,
  options: { skip?: readonly string[] } = {},
): Promise<CommandContext> {
  const defaults = await loadProjectDefaults(context.cwd);
  if (defaults === undefined) return context;
  const names = Object.keys(spec.options).filter((name) => !options.skip?.includes(name));
  const used = names.filter(
    (name) => defaults.values[name] !== undefined && context.values[name] === undefined,
  );
  if (used.length > 0) {
    context.ui.detail(`defaults from ${defaults.section} in ${defaults.file}: ${used.join(", ")}`);
  }
  return { ...context, values: mergeProjectDefaults(context.values, defaults, names) };
}
