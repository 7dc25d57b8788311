/** Routes the library's progress events to the terminal: warnings, notes, details, progress. */
import type { AwsEvent } from "../../aws/index.js";
import type { BuildOptions } from "../../pipeline/index.js";
import type { Ui } from "../ui.js";

/** For the pipeline (`build`, `runtime`, `lock`, `export`). */
export function showBuildEvents(ui: Ui): BuildOptions["onEvent"] {
  return (event) => {
    if (event.type === "warning") ui.warn(event.message);
    else if (event.type === "info") ui.info(event.message);
    else if (event.type === "detail") ui.detail(event.message);
    else ui.progress(event.message);
  };
}

/** For the AWS commands. */
export function showAwsEvents(ui: Ui): (event: AwsEvent) => void {
  return (event) => {
    if (event.type === "warning") ui.warn(event.message);
    else if (event.type === "detail") ui.detail(event.message);
    else ui.progress(event.message);
  };
}
