/**
 * Running a manifest on a deployed `LayerFactory`: start an execution of its state
 * machine and follow it until it ends.
 *
 * The state machine's definition says how items travel. An inline Map takes them in the
 * execution input (`{ "items": [...] }`, at most 256 KiB: Step Functions' limit on
 * state input) and outputs the list of item results. A distributed Map with an S3
 * ItemReader (`LayerFactory` with `distributed: true`) reads a JSON array of items from
 * its bucket: they are uploaded there first (`runs/NAME/items.json`, input
 * `{ "itemsKey": KEY }`), so a manifest of any size fits; its ResultWriter writes the
 * results to the same bucket, where they are read back in item order.
 */
import { randomUUID } from "node:crypto";
import { type AwsOptions, callAws, createS3Client, createSfnClient } from "../aws/clients.js";
import { PylayerError } from "../errors.js";
import { type ItemResult, unattemptedResult, type WorkItem } from "./types.js";

/** Step Functions' limit on an execution's input (and any state's input or output). */
export const STATE_INPUT_LIMIT = 256 * 1024;

export interface StateMachineRunOptions {
  stateMachineArn: string;
  aws?: AwsOptions;
  /** Execution name (default: a random UUID). */
  name?: string;
  /** Time between two status polls (default 5000 ms). */
  pollMs?: number;
  onProgress?: (event: {
    status: string;
    succeeded: number;
    failed: number;
    total: number;
  }) => void;
}

export interface StateMachineRunResult {
  executionArn: string;
  status: string;
  /** Where the items were uploaded, for a state machine that reads them from S3. */
  items?: { bucket: string; key: string };
  results: ItemResult[];
}

function regionOfArn(arn: string): string {
  const region = arn.split(":")[3];
  if (region === undefined || region === "") {
    throw new PylayerError("factory-state-machine-arn", `${arn} is not a state machine ARN`, {
      hint: "Give the ARN the LayerFactory stack outputs (arn:aws:states:REGION:ACCOUNT:stateMachine:NAME).",
      exitCode: 2,
    });
  }
  return region;
}

interface AslState {
  Type?: string;
  ItemReader?: { Parameters?: { Bucket?: unknown } };
}

/** The bucket a top-level Map state reads its items from (an S3 ItemReader with a fixed bucket). */
export function itemsBucketOf(definition: string): string | undefined {
  const parsed = JSON.parse(definition) as { States?: Record<string, AslState> };
  for (const state of Object.values(parsed.States ?? {})) {
    const bucket = state.Type === "Map" ? state.ItemReader?.Parameters?.Bucket : undefined;
    if (typeof bucket === "string" && bucket !== "") return bucket;
  }
  return undefined;
}

export async function runOnStateMachine(
  items: readonly WorkItem[],
  options: StateMachineRunOptions,
): Promise<StateMachineRunResult> {
  const aws = options.aws ?? {};
  const region = regionOfArn(options.stateMachineArn);
  const sdk = await import("@aws-sdk/client-sfn");
  const client = await createSfnClient(region, aws);
  try {
    const machine = await callAws(
      "states:DescribeStateMachine",
      region,
      aws,
      () =>
        client.send(
          new sdk.DescribeStateMachineCommand({ stateMachineArn: options.stateMachineArn }),
        ),
      options.stateMachineArn,
    );
    const name = options.name ?? randomUUID();
    const bucket = itemsBucketOf(machine.definition ?? "{}");
    let input: string;
    let uploaded: StateMachineRunResult["items"];
    if (bucket === undefined) {
      input = JSON.stringify({ items });
      const size = Buffer.byteLength(input);
      if (size > STATE_INPUT_LIMIT) {
        throw new PylayerError(
          "factory-input-too-large",
          `${items.length} items are ${size.toLocaleString("en-US")} bytes of execution input, over Step Functions' ${STATE_INPUT_LIMIT.toLocaleString("en-US")} bytes (256 KiB); ${options.stateMachineArn} takes its items inline`,
          {
            hint: "Deploy the LayerFactory with distributed: true (its items are read from S3, any number), or run part of the manifest at a time (--only LAYER).",
          },
        );
      }
    } else {
      uploaded = { bucket, key: `runs/${name}/items.json` };
      await putJson(uploaded.bucket, uploaded.key, items, region, aws);
      input = JSON.stringify({ itemsKey: uploaded.key });
    }
    const started = await callAws(
      "states:StartExecution",
      region,
      aws,
      () =>
        client.send(
          new sdk.StartExecutionCommand({
            stateMachineArn: options.stateMachineArn,
            input,
            name,
          }),
        ),
      options.stateMachineArn,
    );
    const executionArn = started.executionArn!;
    for (;;) {
      const described = await callAws(
        "states:DescribeExecution",
        region,
        aws,
        () => client.send(new sdk.DescribeExecutionCommand({ executionArn })),
        executionArn,
      );
      const status = described.status ?? "UNKNOWN";
      const counts = await mapRunCounts(client, sdk, executionArn);
      options.onProgress?.({ status, total: items.length, ...counts });
      if (status !== "RUNNING" && status !== "PENDING_REDRIVE") {
        const output =
          described.output === undefined ? [] : (JSON.parse(described.output) as unknown);
        return {
          executionArn,
          status,
          ...(uploaded === undefined ? {} : { items: uploaded }),
          results: Array.isArray(output)
            ? (output as ItemResult[])
            : await writtenResults(output, items, region, aws),
        };
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 5000));
    }
  } finally {
    client.destroy();
  }
}

