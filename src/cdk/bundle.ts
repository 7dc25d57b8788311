/**
 * Local bundling for the CDK constructs: `Code.fromAsset` whose `tryBundle` runs the
 * `pylayer` executable synchronously (CDK calls it synchronously during synth) and leaves
 * the one deterministic zip pylayer wrote in CDK's output folder, declared as an archive
 * so CDK uploads it as it is. It never returns false: CDK would then try Docker, which
 * pylayer exists to avoid; a failure is thrown as a synth-time error with pylayer's code,
 * message and hint.
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, renameSync, rmSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  AssetHashType,
  BundlingOutput,
  type BundlingOptions as CdkBundlingOptions,
  DockerImage,
  type ILocalBundling,
} from "aws-cdk-lib";
import { type Architecture, Code, type Runtime, RuntimeFamily } from "aws-cdk-lib/aws-lambda";
import type { IConstruct } from "constructs";
import { PylayerError } from "../errors.js";
import { RUNTIMES } from "../runtime/index.js";
import { type BundlingOptions, buildArguments } from "./options.js";

/** The image CDK's types require; never pulled, since local bundling never declines. */
const PLACEHOLDER_IMAGE = "pylayer-local-only";

/** The zip's name in CDK's output folder (fixed: CDK's output hash covers file names). */
const ZIP_NAME = "pylayer.zip";

export interface PylayerCodeOptions {
  /** The construct, named in messages (`PythonFunction Api`). */
  construct: string;
  /** The folder pylayer runs in: where inputs are found and relative paths start. */
  entry: string;
  runtimes: readonly Runtime[];
  architectures: readonly Architecture[];
  bundling?: BundlingOptions;
  /**
   * A function package of `entry` with this handler setting (`build --mode function`);
   * without it, a layer (`build --mode layer`).
   */
  functionHandler?: string;
  /** Advice when the targets need different zips (one construct serves one zip). */
  severalZipsHint: string;
}

/** Bundling options that apply to one kind of zip only, with the advice for the other. */
const LAYER_ONLY: { option: keyof BundlingOptions; hint: string }[] = [
  { option: "layout", hint: "A function package has its dependencies at the zip root." },
  ...(["slim", "slimPatterns", "compile"] as const).map((option) => ({
    option,
    hint: "Put the dependencies in a PythonLayerVersion with this option and add it to the function's layers (its own requirements then stay out of entry).",
  })),
];
const FUNCTION_ONLY: { option: keyof BundlingOptions; hint: string }[] = [
  {
    option: "sourceExclude",
    hint: "A layer has no source files; use exclude to leave packages out.",
  },
];

/** A Lambda `Code` whose asset is the zip `pylayer build` writes for the options. */
export function pylayerCode(options: PylayerCodeOptions): Code {
  const entry = resolve(options.entry);
  if (!existsSync(entry)) {
    throw new PylayerError(
      "cdk-entry-missing",
      `${options.construct}: entry ${entry} does not exist`,
      { hint: "Point entry at the folder that holds the requirements (or lock file) and code." },
    );
  }
  const isFunction = options.functionHandler !== undefined;
  refuseOptions(
    options,
    isFunction ? LAYER_ONLY : FUNCTION_ONLY,
    isFunction ? "layers" : "functions",
  );
  const args = [
    "build",
    ...(isFunction
      ? ["--mode=function", `--source=${entry}`, `--handler=${options.functionHandler}`]
      : ["--mode=layer"]),
    ...options.runtimes.map((runtime) => `--runtime=${pythonRuntimeName(runtime)}`),
    ...options.architectures.map((architecture) => `--arch=${architecture.name}`),
    ...buildArguments(options.bundling),
  ];
  const bundling = options.bundling ?? {};
  const assetHashType =
    bundling.assetHashType ??
    (bundling.assetHash === undefined ? AssetHashType.OUTPUT : AssetHashType.CUSTOM);
  return Code.fromAsset(entry, {
    assetHashType,
    ...(bundling.assetHash === undefined ? {} : { assetHash: bundling.assetHash }),
    bundling: {
      image: DockerImage.fromRegistry(PLACEHOLDER_IMAGE),
      outputType: BundlingOutput.ARCHIVED,
      local: new PylayerBundler(entry, args, bundling.environment ?? {}, options.severalZipsHint),
    },
  });
}

function refuseOptions(
  options: PylayerCodeOptions,
  refused: readonly { option: keyof BundlingOptions; hint: string }[],
  kind: string,
): void {
  for (const { option, hint } of refused) {
    const value = options.bundling?.[option];
    if (value === undefined || value === false || (Array.isArray(value) && value.length === 0)) {
      continue;
    }
    throw new PylayerError(
      "cdk-bundling-option",
      `${options.construct}: bundling.${option} is for ${kind} only`,
      { hint },
    );
  }
}

/** The path a construct will have (`Stack/Id`), for messages thrown before `super()`. */
export function constructPath(scope: IConstruct, id: string): string {
  return scope.node.path === "" ? id : `${scope.node.path}/${id}`;
}

