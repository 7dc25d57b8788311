// pip's requirements-file format (pip reference, "Requirements File Format"), with
// pylayer's documented restrictions (src/requirements/index.ts).
// biome-ignore-all lint/suspicious/noTemplateCurlyInString: pip's ${NAME} expansion is under test
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import {
  mergeRequirements,
  type ParsedRequirements,
  parseRequirementsFile,
  parseRequirementsText,
} from "../../src/requirements/index.js";

const SHA_A = `sha256:${"a".repeat(64)}`;
const SHA_B = `sha256:${"B".repeat(64)}`;

function summary(lines: ParsedRequirements["requirements"]) {
  return lines.map((line) => ({
    name: line.requirement.normalizedName,
    specifier: line.requirement.specifier.text,
    hashes: line.hashes,
    line: line.source.line,
  }));
}

async function failure(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (isPylayerError(error)) return error;
    throw error;
  }
  throw new Error("expected a PylayerError");
}

describe("parseRequirementsText: requirements", () => {
  it.each<[string, string, { name: string; specifier: string; hashes: string[]; line: number }[]]>([
    [
      "plain names",
      "pytest\npytest-cov\nBeautifulSoup4\n",
      [
        { name: "pytest", specifier: "", hashes: [], line: 1 },
        { name: "pytest-cov", specifier: "", hashes: [], line: 2 },
        { name: "beautifulsoup4", specifier: "", hashes: [], line: 3 },
      ],
    ],
    [
      "specifiers, extras and markers (pip's example)",
      'docopt == 0.6.1\nrequests [security] >= 2.8.1, == 2.8.* ; python_version < "2.7"',
      [
        { name: "docopt", specifier: "==0.6.1", hashes: [], line: 1 },
        { name: "requests", specifier: ">=2.8.1,==2.8.*", hashes: [], line: 2 },
      ],
    ],
    [
      "hashes on continuation lines keep the first line's number",
      `# pinned\n\nfoo==1.0 \\\n    --hash=${SHA_A} \\\n    --hash ${SHA_B}\nbar==2.0 --hash=${SHA_A}`,
      [
        { name: "foo", specifier: "==1.0", hashes: [SHA_A, SHA_B.toLowerCase()], line: 3 },
        { name: "bar", specifier: "==2.0", hashes: [SHA_A], line: 6 },
      ],
    ],
    [
      "sha384 and sha512",
      `x==1 --hash=sha384:${"0".repeat(96)} --hash=SHA512:${"F".repeat(128)}`,
      [
        {
          name: "x",
          specifier: "==1",
          hashes: [`sha384:${"0".repeat(96)}`, `sha512:${"f".repeat(128)}`],
          line: 1,
        },
      ],
    ],
    [
      "comments and blank lines",
      "  # indented comment\nname  # trailing\n\n\t\n",
      [{ name: "name", specifier: "", hashes: [], line: 2 }],
    ],
  ])("%s", async (_title, text, expected) => {
    const parsed = await parseRequirementsText(text, "requirements.txt", { env: {} });
    expect(summary(parsed.requirements)).toEqual(expected);
    expect(parsed.constraints).toEqual([]);
    for (const line of parsed.requirements) expect(line.source.file).toBe("requirements.txt");
  });

  it("keeps extras and markers of the requirement", async () => {
    const parsed = await parseRequirementsText(
      'requests[Security]>=2 ; python_version >= "3.9"',
      "r.txt",
      { env: {} },
    );
    const requirement = parsed.requirements[0]?.requirement;
    expect(requirement?.extras).toEqual(["security"]);
    expect(requirement?.marker).toBeDefined();
  });

  it("expands ${NAME} from the given environment only", async () => {
    const parsed = await parseRequirementsText(
      "name==${VERSION}\n-i https://${TOKEN}@example.org/simple",
      "r.txt",
      { env: { VERSION: "1.2", TOKEN: "t0ken" } },
    );
    expect(summary(parsed.requirements)[0]?.specifier).toBe("==1.2");
    expect(parsed.options.indexUrl).toBe("https://t0ken@example.org/simple");
  });
});

