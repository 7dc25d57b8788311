/**
 * `LayerFactory`: pylayer's layer factory as a CDK construct. A Node.js Lambda function
 * (pylayer's own bundle of `pylayer/lambda`, deployed as it is: no Docker, no bundling
 * at synth) builds and publishes one work item; a Step Functions state machine fans
 * the items of a manifest out over it with a Map state; a DynamoDB table keeps the
 * latest version ARN per (layer, runtime, arch, region).
 *
 * Execution input: `{ "items": [WorkItem, …] }` (what `pylayer factory run
 * --state-machine` sends; `factory plan --json` shows the items). Output: the item
 * results, in input order. With `distributed`, the input is `{ "itemsKey": KEY }`, the
 * items being a JSON array at KEY in the runs bucket (Step Functions caps an
 * execution's input at 256 KiB: a few hundred items), and the output the Map Run's
 * ResultWriterDetails (its results in the same bucket, under `results/`).
 *
 * Retries: the builder throws `PylayerRetryableError` for throttling and AWS service
 * errors, and Lambda's own service errors are retried too, with exponential backoff
 * and jitter; a user error is returned in the item's result, so it is never retried,
 * and any other failure is caught into a failed result: one item never fails the run.
 *
 * Permissions: the builder may publish, delete and share only layers whose name starts
 * with `namePrefix` (in any region of the account); listing layer versions and
 * functions (for skip-if-unchanged and pruning) needs `*`, as those actions support no
 * resource-level permission.
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { ArnFormat, Duration, RemovalPolicy, Size, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import * as iam from "aws-cdk-lib/aws-iam";
import * as lambda from "aws-cdk-lib/aws-lambda";
import * as logs from "aws-cdk-lib/aws-logs";
import * as s3 from "aws-cdk-lib/aws-s3";
import * as s3deploy from "aws-cdk-lib/aws-s3-deployment";
import * as sfn from "aws-cdk-lib/aws-stepfunctions";
import * as tasks from "aws-cdk-lib/aws-stepfunctions-tasks";
import { Construct } from "constructs";
import { PylayerError } from "../errors.js";
import { RETRYABLE_ERROR_NAME } from "../factory/errors.js";
import { RETRY_POLICY } from "../factory/local.js";
import { RECORD_PARTITION_KEY, RECORD_SORT_KEY } from "../factory/records.js";
import type { WorkItem } from "../factory/types.js";

/** Errors the state machine retries: the builder's retryable class and Lambda's service errors. */
export const RETRYABLE_ERRORS = [
  RETRYABLE_ERROR_NAME,
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
] as const;

/** distributed: the key of the scheduled items in the runs bucket. */
export const SCHEDULED_ITEMS_KEY = "schedule/items.json";
/** distributed: where the Map Runs write their results in the runs bucket. */
export const RESULTS_PREFIX = "results";

export interface LayerFactoryProps {
  /** Every layer the factory publishes starts with it (the manifest's `prefix`); IAM is scoped to it. */
  namePrefix: string;
  /** The builder's architecture (default ARM_64: cheaper per GB-second, and wheels are read, not run). */
  architecture?: lambda.Architecture;
  /** Default 2048 MB (more memory is more CPU for unzipping and hashing). */
  memorySize?: number;
  /** Default 15 minutes. */
  timeout?: Duration;
  /** /tmp size: the cache and one item's work folder (default 4 GiB). */
  ephemeralStorageSize?: Size;
  /** Items built at once (default 20; each publishes to all its regions). */
  maxConcurrency?: number;
  /**
   * Use a distributed Map (child workflow executions, up to 10,000 parallel) instead of
   * an inline Map (40 parallel at most), for manifests of any size: the items are read
   * from the runs bucket (execution input `{ "itemsKey": KEY }`, a JSON array of work
   * items, which `pylayer factory run --state-machine` uploads) and the results written
   * there (execution output: the Map Run's ResultWriterDetails), so neither is bound by
   * Step Functions' 256 KiB limit on state input and output. Default: false.
   */
  distributed?: boolean;
  /** distributed: the bucket of items and results (default a new one; objects expire after 30 days). */
  runsBucket?: s3.IBucket;
  /** The table of latest versions; default a new table (retained on stack deletion). */
  table?: dynamodb.ITable;
  /** A bucket shared as a wheel cache; `true` creates one (objects expire after 30 days). */
  wheelCache?: boolean | s3.IBucket;
  /**
   * Staging buckets for zips over 50 MB, one per region (Lambda reads layer code from its
   * own region): `BUCKET`, `REGION=BUCKET`, or a name with `{region}`.
   */
  stagingBuckets?: string[];
  /** Versions kept per layer and region after a publish (default: all). */
  keepVersions?: number;
  /** Run the factory on a schedule with these items (e.g. `Schedule.rate(Duration.days(1))`). */
  schedule?: { schedule: events.Schedule; items: WorkItem[] };
  /** Folder of the builder's bundle (default: pylayer's dist/lambda-bundle). */
  bundlePath?: string;
}

