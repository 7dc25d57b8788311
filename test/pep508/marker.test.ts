// Environment markers: the "Dependency specifiers" specification (originally PEP 508;
// "Environment Markers", "Marker comparisons", "Complete Grammar") and packaging's
// tests/test_markers.py. marker-evaluation.golden.json holds results computed by hand with
// packaging 26.2's Marker.evaluate on the Lambda marker environments.
import { describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import {
  evaluateMarker,
  type Marker,
  markerToString,
  parseMarker,
} from "../../src/pep508/index.js";
import { type MarkerEnvironment, makeTarget, markerEnvironment } from "../../src/runtime/index.js";
import golden from "./marker-evaluation.golden.json" with { type: "json" };

function environmentOf(targetId: string, overrides: Partial<MarkerEnvironment> = {}) {
  const separator = targetId.lastIndexOf("-");
  const target = makeTarget(targetId.slice(0, separator), targetId.slice(separator + 1));
  return { ...markerEnvironment(target), ...overrides };
}

describe("parseMarker and markerToString", () => {
  it.each([
    // Quoting rules: double quotes unless the value holds one.
    ["python_version == '2.7'", 'python_version == "2.7"'],
    ['python_version == "2.7"', 'python_version == "2.7"'],
    [
      '\'a" == os_name or python_version >= "0" or "b\' == os_name',
      '\'a" == os_name or python_version >= "0" or "b\' == os_name',
    ],
    ["python_version=='2.7'and os_name=='linux'", 'python_version == "2.7" and os_name == "linux"'],
    [
      'python_version == "2.7" and os_name == "linux" or sys_platform == "win32"',
      'python_version == "2.7" and os_name == "linux" or sys_platform == "win32"',
    ],
    // Parentheses only where an `or` sits inside an `and`.
    ['(python_version == "2.7")', 'python_version == "2.7"'],
    ['((python_version == "2.7"))', 'python_version == "2.7"'],
    [
      '(python_version == "2.7" and sys_platform == "win32")',
      'python_version == "2.7" and sys_platform == "win32"',
    ],
    [
      'python_version == "2.7" and (sys_platform == "win32" or sys_platform == "linux")',
      'python_version == "2.7" and (sys_platform == "win32" or sys_platform == "linux")',
    ],
    [
      '(os_name == "a" and os_name == "b") or (os_name == "c" and os_name == "d")',
      'os_name == "a" and os_name == "b" or os_name == "c" and os_name == "d"',
    ],
    [
      'os_name == "a" or (os_name == "b" or os_name == "c")',
      'os_name == "a" or os_name == "b" or os_name == "c"',
    ],
    [
      "( os_name == 'a' or os_name == 'b' ) and ( os_name == 'c' or os_name == 'd' )",
      '(os_name == "a" or os_name == "b") and (os_name == "c" or os_name == "d")',
    ],
    // Legacy names become PEP 508 names (as packaging reads them).
    ["os.name == 'posix'", 'os_name == "posix"'],
    ["sys.platform == 'linux'", 'sys_platform == "linux"'],
    ["platform.version in 'Ubuntu'", 'platform_version in "Ubuntu"'],
    ["platform.machine=='x86_64'", 'platform_machine == "x86_64"'],
    ["platform.python_implementation=='Jython'", 'platform_python_implementation == "Jython"'],
    ["python_implementation == 'PyPy'", 'platform_python_implementation == "PyPy"'],
    // Operators.
    ["'3.6' not   in python_version", '"3.6" not in python_version'],
    ["python_version~='3.6'", 'python_version ~= "3.6"'],
    ["implementation_version==='3.6'", 'implementation_version === "3.6"'],
    ["'3.6'in python_version", '"3.6" in python_version'],
    // Extra literals are PEP 685-normalized on either side; other comparisons are not.
    ["extra == 'S_P__A_M'", 'extra == "s-p-a-m"'],
    ["'S_P__A_M' == extra", '"s-p-a-m" == extra'],
    ["'S_P__A_M' in extras", '"s-p-a-m" in extras'],
    ["'Foo_Bar' not in dependency_groups", '"foo-bar" not in dependency_groups'],
    ["os_name == 'S_P__A_M'", 'os_name == "S_P__A_M"'],
    ["extra == os_name", "extra == os_name"],
    // Whitespace around everything is optional; tabs count.
    ["\tpython_version\t>=\t'3'\t", 'python_version >= "3"'],
  ])("%s → %s", (text, expected) => {
    const marker = parseMarker(text);
    expect(markerToString(marker)).toBe(expected);
    expect(markerToString(parseMarker(expected))).toBe(expected);
  });

  it("groups `and` tighter than `or`, both to the left", () => {
    const compare = (name: string): Marker => ({
      kind: "compare",
      left: { kind: "variable", name: "os_name" },
      operator: "==",
      right: { kind: "literal", value: name },
    });
    expect(
      parseMarker("os_name == 'a' or os_name == 'b' and os_name == 'c' or os_name == 'd'"),
    ).toEqual({
      kind: "or",
      left: {
        kind: "or",
        left: compare("a"),
        right: { kind: "and", left: compare("b"), right: compare("c") },
      },
      right: compare("d"),
    });
  });

  it("accepts every variable with every operator on either side", () => {
    const variables = [
      "extra",
      "implementation_name",
      "implementation_version",
      "os_name",
      "platform_machine",
      "platform_release",
      "platform_system",
      "platform_version",
      "python_full_version",
      "python_version",
      "platform_python_implementation",
      "sys_platform",
    ];
    const operators = ["===", "==", ">=", "<=", "!=", "~=", ">", "<", "in", "not in"];
    const values = [
      "1.0",
      "5.6a0",
      "dog",
      "literally any string can go here",
      "things @#4 dsfd(((",
    ];
    for (const variable of variables) {
      for (const operator of operators) {
        for (const value of values) {
          expect(() => parseMarker(`${variable} ${operator} '${value}'`)).not.toThrow();
          expect(() => parseMarker(`'${value}' ${operator} ${variable}`)).not.toThrow();
        }
      }
    }
  });

  it.each<[string, string]>([
    ["this_isnt_a_real_variable >= '1.0'", 'unknown marker variable "this_isnt_a_real_variable"'],
    ["python_version", "expected a marker operator"],
    ["(python_version)", "expected a marker operator"],
    ["python_version >= 1.0 and (python_version)", "expected a marker variable"],
    ['(python_version == "2.7" and os_name == "linux"', 'expected "and", "or" or ")"'],
    ['(python_version == "2.7") with random text', 'expected "and", "or" or the end'],
    ["python_version >= '3'\nos_name == 'a'", 'expected "and", "or" or the end'],
    ["'3.4' < python_version < '3.9'", 'expected "and", "or" or the end'],
    ["", "expected a marker variable"],
    ["python_version >= 'x' and", "expected a marker variable"],
    ["python_version >= 'x' andos_name == 'a'", 'expected "and", "or" or the end'],
    ["os_name is 'posix'", "expected a marker operator"],
    ["and == 'x'", "expected a marker variable"],
  ])("rejects %j", (text, messagePart) => {
    let caught: unknown;
    try {
      parseMarker(text);
    } catch (error) {
      caught = error;
    }
    expect(isPylayerError(caught)).toBe(true);
    if (!isPylayerError(caught)) return;
    expect(caught.code).toBe("invalid-marker");
    expect(caught.message).toContain(messagePart);
    expect(caught.hint).toBeTruthy();
  });
});

describe("evaluateMarker: golden results from packaging", () => {
  // Where pylayer deliberately differs from packaging 26.2 (both are allowed by the spec,
  // "Marker comparisons"): pylayer never raises for an undefined comparison, and a Version |
  // String field that is not a version falls back to string comparison.
  const deviations: Record<string, (environment: MarkerEnvironment) => boolean> = {
    // ~= on a String field (and a Version field whose constant is no valid specifier) means ==.
    'os_name ~= "posix"': (environment) => environment.os_name === "posix",
    'python_version ~= "3"': () => false,
    // === on a String field means ==.
    'platform_machine === "x86_64"': (environment) => environment.platform_machine === "x86_64",
    // platform_release is "" on Lambda, not a version: the string rule gives "" != "5.0".
    'platform_release != "5.0"': () => true,
  };

  type GoldenCase = {
    marker: string;
    target: string;
    overrides?: Partial<MarkerEnvironment>;
    extras?: string[];
    dependencyGroups?: string[];
    packaging: boolean | string;
  };
  const cases = (golden as { cases: GoldenCase[] }).cases;

  it("has cases", () => {
    expect(cases.length).toBeGreaterThan(400);
  });

  it.each(cases.map((item) => [item.marker, item.target, item] as const))(
    "%s on %s",
    (marker, target, item) => {
      const environment = environmentOf(target, item.overrides);
      const deviation = deviations[marker];
      const expected = deviation === undefined ? item.packaging : deviation(environment);
      expect(typeof expected).toBe("boolean");
      expect(
        evaluateMarker(
          parseMarker(marker),
          environment,
          item.extras ?? [],
          item.dependencyGroups ?? [],
        ),
      ).toBe(expected);
    },
  );
});

describe("evaluateMarker on Lambda targets", () => {
  it.each<[string, string, boolean]>([
    ['python_version >= "3.12"', "python3.11-x86_64", false],
    ['python_version >= "3.12"', "python3.12-x86_64", true],
    ['python_version < "3.10"', "python3.9-arm64", true],
    ['python_full_version >= "3.11.5"', "python3.11-x86_64", true],
    ['python_full_version == "3.13.*"', "python3.13-arm64", true],
    ['implementation_version >= "3.14"', "python3.14-x86_64", true],
    ['platform_machine == "aarch64"', "python3.12-arm64", true],
    ['platform_machine == "arm64"', "python3.12-arm64", false],
    ['platform_machine == "x86_64"', "python3.12-arm64", false],
    [
      'sys_platform == "linux" and platform_system == "Linux" and os_name == "posix"',
      "python3.10-x86_64",
      true,
    ],
    ['sys_platform == "win32" or sys_platform == "darwin"', "python3.10-x86_64", false],
    [
      'platform_python_implementation == "CPython" and implementation_name == "cpython"',
      "python3.9-x86_64",
      true,
    ],
    ['platform_python_implementation == "PyPy"', "python3.9-x86_64", false],
    // A variable may stand on the right: the comparison still reads left to right.
    ['"3.10" < python_version', "python3.11-x86_64", true],
    ['"3.10" < python_version', "python3.10-x86_64", false],
    ['"linux" == sys_platform', "python3.11-x86_64", true],
    // Two literals compare as strings (packaging cannot evaluate these).
    ['"a" == "a"', "python3.11-x86_64", true],
    ['"a" <= "a"', "python3.11-x86_64", true],
    ['"b" > "a"', "python3.11-x86_64", false],
    ['"b" < "a"', "python3.11-x86_64", false],
  ])("%s on %s is %s", (marker, target, expected) => {
    expect(evaluateMarker(parseMarker(marker), environmentOf(target))).toBe(expected);
  });
});

describe("evaluateMarker: extras", () => {
  const environment = environmentOf("python3.12-x86_64");
  it.each<[string, string[], boolean]>([
    ['extra == "security"', [], false],
    ['extra != "security"', [], true],
    ['extra == "security"', ["security"], true],
    ['extra == "security"', ["tests", "SECURITY"], true],
    ['extra == "Security_Extra"', ["security.extra"], true],
    ['extra != "security"', ["tests", "security"], false],
    ['extra == "security" and extra == "tests"', ["tests", "security"], true],
    ['extra == "v2"', ["v2.0"], false], // extras are names, never versions
    ['extra >= "security"', ["security"], false], // other operators on extra are false
    ['"security" in extra', ["security"], false],
    ['"security" == extra', ["security"], true],
    ['"a" in extras', ["A"], true], // `extras` (lock files) reads the same set
    ['"a" not in extras', [], true],
    ['extras == "a"', ["a"], false], // only membership tests are defined on sets
    ['python_version >= "3" and extra == "fast"', ["fast"], true],
    ['python_version < "3" and extra == "fast"', ["fast"], false],
  ])("%s with extras %j is %s", (marker, extras, expected) => {
    expect(evaluateMarker(parseMarker(marker), environment, extras)).toBe(expected);
  });

  it("reads dependency_groups from its own set", () => {
    const marker = parseMarker('"dev" in dependency_groups');
    expect(evaluateMarker(marker, environment, ["dev"], [])).toBe(false);
    expect(evaluateMarker(marker, environment, [], ["Dev"])).toBe(true);
  });
});
