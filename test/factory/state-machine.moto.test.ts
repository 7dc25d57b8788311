/**
 * `runOnStateMachine` (what `pylayer factory run --state-machine` calls) against moto's
 * Step Functions, which stores executions without running them: the execution starts
 * with the items as input, is followed until it ends (here: stopped by the test), and
 * its end status is reported; a malformed ARN is a usage error.
 */
import {
  CreateStateMachineCommand,
  DescribeExecutionCommand,
  SFNClient,
  StopExecutionCommand,
} from "@aws-sdk/client-sfn";
import { afterAll, describe, expect, it } from "vitest";
import { isPylayerError } from "../../src/errors.js";
import { runOnStateMachine, type WorkItem } from "../../src/factory/index.js";
import { motoOptions, TEST_CREDENTIALS, uniqueName } from "../aws/moto.js";
import { motoForFile } from "../helpers/moto.js";

const moto = await motoForFile();

const ITEM: WorkItem = {
  id: "alpha/python3.12/arm64",
  layer: "alpha",
  layerName: "acme-alpha-py312-arm64",
  runtime: "python3.12",
  architecture: "arm64",
  regions: ["us-east-1"],
  input: { kind: "requirements", text: "alpha-lib==1.0.0\n" },
  options: {},
};

describe.skipIf(moto === undefined)("runOnStateMachine on moto", () => {
  const endpoint = moto?.endpoint ?? "";
  const client = new SFNClient({ region: "eu-west-1", endpoint, credentials: TEST_CREDENTIALS });

  afterAll(async () => {
    client.destroy();
  });

  it("starts an execution with the items and follows it until it ends", async () => {
    const machine = await client.send(
      new CreateStateMachineCommand({
        name: uniqueName("factory"),
        definition: JSON.stringify({ StartAt: "P", States: { P: { Type: "Pass", End: true } } }),
        roleArn: "arn:aws:iam::123456789012:role/factory",
      }),
    );
    const name = uniqueName("run");
    const executionArn = `${machine.stateMachineArn!.replace(":stateMachine:", ":execution:")}:${name}`;
    const statuses: string[] = [];
    let stopping: Promise<unknown> | undefined;
    const result = await runOnStateMachine([ITEM], {
      stateMachineArn: machine.stateMachineArn!,
      aws: motoOptions(endpoint),
      name,
      pollMs: 20,
      onProgress: (event) => {
        statuses.push(event.status);
        expect(event.total).toBe(1);
        stopping ??= client.send(new StopExecutionCommand({ executionArn }));
      },
    });
    await stopping;
    expect(statuses[0]).toBe("RUNNING");
    expect(result.status).toBe("ABORTED");
    expect(result.executionArn).toBe(executionArn);
    expect(result.results).toEqual([]);
    const described = await client.send(
      new DescribeExecutionCommand({ executionArn: result.executionArn }),
    );
    expect(JSON.parse(described.input ?? "{}")).toEqual({ items: [ITEM] });
  });

  it("refuses an ARN without a region", async () => {
    try {
      await runOnStateMachine([ITEM], {
        stateMachineArn: "LayerFactory",
        aws: motoOptions(endpoint),
      });
      expect.unreachable();
    } catch (error) {
      expect(isPylayerError(error) && error.code).toBe("factory-state-machine-arn");
    }
  });
});
