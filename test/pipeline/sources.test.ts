/**
 * Source builds end to end (PEP 517/518/643): sdists from the loopback index, local
 * projects, direct URLs and git repositories, built by the local Python with backends the
 * test produces itself (setuptools from ensurepip's bundle, `wheel` repacked from a local
 * installation, in-tree `backend-path` backends). Skipped with a message when there is no
 * Python (or git) on this machine.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type BuildEvent, type BuildOptions, buildLayer } from "../../src/pipeline/index.js";
import { buildSdist, inTreeProject, setuptoolsBackend, writeTree } from "../helpers/backends.js";
import { gitRepository, hasGit } from "../helpers/git.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { type BuiltWheel, buildWheel } from "../helpers/wheels.js";

// Each setuptools build starts Python twice (two hooks); on a loaded machine that is slow.
vi.setConfig({ testTimeout: 300_000 });

const backend = await setuptoolsBackend();
const missing = "missing" in backend ? backend.missing : undefined;
if (missing !== undefined) console.warn(`source-build tests skipped: ${missing}`);

/** A minimal PEP 517 backend kept in the project (backend-path): writes a pure wheel by hand. */
const IN_TREE_BACKEND = `
import base64, hashlib, os, zipfile

NAME, VERSION = "intree", "0.3"

def get_requires_for_build_wheel(config_settings=None):
    return []

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    flavour = (config_settings or {}).get("flavour", "plain")
    files = {
        "intree/__init__.py": ("FLAVOUR = %r\\n" % flavour).encode(),
        "intree-0.3.dist-info/METADATA": b"Metadata-Version: 2.1\\nName: intree\\nVersion: 0.3\\nRequires-Dist: helper>=1\\n",
        "intree-0.3.dist-info/WHEEL": b"Wheel-Version: 1.0\\nGenerator: in-tree\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n",
    }
    record = []
    for path, data in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (path, digest, len(data)))
    record.append("intree-0.3.dist-info/RECORD,,")
    files["intree-0.3.dist-info/RECORD"] = ("\\n".join(record) + "\\n").encode()
    name = "intree-0.3-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(wheel_directory, name), "w") as archive:
        for path, data in files.items():
            archive.writestr(zipfile.ZipInfo(path, (1980, 1, 1, 0, 0, 0)), data)
    print("in-tree backend built", name)
    return name
`;

const hasGcc = (() => {
  try {
    execFileSync("gcc", ["--version"]);
    return true;
  } catch {
    return false;
  }
})();

/** A setuptools project with one C extension module; `body` is the C code of its function. */
const extensionProject = (name: string, body: string) => ({
  "setup.py": `from setuptools import Extension, setup\nsetup(name="${name}", version="1.0", packages=["${name}"], ext_modules=[Extension("${name}._speed", ["${name}/_speed.c"])])\n`,
  [`${name}/__init__.py`]: "",
  [`${name}/_speed.c`]: `#include <Python.h>
#include <stdlib.h>
static PyObject *value(PyObject *self, PyObject *args) { ${body} }
static PyMethodDef methods[] = {{"value", value, METH_NOARGS, ""}, {NULL, NULL, 0, NULL}};
static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_speed", NULL, -1, methods};
PyMODINIT_FUNC PyInit__speed(void) { return PyModule_Create(&module); }
`,
});

const setuptoolsProject = (name: string, version: string, extra: Record<string, string> = {}) => ({
  "pyproject.toml": `[build-system]\nrequires = ["setuptools>=40.8"]\nbuild-backend = "setuptools.build_meta"\n\n[project]\nname = "${name}"\nversion = "${version}"\ndependencies = ["helper>=1"]\n`,
  [`${name.replace(/-/g, "_")}/__init__.py`]: `VALUE = "${name} ${version}"\n`,
  ...extra,
});

let server: IndexServer;
let home: string;

