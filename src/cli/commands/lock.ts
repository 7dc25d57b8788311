/** `pylayer lock`: resolve for Lambda targets and write a PEP 751 pylock.toml. */
import type { LockLayerOptions } from "../../pipeline/index.js";
import type { CommandSpec } from "../args.js";
import { stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { PROJECT_FILE_OPTIONS, REQUIREMENT_FILE_OPTIONS } from "../options/inputs.js";
import { CACHE_OPTIONS, INDEX_OPTIONS } from "../options/package-index.js";
import { buildOptionsFromArgs } from "../options/pipeline.js";
import { SOURCE_BUILD_OPTIONS } from "../options/source-build.js";
import { TARGET_OPTIONS } from "../options/targets.js";
import { showBuildEvents } from "../print/events.js";
import { shownPath } from "../print/paths.js";
import { withProjectDefaults } from "../project-defaults.js";
import { formatDuration } from "../ui.js";

export const spec: CommandSpec = {
  name: "lock",
  summary: "Resolve for Lambda runtimes and write a PEP 751 lock file (pylock.toml).",
  usage: [
    "lock [REQUIREMENT...] [-r FILE] [--pyproject FILE] [--runtime R]... [--arch A]... [-o pylock.toml]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    ...REQUIREMENT_FILE_OPTIONS,
    ...PROJECT_FILE_OPTIONS,
    ...TARGET_OPTIONS,
    ...INDEX_OPTIONS,
    ...SOURCE_BUILD_OPTIONS,
    ...CACHE_OPTIONS,
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
      ...(result.plan.index === undefined ? {} : { index: result.plan.index }),
      targets: result.plan.targets.map((target) => target.id),
      packages: [...packages].sort(),
      warnings: result.plan.warnings,
      durationMs: Math.round(result.durationMs),
    });
    return 0;
  }
  for (const warning of result.plan.warnings) ui.warn(warning);
  ui.out(
    `${ui.colors.green("wrote")} ${shownPath(context.cwd, result.path)}: ${packages.size} packages for ${result.plan.targets.map((target) => target.id).join(", ")}`,
  );
  ui.info(ui.colors.dim(`done in ${formatDuration(result.durationMs)}`));
  return 0;
}
