"""Loads this function's Python dependencies into /tmp at cold start.

Written by pylayer (runtime mode). Import it before any module that needs the
dependencies, e.g. as the first line of the handler module:

    import pylayer_runtime  # noqa: F401  (loads on import)

On the first load in an execution environment it finds the dependency archive (a file
shipped with the function, an s3:// object or an https:// URL), checks the free space,
verifies the archive's sha256, extracts it into a temporary folder and renames that
folder to <PYLAYER_TMP>/pylayer/<hash>/, so no half-extracted tree is ever used. Later
loads only check that the folder exists. The folder's python/ subfolder is put on sys.path
where a Lambda layer's folder would be (after the function's own code, before the
runtime's packages); its bin/ subfolder is added to PATH.

Environment variables:
  PYLAYER_TMP              base folder (default /tmp)
  PYLAYER_ARCHIVE          one archive source used instead of the generated list: a path
                           (relative to this file's folder or LAMBDA_TASK_ROOT),
                           s3://bucket/key or https://host/path
  PYLAYER_ARCHIVE_SHA256   the expected sha256 of that archive (hex)
  PYLAYER_ALLOW_HTTP       1 allows plain http:// URLs (tests, private networks)
  PYLAYER_TIMEOUT          seconds before an https download gives up (default 60)
  PYLAYER_AUTOLOAD         0 skips loading on import; call load() yourself
  PYLAYER_TMP_LIMIT_BYTES  test hook: treat the base folder's free space as at most
                           this many bytes

Regenerate this file with pylayer rather than editing it.
"""

import errno
import hashlib
import os
import platform
import shutil
import site
import stat
import sys
import tempfile
import threading
import time
import zipfile

# BEGIN PYLAYER CONFIGURATION
# pylayer replaces this block, from the BEGIN line to the END line, with the facts of one
# archive: the same names, in this order, as Python literals (renderRuntimeModule in
# src/coldstart/module.ts). The values here are placeholders that let this file be
# compiled and tested as it is.
ARCHIVE_SHA256 = "0000000000000000000000000000000000000000000000000000000000000000"
ARCHIVE_NAME = "deps-0000000000000000.zip"
ARCHIVE_SIZE = 0
UNZIPPED_SIZE = 0
DISK_SIZE = 0
FILE_COUNT = 0
SOURCES = []
TARGET_PYTHON = "3.12"
TARGET_ARCHITECTURE = "x86_64"
PACKAGES = {}
# END PYLAYER CONFIGURATION

__all__ = [
    "ArchiveFetchError",
    "DiskSpaceError",
    "HashMismatchError",
    "PylayerRuntimeError",
    "UnsafeArchiveError",
    "load",
]

# Written into a tree last, just before the rename that publishes it: a folder under
# <base>/pylayer/ with this file is complete.
MARKER = ".pylayer-complete"
# Lambda stops a function after 15 minutes at most; a temporary file or folder older than
# that belongs to a process that no longer runs.
STALE_SECONDS = 15 * 60
BLOCK_SIZE = 4096
CHUNK_SIZE = 1024 * 1024
_HEX = "0123456789abcdef"


class PylayerRuntimeError(Exception):
    """The dependencies could not be loaded.

    kind is one of "config", "not-found", "network", "permission", "hash", "disk",
    "archive", "filesystem"; the exception it was raised from, if any, is its __cause__.
    """

    kind = "config"

    def __init__(self, message, kind=None):
        super().__init__(message)
        if kind is not None:
            self.kind = kind


class ArchiveFetchError(PylayerRuntimeError):
    """No configured source gave the archive (missing file, network, permission)."""

    kind = "network"

    def __init__(self, message, kind=None, errors=()):
        super().__init__(message, kind)
        # One (source, message) pair per source tried, in order.
        self.errors = list(errors)


class HashMismatchError(PylayerRuntimeError):
    """The archive's sha256 is not the one this module expects."""

    kind = "hash"


