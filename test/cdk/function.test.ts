/**
 * `PythonFunction` from `pylayer/cdk`: stacks synthesized in-process with aws-cdk-lib and
 * asserted with `Template.fromStack`; the function's asset in the cloud assembly is compared
 * with what `pylayer build --mode function` writes. No `docker` executable is on PATH.
 */
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { describe, expect, it } from "vitest";
import {
  PythonFunction,
  type PythonFunctionProps,
  PythonLayerVersion,
} from "../../src/cdk/index.js";
import { runCli } from "../helpers/cli.js";
import { dockerOnPath } from "../helpers/no-docker.js";
import { temporaryFolder } from "../helpers/sandbox.js";
import {
  assetOf,
  entryFolder,
  sha256,
  synthOne,
  synthStack,
  useSynthEnvironment,
  zipEntries,
} from "./synth.js";

useSynthEnvironment();

const HANDLER = "def handler(event, context):\n    return event\n";

/** A function folder: `files` (default an index.py with `handler`) and a requirements.txt. */
function functionFolder(
  requirements: string,
  files: Record<string, string> = { "index.py": HANDLER },
) {
  return entryFolder(requirements, files);
}

/** Synthesizes one stack with the function; returns its template and asset. */
function synthFunction(props: PythonFunctionProps) {
  return synthOne("FunctionStack", "AWS::Lambda::Function", (stack) => {
    new PythonFunction(stack, "Fn", props);
  });
}

