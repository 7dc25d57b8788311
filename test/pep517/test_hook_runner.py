"""src/pep517/hook_runner.py as the build Python runs it: results, missing hooks, backends
that cannot be imported or come from outside backend-path, and a hook that raises."""
import json
import os
import subprocess
import sys
import tempfile
import unittest

RUNNER = os.path.join(os.path.dirname(__file__), "..", "..", "src", "pep517", "hook_runner.py")

BACKEND = """
def get_requires_for_build_wheel(config_settings=None):
    return ["extra>=1"] + sorted((config_settings or {}).keys())

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    raise RuntimeError("build failed on purpose")
"""


class HookRunnerTest(unittest.TestCase):
    def run_hook(self, backend, hook, kwargs, backend_path=("_backend",)):
        tree = tempfile.mkdtemp()
        control = tempfile.mkdtemp()
        os.makedirs(os.path.join(tree, "_backend"))
        with open(os.path.join(tree, "_backend", "tiny_backend.py"), "w") as handle:
            handle.write(BACKEND)
        with open(os.path.join(control, "input.json"), "w") as handle:
            json.dump(
                {
                    "site": [],
                    "backend": backend,
                    "backend_path": [os.path.join(tree, entry) for entry in backend_path],
                    "hook": hook,
                    "kwargs": kwargs,
                },
                handle,
            )
        process = subprocess.run(
            [sys.executable, "-S", "-s", RUNNER, control], cwd=tree, capture_output=True, text=True
        )
        output = os.path.join(control, "output.json")
        result = json.load(open(output)) if os.path.exists(output) else None
        return process, result

    def test_returns_the_hook_value(self):
        _, result = self.run_hook(
            "tiny_backend", "get_requires_for_build_wheel", {"config_settings": {"b": "1"}}
        )
        self.assertEqual(result, {"return": ["extra>=1", "b"]})

    def test_a_missing_optional_hook_is_unsupported(self):
        _, result = self.run_hook(
            "tiny_backend", "prepare_metadata_for_build_wheel", {"metadata_directory": "."}
        )
        self.assertEqual(result, {"unsupported": True})

    def test_a_backend_that_cannot_be_imported(self):
        _, result = self.run_hook("no_such_backend", "build_wheel", {})
        self.assertEqual(result["error"], "backend-unavailable")
        self.assertIn("No module named 'no_such_backend'", result["traceback"])

    def test_a_backend_from_outside_backend_path_is_invalid(self):
        _, result = self.run_hook("json", "build_wheel", {}, backend_path=("_backend",))
        self.assertEqual(result["error"], "backend-invalid")

    def test_a_hook_that_raises_fails_the_process_with_its_traceback(self):
        process, result = self.run_hook("tiny_backend", "build_wheel", {"wheel_directory": "."})
        self.assertNotEqual(process.returncode, 0)
        self.assertIsNone(result)
        self.assertIn("build failed on purpose", process.stderr)


if __name__ == "__main__":
    unittest.main()
