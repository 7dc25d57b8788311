/**
 * `attachLayer`: put a layer version on functions with UpdateFunctionConfiguration,
 * which replaces the whole layer list, so the list is rebuilt from the function's
 * current one (see `planAttach`). The function's RevisionId guards against a
 * concurrent change between read and write.
 */
import type { LambdaClient } from "@aws-sdk/client-lambda";
import { PylayerError, usageError } from "../errors.js";
import {
  type AwsEvent,
  type AwsOptions,
  callAws,
  createLambdaClient,
  mapWithLimit,
  resolveRegions,
} from "./clients.js";
import { type LayerVersionFacts, planAttach } from "./decisions.js";
import { mapAwsError } from "./errors.js";
import {
  type FunctionReference,
  type LayerReference,
  parseFunctionReference,
  parseLayerReference,
} from "./validate.js";

const FUNCTION_CONCURRENCY = 4;

export interface AttachOptions {
  /** Function names, or unqualified function ARNs (which carry their region). */
  functions: string[];
  /** `NAME`, `NAME:VERSION`, a layer ARN or a layer version ARN; without a version, the newest. */
  layer: string;
  /** Regions for functions given by name; default: the layer ARN's region, else the configured one. */
  regions?: string[];
  aws?: AwsOptions;
  onEvent?: (event: AwsEvent) => void;
}

export interface AttachFunctionResult {
  region: string;
  functionName: string;
  status: "updated" | "unchanged" | "failed";
  layerVersionArn?: string;
  change?: "added" | "replaced" | "unchanged";
  /** The version ARN replaced in place, if any. */
  replaced?: string;
  previousLayers: string[];
  layers: string[];
  error?: PylayerError;
}

export interface AttachResult {
  layer: string;
  functions: AttachFunctionResult[];
  ok: boolean;
}

export async function attachLayer(options: AttachOptions): Promise<AttachResult> {
  const aws = options.aws ?? {};
  const layer = parseLayerReference(options.layer, true);
  if (options.functions.length === 0) {
    throw usageError("no function given", "Name one or more functions: pylayer attach FUNCTION…");
  }
  const references = options.functions.map(parseFunctionReference);
  const named = references.filter((reference) => reference.region === undefined);
  const regionsForNames =
    named.length === 0
      ? []
      : await resolveRegions(
          options.regions?.length ? options.regions : layer.arn ? [layer.arn.region] : undefined,
          aws,
        );
  const work: { reference: FunctionReference; region: string }[] = [];
  for (const reference of references) {
    if (reference.region !== undefined) work.push({ reference, region: reference.region });
    else for (const region of regionsForNames) work.push({ reference, region });
  }

  const clients = new Map<string, Promise<LambdaClient>>();
  const clientFor = (region: string) => {
    let client = clients.get(region);
    if (client === undefined) {
      client = createLambdaClient(region, aws);
      clients.set(region, client);
    }
    return client;
  };
  const layerVersions = new Map<string, Promise<LayerVersionFacts>>();
  const layerVersionFor = (region: string) => {
    let facts = layerVersions.get(region);
    if (facts === undefined) {
      facts = clientFor(region).then((client) => resolveLayerVersion(client, layer, region, aws));
      // Reported per function; the cached promise must not count as unhandled meanwhile.
      facts.catch(() => {});
      layerVersions.set(region, facts);
    }
    return facts;
  };

  try {
    const results = await mapWithLimit(
      work,
      FUNCTION_CONCURRENCY,
      async ({ reference, region }) => {
        const result: AttachFunctionResult = {
          region,
          functionName: reference.functionName,
          status: "failed",
          previousLayers: [],
          layers: [],
        };
        try {
          if (layer.arn !== undefined && layer.arn.region !== region) {
            throw new PylayerError(
              "attach-wrong-region",
              `${options.layer} is in ${layer.arn.region}, but ${reference.functionName} is in ${region}; a function can only use layers of its own region`,
              {
                hint: `Publish the layer to ${region} too (pylayer publish … --region ${region}).`,
              },
            );
          }
          const client = await clientFor(region);
          const facts = await layerVersionFor(region);
          result.layerVersionArn = facts.layerVersionArn;
          options.onEvent?.({
            type: "progress",
            message: `${region}: attaching ${facts.layerVersionArn} to ${reference.functionName}`,
          });
          await attachToFunction(client, reference.functionName, facts, region, aws, result);
        } catch (error) {
          result.status = "failed";
          result.error = mapAwsError(error, { permission: "attach", region });
        }
        return result;
      },
    );
    return {
      layer: options.layer,
      functions: results,
      ok: results.every((result) => result.status !== "failed"),
    };
  } finally {
    for (const client of clients.values()) {
      await client.then(
        (resolved) => resolved.destroy(),
        () => {},
      );
    }
  }
}

