/**
 * `pylayer factory run --state-machine` (and `runOnStateMachine` under it) against
 * moto's Step Functions, which runs state machines but not Lambda tasks: the state
 * machines here have the LayerFactory's shape (an inline Map over `$.items`, or a
 * distributed Map with an S3 ItemReader) with a Pass state in place of the builder,
 * answering each item with an item result. Shown: the items reach the execution (inline,
 * or uploaded to the ItemReader's bucket when the machine reads from S3, whatever the
 * manifest's size), the execution is followed until it ends, `--json` gives the results
 * table; a manifest over the 256 KiB input limit is refused for an inline machine
 * before anything starts; results a ResultWriter wrote to S3 are read back in item
 * order; an aborted execution is reported as such.
 */
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  ListExecutionsCommand,
  SFNClient,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import {
  expandManifest,
  type ItemResult,
  type ResultRow,
  readManifest,
  resultRows,
  runOnStateMachine,
  STATE_INPUT_LIMIT,
  unattemptedResult,
  type WorkItem,
  writtenResults,
} from "../../src/factory/index.js";
import {
  createBucket,
  executeStateMachines,
  motoEnv,
  motoOptions,
  s3Client,
  TEST_CREDENTIALS,
  uniqueName,
} from "../aws/moto.js";
import { runCli } from "../helpers/cli.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { writeCatalogueManifest } from "./fixture.js";

const moto = await motoForFile();
const SHA256 = "ab".repeat(32);

const ITEM: WorkItem = {
  id: "alpha/python3.12/arm64",
  layer: "alpha",
  layerName: "acme-alpha-py312-arm64",
  runtime: "python3.12",
  architecture: "arm64",
  regions: ["us-east-1"],
  input: { kind: "requirements", text: "alpha-lib==1.0.0\n" },
  options: {},
};

/** The builder's stand-in: the item result of `{ item }`, published as version 1 in each region. */
const PROCESSOR = {
  StartAt: "Regions",
  States: {
    Regions: {
      Type: "Map",
      ItemsPath: "$.item.regions",
      ItemSelector: { "region.$": "$$.Map.Item.Value" },
      ItemProcessor: {
        ProcessorConfig: { Mode: "INLINE" },
        StartAt: "Region",
        States: {
          Region: {
            Type: "Pass",
            Parameters: { "region.$": "$.region", status: "published", version: 1 },
            End: true,
          },
        },
      },
      ResultPath: "$.regions",
      Next: "Result",
    },
    Result: {
      Type: "Pass",
      Parameters: {
        "id.$": "$.item.id",
        "layer.$": "$.item.layer",
        "layerName.$": "$.item.layerName",
        "runtime.$": "$.item.runtime",
        "architecture.$": "$.item.architecture",
        status: "ok",
        buildSkipped: false,
        sha256: SHA256,
        findings: [],
        "regions.$": "$.regions",
        attempts: 1,
        durationMs: 0,
      },
      End: true,
    },
  },
};

function inlineMachine(): unknown {
  return {
    StartAt: "Items",
    States: {
      Items: {
        Type: "Map",
        ItemsPath: "$.items",
        ItemSelector: { "item.$": "$$.Map.Item.Value" },
        MaxConcurrency: 5,
        ItemProcessor: { ProcessorConfig: { Mode: "INLINE" }, ...PROCESSOR },
        End: true,
      },
    },
  };
}

function distributedMachine(bucket: string): unknown {
  return {
    StartAt: "Items",
    States: {
      Items: {
        Type: "Map",
        ItemReader: {
          Resource: "arn:aws:states:::s3:getObject",
          ReaderConfig: { InputType: "JSON" },
          Parameters: { Bucket: bucket, "Key.$": "$.itemsKey" },
        },
        ItemSelector: { "item.$": "$$.Map.Item.Value" },
        MaxConcurrency: 10,
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "STANDARD" },
          ...PROCESSOR,
        },
        End: true,
      },
    },
  };
}

/** What the stand-in answers for an item. */
function publishedResult(item: WorkItem): ItemResult {
  return {
    ...unattemptedResult(item, 1),
    status: "ok",
    sha256: SHA256,
    regions: item.regions.map((region) => ({ region, status: "published", version: 1 })),
  };
}

/** The rows `--json` must show for `items`. */
function expectedRows(items: readonly WorkItem[]): ResultRow[] {
  return resultRows(items.map(publishedResult));
}

