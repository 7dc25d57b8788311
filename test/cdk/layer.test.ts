/**
 * `PythonLayerVersion` from `pylayer/cdk`: stacks synthesized in-process with aws-cdk-lib and
 * asserted with `Template.fromStack`; the asset in the cloud assembly is compared with what
 * `pylayer build` writes. No `docker` executable is on PATH in this file.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import { PythonLayerVersion, type PythonLayerVersionProps } from "../../src/cdk/index.js";
import { runCli } from "../helpers/cli.js";
import { writeFileIndex } from "../helpers/index-server.js";
import { dockerOnPath } from "../helpers/no-docker.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import { buildWheel } from "../helpers/wheels.js";
import { entryFolder, sha256, synthOne, useSynthEnvironment, zipEntries } from "./synth.js";

useSynthEnvironment();

/** Synthesizes one stack with a layer; returns its template and the layer's asset zip. */
function synthLayer(props: PythonLayerVersionProps) {
  return synthOne("LayerStack", "AWS::Lambda::LayerVersion", (stack) => {
    new PythonLayerVersion(stack, "Deps", props);
  });
}

describe("PythonLayerVersion", () => {
  it("runs with no docker on PATH", () => {
    expect(dockerOnPath(process.env.PATH ?? "")).toBe(false);
  });

  it("synthesizes a layer whose asset is the zip pylayer build writes, with a stable hash", async () => {
    const entry = await entryFolder("greet==1.0\n");
    const props: PythonLayerVersionProps = {
      entry,
      compatibleRuntimes: [Runtime.PYTHON_3_12, Runtime.PYTHON_3_13],
      compatibleArchitectures: [Architecture.X86_64, Architecture.ARM_64],
      description: "greet and colorish",
    };
    const first = await synthLayer(props);
    first.template.hasResourceProperties("AWS::Lambda::LayerVersion", {
      CompatibleRuntimes: ["python3.12", "python3.13"],
      CompatibleArchitectures: ["x86_64", "arm64"],
      Description: "greet and colorish",
    });
    expect(first.s3Key).toMatch(/^[0-9a-f]{64}\.zip$/);

    // The same bytes as the CLI writes for the same inputs (one universal pure-Python zip).
    const cliZip = join(await temporaryFolder(), "layer.zip");
    const cli = await runCli(
      [
        "build",
        "--runtime=python3.12",
        "--runtime=python3.13",
        "--arch=x86_64",
        "--arch=arm64",
        "-o",
        cliZip,
      ],
      { cwd: entry, env: process.env },
    );
    expect(cli.stderr).not.toContain("error");
    expect(cli.code).toBe(0);
    expect(sha256(first.zip)).toBe(sha256(await readFile(cliZip)));
    expect(Object.keys(zipEntries(first.zip))).toContain("python/greet/__init__.py");

    // A second synth of unchanged inputs: the same asset; one pin changed: a new one.
    const second = await synthLayer(props);
    expect(second.s3Key).toBe(first.s3Key);
    await writeFile(join(entry, "requirements.txt"), "greet==1.1\n");
    const changed = await synthLayer(props);
    expect(changed.s3Key).not.toBe(first.s3Key);
  });

  it("gives an arm64 layer aarch64 wheels", async () => {
    const entry = await entryFolder("fastcore==2.0\n");
    const { template, zip } = await synthLayer({
      entry,
      compatibleRuntimes: [Runtime.PYTHON_3_12],
      compatibleArchitectures: [Architecture.ARM_64],
    });
    template.hasResourceProperties("AWS::Lambda::LayerVersion", {
      CompatibleArchitectures: ["arm64"],
    });
    const wheelFile = new TextDecoder().decode(
      zipEntries(zip)["python/fastcore-2.0.dist-info/WHEEL"],
    );
    expect(wheelFile).toContain("Tag: cp312-cp312-manylinux_2_17_aarch64");
  });

  it("takes pylayer's options in bundling (a requirements file, excludes, slim)", async () => {
    const entry = await entryFolder("greet==1.0\n", { "deps/layer.txt": "greet==1.1\n" });
    const { zip } = await synthLayer({
      entry,
      bundling: { requirementFiles: ["deps/layer.txt"], exclude: ["colorish"], slim: true },
    });
    const names = Object.keys(zipEntries(zip));
    expect(names).toContain("python/greet-1.1.dist-info/METADATA");
    expect(names.some((name) => name.startsWith("python/colorish"))).toBe(false);
  });

  it.each([
    ["first-index", "0.9"],
    ["unsafe-best-match", "1.1"],
  ] as const)("passes indexStrategy %s to pylayer: greet %s", async (indexStrategy, version) => {
    // An extra index (asked first) with an older greet: first-index takes greet from it
    // alone; unsafe-best-match consults both and takes the main index's newest.
    const extraIndexUrl = await writeFileIndex(join(await temporaryFolder(), "extra"), [
      buildWheel({ name: "greet", version: "0.9", requires: ["colorish>=0.2"] }),
    ]);
    const { zip } = await synthLayer({
      entry: await entryFolder("greet\n"),
      bundling: { extraIndexUrls: [extraIndexUrl], indexStrategy },
    });
    expect(Object.keys(zipEntries(zip))).toContain(`python/greet-${version}.dist-info/METADATA`);
  });

  it("fails the synth when runtimes need different wheels, with a hint to split the layer", async () => {
    const entry = await entryFolder("fastcore==2.0\n");
    await expect(
      synthLayer({
        entry,
        compatibleRuntimes: [Runtime.PYTHON_3_12],
        compatibleArchitectures: [Architecture.X86_64, Architecture.ARM_64],
      }),
    ).rejects.toThrow(/cdk-several-zips[\s\S]*one PythonLayerVersion per runtime and architecture/);
  });

  it("fails the synth with pylayer's code, message and hint", async () => {
    const entry = await entryFolder("no-such-package==1.0\n");
    const failure = synthLayer({ entry });
    await expect(failure).rejects.toThrow(/Failed to bundle asset LayerStack\/Deps/);
    await expect(failure).rejects.toThrow(/\[[a-z-]+\]: .*no-such-package[\s\S]*hint: /);
  });

  it("refuses a runtime that is not Python, or one pylayer does not build for", async () => {
    const entry = await entryFolder("greet==1.0\n");
    await expect(synthLayer({ entry, compatibleRuntimes: [Runtime.NODEJS_22_X] })).rejects.toThrow(
      "nodejs22.x is not a Python runtime",
    );
    await expect(synthLayer({ entry, compatibleRuntimes: [Runtime.PYTHON_3_8] })).rejects.toThrow(
      "python3.8 is not a runtime pylayer builds for",
    );
  });
});