class DiskSpaceError(PylayerRuntimeError):
    """The base folder lacks the room to download and extract the archive."""

    kind = "disk"


class UnsafeArchiveError(PylayerRuntimeError):
    """The archive is not a zip, or holds a path or entry type that cannot be extracted safely."""

    kind = "archive"


_loaded = None
_lock = threading.Lock()


def load():
    """Makes the dependencies importable and returns the folder they live in.

    Safe to call several times, from several threads and from several processes at once:
    within a process only the first call does anything.
    """
    if _loaded is not None:
        return _loaded
    with _lock:
        return _load()


def _load():
    global _loaded
    if _loaded is not None:
        return _loaded
    started = time.perf_counter()
    expected = _expected_sha256()
    root = os.path.abspath(os.environ.get("PYLAYER_TMP") or "/tmp")
    base = os.path.join(root, "pylayer")
    tree = os.path.join(base, expected[:16])
    try:
        os.stat(os.path.join(tree, MARKER))
        complete = True
    except FileNotFoundError:
        complete = False
    except NotADirectoryError:
        complete = False
    except OSError as error:
        raise _os_error(error, "cannot read " + tree) from error
    if complete:
        summary = "reused " + tree
    else:
        summary = _install(expected, root, base, tree)
    _activate(tree)
    _loaded = tree
    elapsed = time.perf_counter() - started
    _log(summary + " in " + _format_duration(elapsed) + _target_warning())
    return tree


# ---------------------------------------------------------------------------
# Configuration


def _expected_sha256():
    value = os.environ.get("PYLAYER_ARCHIVE_SHA256")
    if value is None or value == "":
        return ARCHIVE_SHA256
    value = value.strip().lower()
    if len(value) != 64 or any(character not in _HEX for character in value):
        raise PylayerRuntimeError(
            "PYLAYER_ARCHIVE_SHA256 must be 64 hexadecimal digits, not " + repr(value), "config"
        )
    return value


def _sources():
    override = os.environ.get("PYLAYER_ARCHIVE")
    if override:
        return [override.strip()]
    return list(SOURCES)


def _describe_source(source):
    if source.startswith("s3://"):
        return source
    if source.startswith("https://") or source.startswith("http://"):
        return _redact_url(source)
    return "file " + source


