/** `pylayer build`: resolve requirements for Lambda targets and write layer zips. */
import { relative } from "node:path";
import { usageError } from "../../errors.js";
import type { BuildOptions, BuildResult, LayoutKind } from "../../pipeline/index.js";
import { booleanOption, type CommandSpec, listOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { withProjectDefaults } from "../project-defaults.js";
import { formatBytes, formatDuration } from "../ui.js";
import { printCheckResult } from "./check.js";
import {
  AWS_OPTIONS,
  checkBuildPublishFlags,
  PUBLISH_OPTIONS,
  printPublishResult,
  publishBuiltZips,
  publishJson,
} from "./publish.js";

export const spec: CommandSpec = {
  name: "build",
  summary: "Resolve requirements for Lambda runtimes and write deterministic layer zips.",
  usage: [
    "build [REQUIREMENT...] [-r FILE] [-c FILE] [--runtime R]... [--arch A]... [-o PATH]",
    "build --lock FILE | --pyproject FILE [--extra NAME]... [--group NAME]... [--runtime R]... [--arch A]...",
    "build    (in a project folder: uses pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml or requirements.txt)",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    requirement: {
      type: "string",
      short: "r",
      multiple: true,
      valueName: "FILE",
      description: "Read requirements from a pip requirements file",
    },
    constraint: {
      type: "string",
      short: "c",
      multiple: true,
      valueName: "FILE",
      description: "Constrain versions with a pip constraints file",
    },
    pyproject: {
      type: "string",
      valueName: "FILE",
      description:
        "Resolve the dependencies of a pyproject.toml (PEP 621, dependency groups, Poetry)",
    },
    lock: {
      type: "string",
      valueName: "FILE",
      description:
        "Install exactly what a lock file records: pylock.toml, uv.lock, poetry.lock or Pipfile.lock",
    },
    extra: {
      type: "string",
      multiple: true,
      valueName: "NAME",
      description: "Include an extra (optional dependencies) of the project or lock",
    },
    group: {
      type: "string",
      multiple: true,
      valueName: "NAME",
      description:
        "Include a dependency group of the project or lock (dev groups are left out otherwise)",
    },
    runtime: {
      type: "string",
      multiple: true,
      valueName: "RUNTIME",
      description: "Lambda runtime, python3.9 … python3.14 (default python3.12)",
    },
    arch: {
      type: "string",
      multiple: true,
      valueName: "ARCH",
      description: "x86_64 or arm64 (default x86_64)",
    },
    output: {
      type: "string",
      short: "o",
      valueName: "PATH",
      description: "Zip path (one target) or folder (several); default layer.zip / layers/",
    },
    layout: {
      type: "string",
      valueName: "LAYOUT",
      description:
        "python (default: files under python/) or site-packages (python/lib/python3.X/site-packages/)",
    },
    exclude: {
      type: "string",
      multiple: true,
      valueName: "NAME",
      description: "Leave a package out of the zip (still resolved)",
    },
    "exclude-runtime-provided": {
      type: "boolean",
      description: "Leave out boto3, botocore, s3transfer and jmespath (the runtime has them)",
    },
    "index-url": {
      type: "string",
      short: "i",
      valueName: "URL",
      description: "Package index (PEP 503/691); default from pip/uv settings, else PyPI",
    },
    "extra-index-url": {
      type: "string",
      multiple: true,
      valueName: "URL",
      description:
        "Another index, asked before --index-url; the first index that has a project wins",
    },
    "find-links": {
      type: "string",
      short: "f",
      multiple: true,
      valueName: "PATH|URL",
      description: "Folder or page of wheels to consider too",
    },
    "no-index": { type: "boolean", description: "Use only --find-links locations" },
    pre: { type: "boolean", description: "Allow pre-release versions" },
    "cache-dir": {
      type: "string",
      valueName: "DIR",
      description: "Cache folder (default: PYLAYER_CACHE_DIR or the platform cache folder)",
    },
    "no-cache": { type: "boolean", description: "Neither read nor write the cache" },
    refresh: {
      type: "boolean",
      description:
        "Ask the index about every cached page, even one still fresh by its Cache-Control max-age",
    },
    "dry-run": { type: "boolean", description: "Resolve and print the plan; write nothing" },
    slim: {
      type: "boolean",
      description:
        "Remove what Lambda does not need: __pycache__, test suites nothing imports, .pyi stubs, .dist-info extras (--verbose lists each file)",
    },
    "slim-pattern": {
      type: "string",
      multiple: true,
      valueName: "GLOB",
      description: "Also remove files or folders matching GLOB, e.g. '*.md' (implies --slim)",
    },
    compile: {
      type: "boolean",
      description:
        "Add unchecked-hash .pyc files (PEP 552) for faster cold starts; needs the local python3.X of each runtime",
    },
    mode: {
      type: "string",
      valueName: "MODE",
      description:
        "layer (default) or runtime: a /tmp archive plus pylayer_runtime.py in the -o folder (see pylayer runtime)",
    },
    "no-check": {
      type: "boolean",
      description: "Do not check the zips written (layout, ELF files, sizes: on by default)",
    },
    "check-imports": {
      type: "boolean",
      description: "Also import every top-level module with the matching local python3.X (slower)",
    },
    publish: {
      type: "string",
      valueName: "NAME",
      description:
        "Then publish the zip as layer NAME (several zips: NAME-py312-arm64, …); takes the publish options below",
    },
    ...PUBLISH_OPTIONS,
    ...AWS_OPTIONS,
  },
  examples: [
    "pylayer build requests 'pydantic>=2' --runtime python3.12 --arch arm64 -o layer.zip",
    "pylayer build -r requirements.txt -c constraints.txt --runtime python3.11",
    "pylayer build -r requirements.txt --runtime python3.12 --runtime python3.13 --arch x86_64 --arch arm64 -o layers/",
    "pylayer build pandas --runtime python3.11 --dry-run",
    "pylayer build --lock uv.lock --extra s3 --runtime python3.12 --arch arm64",
    "pylayer build --pyproject pyproject.toml --group lambda",
    "pylayer build -r requirements.txt --exclude-runtime-provided --json > build.json",
    "pylayer build -r requirements.txt --runtime python3.11 --slim --compile -o layer.zip",
    "pylayer build -r requirements.txt --runtime python3.12 --publish deps --region us-east-1 --region eu-west-1",
  ],
  notes: [
    "With no requirements, --pyproject or --lock, the current folder is searched for pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml, then requirements.txt; the file used is named. Lock files are installed as locked (hashes verified), never re-resolved.",
    'Defaults for every option can be kept in pylayer.toml or [tool.pylayer] of pyproject.toml, keyed by option name (e.g. runtime = ["python3.12"], exclude-runtime-provided = true); flags override them.',
    "Only wheels that run on the chosen runtime are considered: manylinux up to the runtime's glibc (2.26 on python3.9–3.11, 2.34 on 3.12+), the right CPU, CPython ABI or abi3. Nothing is built from source, and no Docker, pip or Python is needed.",
  ],
};

export function buildOptionsFromArgs(context: CommandContext): BuildOptions {
  const { values, positionals } = context;
  const layout = stringOption(values, "layout");
  if (layout !== undefined && layout !== "python" && layout !== "site-packages") {
    throw usageError(
      `--layout ${layout} is not a layout`,
      "Use --layout python or --layout site-packages.",
    );
  }
  const indexUrl = stringOption(values, "index-url");
  const cacheDir = stringOption(values, "cache-dir");
  const output = stringOption(values, "output");
  return {
    requirements: positionals,
    requirementFiles: listOption(values, "requirement", false),
    constraintFiles: listOption(values, "constraint", false),
    ...inputFileOptions(values),
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    ...(output === undefined ? {} : { output }),
    ...(layout === undefined ? {} : { layout: layout as LayoutKind }),
    exclude: listOption(values, "exclude"),
    excludeRuntimeProvided: booleanOption(values, "exclude-runtime-provided"),
    index: {
      ...(indexUrl === undefined ? {} : { indexUrl }),
      extraIndexUrls: listOption(values, "extra-index-url", false),
      findLinks: listOption(values, "find-links", false),
      noIndex: booleanOption(values, "no-index"),
    },
    pre: booleanOption(values, "pre"),
    ...(cacheDir === undefined ? {} : { cacheDir }),
    noCache: booleanOption(values, "no-cache"),
    refresh: booleanOption(values, "refresh"),
    dryRun: booleanOption(values, "dry-run"),
    slim: booleanOption(values, "slim"),
    slimPatterns: listOption(values, "slim-pattern", false),
    compile: booleanOption(values, "compile"),
    check: !booleanOption(values, "no-check"),
    checkImports: booleanOption(values, "check-imports"),
    cwd: context.cwd,
    env: context.env,
  };
}

/** `--pyproject`, `--lock`, `--extra`, `--group` as build options. */
export function inputFileOptions(
  values: CommandContext["values"],
): Pick<BuildOptions, "pyproject" | "lock" | "extras" | "groups"> {
  const pyproject = stringOption(values, "pyproject");
  const lock = stringOption(values, "lock");
  if (pyproject !== undefined && lock !== undefined) {
    throw usageError(
      "--pyproject and --lock cannot be used together",
      "A lock already records what the project needs; pass only --lock FILE.",
    );
  }
  return {
    ...(pyproject === undefined ? {} : { pyproject }),
    ...(lock === undefined ? {} : { lock }),
    extras: listOption(values, "extra"),
    groups: listOption(values, "group"),
  };
}

/** Routes build events to the terminal: warnings, one-off notes, details, progress. */
export function showBuildEvents(ui: CommandContext["ui"]): BuildOptions["onEvent"] {
  return (event) => {
    if (event.type === "warning") ui.warn(event.message);
    else if (event.type === "info") ui.info(event.message);
    else if (event.type === "detail") ui.detail(event.message);
    else ui.progress(event.message);
  };
}

export async function run(commandContext: CommandContext): Promise<number> {
  const context = await withProjectDefaults(commandContext, spec);
  const { ui } = context;
  const mode = stringOption(context.values, "mode") ?? "layer";
  if (mode === "runtime") {
    const { runRuntimeMode } = await import("./runtime.js");
    return runRuntimeMode(context);
  }
  if (mode !== "layer") {
    throw usageError(`--mode ${mode} is not a mode`, "Use --mode layer or --mode runtime.");
  }
  const options = buildOptionsFromArgs(context);
  const publishName = stringOption(context.values, "publish");
  // Publish settings among the project defaults are fine without --publish; on the
  // command line they are a mistake.
  await checkBuildPublishFlags(publishName === undefined ? commandContext : context, publishName);
  options.onEvent = showBuildEvents(ui);
  const { buildLayer } = await import("../../pipeline/build.js");
  const result = await buildLayer(options);
  ui.clearProgress();
  // A zip that fails its check is still written and reported, but the build exits 1 (the
  // layer would not work on the runtime it was built for) and it is not published.
  const checksFailed = (result.checks ?? []).some((check) => !check.ok);
  const published =
    publishName === undefined || options.dryRun === true || checksFailed
      ? undefined
      : await publishBuiltZips(context, result.zips, publishName);
  const exitCode = checksFailed ? 1 : (published?.exitCode ?? 0);
  if (ui.json) {
    ui.outJson({
      ...(jsonResult(result, options.dryRun === true) as object),
      ...(published === undefined
        ? {}
        : { ok: published.exitCode === 0, publish: published.results.map(publishJson) }),
    });
    return exitCode;
  }
  printResult(context, result, options.dryRun === true);
  for (const check of result.checks ?? []) {
    ui.out(
      ui.colors.bold(`check ${relativePath(context, check.path)} (${check.targets.join(", ")})`),
    );
    printCheckResult(ui, check, { compact: true });
  }
  if (publishName !== undefined && options.dryRun === true) {
    ui.info(`dry run: nothing published as ${publishName}`);
  }
  if (publishName !== undefined && checksFailed) {
    ui.error(
      `not published as ${publishName}: the check found errors in the layer`,
      "Fix them (see above), or pass --no-check to publish anyway.",
      "check-failed",
    );
  }
  for (const publishResult of published?.results ?? []) printPublishResult(ui, publishResult);
  if (options.dryRun !== true)
    ui.info(ui.colors.dim(`done in ${formatDuration(result.durationMs)}`));
  return exitCode;
}

function jsonResult(result: BuildResult, dryRun: boolean): unknown {
  return {
    ok: (result.checks ?? []).every((check) => check.ok),
    dryRun,
    ...(result.plan.input === undefined ? {} : { input: result.plan.input }),
    targets: result.plan.targets,
    zips: result.zips,
    ...(result.checks === undefined ? {} : { checks: result.checks }),
    ...(dryRun ? { outputs: result.plan.outputs } : {}),
    warnings: result.warnings,
    durationMs: Math.round(result.durationMs),
  };
}

function printResult(context: CommandContext, result: BuildResult, dryRun: boolean): void {
  const { ui } = context;
  const { bold, dim, green } = ui.colors;
  for (const warning of result.warnings) ui.warn(warning);
  for (const target of result.plan.targets) {
    ui.out(bold(`${target.id}: ${target.packages.length} packages`));
    for (const item of target.packages) {
      const note = item.excluded === undefined ? "" : dim(` (excluded: ${item.excluded})`);
      ui.out(`  ${item.name} ${item.version}  ${dim(item.tag)}${note}`);
      ui.detail(`    ${item.filename} ← ${item.requiredBy.join(", ")}`);
    }
  }
  if (dryRun) {
    for (const output of result.plan.outputs) {
      ui.out(`would write ${relativePath(context, output.path)} for ${output.targets.join(", ")}`);
    }
    return;
  }
  for (const zip of result.zips) {
    const shared =
      zip.targets.length > 1 ? ` — one pure-Python zip valid for ${zip.targets.join(", ")}` : "";
    ui.out(
      `${green("wrote")} ${relativePath(context, zip.path)}  ${formatBytes(zip.size)} (${formatBytes(zip.unzippedSize)} unzipped)${shared}`,
    );
    if (zip.slim !== undefined) {
      ui.out(
        dim(
          `  slim: removed ${zip.slim.files} files, ${formatBytes(zip.slim.bytes)}${zip.slim.byReason.length > 0 ? ` (${zip.slim.byReason.map((row) => `${row.reason} ${formatBytes(row.bytes)}`).join(", ")})` : ""}`,
        ),
      );
    }
    if (zip.compile !== undefined) {
      for (const row of zip.compile.compiled) {
        ui.out(
          dim(
            `  compile: ${row.files} .pyc files for Python ${row.python}, ${formatBytes(row.bytes)}`,
          ),
        );
      }
      if (zip.compile.failures.length > 0) {
        ui.warn(
          `${zip.compile.failures.length} source files do not compile and ship without bytecode (--verbose lists them)`,
        );
      }
    }
    ui.out(dim(`  sha256 ${zip.sha256}  CodeSha256 ${zip.sha256Base64}`));
  }
}

function relativePath(context: CommandContext, path: string): string {
  const relativeForm = relative(context.cwd, path);
  return relativeForm.startsWith("..") ? path : relativeForm;
}
