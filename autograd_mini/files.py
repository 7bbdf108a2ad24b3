"""Writing a user's file so that nothing they saved is ever lost or half written.

``write_atomic(path, data)`` looks at what ``path`` is before writing:

- a regular file, or nothing yet: the data goes to a temporary file beside it, reaches the disk,
  and is renamed over the name, so at every instant the file is the old one or the new one (the
  old file's permissions, and when allowed its owner, are kept);
- a symbolic link: its target is written that way (the link stays a link);
- a character device or a FIFO (``/dev/null``, ``/dev/full``, a named pipe, ``/dev/stdout`` and
  other names of an open descriptor under ``/proc/self/fd``): the data is written straight through,
  as ``cp`` or a shell redirection would, and a failure such as ``ENOSPC`` is reported;
- a directory, a socket or a block device: refused with an error saying so.

A regular file that nobody may write (its mode has no write bit for its owner, as after
``chmod 444``) is refused, as ``cp`` and editors refuse it, unless ``force=True``: the mode bits are
read, not ``access()``, so root (who may write anything) is stopped too.

A save killed half-way (``kill -9``, power cut) leaves a temporary file ``.NAME.<hex>.tmp``
beside ``NAME`` (``NAME`` cut short when the whole would pass the system's limit on a name); the next save to ``NAME`` removes it, and never one that a live save is still
writing (each save holds a lock on its temporary file while it writes).

>>> import os, tempfile
>>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
>>> write_atomic(path, "first"); write_atomic(path, "second")
>>> open(path).read(), os.listdir(os.path.dirname(path))
('second', ['notes.txt'])
"""
from __future__ import annotations

import errno
import os
import re
import secrets
import stat
import sys
import time

try:  # POSIX: a lock tells a live save's temporary file from a killed one's
    import fcntl
except ImportError:  # pragma: no cover (Windows)
    fcntl = None

_MAX_LINKS = 40  # as the kernel's ELOOP limit
_DESCRIPTOR_DIRECTORIES = ("/proc/", "/dev/fd/")
_LEFTOVER_AGE = 2.0  # seconds: younger temporary files may be a save that is just starting


def write_atomic(path: str | os.PathLike, data: bytes | str, *, force: bool = False) -> None:
    """Write ``data`` to ``path``: atomically for a regular file, straight through for a device
    or FIFO, to the target of a symlink; a directory, socket or block device is refused, and so
    is a read-only file unless ``force`` (its mode is kept).

    See the module's docstring for the rules. Errors are ``OSError``s whose message starts with
    ``cannot save to PATH`` (and whose ``errno`` is the system's, e.g. ``ENOSPC``).
    """
    path = os.fspath(path)
    if isinstance(data, str):
        data = data.encode("utf-8")
    if _names_a_descriptor(path):
        _write_through(path, data)
        return
    try:
        kind = os.stat(path).st_mode  # follows symlinks: the kind of what would be written
    except FileNotFoundError:
        kind = None
    except OSError as error:  # ELOOP, EACCES, ENOTDIR...
        raise _failure(error, path) from None
    if kind is None or stat.S_ISREG(kind):
        if kind is not None and not force:
            _refuse_read_only(path, kind)
        _replace(_final_target(path), data, path)
    elif stat.S_ISDIR(kind):
        raise _error(IsADirectoryError, errno.EISDIR,
                     f"cannot save to {path}: it is a directory")
    elif stat.S_ISCHR(kind) or stat.S_ISFIFO(kind):
        _write_through(path, data)
    else:
        what = "a socket" if stat.S_ISSOCK(kind) else "a block device" if stat.S_ISBLK(kind) \
            else "not a regular file"
        raise _error(OSError, errno.EINVAL, f"cannot save to {path}: it is {what}, not a regular "
                                            f"file, device or FIFO; refusing to write to it")


