/** `bundling` options → `pylayer build` arguments, checked against the build command's own parser. */
import { describe, expect, it } from "vitest";
import { buildArguments } from "../../src/cdk/index.js";
import { parseCommandArgs } from "../../src/cli/args.js";
import { spec } from "../../src/cli/commands/build.js";

describe("buildArguments", () => {
  it("maps every option to a flag pylayer build accepts", () => {
    const args = buildArguments({
      requirements: ["greet==1.0", "--not-a-flag"],
      requirementFiles: ["requirements.txt"],
      constraintFiles: ["constraints.txt"],
      pyproject: "pyproject.toml",
      lock: "uv.lock",
      extras: ["s3", "cli"],
      groups: ["lambda"],
      indexUrl: "https://example.invalid/simple/",
      extraIndexUrls: ["https://extra.invalid/simple/"],
      indexStrategy: "unsafe-best-match",
      findLinks: ["wheels"],
      noIndex: true,
      pre: true,
      noBinary: ["pyyaml"],
      onlyBinary: [":all:"],
      preferBinary: true,
      allowNativeSdist: ["pyyaml"],
      buildPython: "/usr/bin/python3.12",
      configSettings: ["--build-option=x"],
      exclude: ["boto3"],
      sourceExclude: ["tests"],
      excludeRuntimeProvided: true,
      layout: "site-packages",
      slim: true,
      slimPatterns: ["*.md"],
      compile: true,
      cacheDir: ".cache",
      noCache: true,
      refresh: true,
      check: false,
      checkImports: true,
      environment: { PIP_INDEX_URL: "https://ignored.invalid/" },
    });
    const { values, positionals } = parseCommandArgs(spec, args);
    expect(positionals).toEqual(["greet==1.0", "--not-a-flag"]);
    expect(values).toMatchObject({
      requirement: ["requirements.txt"],
      constraint: ["constraints.txt"],
      pyproject: "pyproject.toml",
      lock: "uv.lock",
      extra: ["s3", "cli"],
      group: ["lambda"],
      "index-url": "https://example.invalid/simple/",
      "extra-index-url": ["https://extra.invalid/simple/"],
      "index-strategy": "unsafe-best-match",
      "find-links": ["wheels"],
      "no-index": true,
      pre: true,
      "no-binary": ["pyyaml"],
      "only-binary": [":all:"],
      "prefer-binary": true,
      "allow-native-sdist": ["pyyaml"],
      "build-python": "/usr/bin/python3.12",
      "config-settings": ["--build-option=x"],
      exclude: ["boto3"],
      "source-exclude": ["tests"],
      "exclude-runtime-provided": true,
      layout: "site-packages",
      slim: true,
      "slim-pattern": ["*.md"],
      compile: true,
      "cache-dir": ".cache",
      "no-cache": true,
      refresh: true,
      "no-check": true,
      "check-imports": true,
    });
    expect(args.join(" ")).not.toContain("ignored.invalid");
  });

  it("adds nothing for options left out or false", () => {
    expect(buildArguments()).toEqual([]);
    expect(buildArguments({ slim: false, check: true, exclude: [] })).toEqual([]);
  });
});
