/**
 * `listLayers` and `pruneLayers`: read and clean up layer versions, region by region
 * (regions run concurrently; one failing region is reported next to the others).
 */
import type {
  FunctionConfiguration,
  LambdaClient,
  LayersListItem,
  LayerVersionsListItem,
  ListLayerVersionsCommandOutput,
} from "@aws-sdk/client-lambda";
import type { PylayerError } from "../errors.js";
import {
  type AwsEvent,
  type AwsOptions,
  awsErrorCode,
  awsFailure,
  callAws,
  createLambdaClient,
  mapWithLimit,
  resolveRegions,
} from "./clients.js";
import { type PruneDeleted, type PruneKept, planPrune } from "./decisions.js";
import { mapAwsError } from "./errors.js";
import { layerArnOf, parseLayerReference } from "./validate.js";

/** Concurrent GetLayerVersion calls per region (sizes are only in GetLayerVersion). */
const DETAIL_CONCURRENCY = 8;

export interface LayerVersionInfo {
  region: string;
  name: string;
  layerArn: string;
  version: number;
  layerVersionArn: string;
  description?: string;
  runtimes: string[];
  architectures: string[];
  license?: string;
  /** ISO 8601, as Lambda reports it. */
  createdDate?: string;
  /** Bytes of the zip (from GetLayerVersion). */
  codeSize?: number;
  codeSha256?: string;
}

export interface ListLayersOptions {
  /** One layer: every version. Without it: the newest version of every layer. */
  name?: string;
  regions?: string[];
  aws?: AwsOptions;
  onEvent?: (event: AwsEvent) => void;
}

export interface RegionLayers {
  region: string;
  layers: LayerVersionInfo[];
  error?: PylayerError;
}

export interface ListLayersResult {
  regions: RegionLayers[];
  ok: boolean;
}

export async function listLayers(options: ListLayersOptions = {}): Promise<ListLayersResult> {
  const aws = options.aws ?? {};
  const layer = options.name === undefined ? undefined : parseLayerReference(options.name, false);
  const regions = await resolveRegions(
    options.regions?.length ? options.regions : layer?.arn ? [layer.arn.region] : undefined,
    aws,
  );
  const results = await Promise.all(
    regions.map(async (region): Promise<RegionLayers> => {
      const client = await createLambdaClient(region, aws);
      try {
        options.onEvent?.({ type: "progress", message: `${region}: listing layers` });
        const items =
          layer === undefined
            ? (await listAllLayers(client, region, aws)).flatMap((item) =>
                item.LatestMatchingVersion === undefined
                  ? []
                  : [
                      {
                        layerName: item.LayerName ?? "",
                        name: item.LayerName ?? "",
                        version: item.LatestMatchingVersion,
                      },
                    ],
              )
            : (await listAllVersions(client, layer.layerName, region, aws)).map((version) => ({
                layerName: layer.layerName,
                name: layer.name,
                version,
              }));
        const layers = await mapWithLimit(items, DETAIL_CONCURRENCY, (item) =>
          describeVersion(client, item.layerName, item.name, item.version, region, aws),
        );
        return { region, layers };
      } catch (error) {
        return { region, layers: [], error: mapAwsError(error, { permission: "list", region }) };
      } finally {
        client.destroy();
      }
    }),
  );
  return { regions: results, ok: results.every((result) => result.error === undefined) };
}

async function lambdaSdk() {
  return import("@aws-sdk/client-lambda");
}

async function listAllLayers(
  client: LambdaClient,
  region: string,
  aws: AwsOptions,
): Promise<LayersListItem[]> {
  const sdk = await lambdaSdk();
  const layers: LayersListItem[] = [];
  let marker: string | undefined;
  do {
    const page = await callAws("lambda:ListLayers", region, aws, () =>
      client.send(new sdk.ListLayersCommand(marker === undefined ? {} : { Marker: marker })),
    );
    layers.push(...(page.Layers ?? []));
    marker = page.NextMarker;
  } while (marker !== undefined && marker !== "");
  return layers;
}