/** The Lambda runtime name of a CDK `Runtime`, refused unless pylayer builds for it. */
export function pythonRuntimeName(runtime: Runtime): string {
  if (runtime.family !== RuntimeFamily.PYTHON) {
    throw new PylayerError("cdk-runtime-not-python", `${runtime.name} is not a Python runtime`, {
      hint: "pylayer builds Python dependencies: use a Python runtime such as Runtime.PYTHON_3_12.",
    });
  }
  if (!RUNTIMES.some((known) => known.name === runtime.name)) {
    throw new PylayerError(
      "cdk-runtime-unknown",
      `${runtime.name} is not a runtime pylayer builds for`,
      { hint: `Use one of ${RUNTIMES.map((known) => known.name).join(", ")}.` },
    );
  }
  return runtime.name;
}

/**
 * The `pylayer` executable of this package: package.json's `bin`, found from this module
 * (dist/cdk/ in the package; the package root is the nearest folder with a package.json).
 */
export function pylayerExecutable(): string {
  let folder = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(folder, "package.json"))) {
    const parent = dirname(folder);
    if (parent === folder) throw new Error("pylayer's package.json not found");
    folder = parent;
  }
  const packageJson = JSON.parse(readFileSync(join(folder, "package.json"), "utf8")) as {
    bin: { pylayer: string };
  };
  return join(folder, packageJson.bin.pylayer);
}

/** What `pylayer build --json` prints (the fields used here). */
interface BuildJson {
  ok: boolean;
  error?: { code: string; message: string; hint?: string };
  zips?: { path: string; targets: string[] }[];
  checks?: {
    path: string;
    ok: boolean;
    findings: { severity: string; code: string; message: string; hint?: string }[];
  }[];
}

class PylayerBundler implements ILocalBundling {
  constructor(
    readonly entry: string,
    readonly args: string[],
    readonly environment: Record<string, string>,
    private readonly severalZipsHint: string,
  ) {}

  tryBundle(outputDir: string, _options: CdkBundlingOptions): boolean {
    // pylayer writes into a folder of its own inside CDK's output folder; the zip is then
    // moved up (same file system) so that the output holds exactly one archive.
    const work = join(outputDir, ".pylayer");
    try {
      const zip = this.build(work);
      renameSync(zip, join(outputDir, ZIP_NAME));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
    return true;
  }

  private build(work: string): string {
    const run = spawnSync(
      process.execPath,
      [pylayerExecutable(), ...this.args, `--output=${work}`, "--json"],
      {
        cwd: this.entry,
        env: { ...process.env, ...this.environment },
        encoding: "utf8",
        maxBuffer: 256 * 1024 * 1024,
      },
    );
    const where = `pylayer build in ${this.entry}`;
    if (run.error !== undefined) {
      throw new PylayerError("cdk-pylayer-failed", `${where} did not run: ${run.error.message}`);
    }
    const result = parseJson(run.stdout);
    if (result?.error !== undefined) {
      const { code, message, hint } = result.error;
      throw new PylayerError(code, withHint(`${where} failed [${code}]: ${message}`, hint), {
        ...(hint === undefined ? {} : { hint }),
      });
    }
    const failedCheck = result?.checks?.find((check) => !check.ok);
    if (failedCheck !== undefined) {
      const errors = failedCheck.findings.filter((finding) => finding.severity === "error");
      throw new PylayerError(
        "check-failed",
        [
          `${where} failed [check-failed]: the check found errors in the zip`,
          ...errors.map(
            (finding) =>
              `  [${finding.code}] ${finding.message}${finding.hint === undefined ? "" : ` (${finding.hint})`}`,
          ),
          "  hint: fix them, or pass bundling: { check: false } to deploy anyway.",
        ].join("\n"),
      );
    }
    if (result === undefined || run.status !== 0 || result.zips === undefined) {
      throw new PylayerError(
        "cdk-pylayer-failed",
        `${where} exited with ${run.status ?? run.signal}: ${run.stderr.trim() || run.stdout.trim()}`,
      );
    }
    if (result.zips.length !== 1) {
      const targets = result.zips.map((zip) => zip.targets.join(", ")).join("; ");
      throw new PylayerError(
        "cdk-several-zips",
        withHint(
          `${where} failed [cdk-several-zips]: the targets need different wheels (${targets}), so no one zip serves them all`,
          this.severalZipsHint,
        ),
        { hint: this.severalZipsHint },
      );
    }
    return result.zips[0]!.path;
  }
}

function parseJson(text: string): BuildJson | undefined {
  try {
    return JSON.parse(text) as BuildJson;
  } catch {
    return undefined;
  }
}

/** CDK reports a bundling error by its message alone, so the hint goes into the message. */
function withHint(message: string, hint: string | undefined): string {
  return hint === undefined ? message : `${message}\n  hint: ${hint}`;
}
