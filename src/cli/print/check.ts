/** The findings of a layer check, as people read them. */
import type { CheckResult, Finding } from "../../check/index.js";
import type { Ui } from "../ui.js";

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
    // After a build only problems are shown, and a skipped import test the user asked for
    // (--check-imports on a target this machine cannot run), so that it is never silent.
    if (options.compact && finding.severity === "info" && finding.code !== "import-test-skipped")
      continue;
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
    const what = result.kind === "function" ? "the function" : "the layer";
    ui.out(`${red("✗")} ${summary}: ${what} would fail on ${result.targets.join(", ")}`);
  }
}
