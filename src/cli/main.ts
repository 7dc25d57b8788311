/**
 * The `pylayer` executable. Keeps start-up cheap: only this file and the command
 * table load before a command is chosen; each command module is imported on demand,
 * and heavy libraries (the AWS SDK, …) only inside the commands that use them.
 * This is the only module that calls process.exit.
 */
import { readFileSync } from "node:fs";
import { isPylayerError } from "../errors.js";
import { type CommandSpec, formatHelp, type ParsedValues, parseCommandArgs } from "./args.js";
import { Ui } from "./ui.js";

export interface CommandContext {
  values: ParsedValues;
  positionals: string[];
  ui: Ui;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Index settings of the project's pylayer.toml / [tool.pylayer] (`index-url`,
   * `extra-index-url`, `index-strategy`): configuration-file settings, ranked after flags
   * and the environment (set by `withProjectDefaults`).
   */
  indexConfiguration?: { source: string; values: Record<string, string | boolean | string[]> };
}

export interface CommandModule {
  spec: CommandSpec;
  /** Returns the exit code. */
  run(context: CommandContext): Promise<number>;
}

/** Command name → loader. Summaries are repeated here so `pylayer --help` loads nothing. */
export const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  build: {
    summary: "Resolve requirements and write a Lambda layer zip",
    load: () => import("./commands/build.js"),
  },
  report: {
    summary: "Show what takes the room in a layer zip and what --slim would save",
    load: () => import("./commands/report.js"),
  },
  runtime: {
    summary:
      "Write a dependency archive and pylayer_runtime.py that loads it into /tmp at cold start",
    load: () => import("./commands/runtime.js"),
  },
  targets: {
    summary: "List the Lambda Python runtimes and the wheel tags each accepts",
    load: () => import("./commands/targets.js"),
  },
  check: {
    summary: "Check a layer zip for a runtime: native code, glibc, libraries, imports, sizes",
    load: () => import("./commands/check.js"),
  },
  invoke: {
    summary: "Run a handler locally with layers, in a Lambda-like environment (no Docker)",
    load: () => import("./commands/invoke.js"),
  },
  publish: {
    summary: "Publish a layer zip to one or more AWS regions, skipping unchanged layers",
    load: () => import("./commands/publish.js"),
  },
  layers: {
    summary: "List layers, or prune old versions of one (list | prune)",
    load: () => import("./commands/layers.js"),
  },
  attach: {
    summary: "Put a layer version on Lambda functions, keeping their other layers",
    load: () => import("./commands/attach.js"),
  },
  factory: {
    summary:
      "Plan or run a catalogue of layers × runtimes × archs × regions (local or Step Functions)",
    load: () => import("./commands/factory.js"),
  },
  lock: {
    summary: "Resolve for Lambda targets and write a PEP 751 pylock.toml",
    load: () => import("./commands/lock.js"),
  },
  export: {
    summary: "Write pinned requirements with hashes (for pip)",
    load: () => import("./commands/export.js"),
  },
};

function version(): string {
  const packageJson = JSON.parse(
    readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
  ) as { version: string };
  return packageJson.version;
}

function mainHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((name) => name.length)) + 2;
  return [
    "pylayer — Python dependencies for AWS Lambda, without Docker, pip or Python.",
    "",
    "Usage: pylayer <command> [options]",
    "",
    "Commands:",
    ...Object.entries(COMMANDS).map(
      ([name, command]) => `  ${name.padEnd(width)}${command.summary}`,
    ),
    "",
    "Examples:",
    "  pylayer build requests 'pydantic>=2' --runtime python3.12 --arch arm64 -o layer.zip",
    "  pylayer build -r requirements.txt --runtime python3.11 --runtime python3.12 -o dist/",
    "  pylayer build -r requirements.txt --dry-run --json",
    "  pylayer build -r requirements.txt --runtime python3.12 --publish deps --region us-east-1",
    "",
    'Run "pylayer <command> --help" for the options of a command.',
    "",
  ].join("\n");
}

export async function main(
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  const [commandName, ...rest] = argv;
  if (
    commandName === undefined ||
    commandName === "--help" ||
    commandName === "-h" ||
    commandName === "help"
  ) {
    process.stdout.write(mainHelp());
    return commandName === undefined ? 2 : 0;
  }
  if (commandName === "--version" || commandName === "-V") {
    process.stdout.write(`${version()}\n`);
    return 0;
  }
  const command = COMMANDS[commandName];
  const wantsJson = rest.includes("--json");
  const ui = new Ui({
    json: wantsJson,
    quiet: rest.includes("--quiet") || rest.includes("-q"),
    verbose: false,
    env,
  });
  if (command === undefined) {
    ui.error(
      `unknown command "${commandName}"`,
      'Run "pylayer --help" for the list of commands.',
      "usage",
    );
    return 2;
  }
  try {
    const module = await command.load();
    const { values, positionals } = parseCommandArgs(module.spec, rest);
    if (values.help === true) {
      process.stdout.write(formatHelp(module.spec));
      return 0;
    }
    const commandUi = new Ui({
      json: values.json === true,
      quiet: values.quiet === true,
      verbose: values.verbose === true,
      env,
    });
    return await module.run({ values, positionals, ui: commandUi, env, cwd: process.cwd() });
  } catch (error) {
    return reportError(error, ui);
  }
}

/**
 * A reader that stops early (`pylayer targets --tags | head`) closes the pipe under
 * stdout: the next write fails with EPIPE. Unix tools stop quietly then, so does
 * pylayer: no stack trace, exit 0 (the reader has what it wanted). Same for stderr.
 */
export function exitQuietlyOnClosedPipes(
  streams: readonly NodeJS.WriteStream[] = [process.stdout, process.stderr],
): void {
  for (const stream of streams) {
    stream.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EPIPE") process.exit(0);
      throw error;
    });
  }
}

/** Prints an error (as JSON with --json) and returns its exit code: 1 user-facing, 2 usage/internal. */
export function reportError(error: unknown, ui: Ui): number {
  ui.clearProgress();
  if (isPylayerError(error)) {
    if (ui.json) ui.outJson({ ok: false, error: error.toJSON() });
    else ui.error(error.message, error.hint, error.code);
    return error.exitCode;
  }
  const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (ui.json) ui.outJson({ ok: false, error: { code: "internal", message } });
  else
    ui.error(
      `internal error: ${message}`,
      "This is a bug in pylayer; please report it with the command you ran.",
      "internal",
    );
  return 2;
}
