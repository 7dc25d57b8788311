/**
 * Reads the flags of a planning command (`build`, `runtime`, `lock`, `export`) into the
 * pipeline's `BuildOptions`. A flag a command does not declare reads as absent.
 */
import { usageError } from "../../errors.js";
import type { IndexStrategy } from "../../index/types.js";
import type { BuildOptions, IndexOptions, LayoutKind } from "../../pipeline/index.js";
import { booleanOption, listOption, positiveNumberOption, stringOption } from "../args.js";
import type { CommandContext } from "../main.js";
import { projectFileOptions } from "./inputs.js";
import { sourceBuildOptionsFromArgs } from "./source-build.js";

export function buildOptionsFromArgs(context: CommandContext): BuildOptions {
  const { values, positionals } = context;
  const layout = stringOption(values, "layout");
  if (layout !== undefined && layout !== "python" && layout !== "site-packages") {
    throw usageError(
      `--layout ${layout} is not a layout`,
      "Use --layout python or --layout site-packages.",
    );
  }
  const indexUrl = stringOption(values, "index-url");
  const cacheDir = stringOption(values, "cache-dir");
  const output = stringOption(values, "output");
  const resolverBudget = positiveNumberOption(values, "resolver-budget", {
    integer: true,
    example: "500000",
  });
  const timeoutSeconds = positiveNumberOption(values, "timeout", { example: "60" });
  const retries = positiveNumberOption(values, "retries", {
    integer: true,
    allowZero: true,
    example: "5",
  });
  return {
    requirements: positionals,
    requirementFiles: listOption(values, "requirement", false),
    constraintFiles: listOption(values, "constraint", false),
    ...projectFileOptions(values),
    runtimes: listOption(values, "runtime"),
    architectures: listOption(values, "arch"),
    ...(output === undefined ? {} : { output }),
    ...(layout === undefined ? {} : { layout: layout as LayoutKind }),
    exclude: listOption(values, "exclude"),
    excludeRuntimeProvided: booleanOption(values, "exclude-runtime-provided"),
    index: {
      ...(indexUrl === undefined ? {} : { indexUrl }),
      extraIndexUrls: listOption(values, "extra-index-url", false),
      findLinks: listOption(values, "find-links", false),
      noIndex: booleanOption(values, "no-index"),
      allowUnreachableIndexes: listOption(values, "allow-unreachable-index", false),
      ...indexStrategyOptions(context),
      ...codeArtifactFromArgs(context),
      ...(timeoutSeconds === undefined ? {} : { timeoutSeconds }),
      ...(retries === undefined ? {} : { retries }),
    },
    pre: booleanOption(values, "pre"),
    upgrade: booleanOption(values, "upgrade"),
    ...(resolverBudget === undefined ? {} : { resolverBudget }),
    ...sourceBuildOptionsFromArgs(values),
    ...(cacheDir === undefined ? {} : { cacheDir }),
    noCache: booleanOption(values, "no-cache"),
    refresh: booleanOption(values, "refresh"),
    dryRun: booleanOption(values, "dry-run"),
    slim: booleanOption(values, "slim"),
    slimPatterns: listOption(values, "slim-pattern", false),
    compile: booleanOption(values, "compile"),
    check: !booleanOption(values, "no-check"),
    checkImports: booleanOption(values, "check-imports"),
    cwd: context.cwd,
    env: context.env,
  };
}

/** index/types.ts's INDEX_STRATEGIES, repeated: this module loads no library code until a command runs. */
const STRATEGIES: readonly string[] = ["first-index", "unsafe-first-match", "unsafe-best-match"];

/** `--index-strategy` and the index settings of the project's configuration file. */
function indexStrategyOptions(
  context: CommandContext,
): Pick<NonNullable<BuildOptions["index"]>, "strategy" | "configuration"> {
  const strategy = stringOption(context.values, "index-strategy");
  if (strategy !== undefined && !STRATEGIES.includes(strategy)) {
    throw usageError(
      `--index-strategy ${strategy} is not a strategy`,
      `Use one of ${STRATEGIES.join(", ")}; first-index, the default, protects against dependency confusion.`,
    );
  }
  const configuration = context.indexConfiguration;
  const text = (value: unknown) => (typeof value === "string" ? value : undefined);
  const list = (value: unknown) =>
    Array.isArray(value) ? value.map(String) : typeof value === "string" ? [value] : undefined;
  const indexUrl = text(configuration?.values["index-url"]);
  const extraIndexUrls = list(configuration?.values["extra-index-url"]);
  const configuredStrategy = text(configuration?.values["index-strategy"]);
  return {
    ...(strategy === undefined ? {} : { strategy: strategy as IndexStrategy }),
    ...(configuration === undefined
      ? {}
      : {
          configuration: {
            source: configuration.source,
            ...(indexUrl === undefined ? {} : { indexUrl }),
            ...(extraIndexUrls === undefined ? {} : { extraIndexUrls }),
            ...(configuredStrategy === undefined
              ? {}
              : { strategy: configuredStrategy as IndexStrategy }),
          },
        }),
  };
}

/** `--codeartifact DOMAIN/REPOSITORY` with its owner and region, and the AWS profile. */
function codeArtifactFromArgs(context: CommandContext): Pick<IndexOptions, "codeArtifact"> {
  const { values } = context;
  const given = stringOption(values, "codeartifact");
  if (given === undefined) {
    for (const name of ["codeartifact-owner", "codeartifact-region"]) {
      if (stringOption(values, name) !== undefined) {
        throw usageError(`--${name} needs --codeartifact`, "Add --codeartifact DOMAIN/REPOSITORY.");
      }
    }
    return {};
  }
  const match = /^([^/\s]+)\/([^/\s]+)$/.exec(given.trim());
  if (match === null) {
    throw usageError(
      `--codeartifact ${given} is not DOMAIN/REPOSITORY`,
      "E.g. --codeartifact my-domain/my-repo.",
    );
  }
  const domainOwner = stringOption(values, "codeartifact-owner");
  const region = stringOption(values, "codeartifact-region");
  const profile = stringOption(values, "profile");
  return {
    codeArtifact: {
      domain: match[1]!,
      repository: match[2]!,
      ...(domainOwner === undefined ? {} : { domainOwner }),
      ...(region === undefined ? {} : { region }),
      aws: { env: context.env, ...(profile === undefined ? {} : { profile }) },
    },
  };
}
