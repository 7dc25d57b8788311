/**
 * Applies the project defaults (`pylayer.toml` or `[tool.pylayer]` in pyproject.toml of
 * the current folder) to a command's parsed flags: an option not given on the command
 * line takes the project's value. Shared by every command that accepts such options.
 *
 * The index keys are the exception: the project's file is a configuration file, and
 * indexes from configuration files rank after those given on the command line or in the
 * environment (uv's rule; see index/settings.ts), so they are handed on as
 * `indexConfiguration` instead of standing in for flags.
 */
import { loadProjectDefaults, mergeProjectDefaults } from "../pyproject/defaults.js";
import type { CommandSpec } from "./args.js";
import type { CommandContext } from "./main.js";

/** Project-default keys that are configuration-file index settings, not flag defaults. */
const INDEX_CONFIGURATION_KEYS = ["index-url", "extra-index-url", "index-strategy"];

export async function withProjectDefaults(
  context: CommandContext,
  spec: CommandSpec,
  options: { skip?: readonly string[] } = {},
): Promise<CommandContext> {
  const defaults = await loadProjectDefaults(context.cwd);
  if (defaults === undefined) return context;
  const known = Object.keys(spec.options).filter((name) => !options.skip?.includes(name));
  const names = known.filter((name) => !INDEX_CONFIGURATION_KEYS.includes(name));
  const used = names.filter(
    (name) => defaults.values[name] !== undefined && context.values[name] === undefined,
  );
  if (used.length > 0) {
    context.ui.detail(`defaults from ${defaults.section} in ${defaults.file}: ${used.join(", ")}`);
  }
  const indexValues = Object.fromEntries(
    INDEX_CONFIGURATION_KEYS.filter(
      (name) => known.includes(name) && defaults.values[name] !== undefined,
    ).map((name) => [name, defaults.values[name]!]),
  );
  return {
    ...context,
    values: mergeProjectDefaults(context.values, defaults, names),
    ...(Object.keys(indexValues).length === 0
      ? {}
      : {
          indexConfiguration: {
            source:
              defaults.section === "pylayer.toml"
                ? defaults.file
                : `${defaults.file} ${defaults.section}`,
            values: indexValues,
          },
        }),
  };
}
