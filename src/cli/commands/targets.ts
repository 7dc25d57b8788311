/** `pylayer targets`: the Lambda runtimes pylayer knows, and the wheel tags each accepts. */

import { ARCHITECTURES, makeTargets, RUNTIMES } from "../../runtime/index.js";
import { compatibleTags, tagToString } from "../../tags/index.js";
import type { CommandSpec } from "../args.js";
import { listOption } from "../args.js";
import type { CommandContext } from "../main.js";

export const spec: CommandSpec = {
  name: "targets",
  summary:
    "List Lambda Python runtimes (OS, glibc, architectures) and, with --tags, the wheel tags each accepts, best first.",
  usage: ["targets [--runtime R]... [--arch A]... [--tags] [--json]"],
  options: {
    runtime: {
      type: "string",
      multiple: true,
      valueName: "RUNTIME",
      description: "Only this runtime",
    },
    arch: {
      type: "string",
      multiple: true,
      valueName: "ARCH",
      description: "Only this architecture",
    },
    tags: {
      type: "boolean",
      description: "List the compatible wheel tags of each target, best first",
    },
  },
  examples: ["pylayer targets", "pylayer targets --runtime python3.11 --arch arm64 --tags"],
};

export async function run(context: CommandContext): Promise<number> {
  const { ui, values } = context;
  const runtimes = listOption(values, "runtime");
  const architectures = listOption(values, "arch");
  const targets = makeTargets(
    runtimes.length > 0 ? runtimes : RUNTIMES.map((runtime) => runtime.name),
    architectures.length > 0 ? architectures : [...ARCHITECTURES],
  );
  const withTags = values.tags === true;
  if (ui.json) {
    ui.outJson(
      targets.map((target) => ({
        id: target.id,
        runtime: target.runtime.name,
        architecture: target.architecture,
        os: target.runtime.os,
        glibc: target.runtime.glibc.join("."),
        python: target.runtime.pythonFullVersion,
        ...(target.runtime.deprecationDate === undefined
          ? {}
          : { deprecationDate: target.runtime.deprecationDate }),
        ...(withTags ? { tags: compatibleTags(target).map(tagToString) } : {}),
      })),
    );
    return 0;
  }
  for (const target of targets) {
    const { runtime } = target;
    const deprecation =
      runtime.deprecationDate === undefined ? "" : `  deprecation ${runtime.deprecationDate}`;
    ui.out(
      `${target.id.padEnd(18)} ${runtime.os.padEnd(17)} glibc ${runtime.glibc.join(".")}  CPython ${runtime.pythonFullVersion}${deprecation}`,
    );
    if (withTags) for (const tag of compatibleTags(target)) ui.out(`    ${tagToString(tag)}`);
  }
  return 0;
}