describe("parseRequirementsText: options", () => {
  it("reads the index, find-links and binary options", async () => {
    const text = [
      "-i https://first.example/simple",
      "--index-url=https://second.example/simple",
      "--extra-index-url https://extra.example/simple",
      "--extra-index-url=https://extra.example/simple",
      "-f ./wheels",
      "--find-links https://example.org/links/",
      "-f/abs/wheels",
      "--pre",
      "--prefer-binary",
      "--require-hashes",
      "--trusted-host example.org",
      "--no-binary :all:",
      "--only-binary numpy,Pillow_SIMD",
      "--use-feature truststore",
      "--no-index",
    ].join("\n");
    const parsed = await parseRequirementsText(text, "/project/deps/requirements.txt", {
      env: {},
    });
    expect(parsed.requirements).toEqual([]);
    expect(parsed.options).toEqual({
      indexUrl: "https://second.example/simple",
      extraIndexUrls: ["https://extra.example/simple"],
      findLinks: ["/project/deps/wheels", "https://example.org/links/", "/abs/wheels"],
      noIndex: true,
      pre: true,
      onlyBinary: ["numpy", "pillow-simd"],
      noBinary: [":all:"],
      preferBinary: true,
      trustedHosts: ["example.org"],
      requireHashes: true,
    });
  });

  // pip's FormatControl.handle_mutual_excludes rules.
  it.each<[string, string[], string[]]>([
    ["--only-binary :all:", [":all:"], []],
    ["--no-binary :all:\n--only-binary :all:", [":all:"], []],
    ["--only-binary :all:\n--no-binary foo", [":all:"], ["foo"]],
    ["--only-binary foo,bar\n--no-binary Foo", ["bar"], ["foo"]],
    ["--only-binary :all:,:none:,foo", ["foo"], []],
    ["--only-binary foo\n--only-binary :none:", [], []],
  ])("binary rules %j", async (text, onlyBinary, noBinary) => {
    const parsed = await parseRequirementsText(text, "r.txt", { env: {} });
    expect(parsed.options.onlyBinary).toEqual(onlyBinary);
    expect(parsed.options.noBinary).toEqual(noBinary);
  });

  it("has empty defaults", async () => {
    const parsed = await parseRequirementsText("", "r.txt", { env: {} });
    expect(parsed).toEqual({
      requirements: [],
      constraints: [],
      options: {
        extraIndexUrls: [],
        findLinks: [],
        noIndex: false,
        pre: false,
        onlyBinary: [],
        noBinary: [],
        preferBinary: false,
        trustedHosts: [],
        requireHashes: false,
      },
    });
  });
});

