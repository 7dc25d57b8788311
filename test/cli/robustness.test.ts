/**
 * The command line as a Unix tool (issue 18, points 11, 12, 13, 16): a closed pipe ends it
 * quietly, the installed bin stays executable, progress lines fit the terminal, and an
 * error's code stays at the end of its line.
 */
import { spawn } from "node:child_process";
import { constants } from "node:fs";
import { access, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { fitToWidth, Ui } from "../../src/cli/ui.js";
import { PYLAYER_BIN, runCli } from "../helpers/cli.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";

/** Runs pylayer with a reader that takes the first chunk of stdout and closes the pipe, as `| head -1` does. */
function runIntoClosingReader(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [PYLAYER_BIN, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.stdout.once("data", () => child.stdout.destroy());
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("a reader that closes the pipe early (point 11)", () => {
  it.each([[["targets", "--tags"]], [["targets", "--tags", "--json"]]])(
    "pylayer %j | head -1 ends quietly with exit 0",
    async (args) => {
      const result = await runIntoClosingReader(args);
      expect(result.stderr).not.toContain("EPIPE");
      expect(result.stderr).toBe("");
      expect(result.code).toBe(0);
    },
  );
});

describe("the installed executable (point 12)", () => {
  it("stays executable after the build (the bundle writes it anew each time)", async () => {
    const mode = (await stat(PYLAYER_BIN)).mode;
    expect(mode & 0o111).toBe(0o111);
    await expect(access(PYLAYER_BIN, constants.X_OK)).resolves.toBeUndefined();
  });
});

describe("progress lines fit the terminal (point 13)", () => {
  const upload =
    "eu-central-1: uploading to s3://my-company-artifacts-eu-central-1/pylayer/layers/data-science-stack/5f3c2a9e8d7b6a5f4e3d2c1b0a9f8e7d.zip 57%";

  it.each([120, 80, 60, 40])("an S3 upload line in %i columns keeps its percentage", (width) => {
    expect(upload.length).toBeGreaterThan(120);
    const fitted = fitToWidth(upload, width);
    expect(fitted.length).toBeLessThanOrEqual(width);
    expect(fitted.endsWith(" 57%")).toBe(true);
    expect(fitted.startsWith("eu-central-1: uploading to s3")).toBe(true);
    expect(fitted).toContain("…");
  });

  it("keeps every number of a download line and leaves short lines alone", () => {
    const line =
      "Downloading 3/12 wheels, 12.5/80.0 MiB: scipy-1.14.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl";
    const fitted = fitToWidth(line, 60);
    expect(fitted.length).toBeLessThanOrEqual(60);
    expect(fitted).toContain("3/12");
    expect(fitted).toContain("12.5/80.0 MiB");
    expect(fitToWidth("Resolving… 3 requests", 80)).toBe("Resolving… 3 requests");
  });

  it("draws the fitted line on a TTY of the terminal's width", () => {
    const chunks: string[] = [];
    const stderr = { isTTY: true, columns: 100, write: (text: string) => chunks.push(text) };
    const ui = new Ui({
      json: false,
      quiet: false,
      verbose: false,
      stderr,
      env: { NO_COLOR: "1" },
    });
    ui.progress(upload);
    const drawn = (chunks[0] ?? "").replace("\r\u001b[2K", "");
    expect(drawn.length).toBeLessThan(100);
    expect(drawn.endsWith("57%")).toBe(true);
    ui.clearProgress();
  });
});

describe("an error's code ends its line (point 16)", () => {
  it("a non-JSON event spanning lines is reported on one line ending in [invalid-event]", async () => {
    const folder = await temporaryFolder();
    await writeFile(join(folder, "handler.py"), "def handler(event, context):\n    return 1\n");
    await writeFile(join(folder, "event.json"), "hello\nworld\n");
    const result = await runCli(
      ["invoke", "handler.handler", "--runtime", "python3.11", "--event", "event.json"],
      { cwd: folder, env: isolatedEnv(folder) },
    );
    expect(result.code).toBe(1);
    const errorLine = result.stderr.split("\n").find((line) => line.startsWith("error:"));
    expect(errorLine).toMatch(
      /^error: the event in event\.json is not JSON: .* \[invalid-event\]$/,
    );
    expect(result.stderr).toContain("hint:");
  });
});
