/** `pylayer factory plan|run MANIFEST`: a catalogue of layers × runtimes × architectures × regions. */
import { cpus } from "node:os";
import { usageError } from "../../errors.js";
import type { FactoryPlan, ItemResult, ResultRow, WorkItem } from "../../factory/index.js";
import { type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, awsOptionsFromArgs, quietSdkNodeWarning } from "../options/aws.js";
import { formatBytes, type Ui } from "../ui.js";

export const spec: CommandSpec = {
  name: "factory",
  summary:
    "Expand a manifest of layers × runtimes × architectures × regions, and build and publish every item.",
  usage: [
    "factory plan MANIFEST [--table NAME] [--json]",
    "factory run MANIFEST --local [--table NAME] [--jobs N] [--json]",
    "factory run MANIFEST --state-machine ARN [--poll-interval SECONDS] [--json]",
  ],
  positionals: "plan|run MANIFEST",
  options: {
    local: {
      type: "boolean",
      description: "run: build and publish here, with the Lambda builder's code, a worker per core",
    },
    "state-machine": {
      type: "string",
      valueName: "ARN",
      description: "run: start an execution of a deployed LayerFactory and follow it",
    },
    table: {
      type: "string",
      valueName: "NAME",
      description:
        "DynamoDB table of the latest versions (plan: compare with it; run: record in it)",
    },
    "table-region": {
      type: "string",
      valueName: "REGION",
      description: "Region of the table (default: each item's first region)",
    },
    "wheel-cache-bucket": {
      type: "string",
      valueName: "BUCKET",
      description: "run --local: S3 bucket shared as a wheel cache (keys by sha256)",
    },
    "s3-bucket": {
      type: "string",
      multiple: true,
      valueName: "BUCKET",
      description:
        "run --local: staging bucket for zips over 50 MB: BUCKET, REGION=BUCKET or a name with {region}",
    },
    only: {
      type: "string",
      multiple: true,
      valueName: "LAYER",
      description: "Only the items of this layer",
    },
    jobs: {
      type: "string",
      valueName: "N",
      description: "run --local: items built at once (default: cores, bounded by free memory)",
    },
    retries: {
      type: "string",
      valueName: "N",
      description: "run --local: retries of a throttled or failed-by-AWS item (default 4)",
    },
    "retry-delay": {
      type: "string",
      valueName: "SECONDS",
      description: "run --local: first retry delay, doubled each time (default 5)",
    },
    "poll-interval": {
      type: "string",
      valueName: "SECONDS",
      description: "run --state-machine: time between two looks at the execution (default 5)",
    },
    // Regions come from the manifest.
    profile: AWS_OPTIONS.profile!,
    "endpoint-url": AWS_OPTIONS["endpoint-url"]!,
  },
  examples: [
    "pylayer factory plan layers.toml",
    "pylayer factory plan layers.toml --table acme-layers --json",
    "pylayer factory run layers.toml --local --table acme-layers",
    "pylayer factory run layers.toml --state-machine arn:aws:states:us-east-1:123456789012:stateMachine:LayerFactory",
  ],
  notes: [
    "A manifest names a prefix, runtimes, architectures, regions, shared [options] and [layers.NAME] tables (requirements, requirements-file or lock); see the README's Layer factory section. Each layer × runtime × architecture is one item, published as {prefix}{layer}-{python}-{arch} to every region.",
    "A failing item fails alone: its error code and hint are in the table. Throttling and AWS service errors are retried with backoff; user errors are not. Exit code 1 when any item failed.",
  ],
};

function positiveInteger(context: CommandContext, name: string): number | undefined {
  const text = stringOption(context.values, name);
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text) || (name === "jobs" && Number(text) === 0)) {
    throw usageError(`--${name} ${text} is not a ${name === "jobs" ? "positive" : "whole"} number`);
  }
  return Number(text);
}

function secondsOption(values: CommandContext["values"], name: string): number | undefined {
  const text = stringOption(values, name);
  const seconds = text === undefined ? undefined : Number(text);
  if (seconds !== undefined && !(seconds >= 0)) {
    throw usageError(`--${name} ${text} is not a number of seconds`);
  }
  return seconds;
}

