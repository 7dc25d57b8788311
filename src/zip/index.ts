/** pylayer's own zip reader and deterministic zip writer. */
export { extractZip } from "./extract.js";
export {
  assertReadableEntry,
  bufferSource,
  type CentralDirectory,
  decodeEntryData,
  entryDataFromRecord,
  entryRecordRange,
  INITIAL_TAIL_LENGTH,
  localDataOffset,
  parseCentralDirectoryFromTail,
  type RandomAccessSource,
  readFootprint,
  readZipComment,
  type TailParseResult,
  type ZipEntry,
  ZipReader,
} from "./reader.js";
export {
  DIRECTORY_SOURCE,
  DOS_EPOCH,
  deterministicTimestamp,
  type EntrySource,
  type PlannedEntry,
  type PreviousZip,
  writeDeterministicZip,
  type ZipRecord,
  type ZipResult,
  type ZipWriteOptions,
} from "./writer.js";
