/**
 * moto_server (the AWS emulator) for tests that talk to AWS.
 *
 * `.ci/run` starts one server and exports PYLAYER_MOTO_ENDPOINT; without it, each test
 * file starts its own server on a free loopback port (when Python 3.11 has moto) and
 * stops it after the file. When moto is missing the tests are skipped with a visible
 * message — except under PYLAYER_CI=1, where a missing moto fails the run.
 *
 * Test files share one server under CI, so every test uses names of its own and never
 * resets moto.
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createServer } from "node:net";
import { afterAll } from "vitest";

export interface Moto {
  endpoint: string;
  stop(): Promise<void>;
}

/** The Python that has moto (PYLAYER_MOTO_PYTHON overrides, e.g. to check the missing-moto paths). */
export const MOTO_PYTHON = process.env.PYLAYER_MOTO_PYTHON ?? "python3.11";

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address !== null
          ? resolve(address.port)
          : reject(new Error("no port")),
      );
    });
  });
}

async function waitUntilUp(endpoint: string, child: ChildProcess, log: () => string) {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`moto_server exited with code ${child.exitCode}:\n${log()}`);
    }
    try {
      const response = await fetch(`${endpoint}/moto-api/`);
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`moto_server did not answer on ${endpoint} within 30 s:\n${log()}`);
}

/** A running moto_server, or undefined (with a printed reason) when tests must skip. */
async function startMoto(): Promise<Moto | undefined> {
  const given = process.env.PYLAYER_MOTO_ENDPOINT;
  if (given !== undefined && given !== "") {
    return { endpoint: given.replace(/\/$/, ""), stop: async () => {} };
  }
  const probe = spawnSync(MOTO_PYTHON, ["-c", "import moto.server"], { encoding: "utf8" });
  if (probe.status !== 0) {
    const reason = `moto is not available to ${MOTO_PYTHON} (${(probe.stderr || String(probe.error ?? "")).trim().split("\n").at(-1)})`;
    if (process.env.PYLAYER_CI === "1") {
      throw new Error(
        `${reason}; CI must run the AWS tests: install moto[server] for ${MOTO_PYTHON}`,
      );
    }
    console.warn(
      `\n*** SKIPPING the AWS integration tests: ${reason}. Install it with: ${MOTO_PYTHON} -m pip install 'moto[server]' ***\n`,
    );
    return undefined;
  }
  const port = await freePort();
  const endpoint = `http://127.0.0.1:${port}`;
  const child = spawn(MOTO_PYTHON, ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on("data", (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  };
  try {
    await waitUntilUp(endpoint, child, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, stop };
}

/**
 * moto for the calling test file: the server of PYLAYER_MOTO_ENDPOINT, or one started
 * now and stopped after the file's tests; undefined when the tests must skip. Call at
 * the top level of a test file.
 */
export async function motoForFile(): Promise<Moto | undefined> {
  const moto = await startMoto();
  afterAll(async () => {
    await moto?.stop();
  });
  return moto;
}