async function loadItems(context: CommandContext, path: string | undefined): Promise<WorkItem[]> {
  if (path === undefined) throw usageError("no manifest given", "pylayer factory plan MANIFEST");
  const { expandManifest, readManifest } = await import("../../factory/index.js");
  const { manifest, folder } = await readManifest(path);
  const items = await expandManifest(manifest, folder, path);
  const only = listOption(context.values, "only");
  if (only.length === 0) return items;
  const unknown = only.filter((layer) => !items.some((item) => item.layer === layer));
  if (unknown.length > 0) {
    throw usageError(
      `--only ${unknown.join(", ")}: no such layer in ${path}`,
      `The manifest's layers are ${[...new Set(items.map((item) => item.layer))].join(", ")}.`,
    );
  }
  return items.filter((item) => only.includes(item.layer));
}

export async function run(context: CommandContext): Promise<number> {
  const [subcommand, manifest, ...rest] = context.positionals;
  quietSdkNodeWarning(context.env);
  if (rest.length > 0)
    throw usageError(`unexpected argument "${rest[0]}"`, "One manifest at a time.");
  if (subcommand === "plan") return plan(context, manifest);
  if (subcommand === "run") return runItems(context, manifest);
  throw usageError(
    subcommand === undefined ? "no subcommand given" : `unknown subcommand "${subcommand}"`,
    "Use pylayer factory plan MANIFEST or pylayer factory run MANIFEST --local.",
  );
}

function tableSettings(context: CommandContext) {
  const table = stringOption(context.values, "table");
  const tableRegion = stringOption(context.values, "table-region");
  return {
    ...(table === undefined ? {} : { table }),
    ...(tableRegion === undefined ? {} : { tableRegion }),
  };
}

async function plan(context: CommandContext, path: string | undefined): Promise<number> {
  const { ui } = context;
  const items = await loadItems(context, path);
  const { planFactory } = await import("../../factory/index.js");
  const planned = await planFactory(items, {
    ...tableSettings(context),
    aws: awsOptionsFromArgs(context),
  });
  if (ui.json) {
    ui.outJson({
      ok: true,
      counts: planned.counts,
      items: planned.items.map(({ item, fingerprint, regions }) => ({
        id: item.id,
        layerName: item.layerName,
        runtime: item.runtime,
        architecture: item.architecture,
        input: item.input.kind,
        fingerprint,
        regions,
      })),
    });
    return 0;
  }
  printPlan(ui, planned);
  return 0;
}

const ACTION_TEXT: Record<string, string> = {
  new: "new",
  changed: "inputs changed",
  skip: "unchanged: skipped",
  check: "rebuilt; published if the zip changed",
  unknown: "-",
};

function printPlan(ui: Ui, planned: FactoryPlan): void {
  const rows = planned.items.flatMap(({ item, regions }) =>
    regions.map((region) => [
      item.id,
      item.layerName,
      region.region,
      ACTION_TEXT[region.action] ?? region.action,
      region.version === undefined ? "-" : String(region.version),
    ]),
  );
  printTable(ui, ["ITEM", "LAYER NAME", "REGION", "ACTION", "RECORDED"], rows);
  const regions = rows.length;
  const { counts } = planned;
  ui.info(
    counts.unknown === regions
      ? `${planned.items.length} items, ${regions} publications (give --table to see what is unchanged)`
      : `${planned.items.length} items, ${regions} publications: ${counts.new} new, ${counts.changed} changed, ${counts.check} to check, ${counts.skip} skipped`,
  );
}

