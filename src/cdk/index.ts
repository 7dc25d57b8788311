/**
 * `pylayer/cdk`: AWS CDK constructs built on pylayer, without Docker. `PythonFunction` and
 * `PythonLayerVersion` build Python dependencies with pylayer at synth time, named and
 * shaped like `@aws-cdk/aws-lambda-python-alpha`'s, so that switching is one import line;
 * `LayerFactory` deploys the layer factory (builder function, state machine, table). Needs
 * the optional peer dependencies `aws-cdk-lib` and `constructs`; nothing else in pylayer
 * loads them.
 */
export { pythonRuntimeName } from "./bundle.js";
export {
  LayerFactory,
  type LayerFactoryProps,
  RESULTS_PREFIX,
  RETRYABLE_ERRORS,
  SCHEDULED_ITEMS_KEY,
} from "./factory.js";
export { PythonFunction, type PythonFunctionProps } from "./function.js";
export { PythonLayerVersion, type PythonLayerVersionProps } from "./layer.js";
export { type BundlingOptions, buildArguments } from "./options.js";
