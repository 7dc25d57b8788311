/**
 * `pylayer/cdk`: AWS CDK constructs that build Python dependencies with pylayer at synth
 * time, without Docker. Named and shaped like `@aws-cdk/aws-lambda-python-alpha`'s, so
 * that switching is one import line. Needs the optional peer dependencies `aws-cdk-lib`
 * and `constructs`; nothing else in pylayer loads them.
 */
export { pythonRuntimeName } from "./bundle.js";
export { PythonLayerVersion, type PythonLayerVersionProps } from "./layer.js";
export { type BundlingOptions, buildArguments } from "./options.js";