beforeAll(async () => {
  if (missing !== undefined) return;
  const wheels: BuiltWheel[] = [
    ...(backend as { wheels: BuiltWheel[] }).wheels,
    buildWheel({ name: "helper", version: "1.5" }),
    buildWheel({ name: "both", version: "1.0" }),
  ];
  const sdist = (spec: Parameters<typeof buildSdist>[0]) => {
    const built = buildSdist(spec);
    return { project: spec.name, ...built };
  };
  server = await startIndexServer(wheels, {
    extraFiles: [
      // Only an sdist, setuptools with pyproject.toml; PKG-INFO too old for PEP 643.
      sdist({ name: "sgmlish", version: "1.0", files: setuptoolsProject("sgmlish", "1.0") }),
      // PEP 643 static metadata: resolution reads it without a build.
      sdist({
        name: "staticmeta",
        version: "2.0",
        pkgInfo:
          "Metadata-Version: 2.2\nName: staticmeta\nVersion: 2.0\nRequires-Dist: helper>=1\n",
        files: setuptoolsProject("staticmeta", "2.0"),
      }),
      // Bare setup.py, no pyproject.toml: setuptools' legacy backend.
      sdist({
        name: "legacy-only",
        version: "0.9",
        files: {
          "setup.py":
            'from setuptools import setup\nsetup(name="legacy-only", version="0.9", packages=["legacy_only"])\n',
          "legacy_only/__init__.py": "LEGACY = True\n",
        },
      }),
      // A wheel exists for 1.0; the sdist is used only with --no-binary.
      sdist({ name: "both", version: "1.0", files: setuptoolsProject("both", "1.0") }),
      // C extensions: one needing nothing new of glibc, one calling arc4random (glibc 2.36).
      sdist({
        name: "nat",
        version: "1.0",
        files: extensionProject("nat", "return PyLong_FromLong(42);"),
      }),
      sdist({
        name: "natnew",
        version: "1.0",
        files: extensionProject("natnew", "return PyLong_FromUnsignedLong(arc4random());"),
      }),
      // A build requirement published only as an sdist: building it would be a nested build.
      sdist({
        name: "sdistbackend",
        version: "1.0",
        files: setuptoolsProject("sdistbackend", "1.0"),
      }),
      sdist({
        name: "needsnested",
        version: "1.0",
        files: {
          "pyproject.toml":
            '[build-system]\nrequires = ["sdistbackend"]\nbuild-backend = "sdistbackend.api"\n\n[project]\nname = "needsnested"\nversion = "1.0"\n',
        },
      }),
      sdist({
        name: "broken",
        version: "1.0",
        files: {
          "setup.py":
            'import sys\nprint("compiling the broken extension")\nsys.exit("error: the build of broken failed on purpose")\n',
        },
      }),
    ],
  });
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

async function build(options: BuildOptions) {
  const events: BuildEvent[] = [];
  const cwd = options.cwd ?? (await temporaryFolder());
  const result = await buildLayer({
    index: { indexUrl: server.url },
    env: isolatedEnv(home),
    cwd,
    runtimes: ["python3.11"],
    onEvent: (event) => events.push(event),
    ...options,
  });
  return { result, events, messages: events.map((event) => event.message) };
}

const packageList = (result: Awaited<ReturnType<typeof buildLayer>>) =>
  result.plan.targets[0]!.packages.map((item) => `${item.name}==${item.version}`);

describe.skipIf(missing !== undefined)("source distributions from the index", () => {
  it("builds an sdist-only project with setuptools (pyproject.toml) and says so", async () => {
    const { result, messages } = await build({ requirements: ["sgmlish"] });
    expect(packageList(result)).toEqual(["helper==1.5", "sgmlish==1.0"]);
    const planned = result.plan.targets[0]!.packages.find((item) => item.name === "sgmlish")!;
    expect(planned).toMatchObject({
      filename: "sgmlish-1.0-py3-none-any.whl",
      pure: true,
      tag: "py3-none-any",
    });
    expect(planned.source).toMatchObject({ kind: "sdist", sdist: "sgmlish-1.0.tar.gz" });
    expect(messages).toContain(
      "sgmlish 1.0: no compatible wheel, built from the sdist sgmlish-1.0.tar.gz",
    );
    const entries = await unzipFile(result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/sgmlish/__init__.py"])).toBe(
      'VALUE = "sgmlish 1.0"\n',
    );
  });

  it("builds a bare setup.py project with the legacy backend", async () => {
    const { result } = await build({ requirements: ["legacy-only"] });
    expect(packageList(result)).toEqual(["legacy-only==0.9"]);
    const entries = await unzipFile(result.zips[0]!.path);
    expect(Object.keys(entries)).toContain("python/legacy_only/__init__.py");
  });

  it("reads PEP 643 static metadata from PKG-INFO instead of building for resolution", async () => {
    const { messages } = await build({ requirements: ["staticmeta"] });
    expect(messages).toContain(
      "staticmeta-2.0.tar.gz: static metadata (PEP 643) read without a build",
    );
  });

  it("honours --only-binary (no fallback) and --no-binary (sdist over wheel)", async () => {
    await expect(build({ requirements: ["sgmlish"], onlyBinary: [":all:"] })).rejects.toThrow(
      /--only-binary excludes sgmlish/,
    );
    const { result, messages } = await build({ requirements: ["both"], noBinary: ["both"] });
    expect(result.plan.targets[0]!.packages[0]!.source).toMatchObject({ kind: "sdist" });
    expect(messages).toContain("both 1.0: built from the sdist both-1.0.tar.gz (--no-binary)");
    const wheelOnly = await build({ requirements: ["both"] });
    expect(wheelOnly.result.plan.targets[0]!.packages[0]!.source).toBeUndefined();
  });

  it("resolves with prepare_metadata_for_build_wheel, then builds the wheel once", async () => {
    const { result, events } = await build({ requirements: ["sgmlish"], noCache: true });
    const messages = events.map((event) => event.message);
    expect(messages).toContain(
      "sgmlish-1.0.tar.gz: metadata from prepare_metadata_for_build_wheel, no wheel built",
    );
    expect(
      events.filter(
        (event) => event.type === "progress" && event.message.startsWith("Building sgmlish"),
      ),
    ).toHaveLength(1);
    expect(packageList(result)).toEqual(["helper==1.5", "sgmlish==1.0"]);
  });

  it("--dry-run builds no sdist: static metadata is read, dynamic metadata prepared", async () => {
    const { result, events } = await build({
      requirements: ["staticmeta", "sgmlish"],
      dryRun: true,
      noCache: true,
    });
    expect(result.zips).toEqual([]);
    expect(events.filter((event) => event.message.startsWith("Building "))).toEqual([]);
    const messages = events.map((event) => event.message);
    expect(messages).toContain(
      "staticmeta 2.0: would be built from the sdist staticmeta-2.0.tar.gz (--dry-run: its static metadata (PEP 643) was read without a build)",
    );
    expect(messages).toContain(
      "sgmlish 1.0: would be built from the sdist sgmlish-1.0.tar.gz (--dry-run: its metadata is dynamic, so the backend's prepare_metadata_for_build_wheel ran in an isolated build environment; no wheel was built)",
    );
    const planned = result.plan.targets[0]!.packages.find((item) => item.name === "staticmeta")!;
    expect(planned).toMatchObject({ filename: "staticmeta-2.0.tar.gz", tag: "sdist" });
    expect(planned.source).toMatchObject({ kind: "sdist", notBuilt: true, metadata: "static" });
  });

  it("refuses a build requirement that is itself only an sdist (no nested builds)", async () => {
    const error = await build({ requirements: ["needsnested"] }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "nested-source-build" });
    expect((error as Error).message).toBe(
      "the build requirements of needsnested-1.0.tar.gz: sdistbackend is published only as a source distribution, and pylayer does not build build requirements from source",
    );
    expect((error as { hint: string }).hint).toMatch(/wheel of sdistbackend.*--find-links/);
  });

  it("reuses a built wheel from the cache by sdist sha256 and build interpreter", async () => {
    await build({ requirements: ["sgmlish"] });
    const { messages } = await build({ requirements: ["sgmlish"] });
    expect(
      messages.some((message) =>
        /sgmlish-1\.0\.tar\.gz: built wheel sgmlish-1\.0-py3-none-any\.whl reused from the cache/.test(
          message,
        ),
      ),
    ).toBe(true);
  });

  it("shows the last lines of a failed build and keeps the full log in a file", async () => {
    const error = await build({ requirements: ["broken"] }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "source-build-failed" });
    const message = (error as Error).message;
    expect(message).toMatch(/building broken-1\.0\.tar\.gz from source failed/);
    expect(message).toContain("error: the build of broken failed on purpose");
    const log = /Full build log: (\S+\.log)/.exec((error as { hint: string }).hint)![1]!;
    expect(await readFile(log, "utf8")).toContain("compiling the broken extension");
  });

  it("names the missing build Python", async () => {
    const error = await build({
      requirements: ["sgmlish"],
      noCache: true,
      env: { ...isolatedEnv(home), PATH: "/nonexistent" },
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "build-python-not-found" });
    expect((error as Error).message).toMatch(/needs a local Python 3 to run the build backend/);
  });
});

