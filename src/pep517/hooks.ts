/**
 * Calling PEP 517 hooks: each call runs `hook_runner.py` in a fresh subprocess of the build
 * Python, in the source tree, with `site` disabled (`-S -s`) so that only the isolated
 * build environment (added with `site.addsitedir`, which honours its `.pth` files) and the
 * standard library are importable. The backend's output goes to one log file; the result
 * comes back through a JSON file, never through stdout.
 */
import { spawn } from "node:child_process";
import { open, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pythonSource } from "../python-sources.js";
import type { BuildPython } from "./python.js";

export interface HookCall {
  python: BuildPython;
  /** The source tree (the hook's working folder). */
  sourceTree: string;
  /** Folders of installed build requirements. */
  site: string[];
  /** `module:object` of `[build-system].build-backend`. */
  backend: string;
  /** `[build-system].backend-path`, relative to the source tree. */
  backendPath: string[];
  hook: "get_requires_for_build_wheel" | "build_wheel" | "prepare_metadata_for_build_wheel";
  kwargs: Record<string, unknown>;
  /** A scratch folder for the request and response files. */
  controlFolder: string;
  /** Appended to with the hook's stdout and stderr. */
  logPath: string;
  env: NodeJS.ProcessEnv;
}

export type HookResult =
  | { kind: "return"; value: unknown }
  | { kind: "unsupported" }
  | { kind: "backend-unavailable" | "backend-invalid"; traceback: string }
  | { kind: "failed"; exitCode: number | null; signal: string | null };

export async function callHook(call: HookCall): Promise<HookResult> {
  const input = join(call.controlFolder, "input.json");
  const output = join(call.controlFolder, "output.json");
  const runner = join(call.controlFolder, "pylayer_hook_runner.py");
  await rm(output, { force: true });
  await writeFile(runner, pythonSource("pep517/hook_runner.py"));
  await writeFile(
    input,
    JSON.stringify({
      site: call.site,
      backend: call.backend,
      backend_path: call.backendPath.map((entry) => join(call.sourceTree, entry)),
      hook: call.hook,
      kwargs: call.kwargs,
    }),
  );
  const log = await open(call.logPath, "a");
  try {
    await log.write(`\n$ ${call.hook} (${call.backend})\n`);
    const { exitCode, signal } = await new Promise<{
      exitCode: number | null;
      signal: string | null;
    }>((resolveExit, reject) => {
      const child = spawn(call.python.path, ["-S", "-s", "-u", runner, call.controlFolder], {
        cwd: call.sourceTree,
        env: {
          ...call.env,
          PYTHONPATH: "",
          PYTHONNOUSERSITE: "1",
          PYTHONDONTWRITEBYTECODE: "1",
          PIP_NO_INPUT: "1",
          SOURCE_DATE_EPOCH: call.env.SOURCE_DATE_EPOCH ?? "315532800",
        },
        stdio: ["ignore", log.fd, log.fd],
      });
      child.on("error", reject);
      child.on("close", (code, signalName) => resolveExit({ exitCode: code, signal: signalName }));
    });
    if (exitCode !== 0) return { kind: "failed", exitCode, signal };
  } finally {
    await log.close();
  }
  const response = JSON.parse(await readFile(output, "utf8")) as {
    return?: unknown;
    unsupported?: boolean;
    error?: "backend-unavailable" | "backend-invalid";
    traceback?: string;
  };
  if (response.error !== undefined) {
    return { kind: response.error, traceback: response.traceback ?? "" };
  }
  if (response.unsupported === true) return { kind: "unsupported" };
  return { kind: "return", value: response.return };
}
