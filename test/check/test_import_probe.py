"""Unit tests of src/check/import_probe.py, run by test/python-sources.test.ts with every
local python3.X (python3.X -m unittest discover -s test/check). The probe's whole run (its
output line, Lambda's sys.path) is tested end to end in import-test.test.ts.
"""

import importlib.util
import os
import shutil
import sys
import tempfile
import unittest

SOURCE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "check", "import_probe.py"
)

spec = importlib.util.spec_from_file_location("import_probe_under_test", SOURCE)
probe = importlib.util.module_from_spec(spec)
spec.loader.exec_module(probe)


class ImportResult(unittest.TestCase):
    def setUp(self):
        folder = tempfile.mkdtemp(prefix="pylayer-probe-test-")
        self.addCleanup(shutil.rmtree, folder, True)
        saved_path = list(sys.path)
        saved_modules = set(sys.modules)

        def restore():
            sys.path[:] = saved_path
            for name in set(sys.modules) - saved_modules:
                del sys.modules[name]

        self.addCleanup(restore)
        sys.path.insert(0, folder)
        for name, text in {
            "fine.py": "VALUE = 1\n",
            "exits.py": "raise SystemExit(3)\n",
            "needs.py": "import missing_dependency_x\n",
        }.items():
            with open(os.path.join(folder, name), "w") as stream:
                stream.write(text)

    def test_outcomes(self):
        cases = [
            ("fine", {"ok": True}),
            ("exits", {"ok": False, "error": "SystemExit: 3"}),
            (
                "needs",
                {"ok": False, "error": "ModuleNotFoundError: No module named 'missing_dependency_x'"},
            ),
        ]
        for module, expected in cases:
            with self.subTest(module=module):
                self.assertEqual(probe.import_result(module), expected)


if __name__ == "__main__":
    unittest.main()
