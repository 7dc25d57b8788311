/**
 * Lock files whose packages come from source (issue: uv workspace members, poetry path
 * dependencies, PEP 751 vcs/directory entries) are built and installed, and `pylayer
 * lock` writes a git requirement pinned to the commit it resolved to. Projects use a
 * minimal in-tree backend (backend-path), so only a local Python (and git) is needed.
 */
import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { buildLayer, exportRequirements, lockLayer } from "../../src/pipeline/index.js";
import { inTreeProject, pythonsOnPath, writeTree } from "../helpers/backends.js";
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
    const cwd = await temporaryFolder();
    await writeTree(join(cwd, "local-lib"), inTreeProject("local-lib", "0.3.0"));
    await writeFile(
      join(cwd, "poetry.lock"),
      `[[package]]
name = "local-lib"
version = "0.3.0"
description = ""
optional = false
python-versions = "*"
files = []
develop = false
groups = ["main"]

[package.source]
type = "directory"
url = "local-lib"

[metadata]
lock-version = "2.1"
python-versions = "^3.11"
content-hash = "0"
`,
    );
    const result = await buildLayer({
      cwd,
      lock: "poetry.lock",
      runtimes: ["python3.12"],
      env: isolatedEnv(home),
      index: { indexUrl: server.url },
    });
    const built = result.plan.targets[0]!.packages;
    expect(built.map((item) => `${item.name}==${item.version}`)).toEqual(["local-lib==0.3.0"]);
    expect(built[0]!.source).toMatchObject({ kind: "directory" });
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
});