/** Items finished so far, from the distributed Map run's counters (zero where there is none). */
async function mapRunCounts(
  client: import("@aws-sdk/client-sfn").SFNClient,
  sdk: typeof import("@aws-sdk/client-sfn"),
  executionArn: string,
): Promise<{ succeeded: number; failed: number }> {
  try {
    const runs = await client.send(new sdk.ListMapRunsCommand({ executionArn }));
    let succeeded = 0;
    let failed = 0;
    for (const run of runs.mapRuns ?? []) {
      const described = await client.send(
        new sdk.DescribeMapRunCommand({ mapRunArn: run.mapRunArn }),
      );
      succeeded += described.itemCounts?.succeeded ?? 0;
      failed += described.itemCounts?.failed ?? 0;
    }
    return { succeeded, failed };
  } catch {
    // An inline Map has no map run; progress is the status alone.
    return { succeeded: 0, failed: 0 };
  }
}

async function putJson(
  bucket: string,
  key: string,
  value: unknown,
  region: string,
  aws: AwsOptions,
): Promise<void> {
  const { PutObjectCommand } = await import("@aws-sdk/client-s3");
  const client = await createS3Client(region, aws);
  try {
    await callAws(
      "s3:PutObject",
      region,
      aws,
      () =>
        client.send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(value),
            ContentType: "application/json",
          }),
        ),
      `s3://${bucket}/${key}`,
    );
  } finally {
    client.destroy();
  }
}

async function getJson(
  client: import("@aws-sdk/client-s3").S3Client,
  bucket: string,
  key: string,
  region: string,
  aws: AwsOptions,
): Promise<unknown> {
  const { GetObjectCommand } = await import("@aws-sdk/client-s3");
  const object = await callAws(
    "s3:GetObject",
    region,
    aws,
    () => client.send(new GetObjectCommand({ Bucket: bucket, Key: key })),
    `s3://${bucket}/${key}`,
  );
  return JSON.parse((await object.Body?.transformToString()) ?? "null") as unknown;
}

/** One child execution in a ResultWriter file (AWS: "Processing Map Run results"). */
interface WrittenExecution {
  Input?: string;
  Output?: string;
  Status?: string;
  Error?: string;
  Cause?: string;
}

/**
 * The item results of a distributed Map whose ResultWriter wrote them to S3: the
 * execution's output names a manifest, which lists result files by status, each a JSON
 * array of child executions with their input and output. Returned in item order; a
 * child execution that failed becomes a failed result for its item.
 */
export async function writtenResults(
  output: unknown,
  items: readonly WorkItem[],
  region: string,
  aws: AwsOptions,
): Promise<ItemResult[]> {
  const details = (output as { ResultWriterDetails?: { Bucket?: string; Key?: string } } | null)
    ?.ResultWriterDetails;
  if (details?.Bucket === undefined || details.Key === undefined) return [];
  const client = await createS3Client(region, aws);
  try {
    const manifest = (await getJson(client, details.Bucket, details.Key, region, aws)) as {
      DestinationBucket?: string;
      ResultFiles?: Record<string, { Key: string }[]>;
    };
    const bucket = manifest.DestinationBucket ?? details.Bucket;
    const byId = new Map<string, ItemResult>();
    for (const files of Object.values(manifest.ResultFiles ?? {})) {
      for (const file of files) {
        const executions = (await getJson(client, bucket, file.Key, region, aws)) as
          | WrittenExecution[]
          | null;
        for (const execution of executions ?? []) {
          const result = writtenResult(execution);
          if (result !== undefined) byId.set(result.id, result);
        }
      }
    }
    return items.flatMap((item) => byId.get(item.id) ?? []);
  } finally {
    client.destroy();
  }
}

function writtenResult(execution: WrittenExecution): ItemResult | undefined {
  if (execution.Status === "SUCCEEDED" && execution.Output !== undefined) {
    return JSON.parse(execution.Output) as ItemResult;
  }
  const input =
    execution.Input === undefined
      ? undefined
      : (JSON.parse(execution.Input) as { item?: WorkItem }).item;
  if (input === undefined) return undefined;
  return {
    ...unattemptedResult(input, 0),
    error: {
      code: "factory-builder-failed",
      message:
        `${input.id}: the item's execution ended ${execution.Status ?? "?"}: ${execution.Error ?? ""} ${execution.Cause ?? ""}`.trim(),
      hint: "See the Map Run in the Step Functions console and the builder's log group.",
      retryable: false,
    },
  };
}
