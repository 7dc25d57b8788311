/** `pylayer report`: what takes the room in a layer zip, against Lambda's 250 MiB limit. */
import { resolve } from "node:path";
import { PylayerError, usageError } from "../../errors.js";
import { writeFileAtomic } from "../../files.js";
import { analyzeLayer, type LayerReport, renderReportHtml } from "../../report/index.js";
import { SLIM_REASONS } from "../../slim/index.js";
import { count, formatPercent } from "../../strings.js";
import { type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { formatBytes } from "../ui.js";

export const spec: CommandSpec = {
  name: "report",
  summary:
    "Show what takes the room in a layer zip: packages by unzipped size against the 250 MiB limit, the biggest files, and what --slim would save.",
  usage: ["report LAYER.zip [--html FILE] [--top N] [--slim-pattern GLOB]... [--json]"],
  positionals: "LAYER.zip",
  options: {
    html: {
      type: "string",
      valueName: "FILE",
      description: "Also write a self-contained HTML page with a treemap (renders offline)",
    },
    top: {
      type: "string",
      valueName: "N",
      description: "How many of the biggest files to list (default 15)",
    },
    "slim-pattern": {
      type: "string",
      multiple: true,
      valueName: "GLOB",
      description: "Count these files in the --slim estimate too",
    },
  },
  examples: [
    "pylayer report layer.zip",
    "pylayer report layer.zip --html report.html",
    "pylayer report layer.zip --slim-pattern '*.md' --json",
  ],
  notes: [
    "The 250 MiB limit (262,144,000 bytes) counts the function and all of its layers together, unzipped. Files are attributed to packages through each .dist-info/RECORD, so zips made by other tools work too.",
  ],
};

export async function run(context: CommandContext): Promise<number> {
  const { ui, values, positionals } = context;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0 ? "report needs a layer zip" : "report takes one layer zip",
      'Run "pylayer report LAYER.zip".',
    );
  }
  const topText = stringOption(values, "top");
  const top = topText === undefined ? 15 : Number(topText);
  if (!Number.isInteger(top) || top < 0) {
    throw usageError(`--top ${topText} is not a number of files`, "Use e.g. --top 20.");
  }
  const zipPath = resolve(context.cwd, positionals[0]!);
  const report = await analyzeLayer(zipPath, {
    top,
    slimPatterns: listOption(values, "slim-pattern", false),
  });
  const htmlOption = stringOption(values, "html");
  let htmlPath: string | undefined;
  if (htmlOption !== undefined) {
    htmlPath = resolve(context.cwd, htmlOption);
    try {
      await writeFileAtomic(htmlPath, renderReportHtml(report));
    } catch (error) {
      throw new PylayerError("write-failed", `could not write ${htmlPath}`, {
        hint: "Check that the folder exists and is writable.",
        cause: error,
      });
    }
  }
  if (ui.json) {
    const { files: _files, ...summary } = report;
    ui.outJson({ ok: true, ...summary, ...(htmlPath === undefined ? {} : { html: htmlPath }) });
    return 0;
  }
  printReport(context, report);
  if (htmlPath !== undefined) ui.info(`wrote ${htmlPath}`);
  return 0;
}

function printReport(context: CommandContext, report: LayerReport): void {
  const { ui } = context;
  const { bold, dim, red, yellow } = ui.colors;
  const share = `${formatPercent(report.unzippedSize, report.limit)} of the 250 MiB limit`;
  ui.out(
    bold(
      `${report.path}: ${formatBytes(report.unzippedSize)} unzipped (${report.unzippedSize > report.limit ? red(share) : share}), ${formatBytes(report.zipSize)} zipped, ${count(report.fileCount, "file")}`,
    ),
  );
  if (report.manifest !== undefined) {
    ui.out(
      dim(
        `  built by pylayer for ${report.manifest.runtimes.join(", ")} (${report.manifest.architectures.join(", ")}), layout ${report.manifest.layout}`,
      ),
    );
  }
  if (report.zipSize > 50 * 1024 * 1024) {
    ui.out(yellow("  over 50 MiB zipped: publish it with --s3-bucket, not as a direct upload"));
  }
  ui.out("");
  ui.out(bold("Packages by unzipped size"));
  const nameWidth = Math.min(
    40,
    Math.max(8, ...report.packages.map((usage) => label(usage.name, usage.version).length)),
  );
  for (const usage of report.packages) {
    ui.out(
      `  ${label(usage.name, usage.version).padEnd(nameWidth)}  ${formatBytes(usage.size).padStart(10)}  ${formatPercent(usage.size, report.limit).padStart(6)}  ${dim(count(usage.files, "file"))}`,
    );
  }
  if (report.biggestFiles.length > 0) {
    ui.out("");
    ui.out(bold("Biggest files"));
    for (const file of report.biggestFiles) {
      ui.out(`  ${formatBytes(file.size).padStart(10)}  ${file.path}  ${dim(file.package)}`);
    }
  }
  ui.out("");
  if (report.slim.files === 0) {
    ui.out(bold("--slim would remove nothing"));
  } else {
    ui.out(
      bold(
        `--slim would save ${formatBytes(report.slim.bytes)} (${count(report.slim.files, "file")}, ${formatPercent(report.slim.bytes, report.unzippedSize)} of the layer)`,
      ),
    );
    for (const row of report.slim.byReason) {
      ui.out(
        `  ${SLIM_REASONS[row.reason].padEnd(50)}  ${formatBytes(row.bytes).padStart(10)}  ${dim(count(row.files, "file"))}`,
      );
    }
  }
  for (const folder of report.slim.keptTestFolders) {
    ui.detail(`  kept ${folder.path}: imported by ${folder.importedBy}`);
  }
}

function label(name: string, version: string | undefined): string {
  return version === undefined ? name : `${name} ${version}`;
}