async function attachToFunction(
  client: LambdaClient,
  functionName: string,
  layer: LayerVersionFacts,
  region: string,
  aws: AwsOptions,
  result: AttachFunctionResult,
): Promise<void> {
  const sdk = await import("@aws-sdk/client-lambda");
  const configuration = await callAws(
    "lambda:GetFunctionConfiguration",
    region,
    aws,
    () => client.send(new sdk.GetFunctionConfigurationCommand({ FunctionName: functionName })),
    functionName,
  );
  const previousLayers = (configuration.Layers ?? []).flatMap((item) =>
    item.Arn === undefined ? [] : [item.Arn],
  );
  result.previousLayers = previousLayers;
  const plan = planAttach(
    {
      functionName,
      runtime: configuration.Runtime,
      architectures: configuration.Architectures ?? [],
      packageType: configuration.PackageType,
      layers: previousLayers,
    },
    layer,
  );
  result.change = plan.change;
  result.layers = plan.layers;
  if (plan.replaced !== undefined) result.replaced = plan.replaced;
  if (plan.change === "unchanged") {
    result.status = "unchanged";
    return;
  }
  await callAws(
    "lambda:UpdateFunctionConfiguration",
    region,
    aws,
    () =>
      client.send(
        new sdk.UpdateFunctionConfigurationCommand({
          FunctionName: functionName,
          Layers: plan.layers,
          ...(configuration.RevisionId ? { RevisionId: configuration.RevisionId } : {}),
        }),
      ),
    functionName,
  );
  result.status = "updated";
}

/** The layer version to attach in `region`, with its compatible runtimes and architectures. */
async function resolveLayerVersion(
  client: LambdaClient,
  layer: LayerReference,
  region: string,
  aws: AwsOptions,
): Promise<LayerVersionFacts> {
  const sdk = await import("@aws-sdk/client-lambda");
  if (layer.version !== undefined) {
    const version = layer.version;
    const details = await callAws(
      "lambda:GetLayerVersion",
      region,
      aws,
      () =>
        client.send(
          new sdk.GetLayerVersionCommand({ LayerName: layer.layerName, VersionNumber: version }),
        ),
      `${layer.name}:${version}`,
    );
    return {
      layerVersionArn: details.LayerVersionArn ?? "",
      runtimes: details.CompatibleRuntimes ?? [],
      architectures: details.CompatibleArchitectures ?? [],
    };
  }
  const listed = await callAws(
    "lambda:ListLayerVersions",
    region,
    aws,
    () =>
      client.send(new sdk.ListLayerVersionsCommand({ LayerName: layer.layerName, MaxItems: 1 })),
    layer.name,
  );
  const newest = listed.LayerVersions?.[0];
  if (newest?.LayerVersionArn === undefined) {
    throw new PylayerError("layer-not-found", `layer ${layer.name} has no version in ${region}`, {
      hint: `Publish it first: pylayer publish layer.zip --name ${layer.name} --region ${region}.`,
    });
  }
  return {
    layerVersionArn: newest.LayerVersionArn,
    runtimes: newest.CompatibleRuntimes ?? [],
    architectures: newest.CompatibleArchitectures ?? [],
  };
}
