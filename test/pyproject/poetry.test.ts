/**
 * Poetry constraints → PEP 440, per Poetry's documentation ("Dependency specification":
 * caret, tilde, wildcard and inequality requirements), as poetry-core applies them.
 */
import { describe, expect, it } from "vitest";
import {
  parsePoetryConstraint,
  poetryConstraintAdmits,
  poetryConstraintToPep440,
  poetryDependencyRequirements,
  poetryPythonMarker,
} from "../../src/pyproject/index.js";

describe("poetryConstraintToPep440", () => {
  it.each([
    // Caret requirements (documented table)
    ["^1.2.3", ">=1.2.3,<2.0.0"],
    ["^1.2", ">=1.2,<2.0"],
    ["^1", ">=1,<2"],
    ["^0.2.3", ">=0.2.3,<0.3.0"],
    ["^0.0.3", ">=0.0.3,<0.0.4"],
    ["^0.0", ">=0.0,<0.1"],
    ["^0", ">=0,<1"],
    ["^1.0.0a1", ">=1.0.0a1,<2.0.0"],
    // Tilde requirements
    ["~1.2.3", ">=1.2.3,<1.3.0"],
    ["~1.2", ">=1.2,<1.3"],
    ["~1", ">=1,<2"],
    // PEP 440 compatible release passes through
    ["~=1.4", "~=1.4"],
    // Wildcards
    ["*", ""],
    ["1.*", ">=1,<2"],
    ["1.2.*", ">=1.2,<1.3"],
    ["==1.2.*", ">=1.2,<1.3"],
    ["!=1.2.*", "!=1.2.*"],
    // Inequalities, several clauses, exact versions
    [">= 1.2.0", ">=1.2.0"],
    [">=1.2, <1.5", ">=1.2,<1.5"],
    [">=1.2 <1.5", ">=1.2,<1.5"],
    ["1.2.3", "==1.2.3"],
    ["=1.2.3", "==1.2.3"],
    ["==1.2.3", "==1.2.3"],
    // Unions PEP 440 can express: a one-version gap becomes !=, touching ranges merge
    [">=1.5.6,<1.5.7 || >1.5.7", ">=1.5.6,!=1.5.7"],
    ["^1.0 || ^2.0", ">=1.0,<3.0"],
    [">=1.0 || <2.0", ""],
  ])("%s → %s", (constraint, expected) => {
    expect(poetryConstraintToPep440(constraint)).toBe(expected);
  });

  it("refuses a union with a real gap", () => {
    expect(() => poetryConstraintToPep440("<1.0 || >=2.0")).toThrow(
      /cannot be written as one PEP 440 specifier/,
    );
  });

  it.each(["^", "^x.y", ">=", "~a"])("refuses %s", (constraint) => {
    expect(() => parsePoetryConstraint(constraint)).toThrow();
  });

  it("tests membership of any union", () => {
    const constraint = parsePoetryConstraint("<1.0 || >=2.0,<3");
    expect(poetryConstraintAdmits(constraint, "0.9")).toBe(true);
    expect(poetryConstraintAdmits(constraint, "1.5")).toBe(false);
    expect(poetryConstraintAdmits(constraint, "2.1")).toBe(true);
    expect(poetryConstraintAdmits(constraint, "3.0")).toBe(false);
  });
});

describe("poetryPythonMarker", () => {
  it.each([
    ["^3.8", 'python_version >= "3.8" and python_version < "4.0"'],
    [">=3.8.1,<4", 'python_full_version >= "3.8.1" and python_version < "4"'],
    [
      "~3.11 || ^3.13",
      '(python_version >= "3.11" and python_version < "3.12") or (python_version >= "3.13" and python_version < "4.0")',
    ],
    ["*", undefined],
  ])("%s → %s", (constraint, marker) => {
    expect(poetryPythonMarker(constraint)).toBe(marker);
  });
});

describe("poetryDependencyRequirements", () => {
  it("translates strings, tables and lists of tables", () => {
    expect(poetryDependencyRequirements("requests", "^2.31", "x")).toEqual([
      { text: "requests>=2.31,<3.0", optional: false },
    ]);
    expect(
      poetryDependencyRequirements(
        "uvicorn",
        {
          version: "~0.30",
          extras: ["standard"],
          markers: "sys_platform == 'linux'",
          python: ">=3.9",
          optional: true,
          source: "private",
        },
        "x",
      ),
    ).toEqual([
      {
        text: "uvicorn[standard]>=0.30,<0.31; (sys_platform == 'linux') and (python_version >= \"3.9\")",
        optional: true,
        source: "private",
      },
    ]);
    expect(
      poetryDependencyRequirements(
        "numpy",
        [
          { version: "1.24", python: "<3.9" },
          { version: "^2", python: ">=3.9" },
        ],
        "x",
      ).map((requirement) => requirement.text),
    ).toEqual(['numpy==1.24; (python_version < "3.9")', 'numpy>=2,<3; (python_version >= "3.9")']);
    expect(poetryDependencyRequirements("tool", { platform: "linux" }, "x")[0]!.text).toBe(
      'tool; sys_platform == "linux"',
    );
  });

  it.each([
    ["git", { git: "https://git.example.com/x/y.git" }],
    ["path", { path: "../lib" }],
    ["url", { url: "https://example.com/x-1.0.tar.gz" }],
    ["file", { file: "dist/x.whl" }],
  ])("refuses %s dependencies", (kind, value) => {
    expect(() => poetryDependencyRequirements("lib", value, "pyproject.toml")).toThrow(
      new RegExp(`lib is a ${kind} dependency`),
    );
  });
});
