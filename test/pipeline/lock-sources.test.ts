/**
 * Lock files whose packages come from source (issue: uv workspace members, poetry path
 * dependencies, PEP 751 vcs/directory entries) are built and installed, and `pylayer
 * lock` writes a git requirement pinned to the commit it resolved to. Projects use a
 * minimal in-tree backend (backend-path), so only a local Python (and git) is needed.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLayer, exportRequirements, lockLayer } from "../../src/pipeline/index.js";
import { buildSdist, inTreeProject, pythonsOnPath, writeTree } from "../helpers/backends.js";
import { gitRepository, hasGit } from "../helpers/git.js";
import { type IndexServer, startIndexServer } from "../helpers/index-server.js";
import { isolatedEnv, temporaryFolder, unzipFile } from "../helpers/sandbox.js";
import { type BuiltWheel, buildWheel } from "../helpers/wheels.js";

vi.setConfig({ testTimeout: 300_000 });

const hasPython = (await pythonsOnPath()).length > 0;
if (!hasPython) console.warn("lock source tests skipped: no python3 on PATH");

let server: IndexServer;
let helper: BuiltWheel;
let home: string;

beforeAll(async () => {
  helper = buildWheel({ name: "helper", version: "1.5" });
  server = await startIndexServer([helper]);
  home = await temporaryFolder();
});
afterAll(async () => {
  await server?.close();
});

const helperUrl = () => `${server.url.replace(/simple\/$/, "files/")}${helper.filename}`;

/** A poetry.lock (2.1) of packages, each `[name, version, files, [package.source] lines]`. */
function poetryLock(packages: [string, string, string, string][]): string {
  const entries = packages.map(
    ([name, version, files, source]) =>
      `[[package]]\nname = "${name}"\nversion = "${version}"\ndescription = ""\noptional = false\npython-versions = "*"\nfiles = ${files}\ngroups = ["main"]\n\n[package.source]\n${source}\n`,
  );
  return `${entries.join("\n")}\n[metadata]\nlock-version = "2.1"\npython-versions = "^3.11"\ncontent-hash = "0"\n`;
}