describe.skipIf(moto === undefined)("factory run --state-machine on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  const clients = new Map<string, SFNClient>();
  /**
   * moto copies a region's whole Step Functions backend when an execution starts, which
   * fails once a Map execution has run in that region: each execution here has a region
   * of its own.
   */
  function client(region: string): SFNClient {
    let found = clients.get(region);
    if (found === undefined) {
      found = new SFNClient({ region, endpoint, credentials: TEST_CREDENTIALS });
      clients.set(region, found);
    }
    return found;
  }
  let folder = "";
  let home = "";

  beforeAll(async () => {
    await executeStateMachines(endpoint);
    folder = await temporaryFolder("pylayer-factory-sfn-");
    home = await temporaryFolder("pylayer-factory-sfn-home-");
  });

  afterAll(async () => {
    for (const entry of clients.values()) entry.destroy();
  });

  async function createMachine(definition: unknown, region: string): Promise<string> {
    const machine = await client(region).send(
      new CreateStateMachineCommand({
        name: uniqueName("factory"),
        definition: JSON.stringify(definition),
        roleArn: "arn:aws:iam::123456789012:role/factory",
      }),
    );
    return machine.stateMachineArn!;
  }

  async function items(manifest: string): Promise<WorkItem[]> {
    const { manifest: parsed, folder: base } = await readManifest(manifest);
    return expandManifest(parsed, base);
  }

  function cli(args: string[]) {
    return runCli(["factory", "run", ...args, "--poll-interval", "0.05"], {
      env: { ...isolatedEnv(home), ...motoEnv(endpoint, "eu-west-1") },
    });
  }

  /** A manifest whose items are over 256 KiB: 12 layers × 1 target × 1 region, a 30 KB requirements file each. */
  async function largeManifest(): Promise<string> {
    const path = join(folder, "large.toml");
    const padding = Array.from(
      { length: 1000 },
      (_, line) => `# comment line ${line} ${"x".repeat(12)}`,
    );
    const layers: string[] = [];
    for (let index = 0; index < 12; index += 1) {
      const file = `layer${index}.txt`;
      await writeFile(join(folder, file), [`lib${index}==1.0`, ...padding, ""].join("\n"));
      layers.push(`[layers.l${index}]`, `requirements-file = "${file}"`);
    }
    await writeFile(
      path,
      [
        'prefix = "big-"',
        'runtimes = ["python3.12"]',
        'architectures = ["arm64"]',
        'regions = ["us-east-1"]',
        ...layers,
        "",
      ].join("\n"),
    );
    return path;
  }

  it("runs a manifest on an inline Map: items in the input, --json gives the results table", async () => {
    const arn = await createMachine(inlineMachine(), "ap-northeast-1");
    const manifest = await writeCatalogueManifest(folder, "acme-", "http://127.0.0.1:9/simple");
    // 3 layers × 2 runtimes × 2 architectures × 3 regions.
    const only = ["--only", "alpha", "--only", "beta", "--only", "gamma"];
    const run = await cli([manifest, ...only, "--state-machine", arn, "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout) as {
      ok: boolean;
      rows: ResultRow[];
      results: ItemResult[];
    };
    const expanded = (await items(manifest)).filter((item) =>
      ["alpha", "beta", "gamma"].includes(item.layer),
    );
    expect(output.ok).toBe(true);
    expect(output.results.map((result) => result.id)).toEqual(expanded.map((item) => item.id));
    expect(output.rows).toEqual(expectedRows(expanded));
    expect(output.rows).toHaveLength(36);
    const sfn = client("ap-northeast-1");
    const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: executions.executions![0]!.executionArn }),
    );
    expect(JSON.parse(described.input ?? "{}")).toEqual({ items: expanded });
    // The text table: one row per item and region.
    const text = await cli([
      manifest,
      ...only,
      "--state-machine",
      await createMachine(inlineMachine(), "ap-northeast-2"),
    ]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(
      /^alpha\/python3\.12\/x86_64\s+us-east-1\s+published\s+1\s+abababababab$/m,
    );
    expect(text.stderr).toContain("12 items");
  });

  it("refuses a manifest over 256 KiB for an inline Map before starting anything", async () => {
    const arn = await createMachine(inlineMachine(), "ap-south-1");
    const manifest = await largeManifest();
    expect(Buffer.byteLength(JSON.stringify({ items: await items(manifest) }))).toBeGreaterThan(
      STATE_INPUT_LIMIT,
    );
    const run = await cli([manifest, "--state-machine", arn, "--json"]);
    expect(run.code).toBe(1);
    const output = JSON.parse(run.stdout) as { error: { code: string; hint: string } };
    expect(output.error.code).toBe("factory-input-too-large");
    expect(output.error.hint).toContain("distributed: true");
    const executions = await client("ap-south-1").send(
      new ListExecutionsCommand({ stateMachineArn: arn }),
    );
    expect(executions.executions).toEqual([]);
  });

  it("uploads the items of a large manifest for a distributed Map that reads them from S3", {
    timeout: 120_000,
  }, async () => {
    const bucket = uniqueName("runs");
    await createBucket(endpoint, "ca-central-1", bucket);
    const arn = await createMachine(distributedMachine(bucket), "ca-central-1");
    const manifest = await largeManifest();
    const run = await cli([manifest, "--state-machine", arn, "--json"]);
    expect(run.code, run.stderr + run.stdout.slice(0, 1000)).toBe(0);
    const output = JSON.parse(run.stdout) as { ok: boolean; rows: ResultRow[] };
    const expanded = await items(manifest);
    expect(expanded).toHaveLength(12);
    expect(output.ok).toBe(true);
    expect(output.rows).toEqual(expectedRows(expanded));
    const sfn = client("ca-central-1");
    const executions = await sfn.send(new ListExecutionsCommand({ stateMachineArn: arn }));
    const execution = executions.executions![0]!;
    const described = await sfn.send(
      new DescribeExecutionCommand({ executionArn: execution.executionArn }),
    );
    const key = `runs/${execution.name}/items.json`;
    expect(JSON.parse(described.input ?? "{}")).toEqual({ itemsKey: key });
    const s3 = s3Client(endpoint, "ca-central-1");
    try {
      const object = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      expect(JSON.parse(await object.Body!.transformToString())).toEqual(expanded);
    } finally {
      s3.destroy();
    }
  });

  it("reads the results a distributed Map's ResultWriter wrote to S3, in item order", async () => {
    const bucket = uniqueName("results");
    await createBucket(endpoint, "eu-west-1", bucket);
    const second: WorkItem = { ...ITEM, id: "beta/python3.12/arm64", layer: "beta" };
    const third: WorkItem = { ...ITEM, id: "gamma/python3.12/arm64", layer: "gamma" };
    // The layout AWS documents for ResultWriter: a manifest and result files by status.
    const files: Record<string, unknown> = {
      "results/run/manifest.json": {
        DestinationBucket: bucket,
        MapRunArn: "arn:aws:states:eu-west-1:123456789012:mapRun:factory/run:1",
        ResultFiles: {
          FAILED: [{ Key: "results/run/FAILED_0.json", Size: 1 }],
          PENDING: [],
          SUCCEEDED: [{ Key: "results/run/SUCCEEDED_0.json", Size: 1 }],
        },
      },
      "results/run/SUCCEEDED_0.json": [third, ITEM].map((item) => ({
        Input: JSON.stringify({ item }),
        Output: JSON.stringify(publishedResult(item)),
        Status: "SUCCEEDED",
      })),
      "results/run/FAILED_0.json": [
        {
          Input: JSON.stringify({ item: second }),
          Status: "FAILED",
          Error: "States.Timeout",
          Cause: "timed out",
        },
      ],
    };
    const s3 = s3Client(endpoint, "eu-west-1");
    try {
      for (const [key, body] of Object.entries(files)) {
        await s3.send(
          new PutObjectCommand({ Bucket: bucket, Key: key, Body: JSON.stringify(body) }),
        );
      }
    } finally {
      s3.destroy();
    }
    const results = await writtenResults(
      { ResultWriterDetails: { Bucket: bucket, Key: "results/run/manifest.json" } },
      [ITEM, second, third],
      "eu-west-1",
      motoOptions(endpoint),
    );
    expect(results.map((result) => [result.id, result.status])).toEqual([
      [ITEM.id, "ok"],
      [second.id, "failed"],
      [third.id, "ok"],
    ]);
    expect(results[1]?.error).toMatchObject({ code: "factory-builder-failed", retryable: false });
    expect(results[1]?.error?.message).toContain("States.Timeout");
  });

  it("follows an execution until it ends, and reports an aborted one", async () => {
    const arn = await createMachine(
      { StartAt: "Wait", States: { Wait: { Type: "Wait", Seconds: 60, End: true } } },
      "eu-north-1",
    );
    const name = uniqueName("run");
    const executionArn = `${arn.replace(":stateMachine:", ":execution:")}:${name}`;
    const statuses: string[] = [];
    let stopping: Promise<unknown> | undefined;
    const result = await runOnStateMachine([ITEM], {
      stateMachineArn: arn,
      aws: motoOptions(endpoint),
      name,
      pollMs: 20,
      onProgress: (event) => {
        statuses.push(event.status);
        expect(event.total).toBe(1);
        stopping ??= client("eu-north-1").send(new StopExecutionCommand({ executionArn }));
      },
    });
    await stopping;
    expect(statuses[0]).toBe("RUNNING");
    expect(result.status).toBe("ABORTED");
    expect(result.executionArn).toBe(executionArn);
    expect(result.results).toEqual([]);
  });

  it("refuses an ARN without a region", async () => {
    try {
      await runOnStateMachine([ITEM], {
        stateMachineArn: "LayerFactory",
        aws: motoOptions(endpoint),
      });
      expect.unreachable();
    } catch (error) {
      expect(isPylayerError(error) && error.code).toBe("factory-state-machine-arn");
    }
  });
});
