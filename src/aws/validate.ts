/**
 * Checks made before any AWS call, with the limits Lambda's API reference gives
 * (PublishLayerVersion, AddLayerVersionPermission): a bad value fails here with the
 * rule, instead of as a terse ValidationException after uploads.
 */
import { PylayerError, usageError } from "../errors.js";
import { type Architecture, findRuntime, parseArchitecture } from "../runtime/index.js";

/** LayerName: a name of 1–140 characters `[a-zA-Z0-9-_]`, or a layer ARN. */
const LAYER_NAME = /^[a-zA-Z0-9_-]{1,140}$/;
const PARTITION = "aws[a-zA-Z-]*";
const REGION_PATTERN = "[a-z]{2}(?:-[a-z]+)+-\\d{1,2}";
const LAYER_ARN = new RegExp(
  `^arn:(${PARTITION}):lambda:(${REGION_PATTERN}):(\\d{12}):layer:([a-zA-Z0-9_-]{1,140})(?::(\\d+))?$`,
);
const REGION = new RegExp(`^${REGION_PATTERN}$`);
const FUNCTION_ARN = new RegExp(
  `^arn:(${PARTITION}):lambda:(${REGION_PATTERN}):(\\d{12}):function:([a-zA-Z0-9_-]{1,64})$`,
);
const FUNCTION_NAME = /^[a-zA-Z0-9_-]{1,64}$/;

export const MAX_DESCRIPTION_LENGTH = 256;
export const MAX_LICENSE_LENGTH = 512;
export const MAX_COMPATIBLE_RUNTIMES = 15;
export const MAX_LAYERS_PER_FUNCTION = 5;

/** A layer named by its name or ARN, with an optional version (`NAME:3`, `arn:…:layer:NAME:3`). */
export interface LayerReference {
  /** What to pass as LayerName: the plain name, or the layer ARN without version. */
  layerName: string;
  /** The name part alone. */
  name: string;
  version?: number;
  /** Present when given as an ARN. */
  arn?: { partition: string; region: string; accountId: string };
}

/**
 * Parses `NAME`, `NAME:VERSION`, a layer ARN or a layer version ARN. `allowVersion`
 * false refuses a version (publish names a layer, not one of its versions).
 */
export function parseLayerReference(text: string, allowVersion = true): LayerReference {
  const arnMatch = LAYER_ARN.exec(text);
  let reference: LayerReference | undefined;
  if (arnMatch !== null) {
    const [, partition, region, accountId, name, version] = arnMatch;
    reference = {
      layerName: `arn:${partition}:lambda:${region}:${accountId}:layer:${name}`,
      name: name!,
      ...(version === undefined ? {} : { version: Number(version) }),
      arn: { partition: partition!, region: region!, accountId: accountId! },
    };
  } else if (!text.startsWith("arn:")) {
    const colon = text.lastIndexOf(":");
    const name = colon === -1 ? text : text.slice(0, colon);
    const version = colon === -1 ? undefined : text.slice(colon + 1);
    if (LAYER_NAME.test(name) && (version === undefined || /^\d+$/.test(version))) {
      reference = {
        layerName: name,
        name,
        ...(version === undefined ? {} : { version: Number(version) }),
      };
    }
  }
  if (reference === undefined) {
    throw new PylayerError("invalid-layer-name", `"${text}" is not a layer name or layer ARN`, {
      hint: "A layer name is 1–140 characters of letters, digits, - and _ (pattern [a-zA-Z0-9-_]+), or an ARN such as arn:aws:lambda:us-east-1:123456789012:layer:NAME.",
      exitCode: 2,
    });
  }
  if (!allowVersion && reference.version !== undefined) {
    throw new PylayerError(
      "invalid-layer-name",
      `"${text}" names layer version ${reference.version}; publishing needs the layer's name`,
      { hint: `Use --name ${reference.layerName}.`, exitCode: 2 },
    );
  }
  return reference;
}

/** A layer version ARN without its version: the layer's ARN. */
export function layerArnOf(layerVersionArn: string): string {
  return layerVersionArn.replace(/:\d+$/, "");
}

export function validateDescription(description: string | undefined): void {
  if (description !== undefined && description.length > MAX_DESCRIPTION_LENGTH) {
    throw new PylayerError(
      "description-too-long",
      `the description has ${description.length} characters; Lambda accepts at most ${MAX_DESCRIPTION_LENGTH}`,
      { hint: "Shorten --description.", exitCode: 2 },
    );
  }
}

export function validateLicense(license: string | undefined): void {
  if (license !== undefined && license.length > MAX_LICENSE_LENGTH) {
    throw new PylayerError(
      "license-too-long",
      `the license has ${license.length} characters; Lambda accepts at most ${MAX_LICENSE_LENGTH}`,
      { hint: "Give an SPDX identifier (e.g. MIT) or a URL to the license text.", exitCode: 2 },
    );
  }
}

export function validateRegion(region: string): string {
  if (!REGION.test(region)) {
    throw usageError(
      `"${region}" is not an AWS region name`,
      "Give a region such as us-east-1 or eu-central-1.",
    );
  }
  return region;
}

/** Normalizes and checks compatible runtimes (known Lambda Python runtimes, at most 15). */
export function validateRuntimes(runtimes: readonly string[]): string[] {
  const names = [...new Set(runtimes.map((runtime) => findRuntime(runtime).name))];
  if (names.length > MAX_COMPATIBLE_RUNTIMES) {
    throw usageError(
      `${names.length} compatible runtimes given; Lambda accepts at most ${MAX_COMPATIBLE_RUNTIMES}`,
    );
  }
  return names;
}

/** Normalizes architectures (`aarch64` → `arm64`), without duplicates. */
export function validateArchitectures(architectures: readonly string[]): Architecture[] {
  return [...new Set(architectures.map(parseArchitecture))];
}

export function validateAccountId(accountId: string): string {
  if (!/^\d{12}$/.test(accountId)) {
    throw usageError(
      `"${accountId}" is not an AWS account id`,
      "An account id is 12 digits, e.g. 123456789012.",
    );
  }
  return accountId;
}

export function validateOrganizationId(organizationId: string): string {
  if (!/^o-[a-z0-9]{10,32}$/.test(organizationId)) {
    throw usageError(
      `"${organizationId}" is not an AWS Organizations id`,
      "An organization id looks like o-a1b2c3d4e5 (see `aws organizations describe-organization`).",
    );
  }
  return organizationId;
}

/** A function given as a name or an unqualified function ARN (whose region then applies). */
export interface FunctionReference {
  functionName: string;
  region?: string;
}

export function parseFunctionReference(text: string): FunctionReference {
  const arnMatch = FUNCTION_ARN.exec(text);
  if (arnMatch !== null) return { functionName: text, region: arnMatch[2]! };
  if (FUNCTION_NAME.test(text)) return { functionName: text };
  throw usageError(
    `"${text}" is not a function name or unqualified function ARN`,
    "Give the function's name (letters, digits, - and _) or its ARN without a version or alias: layers are set on $LATEST.",
  );
}
