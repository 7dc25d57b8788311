/** Source builds (sdists, local projects, direct URLs, git): pip's binary rules and the build Python. */
import { usageError } from "../../errors.js";
import type { BuildOptions } from "../../pipeline/index.js";
import {
  booleanOption,
  listOption,
  type OptionSpec,
  type ParsedValues,
  stringOption,
} from "../args.js";

export const SOURCE_BUILD_OPTIONS: Record<string, OptionSpec> = {
  "no-binary": {
    type: "string",
    multiple: true,
    valueName: "PKG|:all:",
    description: "Build these projects from their sdist even when a wheel exists (comma-separated)",
  },
  "only-binary": {
    type: "string",
    multiple: true,
    valueName: "PKG|:all:",
    description:
      "Never build these projects from source (default: an sdist is used only where no compatible wheel exists)",
  },
  "prefer-binary": {
    type: "boolean",
    description:
      "Accepted for pip compatibility: pylayer always prefers an older wheel to a newer sdist",
  },
  "allow-native-sdist": {
    type: "string",
    multiple: true,
    valueName: "PKG|:all:",
    description:
      "Accept compiled code built here from source when this machine (Linux, arch) and the build Python match the runtime; then checked against its glibc",
  },
  "build-python": {
    type: "string",
    valueName: "PATH",
    description:
      "Python that runs build backends (default: python3.X of the runtime, python3, python on PATH)",
  },
  "config-settings": {
    type: "string",
    short: "C",
    multiple: true,
    valueName: "KEY=VALUE",
    description: "Setting passed to build backends (PEP 517 config_settings)",
  },
};

export function sourceBuildOptionsFromArgs(
  values: ParsedValues,
): Pick<
  BuildOptions,
  "noBinary" | "onlyBinary" | "preferBinary" | "allowNativeSdist" | "buildPython" | "configSettings"
> {
  const configSettings: Record<string, string | string[]> = {};
  for (const setting of listOption(values, "config-settings", false)) {
    const equals = setting.indexOf("=");
    if (equals <= 0) {
      throw usageError(
        `--config-settings ${setting} is not KEY=VALUE`,
        "Write --config-settings KEY=VALUE (repeat the flag for several).",
      );
    }
    const key = setting.slice(0, equals);
    const value = setting.slice(equals + 1);
    const previous = configSettings[key];
    // pip's rule: a repeated key collects its values in a list.
    configSettings[key] =
      previous === undefined
        ? value
        : [...(Array.isArray(previous) ? previous : [previous]), value];
  }
  const buildPython = stringOption(values, "build-python");
  return {
    noBinary: listOption(values, "no-binary"),
    onlyBinary: listOption(values, "only-binary"),
    preferBinary: booleanOption(values, "prefer-binary"),
    allowNativeSdist: listOption(values, "allow-native-sdist"),
    ...(buildPython === undefined ? {} : { buildPython }),
    ...(Object.keys(configSettings).length === 0 ? {} : { configSettings }),
  };
}
