/** `PythonLayerVersion`: a Lambda layer of Python dependencies built by pylayer at synth time. */
import {
  Architecture,
  LayerVersion,
  type LayerVersionOptions,
  Runtime,
} from "aws-cdk-lib/aws-lambda";
import type { Construct } from "constructs";
import { constructPath, pylayerCode } from "./bundle.js";
import type { BundlingOptions } from "./options.js";

/** Props shaped like `@aws-cdk/aws-lambda-python-alpha`'s `PythonLayerVersionProps`. */
export interface PythonLayerVersionProps extends LayerVersionOptions {
  /** The folder with the dependency input (requirements.txt, pyproject.toml or a lock file). */
  readonly entry: string;
  /**
   * Runtimes the layer serves (default `[Runtime.PYTHON_3_12]`). Several runtimes share
   * one zip when every wheel is pure Python; otherwise make one layer per runtime.
   */
  readonly compatibleRuntimes?: Runtime[];
  /**
   * Architectures the layer serves (default `[Architecture.X86_64]`). Wheels are chosen for
   * each one; both share one zip only when every wheel is pure Python.
   */
  readonly compatibleArchitectures?: Architecture[];
  /** pylayer's build options. */
  readonly bundling?: BundlingOptions;
}

export class PythonLayerVersion extends LayerVersion {
  constructor(scope: Construct, id: string, props: PythonLayerVersionProps) {
    const { entry, bundling, ...layerOptions } = props;
    const compatibleRuntimes = props.compatibleRuntimes ?? [Runtime.PYTHON_3_12];
    const compatibleArchitectures = props.compatibleArchitectures ?? [Architecture.X86_64];
    super(scope, id, {
      ...layerOptions,
      compatibleRuntimes,
      compatibleArchitectures,
      code: pylayerCode({
        construct: `PythonLayerVersion ${constructPath(scope, id)}`,
        entry,
        runtimes: compatibleRuntimes,
        architectures: compatibleArchitectures,
        ...(bundling === undefined ? {} : { bundling }),
        severalZipsHint:
          "Make one PythonLayerVersion per runtime and architecture (each gets the wheels built for it), or depend only on pure-Python packages.",
      }),
    });
  }
}
