// Cases from the "Dependency specifiers" specification (originally PEP 508: grammar,
// examples, whitespace rules) and from packaging's tests/test_requirements.py (valid
// forms, normalization, and its failure modes, with pylayer's own messages).
import { describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import { markerToString, parseRequirement, requirementToString } from "../../src/pep508/index.js";

interface Expected {
  name: string;
  extras?: string[];
  specifier?: string;
  url?: string;
  marker?: string;
}

describe("parseRequirement: valid requirements", () => {
  it.each<[string, Expected]>([
    ["requests", { name: "requests" }],
    // The specification's example of every name-based feature.
    [
      'requests [security,tests] >= 2.8.1, == 2.8.* ; python_version < "2.7"',
      {
        name: "requests",
        extras: ["security", "tests"],
        specifier: ">=2.8.1,==2.8.*",
        marker: 'python_version < "2.7"',
      },
    ],
    // The same without any whitespace (whitespace is optional).
    [
      'requests[security,tests]>=2.8.1,==2.8.*;python_version<"2.7"',
      {
        name: "requests",
        extras: ["security", "tests"],
        specifier: ">=2.8.1,==2.8.*",
        marker: 'python_version < "2.7"',
      },
    ],
    // The specification's minimal URL-based example.
    [
      "pip @ https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
      {
        name: "pip",
        url: "https://github.com/pypa/pip/archive/1.3.1.zip#sha1=da9234ee9982d4bbb3c72346a6de940a148ea686",
      },
    ],
    // Parenthesized specifiers are accepted for PEP 345 compatibility.
    ["foo (>=1.0)", { name: "foo", specifier: ">=1.0" }],
    ["foo( > 2.2 , < 3 )", { name: "foo", specifier: ">2.2,<3" }],
    ["name()", { name: "name" }],
    ["name[]", { name: "name" }],
    ["name\t>=\t1.0", { name: "name", specifier: ">=1.0" }],
    ["  name>=1 \t", { name: "name", specifier: ">=1" }],
    ["name>=1.0,", { name: "name", specifier: ">=1.0" }],
    ["name === arbitrarystring", { name: "name", specifier: "===arbitrarystring" }],
    ["name (=== arbitrarystring)", { name: "name", specifier: "===arbitrarystring" }],
    ["name == 1.0-alpha", { name: "name", specifier: "==1.0-alpha" }],
    ["name <= 1!3.0.0.rc2", { name: "name", specifier: "<=1!3.0.0.rc2" }],
    ["name == 1.0+local.label", { name: "name", specifier: "==1.0+local.label" }],
    ["name ~= 1.4.2", { name: "name", specifier: "~=1.4.2" }],
    [
      "foo-bar.quux_bAz[A, B ,CDEF123]",
      { name: "foo-bar.quux_bAz", extras: ["a", "b", "cdef123"] },
    ],
    // Extras are PEP 685-normalized, sorted and unique.
    [
      "fishtank[all_blue, All-Blue, crazy.bunches]",
      { name: "fishtank", extras: ["all-blue", "crazy-bunches"] },
    ],
    [
      "name[extra];os_name=='posix'",
      { name: "name", extras: ["extra"], marker: 'os_name == "posix"' },
    ],
    [
      "name @ https://example.com/name;v=1.1/?query=foo&bar=baz#blah",
      { name: "name", url: "https://example.com/name;v=1.1/?query=foo&bar=baz#blah" },
    ],
    [
      "name[a] @ https://example.com/packagename.zip ; python_version >= '3.3'",
      {
        name: "name",
        extras: ["a"],
        url: "https://example.com/packagename.zip",
        marker: 'python_version >= "3.3"',
      },
    ],
    ["name@https://example.com/x.whl", { name: "name", url: "https://example.com/x.whl" }],
    [
      "name @ git+https://git.example.com/MyProject.git@v1.0",
      { name: "name", url: "git+https://git.example.com/MyProject.git@v1.0" },
    ],
    ["name @ file:///absolute/path", { name: "name", url: "file:///absolute/path" }],
    [
      'mariadb>=1.0.1; extra == "mariadb_connector"',
      { name: "mariadb", specifier: ">=1.0.1", marker: 'extra == "mariadb-connector"' },
    ],
    [
      "name; sys_platform != 'linux' and(os_name == 'linux' or python_version >= '3.3')",
      {
        name: "name",
        marker: 'sys_platform != "linux" and (os_name == "linux" or python_version >= "3.3")',
      },
    ],
    ["name; os.name == 'linux'", { name: "name", marker: 'os_name == "linux"' }],
    ["name; '8' not in platform.version", { name: "name", marker: '"8" not in platform_version' }],
    [
      "name; python_implementation == ''",
      { name: "name", marker: 'platform_python_implementation == ""' },
    ],
  ])("%s", (text, expected) => {
    const requirement = parseRequirement(text);
    expect(requirement.name).toBe(expected.name);
    expect(requirement.extras).toEqual(expected.extras ?? []);
    expect(requirement.specifier.text).toBe(expected.specifier ?? "");
    expect(requirement.url).toBe(expected.url);
    expect(requirement.marker === undefined ? undefined : markerToString(requirement.marker)).toBe(
      expected.marker,
    );
    expect(requirement.text).toBe(text.trim());
  });

  it("sets the normalized name and keeps the name as written", () => {
    const requirement = parseRequirement("Foo.Bar_baz>=1");
    expect(requirement.name).toBe("Foo.Bar_baz");
    expect(requirement.normalizedName).toBe("foo-bar-baz");
  });

  it("ignores surrounding whitespace, including a final line break", () => {
    expect(parseRequirement(" name>=1\n").text).toBe("name>=1");
  });

  it("gives a usable specifier set", () => {
    const requirement = parseRequirement("name (>=1.0, <2)");
    expect(requirement.specifier.contains("1.5")).toBe(true);
    expect(requirement.specifier.contains("2.0")).toBe(false);
  });
});

describe("requirementToString", () => {
  it.each([
    ["name", "name"],
    [
      "Name [B, a] ( >= 1.0 , < 2 ) ; python_version<'3.10'",
      'Name[a,b]>=1.0,<2; python_version < "3.10"',
    ],
    ["name[a] @ https://url ; os_name=='posix'", 'name[a] @ https://url ; os_name == "posix"'],
    ["name @ https://url", "name @ https://url"],
    ["name;extra=='Foo_Bar'", 'name; extra == "foo-bar"'],
  ])("%s → %s", (text, expected) => {
    expect(requirementToString(parseRequirement(text))).toBe(expected);
    expect(requirementToString(parseRequirement(expected))).toBe(expected);
  });
});

describe("parseRequirement: invalid requirements", () => {
  // [text, part of the message, column the message points at]
  it.each<[string, string, number]>([
    ["", "expected a project name; found the end", 1],
    ["==0.0", "expected a project name", 1],
    ["foo-", "expected a version specifier", 4],
    ["name[bar baz]", 'expected "," between extra names', 10],
    ["name[bar, baz,]", 'expected an extra name after ","', 15],
    ["name[bar, baz >= 1.0", 'expected "]" to close the extras opened at column 5', 15],
    ["name[bar, baz", 'expected "]"', 14],
    ["name (>= 1.0", "to close the version specifier opened at column 6; found the end", 13],
    ["name (", 'expected a version operator (==, !=, <=, >=, <, >, ~=, ===) or ")"', 7],
    ["black (>=20.*) ; extra == 'format'", '".*" suffix can only follow == or != (in ">=20.*")', 8],
    ["name == 1.2.3.post4.*", '".*" suffix cannot follow a pre-, post-, dev- or local version', 6],
    ["name==1.0a1.*", '".*" suffix cannot follow', 5],
    ["name==1.*.0", '"1.*.0" is not a valid PEP 440 version', 5],
    ["name >= 1.0+local", "a local version label can only follow == or !=", 6],
    ["name ~= 1.0+local", "a local version label can only follow == or !=", 6],
    ["name~=1", "~= needs at least two release segments", 5],
    ["name==1.0.org1", '"1.0.org1" is not a valid PEP 440 version', 5],
    ["name==", 'expected a version after "=="; found the end', 7],
    ["name 1.0", 'expected a version specifier (such as >=1.0), "@ URL", ";"', 6],
    ["name >= 1.0 #", 'expected ",", ";" and a marker, or the end after the version specifier', 13],
    ["name >= 1.0 <= 2.0", 'expected ",", ";"', 13],
    ["demo===x,y", 'expected a version clause (such as <2) after ","', 10],
    ["name @ ", 'expected a URL after "@"', 7],
    ["name @ https://example.com/; extra == 'example'", 'expected ";" and a marker', 30],
    ["name; (extra == 'example'", 'expected "and", "or" or ")" to close the "(" at column 7', 26],
    ["name; invalid_name", 'unknown marker variable "invalid_name"', 7],
    ["name; '3.7' <= invalid_name", 'unknown marker variable "invalid_name"', 16],
    ["name; '3.7' notin python_version", "expected a marker operator", 13],
    ["name; '3.6'inpython_version", "expected a marker operator", 12],
    ["name; '3.7' not python_version", 'expected "in" after "not"', 17],
    ["name; '3.7' ~ python_version", "expected a marker operator", 13],
    ["name; python_version", "expected a marker operator", 21],
    [
      "name; python_version >= 1.0",
      "expected a marker variable (such as python_version) or a quoted string",
      25,
    ],
    ['name; os_name == "posix', 'expected a closing " for the string opened at column 18', 18],
    ["name; os_name == 'a' and", "expected a marker variable", 25],
    [
      "name; os_name == 'a' xor os_name == 'b'",
      'expected "and", "or" or the end of the marker',
      22,
    ],
    ["name>=1\nfoo", 'expected ",", ";"', 8],
  ])("%j", (text, messagePart, column) => {
    let caught: unknown;
    try {
      parseRequirement(text);
    } catch (error) {
      caught = error;
    }
    expect(isPylayerError(caught)).toBe(true);
    if (!isPylayerError(caught)) return;
    expect(caught.code).toBe("invalid-requirement");
    expect(caught.message).toContain(`"${text.trim()}"`);
    expect(caught.message).toContain(messagePart);
    expect(caught.message).toContain(`at column ${column}`);
    expect(caught.details?.column).toBe(column);
    expect(caught.hint).toBeTruthy();
  });
});
