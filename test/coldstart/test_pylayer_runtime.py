"""Unit tests of src/coldstart/pylayer_runtime.py, run by test/python-sources.test.ts with
every local python3.X (python3.X -m unittest discover -s test/coldstart).

The module is loaded from its source with PYLAYER_AUTOLOAD=0 and its configuration
placeholders; tests set the configuration names they need on the module object.
"""

import hashlib
import importlib.util
import os
import shutil
import stat
import sys
import tempfile
import time
import unittest
import zipfile

SOURCE = os.path.join(
    os.path.dirname(os.path.abspath(__file__)), "..", "..", "src", "coldstart", "pylayer_runtime.py"
)


def load_module():
    os.environ["PYLAYER_AUTOLOAD"] = "0"
    spec = importlib.util.spec_from_file_location("pylayer_runtime_under_test", SOURCE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


runtime = load_module()


def write_zip(path, entries):
    """entries: (name, bytes or None for a folder, unix mode or None)."""
    with zipfile.ZipFile(path, "w") as archive:
        for name, data, mode in entries:
            info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
            info.create_system = 3
            if mode is not None:
                info.external_attr = mode << 16
            archive.writestr(info, data if data is not None else b"")


def sha256_file(path):
    with open(path, "rb") as stream:
        return hashlib.sha256(stream.read()).hexdigest()


class Folder(unittest.TestCase):
    """A temporary folder per test, and the environment variables restored afterwards."""

    def setUp(self):
        self.folder = tempfile.mkdtemp(prefix="pylayer-runtime-test-")
        self.addCleanup(shutil.rmtree, self.folder, True)
        saved = dict(os.environ)

        def restore():
            os.environ.clear()
            os.environ.update(saved)

        self.addCleanup(restore)
        for name in ("PYLAYER_ARCHIVE_SHA256", "PYLAYER_ARCHIVE", "PYLAYER_TMP_LIMIT_BYTES"):
            os.environ.pop(name, None)


class HashCheck(Folder):
    def test_sha256_of_a_file(self):
        path = os.path.join(self.folder, "archive.zip")
        with open(path, "wb") as stream:
            stream.write(b"x" * (runtime.CHUNK_SIZE + 17))
        self.assertEqual(runtime._sha256_of(path), sha256_file(path))

    def test_a_missing_file_is_a_fetch_error(self):
        with self.assertRaises(runtime.ArchiveFetchError):
            runtime._sha256_of(os.path.join(self.folder, "missing.zip"))

    def test_expected_sha256_comes_from_the_configuration_or_the_environment(self):
        self.assertEqual(runtime._expected_sha256(), runtime.ARCHIVE_SHA256)
        os.environ["PYLAYER_ARCHIVE_SHA256"] = " " + "AB" * 32 + "\n"
        self.assertEqual(runtime._expected_sha256(), "ab" * 32)
        for bad in ("abc", "g" * 64):
            os.environ["PYLAYER_ARCHIVE_SHA256"] = bad
            with self.assertRaises(runtime.PylayerRuntimeError) as caught:
                runtime._expected_sha256()
            self.assertEqual(caught.exception.kind, "config")

    def test_an_archive_with_another_hash_is_refused_and_nothing_is_extracted(self):
        archive = os.path.join(self.folder, "deps.zip")
        write_zip(archive, [("python/demo.py", b"VALUE = 1\n", 0o644)])
        root = os.path.join(self.folder, "tmp")
        base = os.path.join(root, "pylayer")
        expected = "0" * 64
        tree = os.path.join(base, expected[:16])
        os.environ["PYLAYER_ARCHIVE"] = archive
        with self.assertRaises(runtime.HashMismatchError) as caught:
            runtime._install(expected, root, base, tree)
        self.assertIn(sha256_file(archive), str(caught.exception))
        self.assertFalse(os.path.exists(tree))
        self.assertEqual(os.listdir(base), [])

    def test_an_archive_with_the_expected_hash_is_extracted(self):
        archive = os.path.join(self.folder, "deps.zip")
        write_zip(archive, [("python/demo.py", b"VALUE = 1\n", 0o644)])
        expected = sha256_file(archive)
        root = os.path.join(self.folder, "tmp")
        base = os.path.join(root, "pylayer")
        tree = os.path.join(base, expected[:16])
        os.environ["PYLAYER_ARCHIVE"] = archive
        summary = runtime._install(expected, root, base, tree)
        self.assertIn("extracted 1 files", summary)
        with open(os.path.join(tree, "python", "demo.py"), "rb") as stream:
            self.assertEqual(stream.read(), b"VALUE = 1\n")


class AtomicExtraction(Folder):
    def extract(self, entries, expected="f" * 64):
        archive = os.path.join(self.folder, "deps.zip")
        write_zip(archive, entries)
        root = self.folder
        base = os.path.join(root, "pylayer")
        os.makedirs(base, exist_ok=True)
        tree = os.path.join(base, expected[:16])
        return runtime._extract(archive, root, base, tree, expected), base, tree

    def test_the_tree_appears_complete_under_its_name_with_the_marker_last(self):
        summary, base, tree = self.extract(
            [
                ("python/", None, stat.S_IFDIR | 0o755),
                ("python/pkg/__init__.py", b"", 0o644),
                ("bin/tool", b"#!/bin/sh\n", 0o755),
            ]
        )
        self.assertEqual(summary, "extracted 2 files (0.0 KB)")
        self.assertEqual(os.listdir(base), [os.path.basename(tree)])
        with open(os.path.join(tree, runtime.MARKER)) as stream:
            self.assertEqual(stream.read(), "sha256=%s\nfiles=2\n" % ("f" * 64))
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(tree, "bin", "tool")).st_mode), 0o755)
        self.assertEqual(
            stat.S_IMODE(os.stat(os.path.join(tree, "python", "pkg", "__init__.py")).st_mode), 0o644
        )

    def test_unsafe_entries_are_refused_before_anything_is_written(self):
        cases = [
            ("../escape.py", b"", 0o644),
            ("/absolute.py", b"", 0o644),
            ("python\\windows.py", b"", 0o644),
            ("python/./dot.py", b"", 0o644),
            (runtime.MARKER, b"", 0o644),
            ("python/link", b"/etc/passwd", stat.S_IFLNK | 0o777),
        ]
        for entry in cases:
            with self.subTest(entry=entry[0]):
                with self.assertRaises(runtime.UnsafeArchiveError):
                    self.extract([("python/ok.py", b"", 0o644), entry])
                base = os.path.join(self.folder, "pylayer")
                self.assertEqual(os.listdir(base), [])

    def test_a_tree_published_meanwhile_by_another_process_is_used(self):
        base = os.path.join(self.folder, "pylayer")
        tree = os.path.join(base, "a" * 16)
        os.makedirs(tree)
        with open(os.path.join(tree, runtime.MARKER), "w") as stream:
            stream.write("sha256=other\n")
        work = tempfile.mkdtemp(prefix=".tmp-", dir=base)
        with open(os.path.join(work, "file"), "w") as stream:
            stream.write("ours")
        summary = runtime._publish(work, tree, "extracted")
        self.assertIn("extracted by another process meanwhile", summary)
        self.assertFalse(os.path.exists(work))
        self.assertEqual(os.listdir(tree), [runtime.MARKER])

    def test_an_incomplete_folder_under_the_name_is_replaced(self):
        base = os.path.join(self.folder, "pylayer")
        tree = os.path.join(base, "b" * 16)
        os.makedirs(os.path.join(tree, "half"))
        work = tempfile.mkdtemp(prefix=".tmp-", dir=base)
        with open(os.path.join(work, runtime.MARKER), "w") as stream:
            stream.write("sha256=ours\n")
        self.assertEqual(runtime._publish(work, tree, "extracted"), "extracted")
        self.assertEqual(os.listdir(tree), [runtime.MARKER])
        self.assertEqual(sorted(os.listdir(base)), ["b" * 16])

    def test_stale_trees_and_old_temporary_files_are_removed(self):
        base = self.folder
        keep = "c" * 16
        for name in (keep, "d" * 16, ".tmp-old", ".tmp-young", "not-a-tree"):
            os.makedirs(os.path.join(base, name))
        old = time.time() - runtime.STALE_SECONDS - 60
        os.utime(os.path.join(base, ".tmp-old"), (old, old))
        runtime._remove_stale(base, keep)
        self.assertEqual(sorted(os.listdir(base)), sorted([keep, ".tmp-young", "not-a-tree"]))

    def test_the_space_check_names_what_is_missing(self):
        os.environ["PYLAYER_TMP_LIMIT_BYTES"] = "1000"
        with self.assertRaises(runtime.DiskSpaceError) as caught:
            runtime._check_space(self.folder, self.folder, 5 * 1024 * 1024, "extraction")
        self.assertIn("by at least 5 MB", str(caught.exception))
        runtime._check_space(self.folder, self.folder, 1000, "extraction")


