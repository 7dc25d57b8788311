/** Test wheels and the probe handler shared by the module tests. */
import type { WheelSpec } from "../helpers/wheels.js";

export const DEMO_WHEELS: WheelSpec[] = [
  {
    name: "demo",
    version: "1.0",
    requires: ["helper>=2"],
    files: {
      "demo/__init__.py":
        'import helper\n\nVALUE = "demo " + helper.VALUE\n\n\ndef main():\n    print("demo main ran")\n',
      "demo/run.sh": "#!/bin/sh\necho run\n",
      // A .pth file at the site root: site.addsitedir must process it, as for a layer.
      "demo_extra.pth": "extra_dir\n",
      "extra_dir/extramod.py": "NAME = 'extramod'\n",
    },
    modes: { "demo/run.sh": 0o100755 },
    consoleScripts: { "demo-tool": "demo:main" },
  },
  { name: "helper", version: "2.1", files: { "helper/__init__.py": 'VALUE = "helper 2.1"\n' } },
];

/**
 * Loads with PYLAYER_AUTOLOAD=0 and load(), then reports what a test checks, or the error.
 * Python 3.9 syntax.
 */
export const PROBE = `
import json, os, stat, subprocess, sys
import pylayer_runtime

report = {"base_prefix": sys.base_prefix, "cwd": os.getcwd()}
try:
    tree = pylayer_runtime.load()
except pylayer_runtime.PylayerRuntimeError as error:
    report["error"] = {
        "type": type(error).__name__,
        "kind": error.kind,
        "message": str(error),
        "cause": type(error.__cause__).__name__ if error.__cause__ is not None else None,
    }
else:
    import demo
    import extramod

    def mode(*parts):
        return stat.S_IMODE(os.stat(os.path.join(tree, *parts)).st_mode)

    tool = subprocess.run(
        ["demo-tool"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        universal_newlines=True,
        env=dict(os.environ, PYLAYER_PYTHON=sys.executable),
    )
    report.update(
        tree=tree,
        again=pylayer_runtime.load(),
        value=demo.VALUE,
        demo_file=demo.__file__,
        extramod_file=extramod.__file__,
        sys_path=sys.path,
        modes={
            "bin/demo-tool": mode("bin", "demo-tool"),
            "python/demo/run.sh": mode("python", "demo", "run.sh"),
            "python/demo/__init__.py": mode("python", "demo", "__init__.py"),
            "python": mode("python"),
        },
        tool=[tool.returncode, tool.stdout, tool.stderr],
        marker_inode=os.stat(os.path.join(tree, ".pylayer-complete")).st_ino,
    )
print(json.dumps(report))
`;
