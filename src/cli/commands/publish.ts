/**
 * `pylayer publish`: publish a layer zip to one or more regions, skipping unchanged
 * layers (the AWS SDK loads only inside the library call).
 */
import { usageError } from "../../errors.js";
import { type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, quietSdkNodeWarning } from "../options/aws.js";
import { PUBLISH_OPTIONS, publishFlagsFromArgs } from "../options/publish.js";
import { showAwsEvents } from "../print/events.js";
import { printPublishResult, publishJson } from "../print/publish.js";
import { withProjectDefaults } from "../project-defaults.js";

export const spec: CommandSpec = {
  name: "publish",
  summary: "Publish a layer zip to AWS Lambda in one or more regions, skipping unchanged layers.",
  usage: [
    "publish ZIP --name NAME [--region R]... [--description D] [--license SPDX] [--runtime R]... [--arch A]... [--s3-bucket B [--s3-prefix P] [--s3-cleanup]] [--public | --org o-xxxx | --account ID...] [--force] [--json]",
  ],
  positionals: "ZIP",
  options: {
    name: {
      type: "string",
      short: "n",
      valueName: "NAME",
      description: "Layer name (1–140 of [a-zA-Z0-9-_]) or layer ARN",
    },
    runtime: {
      type: "string",
      multiple: true,
      valueName: "RUNTIME",
      description: "Compatible runtime (default: what the build recorded in the zip)",
    },
    arch: {
      type: "string",
      multiple: true,
      valueName: "ARCH",
      description: "Compatible architecture (default: what the build recorded in the zip)",
    },
    ...PUBLISH_OPTIONS,
    ...AWS_OPTIONS,
  },
  examples: [
    "pylayer publish layer.zip --name deps --region us-east-1 --region eu-west-1",
    "pylayer publish big.zip --name deps --s3-bucket my-artifacts-{region} --s3-cleanup --region us-east-1",
    "pylayer publish layer.zip --name deps --org o-a1b2c3d4e5 --json",
    "pylayer publish other.zip --name deps --runtime python3.12 --arch arm64",
  ],
  notes: [
    "The newest version of NAME in each region is compared first: with the same CodeSha256 and the same runtimes and architectures nothing is published and its ARN is printed (--force publishes anyway). Zips up to 50 MiB go in the request; larger ones are uploaded to --s3-bucket (which must be in the layer's region). Layers over 250 MiB unzipped are refused before any upload. Credentials and region come from the AWS SDK's standard chain (environment, --profile/AWS_PROFILE, SSO, instance roles); the README's Publish section lists the IAM permissions.",
  ],
};

export async function run(commandContext: CommandContext): Promise<number> {
  // Project defaults ([tool.pylayer]) for the publish settings; the zip's own runtimes and
  // architectures stay the default for those two.
  const context = await withProjectDefaults(commandContext, spec, { skip: ["runtime", "arch"] });
  const { ui, positionals, values } = context;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0 ? "no zip given" : `one zip at a time (got ${positionals.length})`,
      "pylayer publish ZIP --name NAME",
    );
  }
  const name = stringOption(values, "name");
  if (name === undefined) {
    throw usageError("--name is required", "pylayer publish ZIP --name NAME");
  }
  quietSdkNodeWarning(context.env);
  const { publishLayer } = await import("../../aws/index.js");
  const result = await publishLayer({
    zipPath: positionals[0]!,
    name,
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    ...publishFlagsFromArgs(context),
    onEvent: showAwsEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) ui.outJson(publishJson(result));
  else printPublishResult(ui, result);
  return result.ok ? 0 : 1;
}
