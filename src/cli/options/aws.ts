/**
 * How to reach AWS: the flags every AWS command takes and their reading into the
 * library's `AwsOptions`. The AWS SDK itself loads only inside the library calls.
 */
import type { AwsOptions } from "../../aws/index.js";
import { usageError } from "../../errors.js";
import { type OptionSpec, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";

export const AWS_OPTIONS: Record<string, OptionSpec> = {
  region: {
    type: "string",
    multiple: true,
    valueName: "REGION",
    description: "AWS region; default AWS_REGION, AWS_DEFAULT_REGION, then the profile's region",
  },
  profile: {
    type: "string",
    valueName: "PROFILE",
    description: "Named profile from ~/.aws/config (default AWS_PROFILE)",
  },
  "endpoint-url": {
    type: "string",
    valueName: "URL",
    description:
      "Send every request to URL (default AWS_ENDPOINT_URL_LAMBDA / AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL)",
  },
};

export function awsOptionsFromArgs(context: CommandContext): AwsOptions {
  const profile = stringOption(context.values, "profile");
  const endpointUrl = stringOption(context.values, "endpoint-url");
  if (endpointUrl !== undefined && !/^https?:\/\/[^\s/]+/.test(endpointUrl)) {
    throw usageError(
      `--endpoint-url ${endpointUrl} is not an http(s) URL`,
      "E.g. --endpoint-url http://127.0.0.1:5000.",
    );
  }
  return {
    ...(profile === undefined ? {} : { profile }),
    ...(endpointUrl === undefined ? {} : { endpointUrl }),
    env: context.env,
  };
}

/**
 * The AWS SDK warns on Node 20 that its future releases will need Node 22; pylayer pins
 * SDK releases that support Node 20, so the warning tells a pylayer user nothing to do.
 */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv): void {
  if (env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  }
}