async function runItems(context: CommandContext, path: string | undefined): Promise<number> {
  const { ui, values } = context;
  const local = values.local === true;
  const stateMachineArn = stringOption(values, "state-machine");
  if (local === (stateMachineArn !== undefined)) {
    throw usageError(
      local
        ? "--local and --state-machine exclude each other"
        : "say where to run: --local or --state-machine ARN",
      "pylayer factory run MANIFEST --local, or --state-machine ARN for a deployed LayerFactory.",
    );
  }
  const items = await loadItems(context, path);
  const aws = awsOptionsFromArgs(context);
  let results: ItemResult[];
  const started = performance.now();
  if (stateMachineArn !== undefined) {
    const { runOnStateMachine } = await import("../../factory/index.js");
    const pollSeconds = secondsOption(values, "poll-interval");
    const execution = await runOnStateMachine(items, {
      stateMachineArn,
      aws,
      ...(pollSeconds === undefined ? {} : { pollMs: pollSeconds * 1000 }),
      onProgress: (event) =>
        ui.progress(
          `${event.status}: ${event.succeeded + event.failed}/${event.total} items done${event.failed > 0 ? `, ${event.failed} failed` : ""}`,
        ),
    });
    ui.clearProgress();
    if (execution.items !== undefined) {
      ui.detail(`items uploaded to s3://${execution.items.bucket}/${execution.items.key}`);
    }
    ui.detail(`execution ${execution.executionArn}: ${execution.status}`);
    results = execution.results;
    if (execution.status !== "SUCCEEDED") {
      ui.error(
        `the execution ended ${execution.status}`,
        `See it in the Step Functions console: ${execution.executionArn}`,
        "factory-execution-failed",
      );
    }
  } else {
    const { defaultConcurrency, runFactoryLocal } = await import("../../factory/index.js");
    const jobs = positiveInteger(context, "jobs") ?? defaultConcurrency();
    const retries = positiveInteger(context, "retries");
    const delaySeconds = secondsOption(values, "retry-delay");
    const wheelCacheBucket = stringOption(values, "wheel-cache-bucket");
    const stagingBuckets = listOption(values, "s3-bucket");
    ui.detail(`${items.length} items, ${jobs} at once (${cpus().length} cores)`);
    results = await runFactoryLocal(items, {
      ...tableSettings(context),
      ...(wheelCacheBucket === undefined ? {} : { wheelCacheBucket }),
      ...(stagingBuckets.length === 0 ? {} : { stagingBuckets }),
      concurrency: jobs,
      ...(retries === undefined ? {} : { retries }),
      ...(delaySeconds === undefined ? {} : { retryDelayMs: delaySeconds * 1000 }),
      env: context.env,
      aws,
      onItem: ({ item, result, attempt, done }) => {
        if (result === undefined) {
          ui.progress(
            `${done}/${items.length} done; building ${item.id}${attempt > 1 ? ` (attempt ${attempt})` : ""}`,
          );
        }
      },
    });
    ui.clearProgress();
  }
  const { resultRows } = await import("../../factory/index.js");
  const rows = resultRows(results);
  const ok = results.length === items.length && results.every((result) => result.status === "ok");
  if (ui.json) {
    ui.outJson({ ok, rows, results });
  } else {
    printResults(ui, results, rows, performance.now() - started);
  }
  return ok ? 0 : 1;
}

function printResults(ui: Ui, results: ItemResult[], rows: ResultRow[], durationMs: number): void {
  printTable(
    ui,
    ["ITEM", "REGION", "STATUS", "VERSION", "SHA256", "ERROR"],
    rows.map((row) => [
      row.id,
      row.region,
      row.status,
      row.version === undefined ? "-" : String(row.version),
      row.sha256?.slice(0, 12) ?? "-",
      row.error ?? "",
    ]),
  );
  for (const result of results) {
    if (result.error !== undefined) {
      ui.error(`${result.id}: ${result.error.message}`, result.error.hint, result.error.code);
    }
  }
  const failed = results.filter((result) => result.status !== "ok").length;
  const published = rows.filter((row) => row.status === "published").length;
  const unchanged = rows.filter((row) => row.status === "unchanged").length;
  const bytes = results.reduce((sum, result) => sum + (result.size ?? 0), 0);
  ui.info(
    `${results.length} items (${formatBytes(bytes)} of zips): ${published} published, ${unchanged} unchanged, ${failed} items failed, in ${(durationMs / 1000).toFixed(1)} s`,
  );
}

function printTable(ui: Ui, header: string[], rows: string[][]): void {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column]!.length)),
  );
  const format = (row: string[]) =>
    row
      .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
      .join("  ")
      .trimEnd();
  ui.out(ui.colors.bold(format(header)));
  for (const row of rows) ui.out(format(row));
}