// pip's "Requirements File Format": local paths, archives, URLs and VCS URLs, bare or as
// PEP 508 `name @ URL`, made absolute against the file's folder (here /p).
describe("parseRequirementsText: direct references", () => {
  it.each<[string, string, { name: string; url: string; editable?: boolean; extras?: string[] }]>([
    ["editable path", "-e ./pkg", { name: "", url: "file:///p/pkg", editable: true }],
    [
      "editable VCS",
      "--editable=git+https://git.example.com/o/r.git#egg=r",
      { name: "r", url: "git+https://git.example.com/o/r.git#egg=r", editable: true },
    ],
    [
      "bare VCS URL",
      "git+https://git.example.com/o/r.git@v1#egg=r",
      { name: "r", url: "git+https://git.example.com/o/r.git@v1#egg=r" },
    ],
    [
      "named VCS URL",
      "r @ git+ssh://git@github.com/o/r.git",
      { name: "r", url: "git+ssh://git@github.com/o/r.git" },
    ],
    [
      "relative git+file URL",
      "r @ git+file:repo@abc",
      { name: "r", url: "git+file:///p/repo@abc" },
    ],
    ["relative path", "./pkg", { name: "", url: "file:///p/pkg" }],
    [
      "parent path with extras",
      "../pkg[Extra_One]",
      { name: "", url: "file:///pkg", extras: ["extra-one"] },
    ],
    ["dot", ".", { name: "", url: "file:///p" }],
    ["absolute path", "/abs/path", { name: "", url: "file:///abs/path" }],
    [
      "wheel path",
      "./downloads/numpy-1.9.2-cp34-none-win32.whl",
      { name: "numpy", url: "file:///p/downloads/numpy-1.9.2-cp34-none-win32.whl" },
    ],
    ["archive name", "pkg-1.0.tar.gz", { name: "", url: "file:///p/pkg-1.0.tar.gz" }],
    [
      "file URL",
      "file:///abs/pkg-1.0-py3-none-any.whl",
      { name: "pkg", url: "file:///abs/pkg-1.0-py3-none-any.whl" },
    ],
    ["named file URL", "pkg @ file:///abs/pkg", { name: "pkg", url: "file:///abs/pkg" }],
    ["named relative file URL", "pkg @ file:./pkg", { name: "pkg", url: "file:///p/pkg" }],
    [
      "named wheel URL with hash",
      "pkg @ https://example.org/pkg-1.0-py3-none-any.whl#sha256=ab",
      { name: "pkg", url: "https://example.org/pkg-1.0-py3-none-any.whl#sha256=ab" },
    ],
    [
      "bare archive URL",
      "https://example.org/pkg-1.0.tar.gz",
      { name: "", url: "https://example.org/pkg-1.0.tar.gz" },
    ],
  ])("%s", async (_title, text, expected) => {
    const parsed = await parseRequirementsText(text, "/p/requirements.txt", { env: {} });
    const [line] = parsed.requirements;
    expect(line!.requirement.name).toBe(expected.name);
    expect(line!.requirement.url).toBe(expected.url);
    expect(line!.requirement.extras).toEqual(expected.extras ?? []);
    expect(line!.editable).toBe(expected.editable);
  });
});

describe("parseRequirementsText: --config-settings after a requirement (pip 23.1+)", () => {
  it.each<[string, string, Record<string, string | string[]> | undefined]>([
    ["by name", "pkg -C key=value", { key: "value" }],
    [
      "long spelling, repeated key",
      "pkg --config-settings a=1 --config-settings a=2",
      { a: ["1", "2"] },
    ],
    ["editable path", "-e ./lib --config-settings mode=fast", { mode: "fast" }],
    ["with a hash", `pkg==1 --hash=${SHA_A} -C k=v`, { k: "v" }],
    ["none", "pkg", undefined],
  ])("%s", async (_title, text, expected) => {
    const parsed = await parseRequirementsText(text, "/p/requirements.txt", { env: {} });
    expect(parsed.requirements[0]!.configSettings).toEqual(expected);
  });
});

