/**
 * The GitHub Action (action.yml at the repository root): its entry point scripts/action.mjs run
 * as the Actions runner runs it — inputs as INPUT_<NAME> variables, outputs appended to the
 * file named by GITHUB_OUTPUT — against a loopback index and the AWS emulator.
 */
import { createHash } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { lambdaClient, motoEnv, uniqueName } from "../aws/moto.js";
import { runProgram } from "../helpers/cli.js";
import { indexForFile } from "../helpers/index-server.js";
import { motoForFile } from "../helpers/moto.js";
import { isolatedEnv, temporaryFolder } from "../helpers/sandbox.js";
import { requestsWheels } from "./fixtures.js";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = join(root, "scripts", "action.mjs");
const moto = await motoForFile();
const server = await indexForFile(requestsWheels());

/** `name=value` lines of a GITHUB_OUTPUT file. */
async function readOutputs(path: string): Promise<Record<string, string>> {
  const text = await readFile(path, "utf8");
  return Object.fromEntries(
    text
      .split("\n")
      .filter((line) => line.includes("="))
      .map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]),
  );
}

async function runAction(inputs: Record<string, string>, extraEnv: NodeJS.ProcessEnv = {}) {
  const home = await temporaryFolder();
  const workspace = await temporaryFolder();
  await writeFile(join(workspace, "requirements.txt"), "requests>=2.31\n");
  const outputFile = join(home, "github-output");
  await writeFile(outputFile, "");
  const env: NodeJS.ProcessEnv = {
    ...isolatedEnv(home, { PIP_INDEX_URL: server.url, NO_COLOR: "1" }),
    ...extraEnv,
    GITHUB_OUTPUT: outputFile,
    ...Object.fromEntries(
      Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]),
    ),
  };
  const result = await runProgram(process.execPath, [entry], { cwd: workspace, env });
  return { result, outputs: await readOutputs(outputFile), workspace };
}

describe("the GitHub Action's entry point", () => {
  it("declares in action.yml every input the entry point reads, each passed as INPUT_<NAME>", async () => {
    const action = await readFile(join(root, "action.yml"), "utf8");
    const script = await readFile(entry, "utf8");
    const inputsSection = action.slice(action.indexOf("\ninputs:"), action.indexOf("\noutputs:"));
    const declared = [...inputsSection.matchAll(/^ {2}([a-z-]+):$/gm)].map((match) => match[1]);
    const read = [...script.matchAll(/^ {2}\["([a-z-]+)", /gm)].map((match) => match[1]);
    expect(declared.sort()).toEqual(["working-directory", ...read].sort());
    for (const name of declared) {
      expect(action).toContain(`INPUT_${name!.toUpperCase()}: \${{ inputs.${name} }}`);
    }
    for (const output of ["zip-path", "sha256", "code-sha256", "layer-version-arns"]) {
      expect(action).toContain(`steps.pylayer.outputs.${output} }}`);
    }
  });

  it("builds and checks a layer; outputs the zip path and its hashes", async () => {
    const { result, outputs, workspace } = await runAction({
      "requirement-files": "requirements.txt",
      runtime: "python3.12",
      arch: "arm64",
      output: "build/layer.zip",
      slim: "false",
    });
    expect(result.code, result.output).toBe(0);
    expect(outputs["zip-path"]).toBe(join(workspace, "build", "layer.zip"));
    const bytes = await readFile(join(workspace, "build", "layer.zip"));
    expect(outputs.sha256).toBe(createHash("sha256").update(bytes).digest("hex"));
    expect(outputs["code-sha256"]).toBe(createHash("sha256").update(bytes).digest("base64"));
    expect(JSON.parse(outputs.zips ?? "[]")).toHaveLength(1);
    expect(outputs["layer-version-arns"]).toBe("{}");
  });

  it("refuses an input that is not true/false for a switch, before building", async () => {
    const { result, outputs } = await runAction({ requirements: "requests", slim: "yes please" });
    expect(result.code).toBe(2);
    expect(result.output).toContain("input slim must be true or false");
    expect(outputs).toEqual({});
  });

  it("exits 1 with the CLI's error as an annotation when the build fails", async () => {
    const { result } = await runAction({ requirements: "no-such-project" });
    expect(result.code).toBe(1);
    expect(result.output).toContain("::error::pylayer project-not-found");
  });

  it.skipIf(moto === undefined)(
    "publishes to two regions of the AWS emulator and outputs one layer version ARN per region",
    async () => {
      const name = uniqueName("pylayer-action");
      const { result, outputs } = await runAction(
        {
          requirements: "requests",
          runtime: "python3.12",
          publish: name,
          region: "us-east-1\neu-west-1",
        },
        motoEnv(moto!.endpoint),
      );
      expect(result.code, result.output).toBe(0);
      const arns = JSON.parse(outputs["layer-version-arns"] ?? "{}") as Record<string, string>;
      expect(Object.keys(arns).sort()).toEqual(["eu-west-1", "us-east-1"]);
      expect(arns["eu-west-1"]).toMatch(
        new RegExp(`^arn:aws:lambda:eu-west-1:\\d+:layer:${name}:1$`),
      );
      expect(outputs["layer-version-arn"]).toBe(arns["us-east-1"]);
      const layers = await lambdaClient(moto!.endpoint, "eu-west-1").send(
        new (await import("@aws-sdk/client-lambda")).ListLayerVersionsCommand({ LayerName: name }),
      );
      expect(layers.LayerVersions?.[0]?.LayerVersionArn).toBe(arns["eu-west-1"]);
    },
  );
});
