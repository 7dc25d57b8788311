/** Which Lambda targets to resolve for: `--runtime` and `--arch`, each repeatable. */
import type { OptionSpec } from "../args.js";

export const TARGET_OPTIONS: Record<string, OptionSpec> = {
  runtime: {
    type: "string",
    multiple: true,
    valueName: "RUNTIME",
    description: "Lambda runtime, python3.9 … python3.14 (default python3.12)",
  },
  arch: {
    type: "string",
    multiple: true,
    valueName: "ARCH",
    description: "x86_64 or arm64 (default x86_64)",
  },
};