describe.skipIf(!hasPython)("lock files with sources", () => {
  it("builds the uv workspace member the root project depends on", async () => {
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "libs", "shared"), inTreeProject("shared", "0.2.0", ["helper>=1"]));
    await writeFile(
      join(cwd, "pyproject.toml"),
      '[project]\nname = "app"\nversion = "0.1.0"\nrequires-python = ">=3.11"\ndependencies = ["shared"]\n\n[tool.uv.sources]\nshared = { workspace = true }\n\n[tool.uv.workspace]\nmembers = ["libs/shared"]\n',
    );
    await writeFile(
      join(cwd, "uv.lock"),
      `version = 1
revision = 3
requires-python = ">=3.11"

[manifest]
members = ["app", "shared"]

[[package]]
name = "app"
version = "0.1.0"
source = { virtual = "." }
dependencies = [{ name = "shared" }]

[package.metadata]
requires-dist = [{ name = "shared", editable = "libs/shared" }]

[[package]]
name = "helper"
version = "1.5"
source = { registry = "${server.url}" }
wheels = [{ url = "${helperUrl()}", hash = "sha256:${helper.sha256}", size = ${helper.bytes.length} }]

[[package]]
name = "shared"
version = "0.2.0"
source = { editable = "libs/shared" }
dependencies = [{ name = "helper" }]

[package.metadata]
requires-dist = [{ name = "helper", specifier = ">=1" }]
`,
    );
    const messages: string[] = [];
    const result = await buildLayer({
      cwd,
      lock: "uv.lock",
      runtimes: ["python3.12"],
      env: isolatedEnv(home),
      index: { indexUrl: server.url },
      onEvent: (event) => messages.push(event.message),
    });
    const packages = result.plan.targets[0]!.packages;
    expect(packages.map((item) => `${item.name}==${item.version}`)).toEqual([
      "helper==1.5",
      "shared==0.2.0",
    ]);
    expect(packages[1]!.source).toMatchObject({ kind: "directory", editable: true });
    expect(messages).toContain(
      "shared 0.2.0: editable in the lock, installed as a regular wheel; Lambda has no editable installs",
    );
    const entries = await unzipFile(result.zips[0]!.path);
    expect(new TextDecoder().decode(entries["python/shared/__init__.py"])).toBe(
      'VALUE = "shared 0.2.0"\n',
    );
  });

  it("builds poetry.lock directory dependencies", async () => {
    const { packages } = await buildFromLock(
      "poetry.lock",
      () => poetryLock([["local-lib", "0.3.0", "[]", 'type = "directory"\nurl = "local-lib"']]),
      (cwd) => writeTree(join(cwd, "local-lib"), inTreeProject("local-lib", "0.3.0")),
    );
    expect(packages).toEqual(["local-lib==0.3.0 directory"]);
  });

  it.skipIf(!hasGit)(
    "pylayer lock pins a git requirement to its commit, and build --lock builds that commit",
    async () => {
      const repository = await gitRepository(inTreeProject("gitpkg", "1.0", ["helper>=1"]), "v1.0");
      const cwd = await temporaryFolder();
      await writeTree(join(cwd, "libs", "common"), inTreeProject("common", "0.1.0"));
      const locked = await lockLayer({
        cwd,
        requirements: [`gitpkg @ git+file://${repository.path}@v1.0`, "./libs/common"],
        runtimes: ["python3.12"],
        env: isolatedEnv(home),
        index: { indexUrl: server.url },
      });
      expect(locked.text).toContain(`commit-id = "${repository.commit}"`);
      expect(locked.text).toContain('requested-revision = "v1.0"');
      expect(locked.text).toMatch(/\[packages\.directory\]\npath = "libs\/common"/);

      // A new commit on the branch does not change what the lock builds.
      await writeFile(join(repository.path, "gitpkg", "__init__.py"), 'VALUE = "later"\n');
      execFileSync("git", ["commit", "--quiet", "-am", "later"], {
        cwd: repository.path,
        env: {
          ...process.env,
          GIT_AUTHOR_NAME: "t",
          GIT_AUTHOR_EMAIL: "t@e.invalid",
          GIT_COMMITTER_NAME: "t",
          GIT_COMMITTER_EMAIL: "t@e.invalid",
        },
      });
      const result = await buildLayer({
        cwd,
        lock: "pylock.toml",
        runtimes: ["python3.12"],
        env: isolatedEnv(home),
        index: { indexUrl: server.url },
      });
      const packages = result.plan.targets[0]!.packages;
      expect(packages.map((item) => `${item.name}==${item.version}`)).toEqual([
        "common==0.1.0",
        "gitpkg==1.0",
        "helper==1.5",
      ]);
      expect(packages[1]!.source).toMatchObject({ kind: "vcs", commit: repository.commit });
      const entries = await unzipFile(result.zips[0]!.path);
      expect(new TextDecoder().decode(entries["python/gitpkg/__init__.py"])).toBe(
        'VALUE = "gitpkg 1.0"\n',
      );
    },
  );

  it.skipIf(!hasGit)(
    "pylayer export writes direct references (git at its commit, a project by path, a URL with its hash) and no password",
    async () => {
      const repository = await gitRepository(inTreeProject("gitpkg", "1.0"), "v1.0");
      const cwd = await temporaryFolder();
      await writeTree(join(cwd, "libs", "common"), inTreeProject("common", "0.1.0"));
      const withSecrets = `${helperUrl().replace("http://", "http://user:pa55w0rd@")}?token=s3cr3t`;
      const events: { type: string; message: string }[] = [];
      const options = {
        cwd,
        requirements: [
          `gitpkg @ git+file://${repository.path}@v1.0`,
          "./libs/common",
          `helper @ ${withSecrets}#sha256=${helper.sha256}`,
        ],
        runtimes: ["python3.12"],
        env: isolatedEnv(home),
        index: { indexUrl: server.url },
        onEvent: (event: { type: string; message: string }) => events.push(event),
      };
      const exported = await exportRequirements(options);
      expect(exported.text.split("\n").slice(1)).toEqual([
        "# common, gitpkg: git and local project requirements have no hash, which pip's hash-checking mode refuses; install them in a separate pip call.",
        "./libs/common",
        `gitpkg @ git+file://${repository.path}@${repository.commit}`,
        `helper @ ${helperUrl()}?token=s3cr3t \\`,
        `    --hash=sha256:${helper.sha256}`,
        "",
      ]);
      // The lock keeps the query the user wrote (the file's address), never the password.
      const locked = await lockLayer({ ...options, write: false });
      expect(locked.text).toContain(`url = "${helperUrl()}?token=s3cr3t"`);
      expect(locked.text).not.toContain("pa55w0rd");
      expect(
        events.filter(
          (event) =>
            event.type === "warning" &&
            event.message.includes("is recorded with its query string as written, secret included"),
        ),
      ).toHaveLength(2);
      // Plans (--json), messages and errors show neither.
      for (const shown of [JSON.stringify(exported.plan), JSON.stringify(events)]) {
        expect(shown).not.toMatch(/s3cr3t|pa55w0rd/);
      }
      expect(JSON.stringify(exported.plan)).toContain("?token=***");
    },
  );

  /** Builds a layer from `lock` (written into a fresh folder with `files`) for python3.12. */
  async function buildFromLock(
    lockName: string,
    lockText: (cwd: string) => string,
    files: (cwd: string) => Promise<void>,
  ) {
    const cwd = await temporaryFolder();
    await files(cwd);
    await writeFile(join(cwd, lockName), lockText(cwd));
    const messages: string[] = [];
    const result = await buildLayer({
      cwd,
      lock: lockName,
      runtimes: ["python3.12"],
      env: isolatedEnv(home),
      index: { indexUrl: server.url },
      onEvent: (event) => messages.push(event.message),
    });
    const packages = result.plan.targets[0]!.packages;
    return {
      packages: packages.map(
        (item) => `${item.name}==${item.version} ${item.source?.kind ?? "index"}`,
      ),
      entries: await unzipFile(result.zips[0]!.path),
      messages,
    };
  }

  /** An sdist of a tiny in-tree-backend project, written into `folder`; its sha256. */
  async function sdistFile(folder: string, name: string, version: string): Promise<string> {
    const sdist = buildSdist({ name, version, files: inTreeProject(name, version) });
    await writeFile(join(folder, sdist.filename), sdist.bytes);
    return createHash("sha256").update(sdist.bytes).digest("hex");
  }

  it.skipIf(!hasGit)("builds Pipfile.lock editable path and git (at ref) entries", async () => {
    const repository = await gitRepository(inTreeProject("gitpkg", "1.0"), "v1.0");
    const { packages, messages } = await buildFromLock(
      "Pipfile.lock",
      () =>
        JSON.stringify({
          _meta: { "pipfile-spec": 6, sources: [{ name: "local", url: server.url }] },
          default: {
            common: { editable: true, path: "./libs/common" },
            gitpkg: { git: `file://${repository.path}`, ref: repository.commit },
            helper: { hashes: [`sha256:${helper.sha256}`], index: "local", version: "==1.5" },
          },
          develop: {},
        }),
      (cwd) =>
        writeTree(join(cwd, "libs", "common"), inTreeProject("common", "0.1.0", ["helper>=1"])),
    );
    expect(packages).toEqual(["common==0.1.0 directory", "gitpkg==1.0 vcs", "helper==1.5 index"]);
    expect(messages).toContain(
      "common 0.1.0: editable in the lock, installed as a regular wheel; Lambda has no editable installs",
    );
  });

  it.skipIf(!hasGit)("builds poetry.lock git and file (sdist archive) sources", async () => {
    const repository = await gitRepository(inTreeProject("gitpkg", "1.0"), "v1.0");
    let sha256 = "";
    const { packages, entries } = await buildFromLock(
      "poetry.lock",
      () =>
        poetryLock([
          [
            "gitpkg",
            "1.0",
            "[]",
            `type = "git"\nurl = "file://${repository.path}"\nreference = "main"\nresolved_reference = "${repository.commit}"`,
          ],
          [
            "archived",
            "0.4",
            `[{file = "archived-0.4.tar.gz", hash = "sha256:${sha256}"}]`,
            'type = "file"\nurl = "archived-0.4.tar.gz"',
          ],
        ]),
      async (cwd) => {
        sha256 = await sdistFile(cwd, "archived", "0.4");
      },
    );
    expect(packages).toEqual(["archived==0.4 archive", "gitpkg==1.0 vcs"]);
    expect(new TextDecoder().decode(entries["python/archived/__init__.py"])).toBe(
      'VALUE = "archived 0.4"\n',
    );
  });

  it("builds pylock.toml archive and sdist-only entries, their hashes checked", async () => {
    const hashes: Record<string, string> = {};
    const lock = () => `lock-version = "1.0"
created-by = "hand"

[[packages]]
name = "archived"
version = "0.4"
archive = { path = "archived-0.4.tar.gz", hashes = { sha256 = "${hashes.archived}" } }

[[packages]]
name = "sdonly"
version = "0.2"
sdist = { name = "sdonly-0.2.tar.gz", path = "dist/sdonly-0.2.tar.gz", hashes = { sha256 = "${hashes.sdonly}" } }
`;
    const files = async (cwd: string) => {
      hashes.archived = await sdistFile(cwd, "archived", "0.4");
      await mkdir(join(cwd, "dist"), { recursive: true });
      hashes.sdonly = await sdistFile(join(cwd, "dist"), "sdonly", "0.2");
    };
    const { packages } = await buildFromLock("pylock.toml", lock, files);
    expect(packages).toEqual(["archived==0.4 archive", "sdonly==0.2 archive"]);
    const tampered = buildFromLock(
      "pylock.toml",
      () => lock().replace(hashes.sdonly!, "0".repeat(64)),
      files,
    );
    await expect(tampered).rejects.toMatchObject({ code: "hash-mismatch" });
  });
});
