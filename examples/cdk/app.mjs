/**
 * A small CDK app whose Python dependencies pylayer builds at `cdk synth`, without Docker:
 * a function with a shared layer, an arm64 function (aarch64 wheels), and a function whose
 * dependencies come from a uv.lock, installed exactly as locked.
 */
import { App, Stack } from "aws-cdk-lib";
import { Architecture, Code, Function as LambdaFunction, Runtime } from "aws-cdk-lib/aws-lambda";
import { PythonLayerVersion } from "pylayer/cdk";

const app = new App();
const stack = new Stack(app, "PylayerExample");
const runtime = Runtime.PYTHON_3_12;
// The function folders hold the code; their dependency files go into the layers.
const code = (folder) =>
  Code.fromAsset(folder, { exclude: ["requirements.txt", "pyproject.toml", "uv.lock"] });

// 1. A function with a layer shared by other functions (requirements.txt).
const common = new PythonLayerVersion(stack, "CommonDeps", {
  entry: "layers/common",
  compatibleRuntimes: [runtime],
  compatibleArchitectures: [Architecture.X86_64],
  description: "requests and its dependencies",
});
new LambdaFunction(stack, "Api", {
  runtime,
  code: code("functions/api"),
  handler: "index.handler",
  layers: [common],
});

// 2. An arm64 function: its layer gets the aarch64 wheels of orjson.
new LambdaFunction(stack, "Arm", {
  runtime,
  architecture: Architecture.ARM_64,
  code: code("functions/arm"),
  handler: "index.handler",
  layers: [
    new PythonLayerVersion(stack, "ArmDeps", {
      entry: "functions/arm",
      compatibleRuntimes: [runtime],
      compatibleArchitectures: [Architecture.ARM_64],
    }),
  ],
});

// 3. A function whose dependencies are locked by uv (uv.lock found in the entry folder).
new LambdaFunction(stack, "Dates", {
  runtime,
  code: code("functions/dates"),
  handler: "index.handler",
  layers: [
    new PythonLayerVersion(stack, "DatesDeps", {
      entry: "functions/dates",
      compatibleRuntimes: [runtime],
      bundling: { excludeRuntimeProvided: true },
    }),
  ],
});

app.synth();
