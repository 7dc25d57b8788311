/**
 * `pylayer publish`: publish a layer zip to one or more regions, skipping unchanged
 * layers. Also holds the AWS and publish options shared with `build --publish`,
 * `layers` and `attach` (the AWS SDK itself loads only inside the library calls).
 */
import type { AwsEvent, AwsOptions, PublishOptions, PublishResult } from "../../aws/index.js";
import { type PylayerError, usageError } from "../../errors.js";
import {
  booleanOption,
  type CommandSpec,
  listOption,
  type OptionSpec,
  stringOption,
} from "../args.js";
import type { CommandContext } from "../main.js";
import { withProjectDefaults } from "../project-defaults.js";
import { formatBytes, type Ui } from "../ui.js";

/** How to reach AWS; shared by every AWS command. */
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

/** What to publish besides the zip and its compatibility; shared with `build --publish`. */
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
      "Bucket for zips over 50 MB, in the layer's region: BUCKET, REGION=BUCKET, or a name with {region}",
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
    "The newest version of NAME in each region is compared first: with the same CodeSha256 and the same runtimes and architectures nothing is published and its ARN is printed (--force publishes anyway). Zips up to 50 MB go in the request; larger ones are uploaded to --s3-bucket (which must be in the layer's region). Layers over 250 MB unzipped are refused before any upload. Credentials and region come from the AWS SDK's standard chain (environment, --profile/AWS_PROFILE, SSO, instance roles); the README's Publish section lists the IAM permissions.",
  ],
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
 * The AWS SDK warns on Node 20 that its future releases will need Node 22; pylayer pins
 * SDK releases that support Node 20, so the warning tells a pylayer user nothing to do.
 */
export function quietSdkNodeWarning(env: NodeJS.ProcessEnv): void {
  if (env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED === undefined) {
    process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
  }
}

export function awsEventHandler(ui: Ui): (event: AwsEvent) => void {
  return (event) => {
    if (event.type === "warning") ui.warn(event.message);
    else if (event.type === "detail") ui.detail(event.message);
    else ui.progress(event.message);
  };
}

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
    onEvent: awsEventHandler(ui),
  });
  ui.clearProgress();
  if (ui.json) ui.outJson(publishJson(result));
  else printPublishResult(ui, result);
  return result.ok ? 0 : 1;
}

/** Per-region or per-function results for `--json`: each error as its JSON form. */
export function withErrorsAsJson<T extends { error?: PylayerError }>(
  items: readonly T[],
): (Omit<T, "error"> & { error?: ReturnType<PylayerError["toJSON"]> })[] {
  return items.map(({ error, ...item }) => ({
    ...item,
    ...(error === undefined ? {} : { error: error.toJSON() }),
  }));
}

export function publishJson(result: PublishResult): Record<string, unknown> {
  return {
    ok: result.ok,
    name: result.name,
    zip: result.zip,
    runtimes: result.runtimes,
    architectures: result.architectures,
    warnings: result.warnings,
    regions: withErrorsAsJson(result.regions),
  };
}

export function printPublishResult(ui: Ui, result: PublishResult): void {
  const { dim, green, red, bold } = ui.colors;
  for (const warning of result.warnings) ui.warn(warning);
  ui.info(
    dim(
      `${result.name}: ${formatBytes(result.zip.size)} (${formatBytes(result.zip.unzippedSize)} unzipped), CodeSha256 ${result.zip.codeSha256}, ${result.runtimes.join(", ")} on ${result.architectures.join(", ")}`,
    ),
  );
  const width = Math.max(...result.regions.map((region) => region.region.length));
  for (const region of result.regions) {
    const label = region.region.padEnd(width);
    if (region.status === "failed") {
      ui.out(`${red("failed   ")} ${label}  ${region.error?.code ?? ""}`);
      continue;
    }
    const status = region.status === "published" ? green("published") : bold("unchanged");
    const how =
      region.status === "published"
        ? region.upload === "s3"
          ? `via s3://${region.s3?.bucket}/${region.s3?.key}${region.s3?.deleted ? " (deleted after publishing)" : ""}`
          : "uploaded in the request"
        : region.reason;
    ui.out(`${status} ${label}  ${region.layerVersionArn ?? ""}  ${dim(how)}`);
    for (const permission of region.permissions) {
      const grantee =
        permission.organizationId !== undefined
          ? `organization ${permission.organizationId}`
          : permission.principal === "*"
            ? "every AWS account"
            : `account ${permission.principal}`;
      ui.info(
        dim(
          `  ${permission.status === "added" ? "granted" : "already granted"} lambda:GetLayerVersion to ${grantee}`,
        ),
      );
    }
  }
  for (const region of result.regions) {
    if (region.error !== undefined) {
      ui.error(`${region.region}: ${region.error.message}`, region.error.hint, region.error.code);
    }
  }
  const count = (status: string) =>
    result.regions.filter((region) => region.status === status).length;
  ui.info(
    dim(
      `${count("published")} published, ${count("unchanged")} unchanged, ${count("failed")} failed`,
    ),
  );
}

/**
 * `build --publish NAME`: checks the publish flags before the build starts, so a typo
 * fails in a second rather than after resolving and downloading.
 */
export async function checkBuildPublishFlags(
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

export interface BuiltZip {
  path: string;
  runtimes: string[];
  architectures: string[];
}

/**
 * The layer name of each zip of a build: NAME for a single zip; for a matrix (one zip per
 * runtime and architecture) NAME-py312-arm64 and so on, so that each stays one layer
 * whose newest version is the one to compare with and to attach.
 */
export function layerNamesForBuild(name: string, zips: readonly BuiltZip[]): string[] {
  if (zips.length <= 1) return zips.map(() => name);
  return zips.map((zip) => {
    const runtimes = zip.runtimes.map((runtime) =>
      runtime.replace(/^python(\d+)\.(\d+)$/, "py$1$2"),
    );
    return [name, ...runtimes, ...zip.architectures].join("-");
  });
}

export interface BuildPublishOutcome {
  exitCode: number;
  results: PublishResult[];
}

/** Publishes the zips of a finished build (one after the other; each covers its regions concurrently). */
export async function publishBuiltZips(
  context: CommandContext,
  zips: readonly BuiltZip[],
  name: string,
): Promise<BuildPublishOutcome> {
  quietSdkNodeWarning(context.env);
  const { publishLayer } = await import("../../aws/index.js");
  const names = layerNamesForBuild(name, zips);
  const results: PublishResult[] = [];
  for (const [index, zip] of zips.entries()) {
    results.push(
      await publishLayer({
        zipPath: zip.path,
        name: names[index]!,
        ...publishFlagsFromArgs(context),
        onEvent: awsEventHandler(context.ui),
      }),
    );
  }
  context.ui.clearProgress();
  return { exitCode: results.every((result) => result.ok) ? 0 : 1, results };
}
