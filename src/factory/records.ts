/**
 * The table of published layers: one DynamoDB item per (layer, runtime, arch, region)
 * with the latest version's ARN, its hashes and the fingerprint of the inputs it was
 * built from.
 *
 * Keys: partition key `layer` (the manifest's layer name), sort key `target`
 * (`runtime#arch#region`). A write never replaces a newer version with an older one
 * (items of two overlapping runs can finish in any order).
 */
import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { type AwsOptions, callAws, createDynamoClient } from "../aws/clients.js";

export interface LayerRecord {
  layer: string;
  runtime: string;
  architecture: string;
  region: string;
  layerName: string;
  layerVersionArn: string;
  version: number;
  sha256: string;
  codeSha256: string;
  size: number;
  fingerprint: string;
  updatedAt: string;
}

export const RECORD_PARTITION_KEY = "layer";
export const RECORD_SORT_KEY = "target";

export function recordTarget(runtime: string, architecture: string, region: string): string {
  return `${runtime}#${architecture}#${region}`;
}

function toItem(record: LayerRecord): Record<string, AttributeValue> {
  return {
    [RECORD_PARTITION_KEY]: { S: record.layer },
    [RECORD_SORT_KEY]: { S: recordTarget(record.runtime, record.architecture, record.region) },
    runtime: { S: record.runtime },
    architecture: { S: record.architecture },
    region: { S: record.region },
    layerName: { S: record.layerName },
    layerVersionArn: { S: record.layerVersionArn },
    version: { N: String(record.version) },
    sha256: { S: record.sha256 },
    codeSha256: { S: record.codeSha256 },
    size: { N: String(record.size) },
    fingerprint: { S: record.fingerprint },
    updatedAt: { S: record.updatedAt },
  };
}

function fromItem(item: Record<string, AttributeValue>): LayerRecord {
  const text = (key: string) => item[key]?.S ?? "";
  const number = (key: string) => Number(item[key]?.N ?? "0");
  return {
    layer: text(RECORD_PARTITION_KEY),
    runtime: text("runtime"),
    architecture: text("architecture"),
    region: text("region"),
    layerName: text("layerName"),
    layerVersionArn: text("layerVersionArn"),
    version: number("version"),
    sha256: text("sha256"),
    codeSha256: text("codeSha256"),
    size: number("size"),
    fingerprint: text("fingerprint"),
    updatedAt: text("updatedAt"),
  };
}

export class RecordTable {
  constructor(
    readonly table: string,
    readonly region: string,
    readonly aws: AwsOptions,
  ) {}

  /** Every record of one layer (all runtimes, architectures and regions). */
  async layerRecords(layer: string): Promise<LayerRecord[]> {
    const { QueryCommand } = await import("@aws-sdk/client-dynamodb");
    const client = await createDynamoClient(this.region, this.aws);
    try {
      const records: LayerRecord[] = [];
      let start: Record<string, AttributeValue> | undefined;
      do {
        const page = await callAws(
          "dynamodb:Query",
          this.region,
          this.aws,
          () =>
            client.send(
              new QueryCommand({
                TableName: this.table,
                KeyConditionExpression: "#layer = :layer",
                ExpressionAttributeNames: { "#layer": RECORD_PARTITION_KEY },
                ExpressionAttributeValues: { ":layer": { S: layer } },
                ...(start === undefined ? {} : { ExclusiveStartKey: start }),
              }),
            ),
          this.table,
        );
        records.push(...(page.Items ?? []).map(fromItem));
        start = page.LastEvaluatedKey;
      } while (start !== undefined);
      return records;
    } finally {
      client.destroy();
    }
  }

  /** Writes the record unless the table already holds a newer version. */
  async put(record: LayerRecord): Promise<void> {
    const { PutItemCommand } = await import("@aws-sdk/client-dynamodb");
    const client = await createDynamoClient(this.region, this.aws);
    try {
      await callAws(
        "dynamodb:PutItem",
        this.region,
        this.aws,
        async () => {
          try {
            await client.send(
              new PutItemCommand({
                TableName: this.table,
                Item: toItem(record),
                ConditionExpression: "attribute_not_exists(#version) OR #version <= :version",
                ExpressionAttributeNames: { "#version": "version" },
                ExpressionAttributeValues: { ":version": { N: String(record.version) } },
              }),
            );
          } catch (error) {
            // A newer version is recorded already: nothing to do.
            if ((error as { name?: string }).name !== "ConditionalCheckFailedException") {
              throw error;
            }
          }
        },
        this.table,
      );
    } finally {
      client.destroy();
    }
  }
}