describe("parseRequirementsText: lines pylayer rejects", () => {
  it.each<[string, string, string, number, string]>([
    // [title, text, code, line, part of the message]
    ["build option", "pkg --global-option=--no-ext", "unsupported-requirement", 1, "not supported"],
    [
      "config settings without a requirement",
      "-C key=value",
      "invalid-option",
      1,
      "applies to the requirement",
    ],
    ["config settings not KEY=VALUE", "pkg -C novalue", "invalid-option", 1, "is not KEY=VALUE"],
    ["editable by name", "-e pkg==1", "invalid-requirement", 1, "neither a local project path"],
    ["unknown option", "a\nb\n--frobnicate", "unknown-option", 3, "unknown option --frobnicate"],
    ["unknown short option", "-x value", "unknown-option", 1, "unknown option -x"],
    ["abbreviated option", "--index https://x", "unknown-option", 1, "--index"],
    [
      "option after requirement",
      "pkg==1 --pre",
      "invalid-option",
      1,
      "--pre cannot follow a requirement",
    ],
    [
      "hash without requirement",
      `--hash=${SHA_A}`,
      "invalid-option",
      1,
      "--hash applies to the requirement",
    ],
    ["bad hash algorithm", "pkg --hash=md5:abc", "invalid-option", 1, "not a valid hash"],
    ["short hash", "pkg --hash=sha256:abc", "invalid-option", 1, "not a valid hash"],
    ["hash without value", "pkg --hash", "invalid-option", 1, "--hash needs a value"],
    ["flag with value", "--pre=yes", "invalid-option", 1, "--pre takes no value"],
    ["stray word", "--pre foo", "invalid-option", 1, 'unexpected "foo"'],
    ["unclosed quote", "-f 'wheels", "invalid-option", 1, "unclosed quote"],
    ["binary without value", "--only-binary --pre", "invalid-option", 1, "needs a value"],
    [
      "invalid requirement",
      "\n\nname >= 1.0 <= 2.0 \\\n",
      "invalid-requirement",
      3,
      "Invalid requirement",
    ],
    [
      "invalid marker",
      "name; python_version >= 3",
      "invalid-requirement",
      1,
      "expected a marker variable",
    ],
    [
      "requirement include URL",
      "-r https://example.org/r.txt",
      "unsupported-requirement",
      1,
      "names a URL",
    ],
  ])("%s", async (_title, text, code, line, messagePart) => {
    const error = await failure(parseRequirementsText(text, "deps/requirements.txt", { env: {} }));
    expect(error.code).toBe(code);
    expect(error.message).toContain(`deps/requirements.txt:${line}: `);
    expect(error.message).toContain(messagePart);
    expect(error.hint).toBeTruthy();
  });

  it("quotes the line as written, not with expanded secrets", async () => {
    const error = await failure(
      parseRequirementsText("-e pkg==${TOKEN}", "r.txt", {
        env: { TOKEN: "hunter2" },
      }),
    );
    expect(error.message).toContain("${TOKEN}");
    expect(error.message).not.toContain("hunter2");
  });

  it("rejects extras on constraints", async () => {
    const files: Record<string, string> = { "/p/c.txt": "requests[security]==2.0" };
    const error = await failure(
      parseRequirementsText("-c c.txt", "/p/r.txt", {
        env: {},
        readFile: async (path) => files[path] ?? Promise.reject(new Error("missing")),
      }),
    );
    expect(error.code).toBe("invalid-requirement");
    expect(error.message).toContain("/p/c.txt:1: ");
  });
});

describe("nested files", () => {
  let folder: string;

  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), "pylayer-requirements-"));
  });

  afterEach(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  async function write(files: Record<string, string>): Promise<void> {
    for (const [name, content] of Object.entries(files)) {
      const path = join(folder, name);
      await mkdir(join(path, ".."), { recursive: true });
      await writeFile(path, content);
    }
  }

  it("follows -r and -c relative to the including file", async () => {
    await write({
      "requirements.txt": "-r base/common.txt\n--constraint=pins/constraints.txt\napp-lib\n",
      "base/common.txt": "--requirement more.txt\nrequests>=2\n-f ../wheels\n",
      "base/more.txt": "urllib3\n",
      "pins/constraints.txt": "urllib3==2.2.1\n-r nested-pins.txt\n",
      "pins/nested-pins.txt": `requests==2.32.3 --hash=${SHA_A}\n`,
    });
    const parsed = await parseRequirementsFile(join(folder, "requirements.txt"), { env: {} });
    expect(
      parsed.requirements.map((line) => [
        line.requirement.name,
        line.source.file,
        line.source.line,
      ]),
    ).toEqual([
      ["urllib3", join(folder, "base/more.txt"), 1],
      ["requests", join(folder, "base/common.txt"), 2],
      ["app-lib", join(folder, "requirements.txt"), 3],
    ]);
    // A file included from a constraints file contributes constraints.
    expect(
      parsed.constraints.map((line) => [line.requirement.name, line.source.file, line.hashes]),
    ).toEqual([
      ["urllib3", join(folder, "pins/constraints.txt"), []],
      ["requests", join(folder, "pins/nested-pins.txt"), [SHA_A]],
    ]);
    expect(parsed.options.findLinks).toEqual([join(folder, "wheels")]);
  });

  it("reads the same file twice when it is included twice without a cycle", async () => {
    await write({
      "r.txt": "-r a.txt\n-r b.txt\n",
      "a.txt": "-r shared.txt\n",
      "b.txt": "-r shared.txt\n",
      "shared.txt": "six\n",
    });
    const parsed = await parseRequirementsFile(join(folder, "r.txt"), { env: {} });
    expect(parsed.requirements.map((line) => line.requirement.name)).toEqual(["six", "six"]);
  });

  it.each<[string, Record<string, string>, string]>([
    ["a file including itself", { "r.txt": "six\n-r r.txt\n" }, "r.txt:2: "],
    ["a file including itself through ./", { "r.txt": "-r ./r.txt\n" }, "r.txt:1: "],
    [
      "two files including each other",
      { "r.txt": "-r sub/a.txt\n", "sub/a.txt": "\n-c ../r.txt\n" },
      "a.txt:2: ",
    ],
  ])("detects %s", async (_title, files, where) => {
    await write(files);
    const error = await failure(parseRequirementsFile(join(folder, "r.txt"), { env: {} }));
    expect(error.code).toBe("requirements-include-cycle");
    expect(error.message).toContain(where);
    expect(error.message).toContain(" → ");
  });

  it("names the including line when a nested file is missing", async () => {
    await write({ "r.txt": "six\n\n-r missing.txt\n" });
    const error = await failure(parseRequirementsFile(join(folder, "r.txt"), { env: {} }));
    expect(error.code).toBe("requirements-file-not-found");
    expect(error.message).toContain(`${join(folder, "r.txt")}:3: `);
    expect(error.message).toContain("missing.txt");
  });

  it("reports a missing top-level file", async () => {
    const error = await failure(parseRequirementsFile(join(folder, "nope.txt"), { env: {} }));
    expect(error.code).toBe("requirements-file-not-found");
    expect(error.message).toContain("nope.txt");
  });

  it("names the nested file and line of an unsupported requirement", async () => {
    await write({ "r.txt": "-r sub/dev.txt\n", "sub/dev.txt": "six\n-e six\n" });
    const error = await failure(parseRequirementsFile(join(folder, "r.txt"), { env: {} }));
    expect(error.code).toBe("invalid-requirement");
    expect(error.message).toContain(`${join(folder, "sub/dev.txt")}:2: `);
  });
});

