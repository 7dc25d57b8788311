/**
 * Lock files written by hand from each format's documentation, pointing at wheels served
 * by the loopback index (URLs and hashes substituted at test time).
 */
import type { IndexServer } from "../helpers/index-server.js";
import { type BuiltWheel, buildWheel, type WheelSpec } from "../helpers/wheels.js";

const SO = (text: string) => new TextEncoder().encode(`\u007fELF fake ${text}`);

export const SPECS: WheelSpec[] = [
  { name: "core", version: "1.0", requires: ["helper>=1", 'oldpy; python_version < "3.12"'] },
  { name: "helper", version: "2.0" },
  { name: "oldpy", version: "1.0" },
  { name: "speedups", version: "1.0" },
  { name: "devtool", version: "1.0" },
  {
    name: "native",
    version: "1.0",
    tag: "cp311-cp311-manylinux_2_17_x86_64.manylinux2014_x86_64",
    files: { "native/__init__.py": "", "native/_c.cpython-311-x86_64-linux-gnu.so": SO("311") },
  },
  {
    name: "native",
    version: "1.0",
    tag: "cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64",
    files: { "native/__init__.py": "", "native/_c.cpython-312-x86_64-linux-gnu.so": SO("312") },
  },
  {
    name: "native",
    version: "1.0",
    tag: "cp312-cp312-manylinux_2_28_x86_64",
    files: {
      "native/__init__.py": "",
      "native/_c.cpython-312-x86_64-linux-gnu.so": SO("312 2.28"),
    },
  },
  {
    name: "native",
    version: "1.0",
    tag: "cp312-cp312-macosx_11_0_arm64",
    files: { "native/__init__.py": "", "native/_c.cpython-312-darwin.so": SO("mac") },
  },
  {
    name: "macos-only",
    version: "3.0",
    tag: "cp312-cp312-macosx_11_0_arm64",
    files: { "macos_only/__init__.py": "" },
  },
];

export function buildFixtureWheels(): BuiltWheel[] {
  return SPECS.map(buildWheel);
}

export class Fixtures {
  constructor(
    readonly server: IndexServer,
    readonly wheels: BuiltWheel[],
  ) {}

  wheel(filename: string): BuiltWheel {
    const wheel = this.wheels.find((candidate) => candidate.filename === filename);
    if (wheel === undefined) throw new Error(`no test wheel ${filename}`);
    return wheel;
  }

  /** The wheels of a project (by distribution name as written in SPECS). */
  of(name: string): BuiltWheel[] {
    return this.wheels.filter((wheel) => wheel.spec.name === name);
  }

  url(filename: string): string {
    return `${this.server.filesUrl}${encodeURIComponent(filename)}`;
  }

  /** `{ url, hash, size }` of a wheel in uv.lock's inline-table style. */
  uvWheel(filename: string): string {
    const wheel = this.wheel(filename);
    return `{ url = "${this.url(filename)}", hash = "sha256:${wheel.sha256}", size = ${wheel.bytes.length} }`;
  }

  pylockWheel(filename: string, sha256 = this.wheel(filename).sha256): string {
    const wheel = this.wheel(filename);
    return `{ name = "${filename}", url = "${this.url(filename)}", size = ${wheel.bytes.length}, hashes = { sha256 = "${sha256}" } }`;
  }

  poetryFiles(name: string, extra: string[] = []): string {
    const entries = this.of(name).map(
      (wheel) => `{file = "${wheel.filename}", hash = "sha256:${wheel.sha256}"}`,
    );
    return `files = [\n    ${[...entries, ...extra].join(",\n    ")},\n]`;
  }

  hashes(name: string): string[] {
    return this.of(name).map((wheel) => `sha256:${wheel.sha256}`);
  }

