/** `pylayer export`: pinned requirements with hashes, for pip. */

import { isAbsolute, resolve } from "node:path";
import { usageError } from "../../errors.js";
import { writeFileAtomic } from "../../files.js";
import type { CommandSpec } from "../args.js";
import { stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { PROJECT_FILE_OPTIONS, REQUIREMENT_FILE_OPTIONS } from "../options/inputs.js";
import { CACHE_OPTIONS, INDEX_OPTIONS } from "../options/package-index.js";
import { buildOptionsFromArgs } from "../options/pipeline.js";
import { SOURCE_BUILD_OPTIONS } from "../options/source-build.js";
import { TARGET_OPTIONS } from "../options/targets.js";
import { showBuildEvents } from "../print/events.js";
import { withProjectDefaults } from "../project-defaults.js";

export const spec: CommandSpec = {
  name: "export",
  summary: "Write pinned requirements (name==version with --hash) for the Lambda targets.",
  usage: [
    "export --format requirements [REQUIREMENT...] [-r FILE] [--lock FILE] [--pyproject FILE] [-o FILE]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    format: {
      type: "string",
      valueName: "FORMAT",
      description: "Output format: requirements (pip's requirements.txt with hashes)",
    },
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
      description: "Write to FILE instead of standard output",
    },
  },
  examples: [
    "pylayer export --format requirements --lock uv.lock --runtime python3.12 > requirements.txt",
    "pylayer export --format requirements --runtime python3.11 --runtime python3.12 -o requirements.lock",
  ],
  notes: [
    "Each line pins one version and lists the sha256 of every wheel of that version usable on the targets; a package only some targets need carries a marker. With no input arguments, the current folder is searched as for `pylayer build`.",
  ],
};

export async function run(commandContext: CommandContext): Promise<number> {
  const context = await withProjectDefaults(commandContext, spec);
  const { ui } = context;
  const format = stringOption(context.values, "format") ?? "requirements";
  if (format !== "requirements" && format !== "requirements.txt") {
    throw usageError(`--format ${format} is not supported`, "Use --format requirements.");
  }
  const output = stringOption(context.values, "output");
  const { dryRun: _dryRun, ...options } = buildOptionsFromArgs({
    ...context,
    values: { ...context.values, output: undefined },
  });
  options.onEvent = showBuildEvents(ui);
  const { exportRequirements } = await import("../../pipeline/index.js");
  const result = await exportRequirements(options);
  ui.clearProgress();
  for (const warning of result.plan.warnings) ui.warn(warning);
  if (output === undefined || output === "-") {
    process.stdout.write(result.text);
  } else {
    const path = isAbsolute(output) ? output : resolve(context.cwd, output);
    await writeFileAtomic(path, result.text);
    if (ui.json) ui.outJson({ ok: true, path, warnings: result.plan.warnings });
    else ui.info(`wrote ${output}`);
  }
  return 0;
}