describe("parseRequirementsFile with an injected reader", () => {
  it("reads through readFile and resolves includes against the file's folder", async () => {
    const files: Record<string, string> = {
      "/p/r.txt": "-r sub/s.txt\n",
      "/p/sub/s.txt": "pkg==${V}\n",
    };
    const read: string[] = [];
    const parsed = await parseRequirementsFile("/p/r.txt", {
      env: { V: "3" },
      readFile: async (path) => {
        read.push(path);
        const content = files[path];
        if (content === undefined) throw new Error(`no ${path}`);
        return content;
      },
    });
    expect(read).toEqual(["/p/r.txt", "/p/sub/s.txt"]);
    expect(parsed.requirements[0]?.requirement.specifier.text).toBe("==3");
  });
});

describe("mergeRequirements", () => {
  it("concatenates lines and combines options in order", async () => {
    const first = await parseRequirementsText(
      "a\n-i https://one/simple\n--extra-index-url https://x/simple\n--only-binary foo\n-c c.txt",
      "/p/one.txt",
      { env: {}, readFile: async () => "pin==1" },
    );
    const second = await parseRequirementsText(
      "b\n--extra-index-url https://x/simple\n--extra-index-url https://y/simple\n--pre\n--no-binary foo",
      "/p/two.txt",
      { env: {} },
    );
    const third = await parseRequirementsText("-i https://three/simple", "/p/three.txt", {
      env: {},
    });
    const merged = mergeRequirements(first, second, third);
    expect(merged.requirements.map((line) => line.requirement.name)).toEqual(["a", "b"]);
    expect(merged.constraints.map((line) => line.requirement.name)).toEqual(["pin"]);
    expect(merged.options.indexUrl).toBe("https://three/simple");
    expect(merged.options.extraIndexUrls).toEqual(["https://x/simple", "https://y/simple"]);
    expect(merged.options.pre).toBe(true);
    expect(merged.options.onlyBinary).toEqual([]);
    expect(merged.options.noBinary).toEqual(["foo"]);
  });

  it("gives empty results for no parts", () => {
    expect(mergeRequirements().requirements).toEqual([]);
    expect(mergeRequirements().options.noIndex).toBe(false);
  });
});