  /** A uv.lock for project "app": core + native, extra "fast" → speedups, group dev → devtool. */
  uvLock(): string {
    const pure = (name: string, version: string, dependencies = "") => `
[[package]]
name = "${name}"
version = "${version}"
source = { registry = "${this.server.url}" }${dependencies}
wheels = [${this.of(name)
      .map((wheel) => this.uvWheel(wheel.filename))
      .join(", ")}]
`;
    return `version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "sibling"]

[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
dependencies = [
    { name = "core" },
    { name = "native" },
]

[package.optional-dependencies]
fast = [{ name = "speedups" }]
local = [{ name = "sibling" }]

[package.dev-dependencies]
dev = [{ name = "devtool" }]

[package.metadata]
requires-dist = [
    { name = "core", specifier = ">=1" },
    { name = "native" },
    { name = "speedups", marker = "extra == 'fast'" },
    { name = "sibling", marker = "extra == 'local'", editable = "packages/sibling" },
]
provides-extras = ["fast", "local"]

[package.metadata.requires-dev]
dev = [{ name = "devtool" }]
${pure(
  "core",
  "1.0",
  `
dependencies = [
    { name = "helper" },
    { name = "oldpy", marker = "python_full_version < '3.12'" },
]`,
)}${pure("devtool", "1.0")}${pure("helper", "2.0")}
[[package]]
name = "native"
version = "1.0"
source = { registry = "${this.server.url}" }
wheels = [
${this.of("native")
  .map((wheel) => `    ${this.uvWheel(wheel.filename)},`)
  .join("\n")}
]
${pure("oldpy", "1.0")}
[[package]]
name = "sibling"
version = "0.1.0"
source = { editable = "packages/sibling" }
${pure("speedups", "1.0")}`;
  }

  /** The pyproject.toml the uv.lock above was made from. */
  static readonly UV_PYPROJECT = `[project]
name = "app"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["core>=1", "native"]

[project.optional-dependencies]
fast = ["speedups"]
local = ["sibling"]

[dependency-groups]
dev = ["devtool"]

[tool.uv.sources]
sibling = { path = "packages/sibling", editable = true }
`;

  /** A Poetry 2 (lock-version 2.1) lock of core + native, with a dev group. */
  poetryLock(options: { nativeHash?: string } = {}): string {
    const entry = (name: string, version: string, groups: string, extra = "") => `
[[package]]
name = "${name}"
version = "${version}"
description = ""
optional = false
python-versions = ">=3.8"
groups = [${groups}]${extra}
${this.poetryFiles(name)}
`;
    let text = `# This file is automatically @generated by Poetry 2.1.1 and should not be changed by hand.
${entry("core", "1.0", '"main"')}${entry("devtool", "1.0", '"dev"')}${entry("helper", "2.0", '"main"')}${entry(
  "native",
  "1.0",
  '"main"',
)}${entry("oldpy", "1.0", '"main"', '\nmarkers = "python_version < \\"3.12\\""')}
[metadata]
lock-version = "2.1"
python-versions = "^3.11"
content-hash = "${"0".repeat(64)}"
`;
    if (options.nativeHash !== undefined) {
      const native = this.of("native")[0]!;
      text = text.replace(native.sha256, options.nativeHash);
    }
    return text;
  }

  /** A Pipfile.lock of core + helper + oldpy (by marker) + native, hashes only. */
  pipfileLock(): string {
    const entry = (name: string, version: string, markers?: string) => ({
      hashes: this.hashes(name),
      index: "local",
      version: `==${version}`,
      ...(markers === undefined ? {} : { markers }),
    });
    return JSON.stringify(
      {
        _meta: {
          hash: { sha256: "0".repeat(64) },
          "pipfile-spec": 6,
          requires: { python_version: "3.12" },
          sources: [{ name: "local", url: this.server.url, verify_ssl: true }],
        },
        default: {
          core: entry("core", "1.0"),
          helper: entry("helper", "2.0"),
          native: entry("native", "1.0"),
          oldpy: entry("oldpy", "1.0", "python_version < '3.12'"),
        },
        develop: { devtool: entry("devtool", "1.0") },
      },
      null,
      4,
    );
  }
}