def check_writable(path: str | os.PathLike, *, force: bool = False) -> None:
    """Raise the error ``write_atomic(path, ..., force=force)`` would raise for the kind of path,
    its name or its directory, without writing anything: call it before spending time on what
    will be saved.

    >>> check_writable("/no/such/folder/m.json")
    Traceback (most recent call last):
    ...
    FileNotFoundError: cannot save to /no/such/folder/m.json: the directory /no/such/folder does not exist
    """
    path = os.fspath(path)
    if _names_a_descriptor(path):
        kind = None
    else:
        try:
            kind = os.stat(path).st_mode
        except FileNotFoundError:
            kind = None
        except OSError as error:
            raise _failure(error, path) from None
    if kind is not None and stat.S_ISDIR(kind):
        raise _error(IsADirectoryError, errno.EISDIR,
                     f"cannot save to {path}: it is a directory")
    if kind is not None and not (stat.S_ISREG(kind) or stat.S_ISCHR(kind)
                                 or stat.S_ISFIFO(kind)):
        raise _error(OSError, errno.EINVAL, f"cannot save to {path}: it is not a regular file, "
                                            f"device or FIFO; refusing to write to it")
    if _names_a_descriptor(path) or (kind is not None and not stat.S_ISREG(kind)):
        if not os.access(path, os.W_OK):
            raise _error(PermissionError, errno.EACCES,
                         f"cannot save to {path}: Permission denied")
        return
    directory = os.path.dirname(os.path.abspath(_final_target(path)))
    if not os.path.isdir(directory):
        raise _error(FileNotFoundError, errno.ENOENT,
                     f"cannot save to {path}: the directory {directory} does not exist")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise _error(PermissionError, errno.EACCES,
                     f"cannot save to {path}: Permission denied")
    if kind is not None and not force:
        _refuse_read_only(path, kind)
    if kind is None:
        _check_name_length(directory, os.path.basename(_final_target(path)), path)


def _refuse_read_only(path: str, mode: int) -> None:
    """A file whose owner took away the write bits (``chmod 444``) is not replaced: ``cp`` and
    editors refuse it too. Read from the mode, so that root, whom ``access()`` lets write
    anything, is stopped as well."""
    if not mode & stat.S_IWUSR:
        raise _error(PermissionError, errno.EACCES,
                     f"cannot save to {path}: the file is read-only (mode "
                     f"{stat.S_IMODE(mode):03o}); make it writable (chmod u+w) or force the save")
    if not os.access(path, os.W_OK):  # another user's file, not writable for us
        raise _error(PermissionError, errno.EACCES, f"cannot save to {path}: Permission denied")


def _check_name_length(directory: str, base: str, named: str) -> None:
    """A new file's name within the system's limit (ENAMETOOLONG, as the save would say)."""
    if len(os.fsencode(base)) > _name_max(directory):
        raise _error(OSError, errno.ENAMETOOLONG, f"cannot save to {named}: File name too long")


def _name_max(directory: str) -> int:
    try:
        return os.pathconf(directory, "PC_NAME_MAX")
    except (AttributeError, OSError, ValueError):
        return 255


def _error(kind: type, number: int, message: str) -> OSError:
    """``kind(message)`` with ``errno`` set: its text is the message alone (no "[Errno n]")."""
    error = kind(message)
    error.errno = number
    return error


def _failure(error: OSError, path: str) -> OSError:
    """The same kind of error, saying which file and why, keeping the system's errno."""
    reason = error.strerror or str(error)
    return _error(type(error), error.errno, f"cannot save to {path}: {reason}")


def _names_a_descriptor(path: str) -> bool:
    """Whether ``path`` is (or links to) a name of an open descriptor, like ``/dev/stdout``.

    Such a name must be written through: renaming over it would replace the link itself.
    """
    current = os.path.abspath(path)
    for _ in range(_MAX_LINKS):
        if current.startswith(_DESCRIPTOR_DIRECTORIES):
            return True
        if not os.path.islink(current):
            return False
        current = os.path.normpath(os.path.join(os.path.dirname(current), os.readlink(current)))
    return False


def _final_target(path: str) -> str:
    """The file a chain of symlinks ends at (which may not exist yet); ``path`` otherwise."""
    if not os.path.islink(path):
        return path
    return os.path.realpath(path)


