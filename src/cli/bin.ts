#!/usr/bin/env node
// The installed `pylayer` command: runs the CLI and sets the exit code.
import { exitQuietlyOnClosedPipes, main } from "./main.js";

exitQuietlyOnClosedPipes();

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`internal error: ${String(error)}\n`);
    process.exitCode = 2;
  },
);
