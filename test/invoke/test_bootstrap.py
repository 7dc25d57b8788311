"""Unit tests of src/invoke/bootstrap.py and src/invoke/lambda_sys_path.py, run by
test/python-sources.test.ts with every local python3.X
(python3.X -m unittest discover -s test/invoke).

Imported as modules, the programs do not run: their `__main__` parts (sys.path
arrangement, the invocation) are left to the end-to-end tests in invoke.test.ts.
"""

import decimal
import importlib.util
import os
import shutil
import sys
import tempfile
import time
import unittest

SOURCES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "invoke")


def load(name):
    spec = importlib.util.spec_from_file_location(
        name + "_under_test", os.path.join(SOURCES, name + ".py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


bootstrap = load("bootstrap")
lambda_sys_path = load("lambda_sys_path")


class Folder(unittest.TestCase):
    """A temporary folder, and sys.path, sys.modules and the environment restored."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="pylayer-bootstrap-test-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        saved_path = list(sys.path)
        saved_modules = set(sys.modules)
        saved_environ = dict(os.environ)

        def restore():
            sys.path[:] = saved_path
            for name in set(sys.modules) - saved_modules:
                del sys.modules[name]
            os.environ.clear()
            os.environ.update(saved_environ)

        self.addCleanup(restore)

    def write(self, relative, text):
        path = os.path.join(self.folder, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as stream:
            stream.write(text)
        return path


class LoadHandler(Folder):
    """The runtime interface client's error types for each way a handler fails to load."""

    def load_handler(self, handler):
        sys.path.insert(0, self.folder)
        bootstrap.HANDLER = handler
        return bootstrap._load_handler()

    def test_each_failure_has_the_runtime_s_error_type(self):
        self.write("app.py", "def handler(event, context):\n    return event\n")
        self.write("broken.py", "def handler(event, context)\n    return 1\n")
        self.write("raises.py", "raise RuntimeError('at import')\n")
        self.write("nested/deep.py", "def handler(event, context):\n    return 2\n")
        cases = [
            ("nodot", "Runtime.MalformedHandlerName"),
            ("sys.handler", "Runtime.BuiltInModuleConflict"),
            ("missing_module_x.handler", "Runtime.ImportModuleError"),
            ("broken.handler", "Runtime.UserCodeSyntaxError"),
            ("app.other", "Runtime.HandlerNotFound"),
            ("raises.handler", "RuntimeError"),
        ]
        for handler, error_type in cases:
            with self.subTest(handler=handler):
                function, failure = self.load_handler(handler)
                self.assertIsNone(function)
                self.assertEqual(failure["errorType"], error_type)
                self.assertEqual(failure["requestId"], bootstrap.REQUEST_ID)
                self.assertIsInstance(failure["stackTrace"], list)

    def test_a_handler_is_found_with_slashes_read_as_dots(self):
        self.write("nested/deep.py", "def handler(event, context):\n    return 2\n")
        function, failure = self.load_handler("nested/deep.handler")
        self.assertIsNone(failure)
        self.assertEqual(function({}, None), 2)


class Context(Folder):
    def test_attributes_come_from_the_environment_and_the_parameters(self):
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = "demo"
        os.environ["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "256"
        context = bootstrap.LambdaContext(time.time() * 1000 + 5000)
        self.assertEqual(context.function_name, "demo")
        self.assertEqual(context.memory_limit_in_mb, "256")
        self.assertEqual(context.aws_request_id, bootstrap.REQUEST_ID)
        self.assertEqual(context.invoked_function_arn, bootstrap.INVOKED_FUNCTION_ARN)
        self.assertIsNone(context.identity)
        self.assertTrue(repr(context).startswith("LambdaContext([aws_request_id="))
        self.assertTrue(4000 < context.get_remaining_time_in_millis() <= 5000)

    def test_remaining_time_stops_at_zero(self):
        context = bootstrap.LambdaContext(time.time() * 1000 - 1000)
        self.assertEqual(context.get_remaining_time_in_millis(), 0)


class Responses(unittest.TestCase):
    def test_decimals_are_written_as_numbers_and_other_objects_refused(self):
        self.assertEqual(bootstrap._default(decimal.Decimal("1.5")), 1.5)
        with self.assertRaises(TypeError) as caught:
            bootstrap._default({1, 2})
        self.assertEqual(str(caught.exception), "Object of type set is not JSON serializable")

    def test_errors_have_the_runtime_s_shape(self):
        self.assertEqual(
            bootstrap._error("Runtime.MarshalError", "message"),
            {
                "errorMessage": "message",
                "errorType": "Runtime.MarshalError",
                "requestId": bootstrap.REQUEST_ID,
                "stackTrace": [],
            },
        )

    def test_frames_are_one_string_per_frame(self):
        try:
            raise ValueError("x")
        except ValueError as error:
            frames = bootstrap._frames(error.__traceback__)
        self.assertEqual(len(frames), 1)
        self.assertIn("test_frames_are_one_string_per_frame", frames[0])


class SysPath(Folder):
    def test_lambda_order_with_the_layer_folders_and_their_pth_files(self):
        minor = "%d.%d" % sys.version_info[:2]
        opt = os.path.join(self.folder, "opt")
        site_packages = os.path.join(opt, "python", "lib", "python" + minor, "site-packages")
        from_pth = os.path.join(self.folder, "from-pth")
        os.makedirs(from_pth)
        self.write(os.path.join(site_packages, "extra.pth"), from_pth + "\n")
        os.makedirs(os.path.join(opt, "python"), exist_ok=True)
        interpreter = [entry for entry in sys.path if entry]
        sys.path.insert(0, "")
        lambda_sys_path.arrange_sys_path("/var/task", opt, [])
        self.assertEqual(
            sys.path[:4], ["/var/task", site_packages, from_pth, os.path.join(opt, "python")]
        )
        self.assertEqual(sys.path[4:], [entry for entry in interpreter if entry not in sys.path[:4]])

    def test_a_pythonpath_replaces_the_layer_folders(self):
        interpreter = [entry for entry in sys.path if entry]
        lambda_sys_path.arrange_sys_path("/var/task", "/opt", ["/extra/one", "/extra/two"])
        self.assertEqual(sys.path, ["/var/task", "/extra/one", "/extra/two"] + interpreter)


if __name__ == "__main__":
    unittest.main()
