/** `pylayer check`: find what would break a layer on Lambda, before deploying it. */
import type { CheckOptions, CheckResult, Finding } from "../../check/index.js";
import { usageError } from "../../errors.js";
import { booleanOption, type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import type { Ui } from "../ui.js";

export const spec: CommandSpec = {
  name: "check",
  summary:
    "Check a layer zip for a Lambda runtime: layout, native code (CPU, glibc, libstdc++, shared libraries), Python packaging, imports and sizes.",
  usage: ["check LAYER.zip [--runtime R]... [--arch A]... [--import MODULE]... [--json]"],
  positionals: "LAYER.zip",
  options: {
    runtime: {
      type: "string",
      multiple: true,
      valueName: "RUNTIME",
      description: "Runtime to check for, python3.9 … python3.14 (default: the zip's manifest)",
    },
    arch: {
      type: "string",
      multiple: true,
      valueName: "ARCH",
      description: "x86_64 or arm64 (default: the zip's manifest, else x86_64)",
    },
    import: {
      type: "string",
      multiple: true,
      valueName: "MODULE",
      description: "Module to import in the import test (default: every top-level module)",
    },
    "no-import-test": {
      type: "boolean",
      description: "Skip the import test (static checks only)",
    },
    python: {
      type: "string",
      valueName: "PATH",
      description: "Interpreter for the import test (default: python3.X on PATH, pyenv or uv)",
    },
    "import-timeout": {
      type: "string",
      valueName: "SECONDS",
      description: "Time one import may take (default 60)",
    },
  },
  examples: [
    "pylayer check layer.zip",
    "pylayer check layer.zip --runtime python3.11 --arch arm64",
    "pylayer check other-tool.zip --runtime python3.12 --import pydantic --import numpy",
    "pylayer check layer.zip --json | jq '.findings[] | select(.severity == \"error\")'",
  ],
  notes: [
    "Exit status: 1 when any error-level finding exists (the layer would fail on Lambda); warnings alone exit 0.",
    "The import test runs where this machine can: Linux of the layer's architecture with a local CPython of the runtime's version. Everything else is read statically, for any target.",
  ],
};

export function checkOptionsFromArgs(context: CommandContext): CheckOptions {
  const { values } = context;
  const timeout = stringOption(values, "import-timeout");
  let importTimeoutSeconds: number | undefined;
  if (timeout !== undefined) {
    importTimeoutSeconds = Number(timeout);
    if (!Number.isFinite(importTimeoutSeconds) || importTimeoutSeconds <= 0) {
      throw usageError(
        `--import-timeout ${timeout} is not a number of seconds`,
        "Use e.g. --import-timeout 120.",
      );
    }
  }
  const python = stringOption(values, "python");
  return {
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    imports: listOption(values, "import"),
    importTest: !booleanOption(values, "no-import-test"),
    ...(python === undefined ? {} : { python }),
    ...(importTimeoutSeconds === undefined ? {} : { importTimeoutSeconds }),
    env: context.env,
  };
}

export async function run(context: CommandContext): Promise<number> {
  const { ui, positionals } = context;
  if (positionals.length !== 1) {
    throw usageError(
      positionals.length === 0 ? "no layer zip given" : "check takes one layer zip",
      "Usage: pylayer check LAYER.zip [--runtime R] [--arch A]",
    );
  }
  const options = checkOptionsFromArgs(context);
  options.onEvent = (event) => ui.progress(event.message);
  const { checkLayer } = await import("../../check/index.js");
  const result = await checkLayer(positionals[0]!, options);
  ui.clearProgress();
  if (ui.json) {
    ui.outJson(result);
  } else {
    printCheckResult(ui, result);
  }
  return result.ok ? 0 : 1;
}

const SEVERITY_WIDTH = 8;

/**
 * Prints findings grouped by code, package and target: the first in full, the others as a
 * count with some file names. `compact` (after a build) leaves out info findings.
 */
export function printCheckResult(
  ui: Ui,
  result: CheckResult,
  options: { compact?: boolean } = {},
): void {
  const { bold, dim, red, yellow, cyan, green } = ui.colors;
  if (!options.compact) ui.out(bold(`${result.path}: checked for ${result.targets.join(", ")}`));
  const groups = new Map<string, Finding[]>();
  for (const finding of result.findings) {
    if (options.compact && finding.severity === "info") continue;
    const key = `${finding.severity}|${finding.code}|${finding.package ?? ""}|${finding.target ?? ""}`;
    const group = groups.get(key) ?? [];
    group.push(finding);
    groups.set(key, group);
  }
  for (const group of groups.values()) {
    const first = group[0]!;
    const severity =
      first.severity === "error"
        ? red("error")
        : first.severity === "warning"
          ? yellow("warning")
          : dim("info");
    const padding = " ".repeat(Math.max(1, SEVERITY_WIDTH - first.severity.length));
    const scope = [first.target, first.package].filter(Boolean).join(", ");
    ui.out(
      `${severity}${padding}${first.message}${dim(` [${first.code}${scope ? `; ${scope}` : ""}]`)}`,
    );
    if (group.length > 1) {
      const others = group.slice(1).map((finding) => finding.file ?? finding.message);
      const shown = others.slice(0, 3).join(", ");
      ui.out(
        `${" ".repeat(SEVERITY_WIDTH)}${dim(`… and ${others.length} more like it: ${shown}${others.length > 3 ? ", …" : ""}`)}`,
      );
    }
    if (first.hint !== undefined && first.severity !== "info") {
      ui.out(`${" ".repeat(SEVERITY_WIDTH)}${cyan("hint:")} ${first.hint}`);
    }
  }
  for (const report of result.importTests) {
    if (!report.ran) continue;
    const passed = report.outcomes.filter((outcome) => outcome.ok).length;
    const failed = report.outcomes
      .filter((outcome) => !outcome.ok)
      .map((outcome) => outcome.module);
    const nativeErrors = result.findings.some(
      (finding) =>
        finding.target === report.target &&
        finding.severity === "error" &&
        /^(glibc|glibcxx|cxxabi|library)-/.test(finding.code),
    );
    ui.out(
      `${dim("import")}${" ".repeat(SEVERITY_WIDTH - 6)}${report.target}: ${passed}/${report.outcomes.length} modules import with ${report.interpreter}${failed.length > 0 ? ` (failed: ${failed.join(", ")})` : ""}`,
    );
    if (nativeErrors && passed > 0) {
      ui.out(
        `${" ".repeat(SEVERITY_WIDTH)}${dim("this machine's glibc and libraries are not Lambda's: imports that work here still fail there for the native errors above")}`,
      );
    }
  }
  const { error, warning } = result.counts;
  const summary = `${error} error${error === 1 ? "" : "s"}, ${warning} warning${warning === 1 ? "" : "s"} (${result.elfFiles} ELF files read)`;
  if (result.ok) {
    ui.out(`${green("✓")} ${summary}`);
  } else {
    ui.out(`${red("✗")} ${summary}: the layer would fail on ${result.targets.join(", ")}`);
  }
}
