/** `pylayer invoke`: run a handler locally in a Lambda-like environment, without Docker. */

import { usageError } from "../../errors.js";
import type { InvokeOptions } from "../../invoke/index.js";
import { type CommandSpec, listOption, positiveNumberOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";

export const spec: CommandSpec = {
  name: "invoke",
  summary:
    "Run a Lambda handler on the local Python of the runtime's version, with layers in /opt order, Lambda's sys.path, environment and context.",
  usage: [
    "invoke HANDLER --runtime R [--event FILE] [--layer LAYER.zip]... [--code DIR] [--timeout S]",
    "invoke [HANDLER] --function FUNCTION.zip --runtime R [--event FILE] [--layer LAYER.zip]...",
  ],
  positionals: "[HANDLER]",
  options: {
    runtime: {
      type: "string",
      valueName: "RUNTIME",
      description: "Lambda runtime, python3.9 … python3.14 (needs that Python locally)",
    },
    event: {
      type: "string",
      valueName: "FILE",
      description: "JSON event file, or - for standard input (default {})",
    },
    layer: {
      type: "string",
      multiple: true,
      valueName: "ZIP",
      description: "Layer zip, in the function's layer order (later ones win)",
    },
    code: {
      type: "string",
      valueName: "DIR",
      description: "Function code folder, Lambda's /var/task (default: current folder)",
    },
    function: {
      type: "string",
      valueName: "ZIP",
      description:
        "Function package (pylayer build --mode function), extracted as /var/task instead of --code; HANDLER defaults to the one it was built with",
    },
    timeout: {
      type: "string",
      valueName: "SECONDS",
      description: "Function timeout (default 3, as Lambda's)",
    },
    memory: {
      type: "string",
      valueName: "MB",
      description: "Memory size the context reports (default 128; not enforced)",
    },
    "function-name": {
      type: "string",
      valueName: "NAME",
      description: "Function name for the context and environment (default pylayer-local)",
    },
    region: {
      type: "string",
      valueName: "REGION",
      description: "AWS_REGION (default: the host's, else us-east-1)",
    },
    env: {
      type: "string",
      multiple: true,
      valueName: "KEY=VALUE",
      description: "Function environment variable",
    },
    python: {
      type: "string",
      valueName: "PATH",
      description: "Interpreter to use (default: python3.X on PATH, pyenv or uv)",
    },
  },
  examples: [
    "pylayer invoke app.handler --runtime python3.12 --event event.json --layer layer.zip",
    "pylayer invoke src/app.handler --runtime python3.11 --layer deps.zip --layer tools.zip --timeout 10",
    'echo \'{"name": "x"}\' | pylayer invoke app.handler --runtime python3.12 --event -',
    "pylayer invoke --function function.zip --layer layer.zip --runtime python3.12 --event event.json",
  ],
  notes: [
    "The handler's result is printed on stdout as JSON; its logs (print, logging) go to stderr. When the handler raises or times out, the error is printed on stdout in Lambda's shape (errorMessage, errorType, stackTrace) and the exit status is 1.",
    "Runs on this machine's architecture; native code in the layers must match it. Nothing is sent to AWS.",
  ],
};

async function readStandardInput(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

export async function run(context: CommandContext): Promise<number> {
  const { ui, values, positionals } = context;
  const functionZip = stringOption(values, "function");
  if (positionals.length > 1 || (positionals.length === 0 && functionZip === undefined)) {
    throw usageError(
      positionals.length === 0 ? "no handler given" : "invoke takes one handler",
      "Usage: pylayer invoke module.function --runtime python3.X [--event FILE], or pylayer invoke --function function.zip --runtime python3.X",
    );
  }
  const runtime = stringOption(values, "runtime");
  if (runtime === undefined) {
    throw usageError(
      "invoke needs --runtime",
      "Pass the function's runtime, e.g. --runtime python3.12.",
    );
  }
  const environment: Record<string, string> = {};
  for (const item of listOption(values, "env", false)) {
    const equals = item.indexOf("=");
    if (equals <= 0)
      throw usageError(`--env ${item} is not KEY=VALUE`, "Use e.g. --env STAGE=dev.");
    environment[item.slice(0, equals)] = item.slice(equals + 1);
  }
  const event = stringOption(values, "event");
  const timeoutSeconds = positiveNumberOption(values, "timeout", { example: "10" });
  const memoryMb = positiveNumberOption(values, "memory", { example: "10" });
  const options: InvokeOptions = {
    ...(positionals[0] === undefined ? {} : { handler: positionals[0] }),
    ...(functionZip === undefined ? {} : { functionZip }),
    runtime,
    layers: listOption(values, "layer", false),
    environment,
    env: context.env,
    cwd: context.cwd,
    onLog: (text) => process.stderr.write(text),
  };
  if (event === "-") options.eventText = await readStandardInput();
  else if (event !== undefined) options.eventPath = event;
  const code = stringOption(values, "code");
  if (code !== undefined) options.codeDir = code;
  if (timeoutSeconds !== undefined) options.timeoutSeconds = timeoutSeconds;
  if (memoryMb !== undefined) options.memoryMb = Math.round(memoryMb);
  const functionName = stringOption(values, "function-name");
  if (functionName !== undefined) options.functionName = functionName;
  const region = stringOption(values, "region");
  if (region !== undefined) options.region = region;
  const python = stringOption(values, "python");
  if (python !== undefined) options.python = python;

  const { invokeHandler } = await import("../../invoke/index.js");
  const result = await invokeHandler(options);
  for (const warning of result.warnings) ui.warn(warning);
  if (ui.json) {
    ui.outJson({
      ok: result.ok,
      requestId: result.requestId,
      ...(result.ok ? { response: JSON.parse(result.payload) } : { error: result.error }),
      timedOut: result.timedOut,
      durationMs: Math.round(result.durationMs * 100) / 100,
      ...(result.initDurationMs === undefined
        ? {}
        : { initDurationMs: Math.round(result.initDurationMs * 100) / 100 }),
      interpreter: result.interpreter,
    });
  } else {
    process.stdout.write(`${result.payload}\n`);
  }
  return result.ok ? 0 : 1;
}