class SysPathPlacement(Folder):
    def setUp(self):
        super().setUp()
        saved_path = list(sys.path)
        self.addCleanup(lambda: sys.path.__setitem__(slice(None), saved_path))

    def test_after_the_task_root_when_it_is_on_the_path(self):
        os.environ["LAMBDA_TASK_ROOT"] = "/var/task"
        path = ["/var/runtime", "/var/task", "/opt/python", "/var/lang/lib/python3.12"]
        self.assertEqual(runtime._insert_index(path), 2)

    def test_before_the_runtime_s_own_folders_otherwise(self):
        os.environ.pop("LAMBDA_TASK_ROOT", None)
        path = ["/home/user/code", "/opt/python", sys.prefix + "/lib"]
        self.assertEqual(runtime._insert_index(path), 1)
        self.assertEqual(runtime._insert_index(["/home/user/code", ""]), 2)

    def test_activate_puts_the_site_folder_where_a_layer_would_be_and_bin_on_path(self):
        tree = os.path.join(self.folder, "tree")
        site_dir = os.path.join(tree, "python")
        extra = os.path.join(self.folder, "from-pth")
        os.makedirs(site_dir)
        os.makedirs(extra)
        os.makedirs(os.path.join(tree, "bin"))
        with open(os.path.join(site_dir, "extra.pth"), "w") as stream:
            stream.write(extra + "\n")
        task_root = os.path.join(self.folder, "task")
        os.environ["LAMBDA_TASK_ROOT"] = task_root
        os.environ["PATH"] = "/usr/bin"
        # The interpreter's own entries stay (importlib imports from them meanwhile).
        interpreter = [entry for entry in sys.path if entry]
        sys.path[:] = [task_root, "/var/runtime"] + interpreter
        runtime._activate(tree)
        self.assertEqual(sys.path, [task_root, site_dir, extra, "/var/runtime"] + interpreter)
        self.assertEqual(os.environ["PATH"], "/usr/bin" + os.pathsep + os.path.join(tree, "bin"))


class Messages(unittest.TestCase):
    def test_urls_lose_their_user_information_and_query(self):
        cases = [
            ("https://user:secret@host/path/deps.zip", "https://***@host/path/deps.zip"),
            ("https://host/deps.zip?X-Amz-Signature=abc", "https://host/deps.zip?***"),
            ("s3://bucket/key", "s3://bucket/key"),
            ("relative/deps.zip", "relative/deps.zip"),
        ]
        for url, shown in cases:
            self.assertEqual(runtime._redact_url(url), shown)

    def test_sizes_and_durations(self):
        self.assertEqual(runtime._format_bytes(2048), "2.0 KB")
        self.assertEqual(runtime._format_bytes(3 * 1024 * 1024), "3.0 MB")
        self.assertEqual(runtime._format_duration(0.0123), "12.3 ms")
        self.assertEqual(runtime._format_duration(2.5), "2.50 s")


if __name__ == "__main__":
    unittest.main()
