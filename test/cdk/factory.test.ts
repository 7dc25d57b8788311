/**
 * The LayerFactory stack, by CDK assertions: the builder function (pylayer's bundle,
 * Node.js, arm64), the state machine (Map, concurrency, one retrier for the retryable
 * class and none for user errors, a catch that turns any other failure into a failed
 * item), the table, the schedule, and IAM scoped to the layer name prefix.
 */
import { App, Duration, Stack } from "aws-cdk-lib";
import { Match, Template } from "aws-cdk-lib/assertions";
import { Schedule } from "aws-cdk-lib/aws-events";
import { describe, expect, it } from "vitest";
import {
  LayerFactory,
  type LayerFactoryProps,
  RESULTS_PREFIX,
  RETRYABLE_ERRORS,
  SCHEDULED_ITEMS_KEY,
} from "../../src/cdk/index.js";
import { isPylayerError } from "../../src/errors.js";

function synth(props: Partial<LayerFactoryProps> = {}): Template {
  const app = new App();
  const stack = new Stack(app, "Factory", {
    env: { account: "123456789012", region: "us-east-1" },
  });
  new LayerFactory(stack, "Layers", { namePrefix: "acme-", ...props });
  return Template.fromStack(stack);
}

interface State {
  Type: string;
  MaxConcurrency?: number;
  ItemsPath?: string;
  ItemReader?: unknown;
  ResultWriter?: unknown;
  ItemProcessor?: {
    ProcessorConfig?: { Mode?: string; ExecutionType?: string };
    States: Record<string, State>;
  };
  Retry?: {
    ErrorEquals: string[];
    IntervalSeconds?: number;
    BackoffRate?: number;
    MaxAttempts?: number;
    MaxDelaySeconds?: number;
    JitterStrategy?: string;
  }[];
  Catch?: { ErrorEquals: string[]; Next: string; ResultPath?: string }[];
}

/** The state machine's definition, with CloudFormation references replaced by a placeholder. */
function definition(template: Template): { StartAt: string; States: Record<string, State> } {
  const [machine] = Object.values(template.findResources("AWS::StepFunctions::StateMachine"));
  const body = machine?.Properties?.DefinitionString as
    | { "Fn::Join": [string, unknown[]] }
    | string;
  const text =
    typeof body === "string"
      ? body
      : body["Fn::Join"][1].map((part) => (typeof part === "string" ? part : "REF")).join("");
  return JSON.parse(text);
}

type Statement = { Action: string | string[]; Resource: unknown; Effect: string };