def _write_through(path: str, data: bytes) -> None:
    """Write to a device, FIFO or open descriptor as Unix tools do: no temporary file, no rename."""
    for stream in (sys.stdout, sys.stderr):  # /dev/stdout: what print() holds comes first
        try:
            stream.flush()
        except (AttributeError, OSError, ValueError):
            pass
    try:
        descriptor = os.open(path, os.O_WRONLY | getattr(os, "O_NOCTTY", 0))
    except OSError as error:
        raise _failure(error, path) from None
    try:
        if stat.S_ISREG(os.fstat(descriptor).st_mode):  # e.g. /dev/stdout redirected to a file:
            os.lseek(descriptor, 0, os.SEEK_END)        # after what is already there
        view = memoryview(data)
        while view:
            written = os.write(descriptor, view)
            view = view[written:]
    except OSError as error:
        raise _failure(error, path) from None
    finally:
        os.close(descriptor)


def _replace(target: str, data: bytes, named: str) -> None:
    """The atomic replace of the regular file (or new name) ``target``; ``named`` is for errors."""
    directory = os.path.dirname(os.path.abspath(target))
    if not os.path.isdir(directory):
        raise _error(FileNotFoundError, errno.ENOENT,
                     f"cannot save to {named}: the directory {directory} does not exist")
    base = os.path.basename(target)
    _remove_leftovers(directory, base)
    temporary = os.path.join(directory, f".{_stem(directory, base)}.{secrets.token_hex(6)}.tmp")
    try:
        # 0o666: the umask applies, as for any new file
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as error:
        raise _failure(error, named) from None
    try:
        if fcntl is not None:
            fcntl.flock(descriptor, fcntl.LOCK_EX)  # released by the kernel if we are killed
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())  # the bytes are on disk before the name points at them
            try:
                old = os.stat(target)
            except FileNotFoundError:
                old = None
            if old is not None:
                os.chmod(temporary, stat.S_IMODE(old.st_mode))
                _keep_owner(temporary, old)
            os.replace(temporary, target)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
    _sync_directory(directory)


_TEMPORARY_EXTRA = len(".") + len(".") + 12 + len(".tmp")  # ".NAME.<12 hex>.tmp"


def _stem(directory: str, base: str) -> str:
    """``base`` as the temporary name holds it: whole when ``.BASE.<hex>.tmp`` fits the system's
    limit on a name, else cut short (a name of 238 to 255 bytes must still be saveable)."""
    room = _name_max(directory) - _TEMPORARY_EXTRA
    while len(os.fsencode(base)) > room:
        base = base[:-1]
    return base


def _keep_owner(temporary: str, old: os.stat_result) -> None:
    """Root saving over another user's file leaves it theirs (others cannot change owners)."""
    if not hasattr(os, "chown") or (old.st_uid, old.st_gid) == (os.getuid(), os.getgid()):
        return
    try:
        os.chown(temporary, old.st_uid, old.st_gid)
    except OSError:
        pass


def _remove_leftovers(directory: str, base: str) -> None:
    """Delete the temporary files of earlier saves of ``base`` that were killed half-way.

    Only names this module makes (``.BASE.<12 hex>.tmp``), only regular files, and only those no
    live save holds locked; without locks (not POSIX) nothing is removed.
    """
    if fcntl is None:
        return
    pattern = re.compile(rf"\.{re.escape(_stem(directory, base))}\.[0-9a-f]{{12}}\.tmp")
    try:
        names = [name for name in os.listdir(directory) if pattern.fullmatch(name)]
    except OSError:
        return
    for name in names:
        leftover = os.path.join(directory, name)
        try:
            descriptor = os.open(leftover, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
                                 | getattr(os, "O_NONBLOCK", 0))
        except OSError:
            continue
        try:
            info = os.fstat(descriptor)
            if not stat.S_ISREG(info.st_mode) or time.time() - info.st_mtime < _LEFTOVER_AGE:
                continue
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)  # fails if a save is live
            os.unlink(leftover)
        except OSError:
            pass
        finally:
            os.close(descriptor)


def _sync_directory(directory: str) -> None:
    """Make the rename itself durable (POSIX; Windows cannot open a directory)."""
    if os.name != "posix":
        return
    try:
        descriptor = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass
    finally:
        os.close(descriptor)