def _redact_url(url):
    """Hides user information and the query (pre-signed URLs carry signatures there)."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        return url
    authority, slash, path = rest.partition("/")
    if "@" in authority:
        authority = "***@" + authority.rsplit("@", 1)[1]
    if "?" in path:
        path = path.split("?", 1)[0] + "?***"
    return scheme + "://" + authority + slash + path


def _target_warning():
    running_python = "%d.%d" % sys.version_info[:2]
    machine = platform.machine()
    running_architecture = {"aarch64": "arm64", "amd64": "x86_64"}.get(machine.lower(), machine)
    if running_python == TARGET_PYTHON and running_architecture == TARGET_ARCHITECTURE:
        return ""
    return (
        " (note: the archive was built for python%s %s, this is python%s %s)"
        % (TARGET_PYTHON, TARGET_ARCHITECTURE, running_python, running_architecture)
    )


# ---------------------------------------------------------------------------
# Installing a tree


def _install(expected, root, base, tree):
    try:
        os.makedirs(base, exist_ok=True)
    except OSError as error:
        raise _os_error(error, "cannot create " + base) from error
    _remove_stale(base, os.path.basename(tree))
    failures = []
    last_error = None
    for source in _sources():
        archive = None
        temporary = None
        try:
            if source.startswith("s3://") or source.startswith("https://") or source.startswith(
                "http://"
            ):
                if expected == ARCHIVE_SHA256:
                    _check_space(root, base, ARCHIVE_SIZE + DISK_SIZE, "download and extraction")
                temporary, digest = _download(source, base)
                archive = temporary
            else:
                archive = _find_file(source)
                if expected == ARCHIVE_SHA256:
                    _check_space(root, base, DISK_SIZE, "extraction")
                digest = _sha256_of(archive)
        except ArchiveFetchError as error:
            failures.append((source, str(error)))
            last_error = error
            _remove_file(temporary)
            continue
        except BaseException:
            _remove_file(temporary)
            raise
        origin = _describe_source(source) if temporary is not None else archive
        try:
            if digest != expected:
                raise HashMismatchError(
                    "the archive from %s has sha256 %s, expected %s; it is not the archive "
                    "this module was generated for (regenerate pylayer_runtime.py with the "
                    "archive, or set PYLAYER_ARCHIVE_SHA256)" % (origin, digest, expected)
                )
            how = _extract(archive, root, base, tree, expected)
        finally:
            _remove_file(temporary)
        return "%s from %s into %s" % (how, origin, tree)
    if len(failures) == 1 and last_error is not None:
        raise last_error
    message = "no source gave the dependency archive: " + "; ".join(
        "%s: %s" % (_describe_source(source), reason) for source, reason in failures
    )
    kind = last_error.kind if last_error is not None else "config"
    raise ArchiveFetchError(message, kind, failures) from last_error


def _remove_stale(base, keep):
    """Removes trees of other hashes and temporary files of processes that no longer run.

    A temporary folder or download younger than STALE_SECONDS may belong to a process
    extracting right now (of this hash or another) and is left alone.
    """
    try:
        names = os.listdir(base)
    except OSError:
        return
    now = time.time()
    for name in names:
        if name == keep:
            continue
        path = os.path.join(base, name)
        if name.startswith(".tmp-"):
            try:
                if now - os.lstat(path).st_mtime < STALE_SECONDS:
                    continue
            except OSError:
                continue
        elif len(name) != 16 or any(character not in _HEX for character in name):
            continue
        try:
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path, ignore_errors=True)
            else:
                os.unlink(path)
        except OSError:
            pass


def _find_file(source):
    if os.path.isabs(source):
        candidates = [source]
    else:
        candidates = [os.path.join(os.path.dirname(os.path.abspath(__file__)), source)]
        task_root = os.environ.get("LAMBDA_TASK_ROOT")
        if task_root:
            candidates.append(os.path.join(task_root, source))
    for candidate in candidates:
        if os.path.isfile(candidate):
            return candidate
    raise ArchiveFetchError(
        "not found (looked for " + ", ".join(candidates) + ")", "not-found"
    )


def _sha256_of(path):
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as stream:
            for chunk in iter(lambda: stream.read(CHUNK_SIZE), b""):
                digest.update(chunk)
    except OSError as error:
        raise _os_error(error, "cannot read " + path, ArchiveFetchError) from error
    return digest.hexdigest()


def _download(source, base):
    """Downloads into a temporary file in base; returns its path and sha256."""
    try:
        descriptor, path = tempfile.mkstemp(prefix=".tmp-", suffix=".zip", dir=base)
    except OSError as error:
        raise _os_error(error, "cannot create a temporary file in " + base) from error
    digest = hashlib.sha256()
    try:
        with os.fdopen(descriptor, "wb") as output:

            def write(chunk):
                digest.update(chunk)
                try:
                    output.write(chunk)
                except OSError as error:
                    raise _os_error(error, "cannot write " + path) from error

            if source.startswith("s3://"):
                _download_s3(source, write)
            else:
                _download_url(source, write)
            try:
                output.flush()
            except OSError as error:
                raise _os_error(error, "cannot write " + path) from error
    except BaseException:
        _remove_file(path)
        raise
    return path, digest.hexdigest()


def _download_url(url, write):
    import http.client
    import urllib.error
    import urllib.request

    shown = _redact_url(url)
    if url.startswith("http://") and os.environ.get("PYLAYER_ALLOW_HTTP") != "1":
        raise PylayerRuntimeError(
            shown + " is plain http; use https, or set PYLAYER_ALLOW_HTTP=1 (the sha256 "
            "check still applies, but the archive travels unencrypted)",
            "config",
        )
    try:
        timeout = float(os.environ.get("PYLAYER_TIMEOUT") or 60)
    except ValueError:
        raise PylayerRuntimeError("PYLAYER_TIMEOUT must be a number of seconds", "config")
    request = urllib.request.Request(url, headers={"User-Agent": "pylayer-runtime"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(CHUNK_SIZE), b""):
                write(chunk)
    except urllib.error.HTTPError as error:
        kind = {401: "permission", 403: "permission", 404: "not-found", 410: "not-found"}.get(
            error.code, "network"
        )
        raise ArchiveFetchError(
            "%s answered HTTP %d %s" % (shown, error.code, error.reason), kind
        ) from error
    except urllib.error.URLError as error:
        raise ArchiveFetchError(
            "cannot download %s: %s" % (shown, error.reason), "network"
        ) from error
    except (http.client.HTTPException, TimeoutError) as error:
        raise ArchiveFetchError(
            "download of %s failed: %s" % (shown, error or type(error).__name__), "network"
        ) from error
    except PylayerRuntimeError:
        raise
    except OSError as error:
        raise ArchiveFetchError("download of %s failed: %s" % (shown, error), "network") from error


def _download_s3(uri, write):
    bucket, _, key = uri[len("s3://") :].partition("/")
    if not bucket or not key:
        raise PylayerRuntimeError(uri + " is not s3://bucket/key", "config")
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError
    except ImportError as error:
        raise PylayerRuntimeError(
            "reading " + uri + " needs boto3, which the Lambda runtime provides; "
            "install boto3 to load from S3 elsewhere",
            "config",
        ) from error
    try:
        response = boto3.client("s3").get_object(Bucket=bucket, Key=key)
        body = response["Body"]
        for chunk in iter(lambda: body.read(CHUNK_SIZE), b""):
            write(chunk)
    except ClientError as error:
        details = error.response.get("Error", {})
        code = str(details.get("Code", ""))
        kind = "network"
        if code in ("NoSuchKey", "NoSuchBucket", "404", "NotFound"):
            kind = "not-found"
        elif code in ("AccessDenied", "403", "AllAccessDisabled", "InvalidAccessKeyId"):
            kind = "permission"
        message = "cannot read %s: %s" % (uri, code or type(error).__name__)
        if details.get("Message"):
            message += " (%s)" % details["Message"]
        if kind == "permission":
            message += " (check that the function's role may s3:GetObject it)"
        raise ArchiveFetchError(message, kind) from error
    except NoCredentialsError as error:
        raise ArchiveFetchError(
            "cannot read %s: no AWS credentials (%s)" % (uri, error), "permission"
        ) from error
    except BotoCoreError as error:
        raise ArchiveFetchError("cannot read %s: %s" % (uri, error), "network") from error


def _check_space(root, base, needed, purpose):
    try:
        usage = shutil.disk_usage(base)
    except OSError as error:
        raise _os_error(error, "cannot read the free space of " + base) from error
    free = usage.free
    limit = os.environ.get("PYLAYER_TMP_LIMIT_BYTES")
    if limit:
        try:
            free = min(free, int(limit))
        except ValueError:
            raise PylayerRuntimeError("PYLAYER_TMP_LIMIT_BYTES must be a number of bytes", "config")
    if free >= needed:
        return
    missing_mb = -(-(needed - free) // (1024 * 1024))
    raise DiskSpaceError(
        "not enough space in %s: the %s of the dependencies needs %s, only %s is free. "
        "Raise the function's ephemeral storage (EphemeralStorage Size, 512 to 10240 MB) "
        "by at least %d MB, or free space in %s"
        % (root, purpose, _format_bytes(needed), _format_bytes(free), missing_mb, root)
    )


def _extract(archive, root, base, tree, expected):
    """Extracts archive into a temporary folder and renames it to tree.

    Returns how the tree came to be. If another process publishes the same tree first,
    its tree is used and ours is removed.
    """
    try:
        bundle = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnsafeArchiveError("%s is not a readable zip archive: %s" % (archive, error)) from error
    with bundle:
        entries = _checked_entries(bundle)
        files = [entry for entry in entries if not entry[2]]
        needed = BLOCK_SIZE * (len(entries) - len(files) + 1)
        needed += sum(-(-info.file_size // BLOCK_SIZE) * BLOCK_SIZE for info, _, _, _ in files)
        _check_space(root, base, needed, "extraction")
        try:
            work = tempfile.mkdtemp(prefix=".tmp-", dir=base)
        except OSError as error:
            raise _os_error(error, "cannot create a temporary folder in " + base) from error
        try:
            _write_entries(bundle, entries, work)
            with open(os.path.join(work, MARKER), "w") as stream:
                stream.write("sha256=%s\nfiles=%d\n" % (expected, len(files)))
            os.chmod(work, 0o755)
        except OSError as error:
            shutil.rmtree(work, ignore_errors=True)
            raise _os_error(error, "cannot extract into " + work) from error
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    unzipped = sum(info.file_size for info, _, _, _ in files)
    extracted = "extracted %d files (%s)" % (len(files), _format_bytes(unzipped))
    return _publish(work, tree, extracted)


def _publish(work, tree, extracted):
    for attempt in (1, 2):
        try:
            os.rename(work, tree)
            return extracted
        except OSError as error:
            if os.path.exists(os.path.join(tree, MARKER)):
                # Another process published the same tree first: it is complete, use it.
                shutil.rmtree(work, ignore_errors=True)
                return "reused " + tree + " (extracted by another process meanwhile)"
            if attempt == 1 and error.errno in (errno.EEXIST, errno.ENOTEMPTY, errno.ENOTDIR):
                # Something without the marker took the name (not a tree this module
                # published): move it aside, remove it, and try once more.
                aside = os.path.join(os.path.dirname(tree), ".tmp-" + os.urandom(8).hex())
                try:
                    os.rename(tree, aside)
                except OSError:
                    pass
                if os.path.isdir(aside):
                    shutil.rmtree(aside, ignore_errors=True)
                else:
                    _remove_file(aside)
                continue
            shutil.rmtree(work, ignore_errors=True)
            raise _os_error(error, "cannot rename %s to %s" % (work, tree)) from error
    shutil.rmtree(work, ignore_errors=True)
    raise PylayerRuntimeError("cannot publish " + tree, "permission")


def _checked_entries(bundle):
    """(info, path parts, is directory, mode) per entry; refuses anything unsafe."""
    entries = []
    for info in bundle.infolist():
        name = info.filename
        is_directory = name.endswith("/")
        parts = name.rstrip("/").split("/")
        if (
            not name
            or name.startswith("/")
            or "\\" in name
            or "\x00" in name
            or any(part in ("", ".", "..") for part in parts)
        ):
            raise UnsafeArchiveError("the archive holds an unsafe path: " + repr(name))
        if parts == [MARKER]:
            raise UnsafeArchiveError("the archive holds " + MARKER + ", which pylayer writes itself")
        unix_mode = info.external_attr >> 16 if info.create_system == 3 else 0
        file_type = stat.S_IFMT(unix_mode)
        if file_type == stat.S_IFDIR:
            is_directory = True
        elif file_type not in (0, stat.S_IFREG) or (is_directory and file_type == stat.S_IFREG):
            raise UnsafeArchiveError(
                "the archive entry %r is not a plain file or folder (mode %o)" % (name, unix_mode)
            )
        mode = stat.S_IMODE(unix_mode) & 0o777
        if mode == 0:
            mode = 0o755 if is_directory else 0o644
        entries.append((info, parts, is_directory, mode))
    return entries


def _write_entries(bundle, entries, work):
    directory_modes = []
    made = set()
    for info, parts, is_directory, mode in entries:
        path = os.path.join(work, *parts)
        if is_directory:
            if path not in made:
                os.makedirs(path, exist_ok=True)
                made.add(path)
            directory_modes.append((path, mode))
            continue
        parent = os.path.dirname(path)
        if parent not in made:
            os.makedirs(parent, exist_ok=True)
            made.add(parent)
        with bundle.open(info) as source, open(path, "xb") as target:
            shutil.copyfileobj(source, target, CHUNK_SIZE)
        os.chmod(path, mode)
    # Folder modes last and deepest first, so a read-only folder does not block its files.
    for path, mode in reversed(directory_modes):
        os.chmod(path, mode | 0o700)


# ---------------------------------------------------------------------------
# Making the tree importable


def _activate(tree):
    site_dir = os.path.join(tree, "python")
    before = set(sys.path)
    # addsitedir appends the folder and runs its .pth files, as the runtime does for layers.
    site.addsitedir(site_dir)
    added = [entry for entry in sys.path if entry not in before]
    if site_dir in before and site_dir not in added:
        added.insert(0, site_dir)
    added_set = set(added)
    remaining = [entry for entry in sys.path if entry not in added_set]
    index = _insert_index(remaining)
    sys.path[:] = remaining[:index] + added + remaining[index:]
    import importlib

    importlib.invalidate_caches()
    bin_dir = os.path.join(tree, "bin")
    if os.path.isdir(bin_dir):
        path = os.environ.get("PATH", "")
        if bin_dir not in path.split(os.pathsep):
            # Lambda lists /opt/bin last on PATH; the tree's scripts go to the same place.
            os.environ["PATH"] = path + os.pathsep + bin_dir if path else bin_dir


def _insert_index(path):
    """Where a layer's folder sits: after the function's code, before everything else."""
    task_root = os.environ.get("LAMBDA_TASK_ROOT")
    if task_root:
        task_root = os.path.normpath(task_root)
        for index, entry in enumerate(path):
            if entry and os.path.normpath(entry) == task_root:
                return index + 1
    owned = {
        os.path.normpath(prefix)
        for prefix in (sys.prefix, sys.base_prefix, sys.exec_prefix, sys.base_exec_prefix)
        if prefix
    }
    owned.update(("/opt", "/var/lang", "/var/runtime"))
    for index, entry in enumerate(path):
        if not entry:
            continue
        normalized = os.path.normpath(os.path.abspath(entry))
        for prefix in owned:
            if normalized == prefix or normalized.startswith(prefix.rstrip(os.sep) + os.sep):
                return index
    return len(path)


# ---------------------------------------------------------------------------
# Small helpers


def _os_error(error, action, error_class=None):
    if error.errno in (errno.ENOSPC, errno.EDQUOT):
        return DiskSpaceError(
            "%s: no space left (%s). Raise the function's ephemeral storage "
            "(EphemeralStorage Size, 512 to 10240 MB)" % (action, error)
        )
    kind = "permission" if error.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else "filesystem"
    if error_class is not None:
        return error_class("%s: %s" % (action, error), kind)
    return PylayerRuntimeError("%s: %s" % (action, error), kind)


def _remove_file(path):
    if path is None:
        return
    try:
        os.unlink(path)
    except OSError:
        pass


def _format_bytes(count):
    if count < 1024 * 1024:
        return "%.1f KB" % (count / 1024)
    return "%.1f MB" % (count / (1024 * 1024))


def _format_duration(seconds):
    if seconds < 1:
        return "%.1f ms" % (seconds * 1000)
    return "%.2f s" % seconds


def _log(message):
    try:
        sys.stderr.write("[pylayer_runtime] " + message + "\n")
        sys.stderr.flush()
    except Exception:
        pass


if os.environ.get("PYLAYER_AUTOLOAD", "1") != "0":
    load()
