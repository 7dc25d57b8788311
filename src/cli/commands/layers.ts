/** `pylayer layers list|prune`: see the layers of an account and delete old versions. */
import type { ListLayersResult, PruneResult } from "../../aws/index.js";
import { usageError } from "../../errors.js";
import { booleanOption, type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, awsOptionsFromArgs, quietSdkNodeWarning } from "../options/aws.js";
import { showAwsEvents } from "../print/events.js";
import { withErrorsAsJson } from "../print/json.js";
import { formatBytes, type Ui } from "../ui.js";

export const spec: CommandSpec = {
  name: "layers",
  summary: "List Lambda layers, or delete all but the newest versions of one.",
  usage: [
    "layers list [--name NAME] [--region R]... [--json]",
    "layers prune NAME --keep N [--region R]... [--dry-run] [--include-used] [--json]",
  ],
  positionals: "list|prune [NAME]",
  options: {
    name: {
      type: "string",
      short: "n",
      valueName: "NAME",
      description: "list: every version of this layer (default: the newest of each layer)",
    },
    keep: {
      type: "string",
      valueName: "N",
      description: "prune: how many of the newest versions to keep",
    },
    "dry-run": { type: "boolean", description: "prune: show what would be deleted" },
    "include-used": {
      type: "boolean",
      description: "prune: delete versions that functions still use too",
    },
    ...AWS_OPTIONS,
  },
  examples: [
    "pylayer layers list --region us-east-1",
    "pylayer layers list --name deps --json",
    "pylayer layers prune deps --keep 3 --region us-east-1 --region eu-west-1 --dry-run",
  ],
  notes: [
    "prune never deletes a version that a function (any published version of it included) in the region still uses, unless --include-used; it says which versions were kept and why. Functions keep working with a deleted layer version, but it cannot be added to new configurations. Functions of other accounts are not visible.",
  ],
};

export async function run(context: CommandContext): Promise<number> {
  const [subcommand, ...rest] = context.positionals;
  quietSdkNodeWarning(context.env);
  if (subcommand === "list") return list(context, rest);
  if (subcommand === "prune") return prune(context, rest);
  throw usageError(
    subcommand === undefined ? "no subcommand given" : `unknown subcommand "${subcommand}"`,
    "Use pylayer layers list or pylayer layers prune NAME --keep N.",
  );
}

async function list(context: CommandContext, rest: string[]): Promise<number> {
  const { values, ui } = context;
  for (const flag of ["keep", "dry-run", "include-used"]) {
    if (values[flag] !== undefined) throw usageError(`--${flag} belongs to layers prune`);
  }
  if (rest.length > 0) {
    throw usageError(
      `unexpected argument "${rest[0]}"`,
      "Name a layer with --name: pylayer layers list --name NAME.",
    );
  }
  const name = stringOption(values, "name");
  const { listLayers } = await import("../../aws/index.js");
  const result = await listLayers({
    ...(name === undefined ? {} : { name }),
    regions: listOption(values, "region"),
    aws: awsOptionsFromArgs(context),
    onEvent: showAwsEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) {
    ui.outJson({
      ok: result.ok,
      regions: withErrorsAsJson(result.regions),
    });
  } else {
    printList(ui, result);
  }
  return result.ok ? 0 : 1;
}

function printList(ui: Ui, result: ListLayersResult): void {
  const rows = result.regions.flatMap((region) =>
    region.layers.map((layer) => [
      layer.region,
      layer.name,
      String(layer.version),
      layer.runtimes.join(",") || "-",
      layer.architectures.join(",") || "-",
      layer.createdDate?.slice(0, 19).replace("T", " ") ?? "-",
      layer.codeSize === undefined ? "-" : formatBytes(layer.codeSize),
      layer.layerVersionArn,
    ]),
  );
  if (rows.length > 0) {
    const header = ["REGION", "NAME", "VERSION", "RUNTIMES", "ARCHS", "CREATED", "SIZE", "ARN"];
    const widths = header.map((title, column) =>
      Math.max(title.length, ...rows.map((row) => row[column]!.length)),
    );
    const format = (row: string[]) =>
      row
        .map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!)))
        .join("  ");
    ui.out(ui.colors.bold(format(header)));
    for (const row of rows) ui.out(format(row));
  } else {
    ui.info("no layers found");
  }
  for (const region of result.regions) {
    if (region.error !== undefined) {
      ui.error(`${region.region}: ${region.error.message}`, region.error.hint, region.error.code);
    }
  }
}

async function prune(context: CommandContext, rest: string[]): Promise<number> {
  const { values, ui } = context;
  const name = rest[0] ?? stringOption(values, "name");
  if (name === undefined || rest.length > 1) {
    throw usageError(
      name === undefined ? "no layer named" : "one layer at a time",
      "pylayer layers prune NAME --keep N",
    );
  }
  const keepText = stringOption(values, "keep");
  if (keepText === undefined || !/^\d+$/.test(keepText)) {
    throw usageError(
      keepText === undefined ? "--keep is required" : `--keep ${keepText} is not a whole number`,
      "E.g. --keep 3 keeps the three newest versions.",
    );
  }
  const { pruneLayers } = await import("../../aws/index.js");
  const result = await pruneLayers({
    name,
    keep: Number(keepText),
    regions: listOption(values, "region"),
    dryRun: booleanOption(values, "dry-run"),
    includeUsed: booleanOption(values, "include-used"),
    aws: awsOptionsFromArgs(context),
    onEvent: showAwsEvents(ui),
  });
  ui.clearProgress();
  if (ui.json) {
    ui.outJson({
      ok: result.ok,
      name: result.name,
      keep: result.keep,
      dryRun: result.dryRun,
      regions: withErrorsAsJson(result.regions),
    });
  } else {
    printPrune(ui, result);
  }
  return result.ok ? 0 : 1;
}

function printPrune(ui: Ui, result: PruneResult): void {
  const { dim, red, green } = ui.colors;
  for (const region of result.regions) {
    for (const item of region.kept) {
      ui.out(`${green("kept   ")} ${region.region}  ${item.layerVersionArn}  ${dim(item.reason)}`);
    }
    for (const item of region.deleted) {
      const note = item.usedBy.length > 0 ? dim(`  (used by ${item.usedBy.join(", ")})`) : "";
      ui.out(
        `${result.dryRun ? "would delete" : red("deleted")} ${region.region}  ${item.layerVersionArn}${note}`,
      );
    }
    for (const item of region.notDeleted) {
      ui.out(`${red("not deleted")} ${region.region}  ${item.layerVersionArn}`);
    }
    if (region.error !== undefined) {
      ui.error(`${region.region}: ${region.error.message}`, region.error.hint, region.error.code);
    } else if (region.kept.length + region.deleted.length === 0) {
      ui.info(`${region.region}: ${result.name} has no versions`);
    }
  }
}
