import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { main } from "../../src/cli/main.js";
import { isPylayerError } from "../../src/errors.js";
import { findInterpreter, type InvokeOptions, invokeHandler } from "../../src/invoke/index.js";
import { findRuntime } from "../../src/runtime/index.js";
import { writeLayerZip } from "../check/layers.js";

const dir = mkdtempSync(join(tmpdir(), "pylayer-invoke-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const search = await findInterpreter(findRuntime("python3.11"));
const PYTHON = search.interpreter?.path;
const title = (text: string) =>
  PYTHON === undefined ? `${text} — skipped: no local python3.11 on this machine` : text;

const code = join(dir, "code");
mkdirSync(code);
writeFileSync(
  join(code, "app.py"),
  `import json, logging, os, sys
logger = logging.getLogger()

def handler(event, context):
    print("log line from print")
    logger.warning("log line from logging")
    return {
        "event": event,
        "function_name": context.function_name,
        "function_version": context.function_version,
        "invoked_function_arn": context.invoked_function_arn,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "aws_request_id": context.aws_request_id,
        "log_group_name": context.log_group_name,
        "log_stream_name": context.log_stream_name,
        "remaining": context.get_remaining_time_in_millis(),
        "identity": context.identity,
        "client_context": context.client_context,
        "environ": {key: os.environ.get(key) for key in ["AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION", "LAMBDA_TASK_ROOT", "_HANDLER", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "TZ", "STAGE"]},
        "path": sys.path[:3],
    }

def fails(event, context):
    raise ValueError("bad input: %s" % event["name"])

def sleeps(event, context):
    import time
    time.sleep(30)

def layered(event, context):
    import shared, only_first
    return [shared.VALUE, only_first.VALUE]

def unserializable(event, context):
    return {1, 2}
`,
);
writeFileSync(join(code, "broken.py"), "def handler(event, context)\n    return 1\n");

function options(handler: string, extra: Partial<InvokeOptions> = {}): InvokeOptions {
  return { handler, runtime: "python3.11", codeDir: code, eventText: '{"name": "x"}', ...extra };
}

describe.skipIf(PYTHON === undefined || process.platform !== "linux")(
  title("invoke with the local python3.11"),
  () => {
    it("runs the handler with Lambda's context, environment and sys.path; logs go to onLog", async () => {
      const logs: string[] = [];
      const result = await invokeHandler(
        options("app.handler", {
          environment: { STAGE: "test" },
          region: "eu-west-1",
          memoryMb: 256,
          functionName: "orders",
          timeoutSeconds: 20,
          onLog: (text) => logs.push(text),
        }),
      );
      expect(result).toMatchObject({ ok: true, timedOut: false, interpreter: PYTHON });
      const response = JSON.parse(result.payload);
      expect(response).toMatchObject({
        event: { name: "x" },
        function_name: "orders",
        function_version: "$LATEST",
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders",
        memory_limit_in_mb: "256",
        aws_request_id: result.requestId,
        log_group_name: "/aws/lambda/orders",
        identity: null,
        client_context: null,
        environ: {
          AWS_LAMBDA_FUNCTION_NAME: "orders",
          AWS_REGION: "eu-west-1",
          LAMBDA_TASK_ROOT: code,
          _HANDLER: "app.handler",
          AWS_EXECUTION_ENV: "AWS_Lambda_python3.11",
          AWS_LAMBDA_FUNCTION_MEMORY_SIZE: "256",
          TZ: ":UTC",
          STAGE: "test",
        },
      });
      expect(response.log_stream_name).toMatch(/^\d{4}\/\d{2}\/\d{2}\/\[\$LATEST\][0-9a-f]{32}$/);
      expect(response.remaining).toBeGreaterThan(0);
      expect(response.remaining).toBeLessThanOrEqual(20_000);
      expect(response.path[0]).toBe(code);
      expect(response.path[1]).toMatch(/\/opt\/python\/lib\/python3\.11\/site-packages$/);
      expect(response.path[2]).toMatch(/\/opt\/python$/);
      const text = logs.join("");
      expect(text).toContain(`START RequestId: ${result.requestId} Version: $LATEST`);
      expect(text).toContain("log line from print");
      expect(text).toMatch(
        /\[WARNING\]\t\d{4}-\d\d-\d\dT[\d:.]+Z\t[0-9a-f-]{36}\tlog line from logging\n/,
      );
      expect(text).toContain(`END RequestId: ${result.requestId}`);
      expect(text).toContain(`REPORT RequestId: ${result.requestId}`);
    });

    it("returns Lambda's error shape when the handler raises", async () => {
      const result = await invokeHandler(options("app.fails"));
      expect(result.ok).toBe(false);
      const payload = JSON.parse(result.payload);
      expect(payload).toEqual(result.error);
      expect(payload).toMatchObject({
        errorMessage: "bad input: x",
        errorType: "ValueError",
        requestId: result.requestId,
      });
      expect(payload.stackTrace).toHaveLength(1);
      expect(payload.stackTrace[0]).toContain(`File "${join(code, "app.py")}", line 24, in fails`);
    });

    it("kills the process at the timeout and reports it like Lambda", async () => {
      const result = await invokeHandler(options("app.sleeps", { timeoutSeconds: 1 }));
      expect(result).toMatchObject({ ok: false, timedOut: true });
      expect(result.error).toEqual({
        errorType: "Sandbox.Timedout",
        errorMessage: `RequestId: ${result.requestId} Error: Task timed out after 1.00 seconds`,
      });
    });

    it("extracts layers in order: a later layer overwrites an earlier one's files", async () => {
      const first = await writeLayerZip(join(dir, "first.zip"), {
        "python/shared.py": "VALUE = 'first'\n",
        "python/only_first.py": "VALUE = 1\n",
      });
      const second = await writeLayerZip(join(dir, "second.zip"), {
        "python/shared.py": "VALUE = 'second'\n",
      });
      const inOrder = await invokeHandler(options("app.layered", { layers: [first, second] }));
      expect(JSON.parse(inOrder.payload)).toEqual(["second", 1]);
      const reversed = await invokeHandler(options("app.layered", { layers: [second, first] }));
      expect(JSON.parse(reversed.payload)).toEqual(["first", 1]);
    });

    // Table: handler → the runtime's error type and message (awslambdaric's bootstrap).
    const failures: [string, string, string][] = [
      [
        "missing.handler",
        "Runtime.ImportModuleError",
        "Unable to import module 'missing': No module named 'missing'",
      ],
      ["app.nothing", "Runtime.HandlerNotFound", "Handler 'nothing' missing on module 'app'"],
      [
        "apphandler",
        "Runtime.MalformedHandlerName",
        "Bad handler 'apphandler': not enough values to unpack (expected 2, got 1)",
      ],
      ["broken.handler", "Runtime.UserCodeSyntaxError", "Syntax error in module 'broken'"],
      [
        "app.unserializable",
        "Runtime.MarshalError",
        "Unable to marshal response: Object of type set is not JSON serializable",
      ],
    ];
    for (const [handler, errorType, message] of failures) {
      it(`reports ${errorType} for ${handler}`, async () => {
        const result = await invokeHandler(options(handler));
        expect(result.error?.errorType).toBe(errorType);
        expect(result.error?.errorMessage).toContain(message);
      });
    }

    describe("pylayer invoke (command line)", () => {
      const stdout: string[] = [];
      afterEach(() => {
        vi.restoreAllMocks();
        stdout.length = 0;
      });
      const capture = () => {
        vi.spyOn(process.stdout, "write").mockImplementation((chunk) => {
          stdout.push(String(chunk));
          return true;
        });
        vi.spyOn(process.stderr, "write").mockImplementation(() => true);
      };

      it("prints the result on stdout and exits 0", async () => {
        const event = join(dir, "event.json");
        writeFileSync(event, '{"name": "cli"}');
        capture();
        const exit = await main(
          [
            "invoke",
            "app.layered",
            "--runtime",
            "python3.11",
            "--code",
            code,
            "--event",
            event,
            "--layer",
            join(dir, "first.zip"),
          ],
          process.env,
        );
        expect(exit).toBe(0);
        expect(JSON.parse(stdout.join(""))).toEqual(["first", 1]);
      });

      it("prints the error shape on stdout and exits 1 when the handler raises", async () => {
        capture();
        const exit = await main(
          ["invoke", "app.fails", "--runtime", "python3.11", "--code", code, "--env", "A=B"],
          process.env,
        );
        expect(exit).toBe(1);
        expect(JSON.parse(stdout.join(""))).toMatchObject({
          errorType: "KeyError",
          errorMessage: "'name'",
        });
      });
    });
  },
);

describe("invoke input errors", () => {
  it("refuses an event that is not JSON", async () => {
    const error = await invokeHandler(options("app.handler", { eventText: "{not json" })).catch(
      (caught: unknown) => caught,
    );
    expect(isPylayerError(error) && error.code).toBe("invalid-event");
  });

  it("says what to install when the runtime's Python is missing", async () => {
    const empty = mkdtempSync(join(dir, "empty-"));
    const error = await invokeHandler(
      options("app.handler", {
        runtime: "python3.13",
        env: { PATH: empty, HOME: empty, PYENV_ROOT: join(empty, "pyenv") },
      }),
    ).catch((caught: unknown) => caught);
    expect(isPylayerError(error) && error.code).toBe("interpreter-not-found");
    expect((error as { hint?: string }).hint).toContain("uv python install 3.13");
  });
});
