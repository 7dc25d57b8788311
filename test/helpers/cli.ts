/** Runs the compiled `pylayer` executable (built by test/global-setup.ts) as a user would. */
import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const PYLAYER_BIN = fileURLToPath(new URL("../../dist/bundle/pylayer.js", import.meta.url));

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export function runCli(
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return runProcess(process.execPath, [PYLAYER_BIN, ...args], options);
}

/** Runs a program to its end, with its output collected (another tool's CLI, e.g. serverless). */
export function runProcess(
  command: string,
  args: string[],
  options: { cwd?: string; env?: NodeJS.ProcessEnv } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

/**
 * A folder holding a `pylayer` executable that runs this repository's built CLI, for
 * tools that call `pylayer` from PATH (Makefiles, CI scripts) as an installed one.
 */
export async function pylayerOnPath(folder: string): Promise<string> {
  const { chmod, mkdir, writeFile } = await import("node:fs/promises");
  const { join } = await import("node:path");
  await mkdir(folder, { recursive: true });
  const script = join(folder, "pylayer");
  await writeFile(
    script,
    `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(PYLAYER_BIN)} "$@"\n`,
  );
  await chmod(script, 0o755);
  return folder;
}

/** `runProcess` with stdout and stderr together in `output` (stdout first), for messages. */
export async function runProgram(
  command: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; output: string }> {
  const result = await runProcess(command, args, options);
  return { code: result.code, output: result.stdout + result.stderr };
}