describe.skipIf(missing !== undefined)("local projects and direct references", () => {
  it("builds -e ./libs/common from a requirements file as a regular wheel, with a note", async () => {
    const cwd = await temporaryFolder();
    const project = join(cwd, "libs", "common");
    await writeTree(project, inTreeProject("common", "0.1", ["helper>=1"]));
    await writeFile(join(cwd, "requirements.txt"), "-e ./libs/common\n");
    const { result, messages } = await build({ cwd, requirementFiles: ["requirements.txt"] });
    expect(packageList(result)).toEqual(["common==0.1", "helper==1.5"]);
    expect(messages).toContain(
      "common 0.1: -e (editable) is installed as a regular wheel; Lambda has no editable installs",
    );
    const planned = result.plan.targets[0]!.packages.find((item) => item.name === "common")!;
    expect(planned.source).toMatchObject({ kind: "directory", editable: true });
    // The project folder is left as it was (the build ran on a copy).
    expect((await readdir(project)).sort()).toEqual(["_build", "common", "pyproject.toml"]);

    // A change to the project's files makes a new build.
    await writeFile(join(project, "common", "__init__.py"), 'VALUE = "changed"\n');
    const again = await build({ cwd, requirements: ["common @ file:./libs/common"] });
    const entries = await unzipFile(again.result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/common/__init__.py"])).toBe(
      'VALUE = "changed"\n',
    );
  });

  it("builds an in-tree backend-path backend with --config-settings", async () => {
    const cwd = await temporaryFolder();
    await mkdir(join(cwd, "intree", "_backend"), { recursive: true });
    await writeFile(
      join(cwd, "intree", "pyproject.toml"),
      '[build-system]\nrequires = []\nbuild-backend = "intree_backend"\nbackend-path = ["_backend"]\n',
    );
    await writeFile(join(cwd, "intree", "_backend", "intree_backend.py"), IN_TREE_BACKEND);
    const { result } = await build({
      cwd,
      requirements: ["./intree"],
      configSettings: { flavour: "spicy" },
    });
    expect(packageList(result)).toEqual(["helper==1.5", "intree==0.3"]);
    const entries = await unzipFile(result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/intree/__init__.py"])).toBe(
      "FLAVOUR = 'spicy'\n",
    );
  });

  it("passes a requirement line's --config-settings to that build only, over the global ones", async () => {
    const cwd = await temporaryFolder();
    for (const folder of ["intree", "other"]) {
      await mkdir(join(cwd, folder, "_backend"), { recursive: true });
      await writeFile(
        join(cwd, folder, "pyproject.toml"),
        '[build-system]\nrequires = []\nbuild-backend = "intree_backend"\nbackend-path = ["_backend"]\n',
      );
    }
    await writeFile(join(cwd, "intree", "_backend", "intree_backend.py"), IN_TREE_BACKEND);
    await writeFile(
      join(cwd, "other", "_backend", "intree_backend.py"),
      IN_TREE_BACKEND.replace('"intree", "0.3"', '"other", "0.3"').replaceAll("intree", "other"),
    );
    await writeFile(
      join(cwd, "requirements.txt"),
      "-e ./intree --config-settings flavour=sour\n./other\n",
    );
    const { result } = await build({
      cwd,
      requirementFiles: ["requirements.txt"],
      configSettings: { flavour: "spicy" },
    });
    const entries = await unzipFile(result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/intree/__init__.py"])).toBe(
      "FLAVOUR = 'sour'\n",
    );
    expect(new TextDecoder().decode(entries["python/other/__init__.py"])).toBe(
      "FLAVOUR = 'spicy'\n",
    );
  });

  it("checks #sha256= of a direct wheel URL", async () => {
    const wheel = buildWheel({ name: "direct-wheel", version: "3.0" });
    const folder = await temporaryFolder();
    await writeFile(join(folder, wheel.filename), wheel.bytes);
    const sha256 = createHash("sha256").update(wheel.bytes).digest("hex");
    await writeFile(
      join(folder, "requirements.txt"),
      `direct-wheel @ file:./${wheel.filename}#sha256=${sha256}\n`,
    );
    const { result } = await build({ cwd: folder, requirementFiles: ["requirements.txt"] });
    expect(packageList(result)).toEqual(["direct-wheel==3.0"]);
    await writeFile(
      join(folder, "bad.txt"),
      `direct-wheel @ file:./${wheel.filename}#sha256=${"0".repeat(64)}\n`,
    );
    await expect(build({ cwd: folder, requirementFiles: ["bad.txt"] })).rejects.toMatchObject({
      code: "hash-mismatch",
    });
  });

  it.skipIf(!hasGit)("pins a git requirement to the commit it resolved", async () => {
    const {
      path: repository,
      commit,
      git,
    } = await gitRepository(setuptoolsProject("gitpkg", "1.2"), "v1.2");
    await writeFile(join(repository, "gitpkg", "__init__.py"), 'VALUE = "later"\n');
    git("commit", "--quiet", "-am", "second");
    const { result, messages } = await build({
      requirements: [`gitpkg @ git+file://${repository}@v1.2`],
    });
    const planned = result.plan.targets[0]!.packages.find((item) => item.name === "gitpkg")!;
    expect(planned.source).toMatchObject({
      kind: "vcs",
      commit,
      requestedRevision: "v1.2",
      url: `git+file://${repository}@${commit}`,
    });
    expect(messages.some((message) => message.includes(`at commit ${commit}`))).toBe(true);
    const entries = await unzipFile(result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/gitpkg/__init__.py"])).toBe(
      'VALUE = "gitpkg 1.2"\n',
    );
  });

  it("refuses a local folder in hash-checking mode", async () => {
    const cwd = await temporaryFolder();
    await writeFile(
      join(cwd, "requirements.txt"),
      `--require-hashes\n./somewhere\nhelper==1.5 --hash=sha256:${"1".repeat(64)}\n`,
    );
    await mkdir(join(cwd, "somewhere"));
    await writeFile(
      join(cwd, "somewhere", "setup.py"),
      "from setuptools import setup\nsetup(name='somewhere', version='1')\n",
    );
    await expect(build({ cwd, requirementFiles: ["requirements.txt"] })).rejects.toMatchObject({
      code: "hashes-required",
    });
  });
});

