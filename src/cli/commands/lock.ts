/** `pylayer lock`: resolve for Lambda targets and write a PEP 751 pylock.toml. */
import { relative } from "node:path";
import type { LockLayerOptions } from "../../pipeline/index.js";
import type { CommandSpec } from "../args.js";
import { stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { withProjectDefaults } from "../project-defaults.js";
import { formatDuration } from "../ui.js";
import { buildOptionsFromArgs, spec as buildSpec, showBuildEvents } from "./build.js";

const INPUT_OPTION_NAMES = [
  "requirement",
  "constraint",
  "pyproject",
  "lock",
  "extra",
  "group",
  "runtime",
  "arch",
  "index-url",
  "extra-index-url",
  "find-links",
  "no-index",
  "pre",
  "cache-dir",
  "no-cache",
  "refresh",
] as const;

/** The input, target and index options `build` has, for commands that plan like it. */
export function inputOptions(): CommandSpec["options"] {
  return Object.fromEntries(INPUT_OPTION_NAMES.map((name) => [name, buildSpec.options[name]!]));
}

export const spec: CommandSpec = {
  name: "lock",
  summary: "Resolve for Lambda runtimes and write a PEP 751 lock file (pylock.toml).",
  usage: [
    "lock [REQUIREMENT...] [-r FILE] [--pyproject FILE] [--runtime R]... [--arch A]... [-o pylock.toml]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    ...inputOptions(),
    output: {
      type: "string",
      short: "o",
      valueName: "FILE",
      description: "Lock file to write (default pylock.toml; - for standard output)",
    },
  },
  examples: [
    "pylayer lock --runtime python3.12 --arch x86_64 --arch arm64",
    "pylayer lock -r requirements.txt --runtime python3.11 -o pylock.lambda.toml",
    "pylayer build --lock pylock.toml",
  ],
  notes: [
    "The lock lists, for every requested target, the wheel the build would install, with its URL, size and sha256; packages only some targets need carry a marker. `pylayer build --lock` then installs exactly those wheels (same zip, byte for byte) without resolving. With no input arguments, pyproject.toml or requirements.txt of the current folder is used.",
  ],
};

export async function run(commandContext: CommandContext): Promise<number> {
  const context = await withProjectDefaults(commandContext, spec);
  const { ui } = context;
  const output = stringOption(context.values, "output");
  const { dryRun: _dryRun, ...build } = buildOptionsFromArgs({
    ...context,
    values: { ...context.values, output: undefined },
  });
  const options: LockLayerOptions = {
    ...build,
    ...(output === undefined || output === "-" ? {} : { output }),
    write: output !== "-",
    onEvent: showBuildEvents(ui),
  };
  const { lockLayer } = await import("../../pipeline/index.js");
  const result = await lockLayer(options);
  ui.clearProgress();
  if (output === "-") {
    process.stdout.write(result.text);
    return 0;
  }
  const packages = new Set(
    result.plan.targets.flatMap((target) =>
      target.packages.map((item) => `${item.name}==${item.version}`),
    ),
  );
  if (ui.json) {
    ui.outJson({
      ok: true,
      path: result.path,
      ...(result.plan.input === undefined ? {} : { input: result.plan.input }),
      targets: result.plan.targets.map((target) => target.id),
      packages: [...packages].sort(),
      warnings: result.plan.warnings,
      durationMs: Math.round(result.durationMs),
    });
    return 0;
  }
  for (const warning of result.plan.warnings) ui.warn(warning);
  const relativePath = relative(context.cwd, result.path);
  ui.out(
    `${ui.colors.green("wrote")} ${relativePath.startsWith("..") ? result.path : relativePath}: ${packages.size} packages for ${result.plan.targets.map((target) => target.id).join(", ")}`,
  );
  ui.info(ui.colors.dim(`done in ${formatDuration(result.durationMs)}`));
  return 0;
}
