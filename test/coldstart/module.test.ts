/**
 * The generated pylayer_runtime.py, run by real interpreters (python3.9 and python3.13, the
 * oldest and a recent Lambda runtime) against a temporary folder standing in for /tmp.
 */
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  stat,
  utimes,
  writeFile,
} from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RuntimeBundleResult } from "../../src/coldstart/index.js";
import { DEMO_WHEELS, PROBE } from "./fixtures.js";
import { bundleFromWheels, requirePython, runPython, writeHandler } from "./helpers.js";

interface ProbeReport {
  base_prefix: string;
  tree?: string;
  again?: string;
  value?: string;
  demo_file?: string;
  extramod_file?: string;
  sys_path?: string[];
  modes?: Record<string, number>;
  tool?: [number, string, string];
  marker_inode?: number;
  error?: { type: string; kind: string; message: string; cause: string | null };
}

async function listing(folder: string): Promise<string[]> {
  try {
    return (await readdir(folder)).sort();
  } catch {
    return [];
  }
}

for (const version of ["3.9", "3.13"]) {
  const python = requirePython(version);

  describe.skipIf(python === undefined)(`pylayer_runtime.py on python${version}`, () => {
    let root: string;
    let bundle: RuntimeBundleResult;
    let task: string;
    let probe: string;
    let treeName: string;

    /** A fresh stand-in for /tmp. */
    const freshTmp = () => mkdtemp(join(root, "tmp-"));
    const run = (tmp: string, extraEnv: Record<string, string | undefined> = {}, cwd = task) =>
      runPython(python!, probe, cwd, {
        PYLAYER_TMP: tmp,
        PYLAYER_AUTOLOAD: "0",
        LAMBDA_TASK_ROOT: cwd,
        ...extraEnv,
      });
    const parse = (stdout: string) => JSON.parse(stdout) as ProbeReport;

    /** A copy of the function folder (module, archive, probe) to damage or trim. */
    async function copyTask(withArchive: boolean): Promise<string> {
      const copy = await mkdtemp(join(root, "task-"));
      await copyFile(bundle.modulePath!, join(copy, "pylayer_runtime.py"));
      await copyFile(probe, join(copy, "probe.py"));
      if (withArchive) await copyFile(bundle.archive!.path, join(copy, bundle.archive!.name));
      return copy;
    }

    beforeAll(async () => {
      root = await mkdtemp(join(tmpdir(), `pylayer-coldstart-${version}-`));
      bundle = await bundleFromWheels(root, DEMO_WHEELS, ["demo"], {
        runtimes: [`python${version}`],
      });
      task = join(root, "task");
      probe = await writeHandler(task, PROBE, "probe.py");
      treeName = bundle.archive!.sha256.slice(0, 16);
    });

    afterAll(async () => {
      await rm(root, { recursive: true, force: true });
    });

    it("extracts on the first load, reuses the tree on the next, and imports from it", async () => {
      const tmp = await freshTmp();
      const first = await run(tmp);
      expect(first.code, first.stderr).toBe(0);
      const report = parse(first.stdout);
      const tree = join(tmp, "pylayer", treeName);
      const site = join(tree, "python");
      expect(report.error).toBeUndefined();
      expect(report.tree).toBe(tree);
      expect(report.again).toBe(tree);
      expect(report.value).toBe("demo helper 2.1");
      expect(report.demo_file).toBe(join(site, "demo", "__init__.py"));
      expect(report.extramod_file).toBe(join(site, "extra_dir", "extramod.py"));
      // Exactly one log line, naming what was done and how long it took.
      const lines = first.stderr.trim().split("\n");
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(
        new RegExp(
          `^\\[pylayer_runtime\\] extracted \\d+ files \\([\\d.]+ KB\\) from ${join(task, bundle.archive!.name)} into ${tree} in [\\d.]+ m?s$`,
        ),
      );

      // Layer precedence: after the function's folder, before the interpreter's own folders.
      const path = report.sys_path!;
      const taskIndex = path.indexOf(task);
      const siteIndex = path.indexOf(site);
      const extraIndex = path.indexOf(join(site, "extra_dir"));
      const firstOwned = path.findIndex((entry) => entry.startsWith(report.base_prefix));
      expect(taskIndex).toBe(0);
      expect(siteIndex).toBe(1);
      expect(extraIndex).toBe(2);
      expect(firstOwned).toBeGreaterThan(extraIndex);

      // Modes from the zip, and the console script found on PATH and run.
      expect(report.modes).toEqual({
        "bin/demo-tool": 0o755,
        "python/demo/run.sh": 0o755,
        "python/demo/__init__.py": 0o644,
        python: 0o755,
      });
      expect(report.tool).toEqual([0, "demo main ran\n", ""]);
      expect(await listing(join(tmp, "pylayer"))).toEqual([treeName]);

      const second = await run(tmp);
      expect(second.code, second.stderr).toBe(0);
      const reused = parse(second.stdout);
      expect(reused.marker_inode).toBe(report.marker_inode);
      expect(reused.value).toBe("demo helper 2.1");
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
      expect(second.stderr).toMatch(
        new RegExp(`^\\[pylayer_runtime\\] reused ${tree} in [\\d.]+ ms\\n$`),
      );
    });

    it("loads on import, as a handler uses it", async () => {
      const tmp = await freshTmp();
      const handler = await writeHandler(
        task,
        "import pylayer_runtime\nimport demo\nprint(demo.VALUE)\n",
        "plain_handler.py",
      );
      const result = await runPython(python!, handler, task, {
        PYLAYER_TMP: tmp,
        LAMBDA_TASK_ROOT: task,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toBe("demo helper 2.1\n");
      expect(result.stderr).toMatch(/^\[pylayer_runtime\] extracted /);
    });

    it("removes trees of other hashes and dead temporary files, but not a temporary folder in use", async () => {
      const tmp = await freshTmp();
      const base = join(tmp, "pylayer");
      const oldTree = join(base, "0123456789abcdef");
      const deadTemporary = join(base, ".tmp-dead");
      const liveTemporary = join(base, ".tmp-live");
      const unrelated = join(base, "notes");
      for (const folder of [oldTree, deadTemporary, liveTemporary, unrelated]) {
        await mkdir(join(folder, "python"), { recursive: true });
      }
      const anHourAgo = new Date(Date.now() - 3600_000);
      await utimes(deadTemporary, anHourAgo, anHourAgo);
      const result = await run(tmp);
      expect(result.code, result.stderr).toBe(0);
      expect(await listing(base)).toEqual([".tmp-live", treeName, "notes"].sort());
    });

    it("fails with the hash error on a corrupted archive and leaves nothing behind", async () => {
      const copy = await copyTask(true);
      const archivePath = join(copy, bundle.archive!.name);
      const bytes = await readFile(archivePath);
      bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
      await writeFile(archivePath, bytes);
      const tmp = await freshTmp();
      const result = await runPython(python!, join(copy, "probe.py"), copy, {
        PYLAYER_TMP: tmp,
        PYLAYER_AUTOLOAD: "0",
        LAMBDA_TASK_ROOT: copy,
      });
      expect(result.code, result.stderr).toBe(0);
      const { error } = parse(result.stdout);
      expect(error?.type).toBe("HashMismatchError");
      expect(error?.kind).toBe("hash");
      expect(error?.message).toContain(`expected ${bundle.archive!.sha256}`);
      expect(await listing(join(tmp, "pylayer"))).toEqual([]);
    });

    it("lets two processes load at once: both succeed and one tree remains", async () => {
      const tmp = await freshTmp();
      const barrier = await mkdtemp(join(root, "barrier-"));
      // Both processes finish extracting before either renames, so one rename loses.
      const racer = await writeHandler(
        task,
        `
import json, os, sys, time
import pylayer_runtime

real_rename = os.rename

def rename(source, destination):
    if os.path.basename(source).startswith(".tmp-"):
        open(os.path.join(${JSON.stringify(barrier)}, str(os.getpid())), "w").close()
        deadline = time.time() + 30
        while len(os.listdir(${JSON.stringify(barrier)})) < 2 and time.time() < deadline:
            time.sleep(0.01)
    return real_rename(source, destination)

os.rename = rename
tree = pylayer_runtime.load()
import demo
print(json.dumps({"tree": tree, "demo": demo.__file__}))
`,
        "racer.py",
      );
      const env = { PYLAYER_TMP: tmp, PYLAYER_AUTOLOAD: "0", LAMBDA_TASK_ROOT: task };
      const results = await Promise.all([
        runPython(python!, racer, task, env),
        runPython(python!, racer, task, env),
      ]);
      const tree = join(tmp, "pylayer", treeName);
      for (const result of results) {
        expect(result.code, result.stderr).toBe(0);
        expect(JSON.parse(result.stdout)).toEqual({
          tree,
          demo: join(tree, "python", "demo", "__init__.py"),
        });
      }
      const logs = results.map((result) => result.stderr.trim()).sort();
      expect(logs[0]).toMatch(/\] extracted \d+ files/);
      expect(logs[1]).toMatch(/\] reused .* \(extracted by another process meanwhile\)/);
      expect(await listing(join(tmp, "pylayer"))).toEqual([treeName]);
      expect(await listing(barrier)).toHaveLength(2);
    });

    it("lets threads of one process call load() at once: one extraction, one sys.path entry", async () => {
      const tmp = await freshTmp();
      const threaded = await writeHandler(
        task,
        `
import json, os, sys, threading
import pylayer_runtime

results = []
threads = [threading.Thread(target=lambda: results.append(pylayer_runtime.load())) for _ in range(4)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join()
site = os.path.join(results[0], "python")
print(json.dumps({"trees": sorted(set(results)), "count": len(results), "site_entries": sys.path.count(site)}))
`,
        "threaded.py",
      );
      const result = await runPython(python!, threaded, task, {
        PYLAYER_TMP: tmp,
        PYLAYER_AUTOLOAD: "0",
        LAMBDA_TASK_ROOT: task,
      });
      expect(result.code, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toEqual({
        trees: [join(tmp, "pylayer", treeName)],
        count: 4,
        site_entries: 1,
      });
      expect(result.stderr.trim().split("\n")).toHaveLength(1);
    });

    it("checks the free space first and names the size and the EphemeralStorage setting", async () => {
      const tmp = await freshTmp();
      const result = await run(tmp, { PYLAYER_TMP_LIMIT_BYTES: "4096" });
      const { error } = parse(result.stdout);
      expect(error?.type).toBe("DiskSpaceError");
      expect(error?.kind).toBe("disk");
      const needed = bundle.archive!.diskSize;
      expect(error?.message).toContain(
        `needs ${(needed / 1024).toFixed(1)} KB, only 4.0 KB is free`,
      );
      expect(error?.message).toContain("EphemeralStorage");
      expect(await listing(join(tmp, "pylayer"))).toEqual([]);
    });

    describe("archives from a loopback HTTP server", () => {
      let server: Server;
      let baseUrl: string;
      const requested: string[] = [];

      beforeAll(async () => {
        const archive = await readFile(bundle.archive!.path);
        server = createServer((request, response) => {
          requested.push(request.url ?? "");
          if (request.url === `/files/${bundle.archive!.name}`) {
            response.writeHead(200, { "content-length": archive.length });
            response.end(archive);
          } else {
            response.writeHead(404);
            response.end("missing");
          }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/files/`;
      });
      afterAll(async () => {
        await new Promise((resolve) => server.close(resolve));
      });

      it("downloads with PYLAYER_ARCHIVE and PYLAYER_ALLOW_HTTP=1, and removes the download", async () => {
        const copy = await copyTask(false);
        const tmp = await freshTmp();
        const url = `${baseUrl}${bundle.archive!.name}`;
        const result = await run(tmp, { PYLAYER_ARCHIVE: url, PYLAYER_ALLOW_HTTP: "1" }, copy);
        expect(result.code, result.stderr).toBe(0);
        expect(parse(result.stdout).value).toBe("demo helper 2.1");
        expect(result.stderr).toContain(`from ${url} into`);
        expect(await listing(join(tmp, "pylayer"))).toEqual([treeName]);
      });

      it("refuses plain http without the opt-in", async () => {
        const tmp = await freshTmp();
        const result = await run(tmp, { PYLAYER_ARCHIVE: `${baseUrl}${bundle.archive!.name}` });
        const { error } = parse(result.stdout);
        expect(error?.kind).toBe("config");
        expect(error?.message).toContain("is plain http; use https, or set PYLAYER_ALLOW_HTTP=1");
      });

      it("reports a missing object with its HTTP status, and tries the generated sources in order", async () => {
        const tmp = await freshTmp();
        const missing = await run(tmp, {
          PYLAYER_ARCHIVE: `${baseUrl}nothing.zip?X-Signature=secret`,
          PYLAYER_ALLOW_HTTP: "1",
        });
        const { error } = parse(missing.stdout);
        expect(error?.type).toBe("ArchiveFetchError");
        expect(error?.kind).toBe("not-found");
        expect(error?.cause).toBe("HTTPError");
        expect(error?.message).toBe(`${baseUrl}nothing.zip?*** answered HTTP 404 Not Found`);

        // Generated with the bundled file first and the URL second; the file is not shipped.
        const generated = await bundleFromWheels(
          join(root, "generated-url"),
          DEMO_WHEELS,
          ["demo"],
          { runtimes: [`python${version}`], url: baseUrl },
        );
        expect(generated.warnings.join("\n")).toContain(
          "is plain http: the module refuses it unless PYLAYER_ALLOW_HTTP=1",
        );
        expect(generated.sources).toEqual([
          bundle.archive!.name,
          `${baseUrl}${bundle.archive!.name}`,
        ]);
        const folder = join(root, "generated-url", "task");
        await rm(generated.archive!.path);
        await copyFile(probe, join(folder, "probe.py"));
        const fetched = await runPython(python!, join(folder, "probe.py"), folder, {
          PYLAYER_TMP: tmp,
          PYLAYER_AUTOLOAD: "0",
          PYLAYER_ALLOW_HTTP: "1",
          LAMBDA_TASK_ROOT: folder,
        });
        expect(fetched.code, fetched.stderr).toBe(0);
        expect(parse(fetched.stdout).value).toBe("demo helper 2.1");
        expect(fetched.stderr).toContain(`from ${baseUrl}${bundle.archive!.name} into`);
      });
    });

    it("names the cause of file system errors", async () => {
      // A file where the base folder should be: the error names the folder and the cause.
      const blocker = join(root, "not-a-folder");
      await writeFile(blocker, "");
      const blocked = await run(blocker);
      const { error } = parse(blocked.stdout);
      expect(error?.kind).toBe("filesystem");
      expect(error?.cause).toBe("NotADirectoryError");
      expect(error?.message).toMatch(
        /^cannot create .*not-a-folder\/pylayer: \[Errno 20\] Not a directory/,
      );

      // Permissions cannot be taken away from root on this machine: check the classification.
      const classify = await writeHandler(
        task,
        `
import errno, json, os
os.environ["PYLAYER_AUTOLOAD"] = "0"
import pylayer_runtime
result = {}
for name in ("EACCES", "EPERM", "EROFS", "ENOSPC", "EDQUOT", "ENOTDIR"):
    error = pylayer_runtime._os_error(OSError(getattr(errno, name), os.strerror(getattr(errno, name))), "cannot write x")
    result[name] = [type(error).__name__, error.kind]
print(json.dumps(result))
`,
        "classify.py",
      );
      const classified = await runPython(python!, classify, task, {});
      expect(JSON.parse(classified.stdout)).toEqual({
        EACCES: ["PylayerRuntimeError", "permission"],
        EPERM: ["PylayerRuntimeError", "permission"],
        EROFS: ["PylayerRuntimeError", "permission"],
        ENOSPC: ["DiskSpaceError", "disk"],
        EDQUOT: ["DiskSpaceError", "disk"],
        ENOTDIR: ["PylayerRuntimeError", "filesystem"],
      });
    });

    it("refuses archives with unsafe paths or symbolic links", async () => {
      const { createHash } = await import("node:crypto");
      const cases: [string, Parameters<typeof zipSync>[0]][] = [
        ["parent", { "python/../../escape.txt": new Uint8Array([1]) }],
        ["absolute", { "/etc/escape.txt": new Uint8Array([1]) }],
        [
          "symlink",
          {
            "python/link": [
              new TextEncoder().encode("/etc/passwd"),
              { os: 3, attrs: (0o120777 << 16) >>> 0 },
            ],
          },
        ],
      ];
      for (const [label, entries] of cases) {
        const archive = Buffer.from(zipSync(entries));
        const path = join(root, `unsafe-${label}.zip`);
        await writeFile(path, archive);
        const tmp = await freshTmp();
        const result = await run(tmp, {
          PYLAYER_ARCHIVE: path,
          PYLAYER_ARCHIVE_SHA256: createHash("sha256").update(archive).digest("hex"),
        });
        const { error } = parse(result.stdout);
        expect(error?.type, label).toBe("UnsafeArchiveError");
        expect(await listing(join(tmp, "pylayer")), label).toEqual([]);
        await expect(stat(join(root, "escape.txt"))).rejects.toThrow();
      }
    });
  });
}