/** Every version of a layer, newest first; none when the layer does not exist. */
async function listAllVersions(
  client: LambdaClient,
  layerName: string,
  region: string,
  aws: AwsOptions,
): Promise<LayerVersionsListItem[]> {
  const sdk = await lambdaSdk();
  const versions: LayerVersionsListItem[] = [];
  let marker: string | undefined;
  do {
    let page: ListLayerVersionsCommandOutput;
    try {
      page = await client.send(
        new sdk.ListLayerVersionsCommand({
          LayerName: layerName,
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      );
    } catch (error) {
      if (awsErrorCode(error) === "ResourceNotFoundException") return [];
      throw awsFailure(error, "lambda:ListLayerVersions", region, aws, layerName);
    }
    versions.push(...(page.LayerVersions ?? []));
    marker = page.NextMarker;
  } while (marker !== undefined && marker !== "");
  return versions.sort((a, b) => (b.Version ?? 0) - (a.Version ?? 0));
}

async function describeVersion(
  client: LambdaClient,
  layerName: string,
  name: string,
  item: LayerVersionsListItem,
  region: string,
  aws: AwsOptions,
): Promise<LayerVersionInfo> {
  const sdk = await lambdaSdk();
  const layerVersionArn = item.LayerVersionArn ?? "";
  const version = item.Version ?? 0;
  const details = await callAws(
    "lambda:GetLayerVersion",
    region,
    aws,
    () =>
      client.send(new sdk.GetLayerVersionCommand({ LayerName: layerName, VersionNumber: version })),
    layerVersionArn,
  );
  return {
    region,
    name,
    layerArn: layerArnOf(layerVersionArn),
    version,
    layerVersionArn,
    ...(item.Description ? { description: item.Description } : {}),
    runtimes: item.CompatibleRuntimes ?? [],
    architectures: item.CompatibleArchitectures ?? [],
    ...(item.LicenseInfo ? { license: item.LicenseInfo } : {}),
    ...(item.CreatedDate === undefined ? {} : { createdDate: item.CreatedDate }),
    ...(details.Content?.CodeSize === undefined ? {} : { codeSize: details.Content.CodeSize }),
    ...(details.Content?.CodeSha256 === undefined
      ? {}
      : { codeSha256: details.Content.CodeSha256 }),
  };
}

export interface PruneOptions {
  /** Layer name or layer ARN. */
  name: string;
  /** How many of the newest versions to keep (≥ 0). */
  keep: number;
  regions?: string[];
  /** Report what would be deleted; delete nothing. */
  dryRun?: boolean;
  /** Delete versions functions still use too (they keep working; new deployments cannot use them). */
  includeUsed?: boolean;
  aws?: AwsOptions;
  onEvent?: (event: AwsEvent) => void;
}

export interface RegionPrune {
  region: string;
  kept: PruneKept[];
  /** Deleted versions (in a dry run: the versions that would be deleted). */
  deleted: PruneDeleted[];
  /** Planned deletions not done because an earlier one failed. */
  notDeleted: PruneDeleted[];
  error?: PylayerError;
}

export interface PruneResult {
  name: string;
  keep: number;
  dryRun: boolean;
  regions: RegionPrune[];
  ok: boolean;
}

export async function pruneLayers(options: PruneOptions): Promise<PruneResult> {
  const aws = options.aws ?? {};
  const layer = parseLayerReference(options.name, false);
  // Checks --keep before any call.
  planPrune([], new Map(), options.keep, options.includeUsed === true);
  const regions = await resolveRegions(
    options.regions?.length ? options.regions : layer.arn ? [layer.arn.region] : undefined,
    aws,
  );
  const dryRun = options.dryRun === true;
  const results = await Promise.all(
    regions.map(async (region): Promise<RegionPrune> => {
      const client = await createLambdaClient(region, aws);
      const result: RegionPrune = { region, kept: [], deleted: [], notDeleted: [] };
      try {
        options.onEvent?.({ type: "progress", message: `${region}: listing ${layer.name}` });
        const versions = await listAllVersions(client, layer.layerName, region, aws);
        const usedBy =
          options.includeUsed === true || versions.length <= options.keep
            ? new Map<string, string[]>()
            : await layerUsage(client, region, aws);
        const plan = planPrune(
          versions.map((item) => ({
            version: item.Version ?? 0,
            layerVersionArn: item.LayerVersionArn ?? "",
            ...(item.CreatedDate === undefined ? {} : { createdDate: item.CreatedDate }),
          })),
          usedBy,
          options.keep,
          options.includeUsed === true,
        );
        result.kept = plan.keep;
        if (dryRun) {
          result.deleted = plan.delete;
          return result;
        }
        const sdk = await lambdaSdk();
        for (const [index, item] of plan.delete.entries()) {
          options.onEvent?.({
            type: "progress",
            message: `${region}: deleting ${layer.name}:${item.version}`,
          });
          try {
            await callAws(
              "lambda:DeleteLayerVersion",
              region,
              aws,
              () =>
                client.send(
                  new sdk.DeleteLayerVersionCommand({
                    LayerName: layer.layerName,
                    VersionNumber: item.version,
                  }),
                ),
              `${layer.name}:${item.version}`,
            );
          } catch (error) {
            result.notDeleted = plan.delete.slice(index);
            throw error;
          }
          result.deleted.push(item);
        }
        return result;
      } catch (error) {
        result.error = mapAwsError(error, { permission: "prune", region });
        return result;
      } finally {
        client.destroy();
      }
    }),
  );
  return {
    name: options.name,
    keep: options.keep,
    dryRun,
    regions: results,
    ok: results.every((result) => result.error === undefined),
  };
}

/**
 * Which function versions (`NAME` for $LATEST, `NAME:3` for published versions) use
 * each layer version ARN in the region. Functions of other accounts cannot be seen.
 */
export async function layerUsage(
  client: LambdaClient,
  region: string,
  aws: AwsOptions,
): Promise<Map<string, string[]>> {
  const sdk = await lambdaSdk();
  const usage = new Map<string, string[]>();
  let marker: string | undefined;
  do {
    const page = await callAws("lambda:ListFunctions", region, aws, () =>
      client.send(
        new sdk.ListFunctionsCommand({
          FunctionVersion: "ALL",
          ...(marker === undefined ? {} : { Marker: marker }),
        }),
      ),
    );
    for (const fn of page.Functions ?? []) {
      const user = qualifiedFunctionName(fn);
      for (const layer of fn.Layers ?? []) {
        if (layer.Arn === undefined) continue;
        const users = usage.get(layer.Arn) ?? [];
        if (!users.includes(user)) users.push(user);
        usage.set(layer.Arn, users);
      }
    }
    marker = page.NextMarker;
  } while (marker !== undefined && marker !== "");
  return usage;
}

function qualifiedFunctionName(fn: FunctionConfiguration): string {
  const name = fn.FunctionName ?? fn.FunctionArn ?? "?";
  return fn.Version === undefined || fn.Version === "$LATEST" ? name : `${name}:${fn.Version}`;
}
