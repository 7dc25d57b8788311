/** `pylayer attach`: put a layer version on functions, keeping their other layers in order. */
import type { AttachResult } from "../../aws/index.js";
import { usageError } from "../../errors.js";
import { type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, awsOptionsFromArgs, quietSdkNodeWarning } from "../options/aws.js";
import { showAwsEvents } from "../print/events.js";
import { withErrorsAsJson } from "../print/json.js";
import type { Ui } from "../ui.js";

export const spec: CommandSpec = {
  name: "attach",
  summary: "Put a layer version on Lambda functions, replacing an older version in place.",
  usage: ["attach FUNCTION... --layer ARN_OR_NAME[:VERSION] [--region R]... [--json]"],
  positionals: "FUNCTION...",
  options: {
    layer: {
      type: "string",
      short: "l",
      valueName: "ARN_OR_NAME[:VERSION]",
      description: "Layer name or ARN, optionally with a version (default: the newest)",
    },
    ...AWS_OPTIONS,
  },
  examples: [
    "pylayer attach orders-api billing-worker --layer deps --region eu-west-1",
    "pylayer attach orders-api --layer arn:aws:lambda:us-east-1:123456789012:layer:deps:7",
  ],
  notes: [
    "An older version of the same layer is replaced at its position; otherwise the layer is added last. The other layers keep their order. A function whose runtime or architecture the layer version does not list, or that would have more than 5 layers, is refused. Functions given by ARN use their own region.",
  ],
};

export async function run(context: CommandContext): Promise<number> {
  const { values, positionals, ui } = context;
  const layer = stringOption(values, "layer");
  if (layer === undefined) throw usageError("--layer is required", spec.usage[0]);
  if (positionals.length === 0) throw usageError("no function given", spec.usage[0]);
  quietSdkNodeWarning(context.env);
  const { attachLayer } = await import("../../aws/index.js");
  const result = await attachLayer({
    functions: positionals,
    layer,
    regions: listOption(values, "region"),
    aws: awsOptionsFromArgs(context),
    onEvent: showAwsEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) {
    ui.outJson({
      ok: result.ok,
      layer: result.layer,
      functions: withErrorsAsJson(result.functions),
    });
  } else {
    printAttach(ui, result);
  }
  return result.ok ? 0 : 1;
}

function printAttach(ui: Ui, result: AttachResult): void {
  const { dim, green, red, bold } = ui.colors;
  for (const item of result.functions) {
    const where = `${item.functionName} (${item.region})`;
    if (item.status === "failed") {
      ui.out(`${red("failed   ")} ${where}`);
      continue;
    }
    const what =
      item.change === "replaced"
        ? `replaced ${item.replaced} with ${item.layerVersionArn}`
        : item.change === "added"
          ? `added ${item.layerVersionArn}`
          : `already has ${item.layerVersionArn}`;
    ui.out(
      `${item.status === "updated" ? green("updated  ") : bold("unchanged")} ${where}  ${what}`,
    );
    ui.detail(dim(`  layers: ${item.layers.join(", ")}`));
  }
  for (const item of result.functions) {
    if (item.error !== undefined) {
      ui.error(
        `${item.functionName} (${item.region}): ${item.error.message}`,
        item.error.hint,
        item.error.code,
      );
    }
  }
}
