/**
 * Bundles the command line (dist/cli/bin.js, compiled by tsc) into dist/bundle/: a few
 * files with code splitting instead of ~150 modules, which saves about a third of the
 * start-up of a warm build (module resolution and linking). Dependencies stay in
 * node_modules (imported as they are), so the AWS SDK still loads only in the commands
 * that use it. The bundle sits two folders below the package root like dist/cli/, so
 * paths relative to the module (../../package.json) hold in both.
 */
export default {
  input: { pylayer: "dist/cli/bin.js" },
  platform: "node",
  external: [/^[^./]/],
  output: { dir: "dist/bundle", format: "esm", entryFileNames: "[name].js", cleanDir: true },
};
