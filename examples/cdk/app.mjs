/**
 * A small CDK app whose Python dependencies pylayer builds at `cdk synth`, without Docker:
 * a function with a shared layer, an arm64 function (aarch64 wheels), and a function whose
 * dependencies come from a uv.lock, installed exactly as locked.
 */
import { App, Stack } from "aws-cdk-lib";
import { Architecture, Runtime } from "aws-cdk-lib/aws-lambda";
import { PythonFunction, PythonLayerVersion } from "pylayer/cdk";

const app = new App();
const stack = new Stack(app, "PylayerExample");
const runtime = Runtime.PYTHON_3_12;

// 1. A function with a layer that other functions can share (layers/common/requirements.txt).
//    functions/api has no dependency file of its own: its zip holds index.py alone.
const common = new PythonLayerVersion(stack, "CommonDeps", {
  entry: "layers/common",
  compatibleRuntimes: [runtime],
  compatibleArchitectures: [Architecture.X86_64],
  description: "requests and its dependencies",
});
new PythonFunction(stack, "Api", {
  entry: "functions/api",
  runtime,
  // index.py and handler are the defaults: Lambda's handler is index.handler.
  layers: [common],
});

// 2. An arm64 function: its zip gets the aarch64 wheels of orjson (functions/arm/requirements.txt).
new PythonFunction(stack, "Arm", {
  entry: "functions/arm",
  runtime,
  architecture: Architecture.ARM_64,
});

// 3. A function whose dependencies are locked by uv (functions/dates/uv.lock, found in entry),
//    installed exactly as locked; boto3 and its kin are left to the runtime.
new PythonFunction(stack, "Dates", {
  entry: "functions/dates",
  runtime,
  bundling: { excludeRuntimeProvided: true },
});

app.synth();