/** pylayer's bundle of the builder, built by `npm run build` next to the other outputs. */
function defaultBundlePath(): string {
  const path = fileURLToPath(new URL("../../dist/lambda-bundle/", import.meta.url));
  if (!existsSync(path)) {
    throw new PylayerError(
      "cdk-factory-bundle-missing",
      `the builder's bundle ${path} is missing`,
      {
        hint: "Reinstall pylayer (the package ships dist/lambda-bundle), or run `npm run build` in a pylayer checkout.",
      },
    );
  }
  return path;
}

export class LayerFactory extends Construct {
  readonly builder: lambda.Function;
  readonly stateMachine: sfn.StateMachine;
  readonly table: dynamodb.ITable;
  readonly wheelCacheBucket: s3.IBucket | undefined;
  /** distributed: where executions read their items and write their results. */
  readonly runsBucket: s3.IBucket | undefined;

  constructor(scope: Construct, id: string, props: LayerFactoryProps) {
    super(scope, id);
    // Set before any child exists (context cannot change later); scoped to this construct.
    this.node.setContext("@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2", true);
    if (!/^[A-Za-z0-9_-]{1,100}$/.test(props.namePrefix)) {
      throw new PylayerError(
        "cdk-factory-prefix",
        `LayerFactory ${id}: namePrefix "${props.namePrefix}" is not a layer name prefix`,
        {
          hint: 'Give 1–100 letters, digits, - and _, e.g. "acme-": permissions are scoped to it, so it cannot be empty.',
        },
      );
    }
    const stack = Stack.of(this);
    this.table =
      props.table ??
      new dynamodb.Table(this, "Table", {
        partitionKey: { name: RECORD_PARTITION_KEY, type: dynamodb.AttributeType.STRING },
        sortKey: { name: RECORD_SORT_KEY, type: dynamodb.AttributeType.STRING },
        billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        removalPolicy: RemovalPolicy.RETAIN,
      });
    this.wheelCacheBucket =
      props.wheelCache === true
        ? new s3.Bucket(this, "WheelCache", {
            blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
            encryption: s3.BucketEncryption.S3_MANAGED,
            enforceSSL: true,
            lifecycleRules: [{ expiration: Duration.days(30) }],
          })
        : props.wheelCache === false || props.wheelCache === undefined
          ? undefined
          : props.wheelCache;

    this.runsBucket =
      props.distributed === true
        ? (props.runsBucket ??
          new s3.Bucket(this, "Runs", {
            blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
            encryption: s3.BucketEncryption.S3_MANAGED,
            enforceSSL: true,
            lifecycleRules: [{ expiration: Duration.days(30) }],
          }))
        : undefined;

    const environment: Record<string, string> = {
      PYLAYER_FACTORY_TABLE: this.table.tableName,
      PYLAYER_FACTORY_NAME_PREFIX: props.namePrefix,
      PYLAYER_CACHE_DIR: "/tmp/pylayer-cache",
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: "true",
    };
    if (this.wheelCacheBucket !== undefined) {
      environment.PYLAYER_FACTORY_WHEEL_CACHE_BUCKET = this.wheelCacheBucket.bucketName;
    }
    if (props.stagingBuckets !== undefined && props.stagingBuckets.length > 0) {
      environment.PYLAYER_FACTORY_STAGING_BUCKETS = props.stagingBuckets.join(",");
    }
    if (props.keepVersions !== undefined) {
      environment.PYLAYER_FACTORY_KEEP = String(props.keepVersions);
    }

    this.builder = new lambda.Function(this, "Builder", {
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: props.architecture ?? lambda.Architecture.ARM_64,
      handler: "index.handler",
      code: lambda.Code.fromAsset(props.bundlePath ?? defaultBundlePath()),
      memorySize: props.memorySize ?? 2048,
      timeout: props.timeout ?? Duration.minutes(15),
      ephemeralStorageSize: props.ephemeralStorageSize ?? Size.gibibytes(4),
      environment,
      logGroup: new logs.LogGroup(this, "BuilderLogs", {
        retention: logs.RetentionDays.ONE_MONTH,
        removalPolicy: RemovalPolicy.DESTROY,
      }),
    });
    this.grantBuilder(stack, props);

    this.stateMachine = new sfn.StateMachine(this, "StateMachine", {
      definitionBody: sfn.DefinitionBody.fromChainable(this.definition(props)),
      timeout: Duration.hours(24),
    });

    if (props.schedule !== undefined) {
      let input: Record<string, unknown> = { items: props.schedule.items };
      if (this.runsBucket !== undefined) {
        // A distributed Map reads its items from S3 (and EventBridge caps a target's input at 8 KiB).
        const deployment = new s3deploy.BucketDeployment(this, "ScheduledItems", {
          destinationBucket: this.runsBucket,
          sources: [s3deploy.Source.jsonData(SCHEDULED_ITEMS_KEY, props.schedule.items)],
          // The bucket's other objects are executions' items and results.
          prune: false,
        });
        input = { itemsKey: SCHEDULED_ITEMS_KEY };
        this.stateMachine.node.addDependency(deployment);
      }
      new events.Rule(this, "Schedule", {
        schedule: props.schedule.schedule,
        targets: [
          new targets.SfnStateMachine(this.stateMachine, {
            input: events.RuleTargetInput.fromObject(input),
          }),
        ],
      });
    }
  }