function builderStatements(template: Template): Statement[] {
  const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((policy) =>
    JSON.stringify(policy.Properties.Roles).includes("Builder"),
  );
  return policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (statement: Statement) =>
  Array.isArray(statement.Action) ? statement.Action : [statement.Action];

describe("LayerFactory", () => {
  it("deploys pylayer's bundled builder as a Node.js function on arm64", () => {
    const template = synth();
    template.hasResourceProperties("AWS::Lambda::Function", {
      Runtime: "nodejs22.x",
      Architectures: ["arm64"],
      Handler: "index.handler",
      MemorySize: 2048,
      Timeout: 900,
      EphemeralStorage: { Size: 4096 },
      Environment: {
        Variables: Match.objectLike({
          PYLAYER_FACTORY_NAME_PREFIX: "acme-",
          PYLAYER_FACTORY_TABLE: Match.anyValue(),
        }),
      },
    });
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      KeySchema: [
        { AttributeName: "layer", KeyType: "HASH" },
        { AttributeName: "target", KeyType: "RANGE" },
      ],
      BillingMode: "PAY_PER_REQUEST",
    });
  });

  it("fans out with an inline Map of the configured concurrency; retries only the retryable class", () => {
    const states = definition(synth({ maxConcurrency: 7 })).States;
    const map = states.Items!;
    expect(map.Type).toBe("Map");
    expect(map.MaxConcurrency).toBe(7);
    expect(map.ItemProcessor?.ProcessorConfig?.Mode ?? "INLINE").toBe("INLINE");
    const build = map.ItemProcessor!.States["Build and publish"]!;
    expect(build.Type).toBe("Task");
    expect(build.Retry).toEqual([
      {
        ErrorEquals: [...RETRYABLE_ERRORS],
        IntervalSeconds: 5,
        BackoffRate: 2,
        MaxAttempts: 4,
        MaxDelaySeconds: 120,
        JitterStrategy: "FULL",
      },
    ]);
    // User errors come back as results (never thrown): no retrier matches them.
    const retried = build.Retry!.flatMap((retrier) => retrier.ErrorEquals);
    expect(retried).not.toContain("States.ALL");
    expect(retried).not.toContain("States.TaskFailed");
    expect(retried).toContain("PylayerRetryableError");
    expect(build.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], Next: "Item failed", ResultPath: "$.failure" },
    ]);
    expect(map.ItemProcessor!.States["Item failed"]?.Type).toBe("Pass");
  });

  it("uses a distributed Map for large manifests: items read from S3, results written there", () => {
    const template = synth({ distributed: true, maxConcurrency: 500 });
    const map = definition(template).States.Items!;
    expect(map.Type).toBe("Map");
    expect(map.MaxConcurrency).toBe(500);
    expect(map.ItemProcessor?.ProcessorConfig).toEqual({
      Mode: "DISTRIBUTED",
      ExecutionType: "STANDARD",
    });
    // No ItemsPath: the execution input names the items' key, not the items (256 KiB limit).
    expect(map.ItemsPath).toBeUndefined();
    expect(map.ItemReader).toEqual({
      Resource: "arn:REF:states:::s3:getObject",
      ReaderConfig: { InputType: "JSON" },
      Parameters: { Bucket: "REF", "Key.$": "$.itemsKey" },
    });
    expect(map.ResultWriter).toEqual({
      Resource: "arn:REF:states:::s3:putObject",
      Parameters: { Bucket: "REF", Prefix: RESULTS_PREFIX },
    });
    expect(map.ItemProcessor!.States["Build and publish"]?.Retry?.[0]?.ErrorEquals).toEqual([
      ...RETRYABLE_ERRORS,
    ]);
    // The runs bucket is private, and the state machine may read items and write results in it.
    template.hasResourceProperties("AWS::S3::Bucket", {
      PublicAccessBlockConfiguration: Match.objectLike({ BlockPublicAcls: true }),
      LifecycleConfiguration: { Rules: [Match.objectLike({ ExpirationInDays: 30 })] },
    });
    const machineActions = Object.values(template.findResources("AWS::IAM::Policy"))
      .filter((policy) => JSON.stringify(policy.Properties.Roles).includes("StateMachine"))
      .flatMap((policy) => policy.Properties.PolicyDocument.Statement as Statement[])
      .flatMap(actionsOf);
    expect(machineActions).toEqual(
      expect.arrayContaining(["s3:GetObject", "s3:PutObject", "states:StartExecution"]),
    );
  });

  it("schedules a distributed factory with its items uploaded to the runs bucket", () => {
    const template = synth({
      distributed: true,
      schedule: { schedule: Schedule.rate(Duration.days(1)), items: [] },
    });
    template.hasResourceProperties("AWS::Events::Rule", {
      Targets: [Match.objectLike({ Input: JSON.stringify({ itemsKey: SCHEDULED_ITEMS_KEY }) })],
    });
    template.resourceCountIs("Custom::CDKBucketDeployment", 1);
  });

  it("lets the builder publish only layers with the name prefix", () => {
    const statements = builderStatements(
      synth({ wheelCache: true, stagingBuckets: ["acme-staging-{region}"] }),
    );
    const all = statements.flatMap(actionsOf);
    expect(all).not.toContain("lambda:*");
    expect(all).not.toContain("*");
    for (const action of [
      "lambda:PublishLayerVersion",
      "lambda:DeleteLayerVersion",
      "lambda:AddLayerVersionPermission",
    ]) {
      const granting = statements.filter((statement) => actionsOf(statement).includes(action));
      expect(granting, action).toHaveLength(1);
      const resources = JSON.stringify(granting[0]!.Resource);
      expect(resources).toContain(":layer:acme-*");
      expect(resources).not.toMatch(/"\*"/);
    }
    const unscoped = statements.filter((statement) => JSON.stringify(statement.Resource) === '"*"');
    expect(unscoped.flatMap(actionsOf).sort()).toEqual([
      "lambda:ListFunctions",
      "lambda:ListLayerVersions",
    ]);
    expect(all.filter((action) => action.startsWith("dynamodb:")).sort()).toEqual([
      "dynamodb:PutItem",
      "dynamodb:Query",
    ]);
    const staging = statements.find((statement) =>
      JSON.stringify(statement.Resource).includes("acme-staging-*"),
    );
    expect(staging).toBeDefined();
  });

  it("runs on a schedule with the given items", () => {
    const template = synth({ schedule: { schedule: Schedule.rate(Duration.days(1)), items: [] } });
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(1 day)",
      Targets: [Match.objectLike({ Input: JSON.stringify({ items: [] }) })],
    });
  });

  it("refuses an empty prefix (IAM would then cover every layer)", () => {
    try {
      synth({ namePrefix: "" });
      expect.unreachable();
    } catch (error) {
      expect(isPylayerError(error) && error.code).toBe("cdk-factory-prefix");
    }
  });
});