describe("PythonFunction", () => {
  it("runs with no docker on PATH", () => {
    expect(dockerOnPath(process.env.PATH ?? "")).toBe(false);
  });

  it("synthesizes a function whose asset is the zip pylayer build --mode function writes, with a stable hash", async () => {
    const entry = await functionFolder("greet==1.0\n");
    const props: PythonFunctionProps = { entry, runtime: Runtime.PYTHON_3_12, memorySize: 256 };
    const first = await synthFunction(props);
    first.template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      Runtime: "python3.12",
      MemorySize: 256,
    });
    expect(first.s3Key).toMatch(/^[0-9a-f]{64}\.zip$/);
    const entries = zipEntries(first.zip);
    expect(Object.keys(entries)).toEqual(
      expect.arrayContaining(["index.py", "requirements.txt", "greet/__init__.py"]),
    );
    expect(new TextDecoder().decode(entries["index.py"])).toBe(HANDLER);

    // The same bytes as the CLI writes for the same inputs.
    const cliZip = join(await temporaryFolder(), "function.zip");
    const cli = await runCli(
      [
        "build",
        "--mode",
        "function",
        "--source",
        ".",
        "--handler",
        "index.handler",
        "--runtime",
        "python3.12",
        "-o",
        cliZip,
      ],
      { cwd: entry, env: process.env },
    );
    expect(cli.code, cli.stderr).toBe(0);
    expect(sha256(first.zip)).toBe(sha256(await readFile(cliZip)));

    // A second synth of unchanged inputs: the same asset; one pin changed: a new one.
    const second = await synthFunction(props);
    expect(second.s3Key).toBe(first.s3Key);
    await writeFile(join(entry, "requirements.txt"), "greet==1.1\n");
    const changed = await synthFunction(props);
    expect(changed.s3Key).not.toBe(first.s3Key);
    expect(Object.keys(zipEntries(changed.zip))).toContain("greet-1.1.dist-info/METADATA");
  });

  it("gives an arm64 function aarch64 wheels and takes index and handler as the alpha module does", async () => {
    const entry = await functionFolder("fastcore==2.0\n", {
      "app/__init__.py": "",
      "app/main.py": "def run(event, context):\n    return 1\n",
    });
    const { template, zip } = await synthFunction({
      entry,
      runtime: Runtime.PYTHON_3_12,
      architecture: Architecture.ARM_64,
      index: "app/main.py",
      handler: "run",
    });
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "app.main.run",
      Runtime: "python3.12",
      Architectures: ["arm64"],
    });
    const entries = zipEntries(zip);
    expect(new TextDecoder().decode(entries["fastcore-2.0.dist-info/WHEEL"])).toContain(
      "Tag: cp312-cp312-manylinux_2_17_aarch64",
    );
    expect(Object.keys(entries)).toContain("app/main.py");
  });

  it("runs with layers: the function's Layers and the layer's own asset", async () => {
    const layerEntry = await entryFolder("colorish==0.3\n");
    const entry = await functionFolder("greet==1.0\n");
    const synthesized = await synthStack("FunctionStack", (stack) => {
      const layer = new PythonLayerVersion(stack, "Shared", {
        entry: layerEntry,
        compatibleRuntimes: [Runtime.PYTHON_3_13],
      });
      new PythonFunction(stack, "Fn", {
        entry,
        runtime: Runtime.PYTHON_3_13,
        layers: [layer],
        bundling: { exclude: ["colorish"], sourceExclude: ["requirements.txt"] },
      });
    });
    const { template } = synthesized;
    const [layerId] = Object.keys(template.findResources("AWS::Lambda::LayerVersion"));
    template.hasResourceProperties("AWS::Lambda::Function", {
      Handler: "index.handler",
      Runtime: "python3.13",
      Layers: [{ Ref: layerId }],
    });
    const functionZip = await assetOf(synthesized, "FunctionStack", "AWS::Lambda::Function");
    const functionNames = Object.keys(zipEntries(functionZip.zip));
    expect(functionNames).toContain("greet/__init__.py");
    expect(functionNames.filter((name) => /^(colorish|requirements\.txt)/.test(name))).toEqual([]);
    const layerZip = await assetOf(synthesized, "FunctionStack", "AWS::Lambda::LayerVersion");
    expect(Object.keys(zipEntries(layerZip.zip))).toContain("python/colorish/__init__.py");
  });

  it("fails the synth with pylayer's code, message and hint", async () => {
    // A source module named like a dependency's top-level module.
    const entry = await functionFolder("greet==1.0\n", { "index.py": HANDLER, "greet.py": "" });
    const failure = synthFunction({ entry, runtime: Runtime.PYTHON_3_12 });
    await expect(failure).rejects.toThrow(/Failed to bundle asset FunctionStack\/Fn/);
    await expect(failure).rejects.toThrow(
      /\[source-shadows-dependency\]: .*greet\.py[\s\S]*hint: /,
    );
  });

  it.each([
    [
      "a runtime that is not Python",
      { runtime: Runtime.NODEJS_22_X },
      "nodejs22.x is not a Python runtime",
    ],
    [
      "an index file that does not exist",
      { index: "main.py" },
      /PythonFunction FunctionStack\/Fn: the index file .*main\.py does not exist/,
    ],
    ["an index that is not a .py file", { index: "index.txt" }, "is not a .py file inside entry"],
    [
      "a handler that is not a Python name",
      { handler: "not-a-name" },
      "do not name a Python function (index.not-a-name)",
    ],
    [
      "a layer-only bundling option",
      { bundling: { slim: true } },
      "PythonFunction FunctionStack/Fn: bundling.slim is for layers only",
    ],
  ])("refuses %s before building", async (_case, props, message) => {
    const entry = await functionFolder("greet==1.0\n");
    await expect(
      synthFunction({ entry, runtime: Runtime.PYTHON_3_12, ...props } as PythonFunctionProps),
    ).rejects.toThrow(message);
  });

  it("refuses a function-only bundling option on a layer", async () => {
    const entry = await functionFolder("greet==1.0\n");
    await expect(
      synthStack("LayerStack", (stack) => {
        new PythonLayerVersion(stack, "Deps", { entry, bundling: { sourceExclude: ["tests"] } });
      }),
    ).rejects.toThrow(
      "PythonLayerVersion LayerStack/Deps: bundling.sourceExclude is for functions only",
    );
  });
});