describe.skipIf(missing !== undefined || !hasGcc)("sdists with compiled code", () => {
  it("refuses a native wheel built here unless --allow-native-sdist names it", async () => {
    const error = await build({ requirements: ["nat"], runtimes: ["python3.11"] }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: "native-sdist-refused" });
    expect((error as Error).message).toMatch(
      /^nat 1\.0 was built from source into nat-1\.0-cp311-cp311-linux_x86_64\.whl, which contains compiled code for this machine; it is used only with --allow-native-sdist nat/,
    );
    expect((error as { hint: string }).hint).toMatch(
      /manylinux wheels for python3\.11-x86_64.*another index.*container build/,
    );
  });

  it("refuses it for a runtime whose Python differs from the build Python, even when opted in", async () => {
    const error = await build({
      requirements: ["nat"],
      runtimes: ["python3.12"],
      buildPython: "python3.11",
      allowNativeSdist: ["nat"],
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "native-sdist-refused" });
    expect((error as Error).message).toContain(
      "it cannot be used for python3.12-x86_64: the build Python is 3.11, the runtime is Python 3.12",
    );
  });

  it("accepts it with the opt-in on a matching host, then checks it against the runtime's glibc", async () => {
    const { result, messages } = await build({
      requirements: ["nat"],
      runtimes: ["python3.11"],
      allowNativeSdist: ["nat"],
    });
    const planned = result.plan.targets[0]!.packages[0]!;
    expect(planned).toMatchObject({ pure: false, tag: "cp311-cp311-linux_x86_64" });
    expect(
      messages.some((message) => message.includes("has compiled code built on this machine")),
    ).toBe(true);
    const entries = Object.keys(await unzipFile(result.zips[0]!.path));
    expect(
      entries.some((entry) =>
        /^python\/nat\/_speed\.cpython-311-x86_64-linux-gnu\.so$/.test(entry),
      ),
    ).toBe(true);

    // arc4random needs GLIBC_2.36; python3.11's Amazon Linux 2 has glibc 2.26.
    const error = await build({
      requirements: ["natnew"],
      runtimes: ["python3.11"],
      allowNativeSdist: [":all:"],
    }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: "native-sdist-check-failed" });
    expect((error as Error).message).toMatch(/GLIBC_2\.36/);
  });
});
