/** Publishing and managing Lambda layers with the AWS SDK (loaded lazily). */
export {
  type AttachFunctionResult,
  type AttachOptions,
  type AttachResult,
  attachLayer,
} from "./attach.js";
export {
  type AwsCredentials,
  type AwsEvent,
  type AwsOptions,
  defaultRegion,
  resolveEndpoint,
  resolveRegions,
} from "./clients.js";
export {
  type AttachPlan,
  bucketForRegion,
  type Compatibility,
  checkUnzippedSize,
  chooseUploadRoute,
  DIRECT_UPLOAD_LIMIT,
  decidePublish,
  type ExistingVersion,
  type FunctionFacts,
  type LayerVersionFacts,
  type PermissionStatement,
  type PrunePlan,
  type PublishDecision,
  permissionStatements,
  planAttach,
  planPrune,
  resolveCompatibility,
  s3KeyFor,
  UNZIPPED_LIMIT,
  type UploadRoute,
  unappliedSettings,
} from "./decisions.js";
export { isWrongRegionError, mapAwsError } from "./errors.js";
export {
  type LayerVersionInfo,
  type ListLayersOptions,
  type ListLayersResult,
  listLayers,
  type PruneOptions,
  type PruneResult,
  pruneLayers,
  type RegionLayers,
  type RegionPrune,
} from "./layers.js";
export {
  type PublishOptions,
  type PublishRegionResult,
  type PublishResult,
  publishLayer,
  validatePublishInputs,
} from "./publish.js";
export {
  type FunctionReference,
  type LayerReference,
  layerArnOf,
  parseFunctionReference,
  parseLayerReference,
} from "./validate.js";
export { inspectLayerZip, type LayerZipInfo } from "./zip-info.js";
