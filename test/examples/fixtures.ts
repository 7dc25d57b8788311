/** Wheels the example recipes install (requests and its dependencies), served by the loopback index. */
import { type BuiltWheel, buildWheel } from "../helpers/wheels.js";

export function requestsWheels(): BuiltWheel[] {
  return [
    buildWheel({
      name: "requests",
      version: "2.32.3",
      requires: ["urllib3<3,>=1.21.1", "certifi>=2017.4.17"],
      consoleScripts: { "requests-cli": "requests:main" },
    }),
    buildWheel({ name: "urllib3", version: "2.3.0" }),
    buildWheel({ name: "certifi", version: "2025.1.31" }),
  ];
}
