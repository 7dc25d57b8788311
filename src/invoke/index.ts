/**
 * `invokeHandler`: run a Lambda handler (`module.function`) once on a local CPython of the
 * runtime's minor version, with layers extracted into an `/opt`-like folder, Lambda's
 * sys.path order, environment variables and context object. `sam local invoke` without
 * Docker, for the host's architecture.
 *
 * Environment variables follow the AWS Lambda developer guide, "Defined runtime
 * environment variables". The timeout starts when the handler is called, as Lambda's does;
 * loading the handler's module (the init phase) has Lambda's own 10-second limit.
 */
import { spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { PylayerError, usageError } from "../errors.js";
import { DEFAULT_HANDLER } from "../function/index.js";
import { decodeManifest, type LayerManifest } from "../layer/index.js";
import { type Architecture, findRuntime } from "../runtime/index.js";
import { extractZip as extractLayer } from "../zip/extract.js";
import { ZipReader } from "../zip/index.js";
import { bootstrapSource } from "./bootstrap.js";
import {
  describeMissingInterpreter,
  findInterpreter,
  hostArchitecture,
  interpreterHint,
  lambdaLibraryPath,
} from "./environment.js";

export { extractZip as extractLayer } from "../zip/extract.js";
export {
  findInterpreter,
  hostArchitecture,
  type Interpreter,
  type InterpreterSearch,
} from "./environment.js";

/** Lambda's limit for the init phase (loading the handler's module), in seconds. */
export const INIT_TIMEOUT_SECONDS = 10;
export const DEFAULT_TIMEOUT_SECONDS = 3;
export const DEFAULT_MEMORY_MB = 128;
/** The account id in the function ARN the context reports, as `sam local` uses. */
const PLACEHOLDER_ACCOUNT = "123456789012";

export interface InvokeOptions {
  /**
   * `module.function`, as Lambda's handler setting (`folder/module.function` works too).
   * With `functionZip`, default the handler its pylayer manifest records, else Lambda's
   * default `lambda_function.lambda_handler`; otherwise required.
   */
  handler?: string;
  runtime: string;
  /** Path of a JSON event file; default `{}`. */
  eventPath?: string;
  /** JSON text of the event (instead of `eventPath`). */
  eventText?: string;
  /** Layer zips in the order Lambda applies them: later ones overwrite earlier ones' files. */
  layers?: string[];
  /** The function code folder (Lambda's /var/task); default the current folder. */
  codeDir?: string;
  /**
   * A function package zip (`pylayer build --mode function`), extracted into a temporary
   * /var/task instead of using `codeDir`.
   */
  functionZip?: string;
  timeoutSeconds?: number;
  memoryMb?: number;
  /** Default `pylayer-local`. */
  functionName?: string;
  /** Default AWS_REGION / AWS_DEFAULT_REGION of the host, else us-east-1. */
  region?: string;
  /** Function environment variables (Lambda's function configuration). */
  environment?: Record<string, string>;
  /** Interpreter to use instead of searching for `python3.X`. */
  python?: string;
  /** The host environment (PATH for finding Python, AWS credentials passed through). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** The function's output (stdout and stderr), as Lambda would log it. */
  onLog?: (text: string) => void;
}

export interface LambdaError {
  errorMessage: string;
  errorType: string;
  requestId?: string;
  stackTrace?: string[];
}

export interface InvokeResult {
  ok: boolean;
  requestId: string;
  /** The response as Lambda returns it: the handler's result, or the error, as JSON text. */
  payload: string;
  error?: LambdaError;
  timedOut: boolean;
  initDurationMs?: number;
  durationMs: number;
  interpreter: string;
  /** Things that make the local run differ from Lambda (other architecture in a layer, …). */
  warnings: string[];
}

/** Host variables passed to the function: AWS credentials and settings, like a real role would give. */
const PASSED_THROUGH =
  /^(AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY|AWS_SESSION_TOKEN|AWS_PROFILE|AWS_CONFIG_FILE|AWS_SHARED_CREDENTIALS_FILE|AWS_CA_BUNDLE|AWS_ENDPOINT_URL(_[A-Z0-9_]+)?|HOME)$/;

export async function invokeHandler(options: InvokeOptions): Promise<InvokeResult> {
  const hostEnv = options.env ?? process.env;
  const cwd = options.cwd ?? process.cwd();
  const runtime = findRuntime(options.runtime);
  const [major, minor] = runtime.python;
  const timeoutSeconds = options.timeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS;
  const memoryMb = options.memoryMb ?? DEFAULT_MEMORY_MB;
  const functionName = options.functionName ?? "pylayer-local";
  const region = options.region ?? hostEnv.AWS_REGION ?? hostEnv.AWS_DEFAULT_REGION ?? "us-east-1";
  const warnings: string[] = [];
  if (options.functionZip !== undefined && options.codeDir !== undefined) {
    throw usageError(
      "give the function code as a folder or as a zip, not both",
      "Pass --code DIR or --function FUNCTION.zip.",
    );
  }
  const functionZip =
    options.functionZip === undefined ? undefined : resolve(cwd, options.functionZip);
  let codeDir = resolve(cwd, options.codeDir ?? ".");
  let handler = options.handler;
  if (functionZip === undefined) {
    try {
      if (!(await stat(codeDir)).isDirectory()) throw new Error("not a folder");
    } catch {
      throw new PylayerError(
        "code-not-found",
        `the function code folder ${codeDir} does not exist`,
        {
          hint: "Pass --code DIR with the folder holding the handler's module.",
        },
      );
    }
  }
  if (handler === undefined && functionZip === undefined) {
    throw usageError(
      "no handler given",
      "Pass --handler MODULE.FUNCTION (e.g. app.handler for def handler(event, context) in app.py).",
    );
  }
  const eventText =
    options.eventText ??
    (options.eventPath === undefined ? "{}" : await readEvent(resolve(cwd, options.eventPath)));
  try {
    JSON.parse(eventText);
  } catch (error) {
    throw new PylayerError(
      "invalid-event",
      // One line: JSON.parse quotes the text it stopped at, line breaks included.
      `the event${options.eventPath === undefined ? "" : ` in ${options.eventPath}`} is not JSON: ${(error as Error).message.replace(/\s+/g, " ")}`,
      { hint: "Lambda events are JSON documents; fix the file or pass another with --event." },
    );
  }

  const search = await findInterpreter(runtime, {
    ...(options.python === undefined ? {} : { explicit: options.python }),
    env: hostEnv,
  });
  if (search.interpreter === undefined) {
    throw new PylayerError("interpreter-not-found", describeMissingInterpreter(runtime, search), {
      hint: interpreterHint(runtime),
    });
  }
  const interpreter = search.interpreter;
  const host = hostArchitecture();
  if (process.platform !== "linux") {
    warnings.push(
      `this machine runs ${process.platform}: Linux extension modules in the layers cannot load here, only pure-Python code runs as on Lambda`,
    );
  }

  const root = await mkdtemp(join(tmpdir(), "pylayer-invoke-"));
  try {
    if (functionZip !== undefined) {
      codeDir = join(root, "var", "task");
      await mkdir(codeDir, { recursive: true });
      const reader = await openZip(functionZip, "the function package");
      try {
        const manifest = decodeManifest(reader.comment);
        handler ??= manifest?.handler ?? DEFAULT_HANDLER;
        if (manifest !== undefined)
          warnings.push(...manifestWarnings(options.functionZip!, manifest, runtime.name, host));
        await extractLayer(reader, codeDir);
      } finally {
        await reader.close();
      }
    }
    const handlerSetting = handler!;
    const optDir = join(root, "opt");
    const runtimeDir = join(root, "var", "runtime");
    await mkdir(optDir, { recursive: true });
    await mkdir(runtimeDir, { recursive: true });
    for (const layer of options.layers ?? []) {
      const layerPath = resolve(cwd, layer);
      const reader = await openZip(layerPath, "the layer");
      try {
        const manifest = decodeManifest(reader.comment);
        if (manifest !== undefined) {
          warnings.push(...manifestWarnings(layer, manifest, runtime.name, host));
        }
        await extractLayer(reader, optDir);
      } finally {
        await reader.close();
      }
    }
    const eventPath = join(root, "event.json");
    await writeFile(eventPath, eventText);

    const requestId = randomUUID();
    const environment = lambdaEnvironment({
      hostEnv,
      functionName,
      memoryMb,
      region,
      runtimeName: runtime.name,
      handler: handlerSetting,
      codeDir,
      optDir,
      runtimeDir,
      requestId,
      extra: options.environment ?? {},
    });
    const pythonPathExtra = (options.environment?.PYTHONPATH ?? "")
      .split(":")
      .filter((entry) => entry !== "");
    const source = bootstrapSource({
      taskRoot: codeDir,
      optDir,
      pythonPathExtra,
      handler: handlerSetting,
      eventPath,
      requestId,
      invokedFunctionArn: `arn:aws:lambda:${region}:${PLACEHOLDER_ACCOUNT}:function:${functionName}`,
      timeoutMs: timeoutSeconds * 1000,
      ensureAscii: major === 3 && minor < 12,
    });
    const log = options.onLog ?? (() => {});
    log(`START RequestId: ${requestId} Version: $LATEST\n`);
    const outcome = await runBootstrap(interpreter.path, source, codeDir, environment, {
      timeoutSeconds,
      requestId,
      log,
    });
    log(`END RequestId: ${requestId}\n`);
    const billed = Math.max(1, Math.ceil(outcome.durationMs));
    log(
      `REPORT RequestId: ${requestId}\tDuration: ${outcome.durationMs.toFixed(2)} ms\tBilled Duration: ${billed} ms\tMemory Size: ${memoryMb} MB${outcome.initDurationMs === undefined ? "" : `\tInit Duration: ${outcome.initDurationMs.toFixed(2)} ms`}\n`,
    );
    return {
      ...outcome,
      ok: outcome.error === undefined,
      requestId,
      interpreter: interpreter.path,
      warnings,
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/** What makes a zip's pylayer manifest disagree with the local run. */
function manifestWarnings(
  shown: string,
  manifest: LayerManifest,
  runtimeName: string,
  host: Architecture | undefined,
): string[] {
  const warnings: string[] = [];
  if (host !== undefined && !manifest.architectures.includes(host)) {
    warnings.push(
      `${shown} was built for ${manifest.architectures.join(", ")}, but this machine is ${host}: its native code will not load here`,
    );
  }
  if (!manifest.runtimes.includes(runtimeName)) {
    warnings.push(`${shown} was built for ${manifest.runtimes.join(", ")}, not ${runtimeName}`);
  }
  return warnings;
}

async function openZip(path: string, what: string): Promise<ZipReader> {
  try {
    return await ZipReader.open(path);
  } catch (error) {
    if (error instanceof PylayerError) throw error;
    throw new PylayerError(
      "zip-not-found",
      `cannot open ${what} ${path}: ${(error as Error).message}`,
      {
        hint: "Check the path; build it with pylayer build.",
        cause: error,
      },
    );
  }
}

async function readEvent(path: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (error) {
    throw new PylayerError("invalid-event", `cannot read the event file ${path}`, {
      cause: error,
      hint: "Pass --event with the path of a JSON file.",
    });
  }
}

function lambdaEnvironment(settings: {
  hostEnv: NodeJS.ProcessEnv;
  functionName: string;
  memoryMb: number;
  region: string;
  runtimeName: string;
  handler: string;
  codeDir: string;
  optDir: string;
  runtimeDir: string;
  requestId: string;
  extra: Record<string, string>;
}): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(settings.hostEnv)) {
    if (PASSED_THROUGH.test(name) && value !== undefined) environment[name] = value;
  }
  const today = new Date().toISOString().slice(0, 10).replaceAll("-", "/");
  Object.assign(environment, {
    _HANDLER: settings.handler,
    _X_AMZN_TRACE_ID: `Root=1-${Math.floor(Date.now() / 1000).toString(16)}-${randomBytes(12).toString("hex")};Parent=${randomBytes(8).toString("hex")};Sampled=0`,
    AWS_REGION: settings.region,
    AWS_DEFAULT_REGION: settings.region,
    AWS_EXECUTION_ENV: `AWS_Lambda_${settings.runtimeName}`,
    AWS_LAMBDA_FUNCTION_NAME: settings.functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(settings.memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: "$LATEST",
    AWS_LAMBDA_INITIALIZATION_TYPE: "on-demand",
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${settings.functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `${today}/[$LATEST]${randomBytes(16).toString("hex")}`,
    LAMBDA_TASK_ROOT: settings.codeDir,
    LAMBDA_RUNTIME_DIR: settings.runtimeDir,
    LANG: "en_US.UTF-8",
    TZ: ":UTC",
    // Lambda's PATH ends with /opt/bin.
    PATH: `${settings.hostEnv.PATH ?? "/usr/local/bin:/usr/bin:/bin"}:${join(settings.optDir, "bin")}`,
    LD_LIBRARY_PATH: lambdaLibraryPath(
      settings.codeDir,
      settings.optDir,
      settings.hostEnv.LD_LIBRARY_PATH,
    ),
  });
  Object.assign(environment, settings.extra);
  return environment;
}

interface BootstrapOutcome {
  payload: string;
  error?: LambdaError;
  timedOut: boolean;
  initDurationMs?: number;
  durationMs: number;
}

function runBootstrap(
  pythonPath: string,
  source: string,
  cwd: string,
  env: NodeJS.ProcessEnv,
  settings: { timeoutSeconds: number; requestId: string; log: (text: string) => void },
): Promise<BootstrapOutcome> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(pythonPath, ["-I", "-S", "-B", "-c", source], {
      cwd,
      env,
      stdio: ["ignore", "pipe", "pipe", "pipe"],
      detached: true,
    });
    const control = child.stdio[3] as NodeJS.ReadableStream;
    child.stdout!.on("data", (chunk: Buffer) => settings.log(chunk.toString("utf8")));
    child.stderr!.on("data", (chunk: Buffer) => settings.log(chunk.toString("utf8")));
    const spawned = performance.now();
    let invokeStarted: number | undefined;
    let initDurationMs: number | undefined;
    let final:
      | { type: "result"; payload: string }
      | { type: "error"; error: LambdaError }
      | undefined;
    let timedOut: "init" | "invoke" | undefined;
    let controlText = "";

    const kill = () => {
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    let timer = setTimeout(() => {
      timedOut = "init";
      kill();
    }, INIT_TIMEOUT_SECONDS * 1000);

    control.on("data", (chunk: Buffer) => {
      controlText += chunk.toString("utf8");
      let newline = controlText.indexOf("\n");
      while (newline !== -1) {
        const line = controlText.slice(0, newline);
        controlText = controlText.slice(newline + 1);
        newline = controlText.indexOf("\n");
        let message: { type: string; durationMs?: number; payload?: string; error?: LambdaError };
        try {
          message = JSON.parse(line);
        } catch {
          continue;
        }
        if (message.type === "init-done") {
          initDurationMs = performance.now() - spawned;
          invokeStarted = performance.now();
          clearTimeout(timer);
          timer = setTimeout(() => {
            timedOut = "invoke";
            kill();
          }, settings.timeoutSeconds * 1000);
        } else if (message.type === "result" && message.payload !== undefined) {
          final = { type: "result", payload: message.payload };
        } else if (message.type === "error" && message.error !== undefined) {
          final = { type: "error", error: message.error };
        }
      }
    });
    child.on("error", (error) => {
      clearTimeout(timer);
      reject(
        new PylayerError("interpreter-failed", `could not start ${pythonPath}: ${error.message}`, {
          hint: "Check the interpreter, or pass another with --python.",
        }),
      );
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const durationMs = performance.now() - (invokeStarted ?? spawned);
      const base = {
        durationMs,
        ...(initDurationMs === undefined ? {} : { initDurationMs }),
      };
      if (final?.type === "result") {
        resolvePromise({ ...base, payload: final.payload, timedOut: false });
        return;
      }
      let error: LambdaError;
      if (final?.type === "error") {
        error = final.error;
      } else if (timedOut !== undefined) {
        const limit = timedOut === "init" ? INIT_TIMEOUT_SECONDS : settings.timeoutSeconds;
        error = {
          errorType: "Sandbox.Timedout",
          errorMessage: `RequestId: ${settings.requestId} Error: ${timedOut === "init" ? "Init" : "Task"} timed out after ${limit.toFixed(2)} seconds`,
        };
        settings.log(
          `${new Date().toISOString()} ${settings.requestId} Task timed out after ${limit.toFixed(2)} seconds\n`,
        );
      } else {
        error = {
          errorType: "Runtime.ExitError",
          errorMessage: `RequestId: ${settings.requestId} Error: Runtime exited ${signal === null ? `with error: exit status ${code}` : `with error: signal: ${signal}`}`,
        };
      }
      if (error.errorType !== "Sandbox.Timedout") {
        const trace =
          error.stackTrace === undefined || error.stackTrace.length === 0
            ? ""
            : `Traceback (most recent call last):\n${error.stackTrace.join("")}`;
        settings.log(`[ERROR] ${error.errorType}: ${error.errorMessage}\n${trace}`);
      }
      resolvePromise({
        ...base,
        payload: JSON.stringify(error),
        error,
        timedOut: timedOut !== undefined,
      });
    });
  });
}
