/** `pylayer build`: resolve requirements for Lambda targets and write layer zips. */
import { mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import type { PublishResult } from "../../aws/index.js";
import { usageError } from "../../errors.js";
import type { BuildOptions, BuildResult } from "../../pipeline/index.js";
import { type CommandSpec, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { AWS_OPTIONS, quietSdkNodeWarning } from "../options/aws.js";
import { FUNCTION_OPTIONS, functionSourceFromArgs } from "../options/function.js";
import { PROJECT_FILE_OPTIONS, REQUIREMENT_FILE_OPTIONS } from "../options/inputs.js";
import { DRY_RUN_OPTIONS, EXCLUDE_OPTIONS, SLIM_OPTIONS } from "../options/output.js";
import { CACHE_OPTIONS, INDEX_OPTIONS } from "../options/package-index.js";
import { buildOptionsFromArgs } from "../options/pipeline.js";
import { checkPublishFlags, PUBLISH_OPTIONS, publishFlagsFromArgs } from "../options/publish.js";
import { SOURCE_BUILD_OPTIONS } from "../options/source-build.js";
import { TARGET_OPTIONS } from "../options/targets.js";
import { printCheckResult } from "../print/check.js";
import { showAwsEvents, showBuildEvents } from "../print/events.js";
import { shownPath } from "../print/paths.js";
import { printPublishResult, publishJson } from "../print/publish.js";
import { withProjectDefaults } from "../project-defaults.js";
import { formatBytes, formatDuration } from "../ui.js";

export const spec: CommandSpec = {
  name: "build",
  summary:
    "Resolve requirements for Lambda runtimes and write deterministic layer zips (or function packages with --mode function).",
  usage: [
    "build [REQUIREMENT...] [-r FILE] [-c FILE] [--runtime R]... [--arch A]... [-o PATH]",
    "build --lock FILE | --pyproject FILE [--extra NAME]... [--group NAME]... [--runtime R]... [--arch A]...",
    "build    (in a project folder: uses pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml or requirements.txt)",
    "build --mode function [--source DIR] [--handler MODULE.FUNCTION] [--source-exclude GLOB]... [--runtime R] [--arch A] [-o ZIP]",
  ],
  positionals: "[REQUIREMENT...]",
  options: {
    ...REQUIREMENT_FILE_OPTIONS,
    ...PROJECT_FILE_OPTIONS,
    ...TARGET_OPTIONS,
    output: {
      type: "string",
      short: "o",
      valueName: "PATH",
      description:
        "Zip path (one target) or folder (several); default layer.zip / layers/ (function.zip / functions/ with --mode function)",
    },
    extract: {
      type: "string",
      valueName: "DIR",
      description:
        "Also write the files of the one zip built into DIR, which must be empty or missing (for tools that zip a folder themselves, like sam build's $(ARTIFACTS_DIR)); without -o the zip itself is not kept",
    },
    layout: {
      type: "string",
      valueName: "LAYOUT",
      description:
        "python (default: files under python/) or site-packages (python/lib/python3.X/site-packages/)",
    },
    ...EXCLUDE_OPTIONS,
    ...INDEX_OPTIONS,
    ...SOURCE_BUILD_OPTIONS,
    ...CACHE_OPTIONS,
    ...DRY_RUN_OPTIONS,
    ...SLIM_OPTIONS,
    compile: {
      type: "boolean",
      description:
        "Add unchecked-hash .pyc files (PEP 552) for faster cold starts; needs the local python3.X of each runtime",
    },
    mode: {
      type: "string",
      valueName: "MODE",
      description:
        "layer (default); function: dependencies at the zip root plus the --source folder, a function package; or runtime: a /tmp archive plus pylayer_runtime.py in the -o folder (see pylayer runtime)",
    },
    ...FUNCTION_OPTIONS,
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
    "pylayer build ./libs/common 'tool @ git+https://github.com/org/tool@v1.2' --runtime python3.12",
    "pylayer build -r requirements.txt --runtime python3.11 --allow-native-sdist mypkg --build-python python3.11",
    "pylayer build --mode function --source src --handler app.handler --runtime python3.12 --arch arm64 -o function.zip",
    'pylayer build -r requirements.txt --runtime python3.12 --arch arm64 --extract "$(ARTIFACTS_DIR)"   (in a SAM Makefile)',
  ],
  notes: [
    "Source builds: a project with no compatible wheel is built from its sdist (said per package); local projects (-e ./path, name @ file:./path), direct URLs and git+ URLs are built too. Building runs the project's PEP 517 backend, so it is the one thing that needs Python on this machine (--build-python, else python3.X of the runtime or python3 on PATH); the backend's requirements are resolved by pylayer from the same indexes. A wheel with compiled code built here is refused unless --allow-native-sdist names it and this machine matches the runtime (Linux, architecture, Python version).",
    "With no requirements, --pyproject or --lock, the current folder is searched for pylock.toml, uv.lock, poetry.lock, Pipfile.lock, pyproject.toml, then requirements.txt; the file used is named. Lock files are installed as locked (hashes verified), never re-resolved.",
    'Defaults for every option can be kept in pylayer.toml or [tool.pylayer] of pyproject.toml, keyed by option name (e.g. runtime = ["python3.12"], exclude-runtime-provided = true); flags override them.',
    "--mode function writes a function package: the dependencies at the zip root (Lambda's /var/task) and the files of --source, with fixed modes (0644, 0755 for files with an execute bit). Its requirements, pyproject.toml or lock file are looked for in the source folder; a source file named like a dependency's top-level module fails the build.",
    "Only wheels that run on the chosen runtime are considered: manylinux up to the runtime's glibc (2.26 on python3.9–3.11, 2.34 on 3.12+), the right CPU, CPython ABI or abi3. Nothing is built from source, and no Docker, pip or Python is needed.",
  ],
};

export async function run(commandContext: CommandContext): Promise<number> {
  const context = await withProjectDefaults(commandContext, spec);
  const { ui } = context;
  const givenMode = stringOption(context.values, "mode");
  const functionSource = functionSourceFromArgs(context.values, givenMode);
  const mode = givenMode ?? (functionSource === undefined ? "layer" : "function");
  if (mode === "runtime") {
    const { runRuntimeMode } = await import("../runtime-mode.js");
    return runRuntimeMode(context);
  }
  if (mode !== "layer" && mode !== "function") {
    throw usageError(
      `--mode ${mode} is not a mode`,
      "Use --mode layer, --mode function or --mode runtime.",
    );
  }
  const options = buildOptionsFromArgs(context);
  if (functionSource !== undefined) options.function = functionSource;
  const extract = await prepareExtract(context, options);
  const publishName = stringOption(context.values, "publish");
  if (functionSource !== undefined && publishName !== undefined) {
    throw usageError(
      "--publish publishes layers; a function package is deployed as the function's code",
      "Deploy function.zip with your deployment tool (or aws lambda update-function-code --zip-file fileb://function.zip).",
    );
  }
  // Publish settings among the project defaults are fine without --publish; on the
  // command line they are a mistake.
  await checkPublishFlags(publishName === undefined ? commandContext : context, publishName);
  options.onEvent = showBuildEvents(ui);
  const { buildLayer } = await import("../../pipeline/build.js");
  const result = await buildLayer(options).catch(async (error: unknown) => {
    await extract?.discard();
    throw error;
  });
  ui.clearProgress();
  // A zip that fails its check is still written and reported, but the build exits 1 (the
  // layer would not work on the runtime it was built for) and it is not published.
  const checksFailed = (result.checks ?? []).some((check) => !check.ok);
  let extracted: { folder: string; files: number } | undefined;
  let published: Awaited<ReturnType<typeof publishBuiltZips>> | undefined;
  try {
    extracted = extract === undefined || checksFailed ? undefined : await extract.run(result.zips);
    published =
      publishName === undefined || options.dryRun === true || checksFailed
        ? undefined
        : await publishBuiltZips(context, result.zips, publishName);
  } finally {
    await extract?.discard();
  }
  const exitCode = checksFailed ? 1 : (published?.exitCode ?? 0);
  if (ui.json) {
    ui.outJson({
      ...(jsonResult(result, options.dryRun === true) as object),
      ...(extracted === undefined ? {} : { extracted }),
      ...(published === undefined
        ? {}
        : { ok: published.exitCode === 0, publish: published.results.map(publishJson) }),
    });
    return exitCode;
  }
  printResult(context, result, options.dryRun === true);
  if (extracted !== undefined) {
    ui.out(
      `${ui.colors.green("extracted")} ${extracted.files} files into ${shownPath(context.cwd, extracted.folder)}`,
    );
  }
  for (const check of result.checks ?? []) {
    ui.out(
      ui.colors.bold(`check ${shownPath(context.cwd, check.path)} (${check.targets.join(", ")})`),
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

/**
 * `--extract DIR`: checked before the build (DIR an empty or missing folder; not with
 * --dry-run; runtime mode refuses it) and after it (one zip: how many a matrix writes is
 * known once resolved, since one pure-Python zip serves several targets); without `-o` the
 * zip goes to a temporary folder removed after the build.
 */
async function prepareExtract(
  context: CommandContext,
  options: BuildOptions,
): Promise<
  | {
      run(zips: readonly BuiltZip[]): Promise<{ folder: string; files: number }>;
      /** Removes the temporary zip folder (when there is one), whatever became of the build. */
      discard(): Promise<void>;
    }
  | undefined
> {
  const given = stringOption(context.values, "extract");
  if (given === undefined) return undefined;
  if (options.dryRun === true) {
    throw usageError("--extract writes files; --dry-run writes none", "Drop one of the two.");
  }
  const folder = resolve(context.cwd, given);
  const present = await readdir(folder).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    if (error.code === "ENOTDIR") {
      throw usageError(
        `--extract ${given}: not a folder`,
        "Name a folder that is empty or does not exist yet.",
      );
    }
    throw error;
  });
  if (present.length > 0) {
    throw usageError(
      `--extract ${given}: the folder is not empty (${present.length} entries)`,
      "pylayer never deletes files there; empty the folder first, or name a new one.",
    );
  }
  const temporary =
    options.output === undefined ? await mkdtemp(join(tmpdir(), "pylayer-extract-")) : undefined;
  // A folder, not a zip path: a matrix that needs several zips writes them there and is
  // refused below with --extract's own message.
  if (temporary !== undefined) options.output = temporary;
  const discard = async () => {
    if (temporary !== undefined) await rm(temporary, { recursive: true, force: true });
  };
  return {
    discard,
    async run(zips) {
      const [zip, ...others] = zips;
      if (zip === undefined || others.length > 0) {
        throw usageError(
          `--extract needs one zip, and this build wrote ${zips.length}`,
          "Build one target (one --runtime and one --arch) per folder.",
        );
      }
      const { ZipReader, extractZip } = await import("../../zip/index.js");
      const reader = await ZipReader.open(zip.path);
      try {
        await mkdir(folder, { recursive: true });
        return { folder, files: await extractZip(reader, folder) };
      } finally {
        await reader.close();
      }
    },
  };
}

function jsonResult(result: BuildResult, dryRun: boolean): unknown {
  return {
    ok: (result.checks ?? []).every((check) => check.ok),
    dryRun,
    ...(result.plan.input === undefined ? {} : { input: result.plan.input }),
    ...(result.plan.index === undefined ? {} : { index: result.plan.index }),
    targets: result.plan.targets,
    zips: result.zips,
    ...(result.checks === undefined ? {} : { checks: result.checks }),
    ...(result.cache === undefined ? {} : { cache: result.cache }),
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
      ui.out(`would write ${shownPath(context.cwd, output.path)} for ${output.targets.join(", ")}`);
    }
    return;
  }
  for (const zip of result.zips) {
    const shared =
      zip.targets.length > 1 ? ` — one pure-Python zip valid for ${zip.targets.join(", ")}` : "";
    ui.out(
      `${green("wrote")} ${shownPath(context.cwd, zip.path)}  ${formatBytes(zip.size)} (${formatBytes(zip.unzippedSize)} unzipped)${shared}`,
    );
    if (zip.function !== undefined) {
      ui.out(
        dim(
          `  function: ${zip.function.files} source files from ${shownPath(context.cwd, zip.function.source)} (${formatBytes(zip.function.bytes)}), handler ${zip.function.handler}`,
        ),
      );
    }
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
export interface BuiltZip {
  path: string;
  runtimes: string[];
  architectures: string[];
}

/**
 * The layer name of each zip of a build: NAME for a single zip; for a matrix (one zip per
 * runtime and architecture) NAME-py312-arm64 and so on, so that each stays one layer
 * whose newest version is the one to compare with and to attach.
 */
export function layerNamesForBuild(name: string, zips: readonly BuiltZip[]): string[] {
  if (zips.length <= 1) return zips.map(() => name);
  return zips.map((zip) => {
    const runtimes = zip.runtimes.map((runtime) =>
      runtime.replace(/^python(\d+)\.(\d+)$/, "py$1$2"),
    );
    return [name, ...runtimes, ...zip.architectures].join("-");
  });
}

export interface BuildPublishOutcome {
  exitCode: number;
  results: PublishResult[];
}

/** Publishes the zips of a finished build (one after the other; each covers its regions concurrently). */
export async function publishBuiltZips(
  context: CommandContext,
  zips: readonly BuiltZip[],
  name: string,
): Promise<BuildPublishOutcome> {
  quietSdkNodeWarning(context.env);
  const { publishLayer } = await import("../../aws/index.js");
  const names = layerNamesForBuild(name, zips);
  const results: PublishResult[] = [];
  for (const [index, zip] of zips.entries()) {
    results.push(
      await publishLayer({
        zipPath: zip.path,
        name: names[index]!,
        ...publishFlagsFromArgs(context),
        onEvent: showAwsEvents(context.ui),
      }),
    );
  }
  context.ui.clearProgress();
  return { exitCode: results.every((result) => result.ok) ? 0 : 1, results };
}
