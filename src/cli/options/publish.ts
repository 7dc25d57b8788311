/**
 * What to publish besides the zip and its compatibility: the flags of `publish`, also
 * taken by `build --publish`, and their reading into the library's `PublishOptions`.
 */
import type { PublishOptions } from "../../aws/index.js";
import { usageError } from "../../errors.js";
import { booleanOption, listOption, type OptionSpec, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, awsOptionsFromArgs } from "./aws.js";

export const PUBLISH_OPTIONS: Record<string, OptionSpec> = {
  description: {
    type: "string",
    valueName: "TEXT",
    description: "Layer version description (≤ 256 characters)",
  },
  license: {
    type: "string",
    valueName: "SPDX",
    description: "License identifier or URL (LicenseInfo)",
  },
  "s3-bucket": {
    type: "string",
    multiple: true,
    valueName: "BUCKET",
    description:
      "Bucket for zips over 50 MiB, in the layer's region: BUCKET, REGION=BUCKET, or a name with {region}",
  },
  "s3-prefix": { type: "string", valueName: "PREFIX", description: "Key prefix in the bucket" },
  "s3-cleanup": {
    type: "boolean",
    description: "Delete the uploaded object once the version is published",
  },
  public: { type: "boolean", description: "Let every AWS account use the layer version" },
  org: {
    type: "string",
    valueName: "o-xxxxxxxxxx",
    description: "Let the accounts of this AWS organization use the layer version",
  },
  account: {
    type: "string",
    multiple: true,
    valueName: "ACCOUNT_ID",
    description: "Let this account use the layer version",
  },
  force: {
    type: "boolean",
    description: "Publish even when the newest version has the same content",
  },
};

/** Everything but the zip, the name and the compatibility, read from the shared flags. */
export function publishFlagsFromArgs(
  context: CommandContext,
): Omit<PublishOptions, "zipPath" | "name"> {
  const { values } = context;
  const description = stringOption(values, "description");
  const license = stringOption(values, "license");
  const s3Prefix = stringOption(values, "s3-prefix");
  const organizationId = stringOption(values, "org");
  const s3Buckets = listOption(values, "s3-bucket", false);
  if (s3Prefix !== undefined && s3Buckets.length === 0) {
    throw usageError("--s3-prefix needs --s3-bucket");
  }
  return {
    regions: listOption(values, "region"),
    ...(description === undefined ? {} : { description }),
    ...(license === undefined ? {} : { license }),
    s3Buckets,
    ...(s3Prefix === undefined ? {} : { s3Prefix }),
    s3Cleanup: booleanOption(values, "s3-cleanup"),
    public: booleanOption(values, "public"),
    ...(organizationId === undefined ? {} : { organizationId }),
    accounts: listOption(values, "account"),
    force: booleanOption(values, "force"),
    aws: awsOptionsFromArgs(context),
  };
}

/**
 * For a command that publishes as a second step (`build --publish NAME`): checks the
 * publish flags before the first step starts, so a typo fails in a second rather than
 * after resolving and downloading. Without a NAME, any publish flag is a mistake.
 */
export async function checkPublishFlags(
  context: CommandContext,
  name: string | undefined,
): Promise<void> {
  if (name === undefined) {
    const stray = Object.keys({ ...PUBLISH_OPTIONS, ...AWS_OPTIONS }).find(
      (flag) => context.values[flag] !== undefined,
    );
    if (stray !== undefined) {
      throw usageError(
        `--${stray} is a publish option`,
        "Add --publish NAME to publish the build.",
      );
    }
    return;
  }
  const { validatePublishInputs } = await import("../../aws/index.js");
  validatePublishInputs({ name, ...publishFlagsFromArgs(context) });
}