  /** Least privilege: publish/delete/share only `namePrefix*` layers; read and write the table and caches. */
  private grantBuilder(stack: Stack, props: LayerFactoryProps): void {
    const layerArn = (suffix: string) =>
      stack.formatArn({
        service: "lambda",
        region: "*",
        resource: "layer",
        resourceName: `${props.namePrefix}${suffix}`,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    this.builder.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "PublishPrefixedLayers",
        actions: [
          "lambda:PublishLayerVersion",
          "lambda:GetLayerVersion",
          "lambda:DeleteLayerVersion",
          "lambda:AddLayerVersionPermission",
          "lambda:GetLayerVersionPolicy",
        ],
        resources: [layerArn("*"), layerArn("*:*")],
      }),
    );
    this.builder.addToRolePolicy(
      new iam.PolicyStatement({
        sid: "ListLayersAndFunctions",
        // No resource-level permissions exist for these two read-only actions.
        actions: ["lambda:ListLayerVersions", "lambda:ListFunctions"],
        resources: ["*"],
      }),
    );
    this.table.grant(this.builder, "dynamodb:Query", "dynamodb:PutItem");
    if (this.wheelCacheBucket !== undefined) {
      this.wheelCacheBucket.grantRead(this.builder, "wheels-v1/*");
      this.wheelCacheBucket.grantPut(this.builder, "wheels-v1/*");
    }
    for (const spec of props.stagingBuckets ?? []) {
      const bucket = spec.includes("=") ? spec.slice(spec.indexOf("=") + 1) : spec;
      const pattern = bucket.replaceAll("{region}", "*");
      this.builder.addToRolePolicy(
        new iam.PolicyStatement({
          actions: ["s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload"],
          resources: [`arn:${stack.partition}:s3:::${pattern}/*`],
        }),
      );
    }
  }

  private definition(props: LayerFactoryProps): sfn.IChainable {
    const build = new tasks.LambdaInvoke(this, "Build and publish", {
      lambdaFunction: this.builder,
      payload: sfn.TaskInput.fromObject({ "item.$": "$.item" }),
      payloadResponseOnly: true,
      // The retries below replace CDK's default one, so that user errors are never retried.
      retryOnServiceExceptions: false,
    });
    build.addRetry({
      errors: [...RETRYABLE_ERRORS],
      interval: Duration.seconds(RETRY_POLICY.intervalSeconds),
      backoffRate: RETRY_POLICY.backoffRate,
      maxAttempts: RETRY_POLICY.maxAttempts,
      maxDelay: Duration.seconds(RETRY_POLICY.maxDelaySeconds),
      jitterStrategy: sfn.JitterType.FULL,
    });
    const failed = new sfn.Pass(this, "Item failed", {
      parameters: {
        "id.$": "$.item.id",
        "layer.$": "$.item.layer",
        "layerName.$": "$.item.layerName",
        "runtime.$": "$.item.runtime",
        "architecture.$": "$.item.architecture",
        status: "failed",
        buildSkipped: false,
        findings: [],
        regions: [],
        error: {
          code: "factory-builder-failed",
          "message.$": "States.Format('{}: {}', $.failure.Error, $.failure.Cause)",
          hint: "The builder failed outside pylayer's error handling (timeout, memory, or retries exhausted); see its log group.",
          retryable: false,
        },
        attempts: 0,
        durationMs: 0,
      },
    });
    build.addCatch(failed, { errors: ["States.ALL"], resultPath: "$.failure" });
    const mapProps = {
      itemsPath: sfn.JsonPath.stringAt("$.items"),
      itemSelector: { "item.$": "$$.Map.Item.Value" },
      maxConcurrency: props.maxConcurrency ?? 20,
    };
    if (this.runsBucket !== undefined) {
      const { itemsPath: _itemsPath, ...distributedProps } = mapProps;
      const map = new sfn.DistributedMap(this, "Items", {
        ...distributedProps,
        itemReader: new sfn.S3JsonItemReader({
          bucket: this.runsBucket,
          key: sfn.JsonPath.stringAt("$.itemsKey"),
        }),
        // ResultWriterV2 (read under the feature flag set in the constructor) renders the same
        // ASL as the deprecated ResultWriter, without its deprecation warnings at synth.
        resultWriterV2: new sfn.ResultWriterV2({
          bucket: this.runsBucket,
          prefix: RESULTS_PREFIX,
        }),
        // A child execution runs one item's build with its retries (up to 15 minutes each):
        // longer than an Express workflow's 5 minutes.
        mapExecutionType: sfn.StateMachineType.STANDARD,
      });
      map.itemProcessor(build);
      return map;
    }
    const map = new sfn.Map(this, "Items", mapProps);
    map.itemProcessor(build);
    return map;
  }
}
