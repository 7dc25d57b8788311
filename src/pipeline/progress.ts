/**
 * Turns the index client's fine-grained events into the few progress lines a person
 * wants to see while resolving and downloading (the CLI shows them on a TTY only).
 */
import type { IndexEvent } from "../index/index.js";
import type { BuildEvent } from "./types.js";

export class ProgressTracker {
  private metadataCount = 0;
  private requestCount = 0;
  private readonly downloads = new Map<string, { done: number; total: number | undefined }>();
  private finished = 0;

  constructor(private readonly emit: (event: BuildEvent) => void) {}

  handle(event: IndexEvent): void {
    switch (event.type) {
      case "warning":
        this.emit({ type: "warning", message: event.message });
        return;
      case "retry":
        this.emit({
          type: "detail",
          message: `retrying ${event.url} in ${event.delayMs} ms: ${event.reason}`,
        });
        return;
      case "request":
        this.requestCount++;
        break;
      case "metadata":
        this.metadataCount++;
        this.emit({ type: "detail", message: `metadata of ${event.filename} from ${event.via}` });
        break;
      case "download-start":
        this.downloads.set(event.filename, { done: 0, total: event.totalBytes });
        break;
      case "download-progress":
        this.downloads.set(event.filename, { done: event.bytesDone, total: event.totalBytes });
        break;
      case "download-done":
        this.finished++;
        this.downloads.set(event.filename, { done: event.bytes, total: event.bytes });
        break;
      default:
        return;
    }
    this.emit({ type: "progress", message: this.line() });
  }

  private line(): string {
    if (this.downloads.size === 0) {
      return `Resolving… ${this.requestCount} requests, ${this.metadataCount} metadata files`;
    }
    let done = 0;
    let total = 0;
    for (const download of this.downloads.values()) {
      done += download.done;
      total += download.total ?? download.done;
    }
    return `Downloading ${this.finished}/${this.downloads.size} wheels, ${mebibytes(done)}/${mebibytes(total)} MiB`;
  }
}

/** MiB, the unit of all of pylayer's sizes (strings.ts, formatBytes). */
function mebibytes(bytes: number): string {
  return (bytes / 1_048_576).toFixed(1);
}
