"""Saving to every kind of path: a regular file is replaced atomically, a device or FIFO is written
straight through (as `cp`, `tee` or a shell redirection would), a symlink's target is written, and a
directory, socket or block device is refused. Nothing but the named file is ever touched.

Devices are tested on private device nodes made with mknod in a temporary directory (null is
character device 1,3, full is 1,7 on Linux), so a failing test cannot damage the machine's /dev.
"""
import errno
import os
import socket
import stat
import subprocess
import sys
import threading
import time

import pytest

from autograd_mini.files import check_writable, write_atomic

posix_only = pytest.mark.skipif(os.name != "posix", reason="POSIX file kinds")


def device(tmp_path, name, major, minor):
    """A private character device node, or skip (making one needs root and a Linux kernel)."""
    path = tmp_path / name
    try:
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(major, minor))
        with open(path, "wb"):
            pass  # some container file systems refuse opening device nodes (nodev)
    except (OSError, AttributeError) as error:
        pytest.skip(f"cannot make a device node here ({error})")
    return path


@posix_only
def test_a_character_device_is_written_through_and_stays_a_device(tmp_path):
    null = device(tmp_path, "null", 1, 3)
    write_atomic(null, b"thrown away")
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    assert os.listdir(tmp_path) == ["null"]  # no temporary file beside it


@posix_only
def test_a_full_device_reports_no_space(tmp_path):
    full = device(tmp_path, "full", 1, 7)
    with pytest.raises(OSError, match="cannot save to .*full") as caught:
        write_atomic(full, b"x" * 100)
    assert caught.value.errno == errno.ENOSPC
    assert stat.S_ISCHR(os.lstat(full).st_mode)


@posix_only
def test_the_cli_to_a_device_node_keeps_it_a_device(tmp_path):
    """`graph -o /dev/null` (here a private copy of /dev/null) must not turn it into a file."""
    null = device(tmp_path, "null", 1, 3)
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "a*b", "a=1", "b=2",
                           "-o", str(null), "--format", "dot"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert stat.S_ISCHR(os.lstat(null).st_mode)
    full = device(tmp_path, "full", 1, 7)
    done = subprocess.run([sys.executable, "-m", "autograd_mini", "graph", "a*b", "a=1", "b=2",
                           "-o", str(full), "--format", "dot"], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 1 and "No space left on device" in done.stderr
    assert stat.S_ISCHR(os.lstat(full).st_mode)


@posix_only
def test_a_fifo_is_written_through(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(open(fifo, "rb").read()),
                              daemon=True)
    reader.start()
    write_atomic(fifo, b"through the pipe")
    reader.join(10)
    assert received == [b"through the pipe"]
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)


@posix_only
def test_standard_output_by_name_is_written_through(tmp_path):
    """/dev/stdout is a link into /proc/self/fd: write to the descriptor, never rename over it."""
    link = tmp_path / "stdout"
    os.symlink("/proc/self/fd/1", link)  # what /dev/stdout is, but ours to lose
    program = ("import sys; print('before'); "
               "from autograd_mini.files import check_writable, write_atomic; "
               f"write_atomic({str(link)!r}, b'drawing\\n')")
    with open(tmp_path / "out.txt", "wb") as out:
        done = subprocess.run([sys.executable, "-c", program], stdout=out, timeout=60)
    assert done.returncode == 0
    assert (tmp_path / "out.txt").read_bytes() == b"before\ndrawing\n"
    assert os.path.islink(link)
    piped = subprocess.run([sys.executable, "-c", program], capture_output=True, timeout=60)
    assert piped.stdout == b"before\ndrawing\n" and os.path.islink(link)


@posix_only
def test_a_symlink_has_its_target_replaced_atomically(tmp_path):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.json"
    target.write_text("old")
    os.chmod(target, 0o640)
    link = tmp_path / "link.json"
    os.symlink(os.path.join("real", "model.json"), link)
    write_atomic(link, "new")
    assert os.path.islink(link) and target.read_text() == "new"
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o640
    assert sorted(os.listdir(tmp_path / "real")) == ["model.json"]
    dangling = tmp_path / "dangling.json"
    os.symlink(os.path.join("real", "created.json"), dangling)
    write_atomic(dangling, "created")
    assert os.path.islink(dangling)
    assert (tmp_path / "real" / "created.json").read_text() == "created"


@posix_only
def test_a_chain_of_symlinks_and_a_symlinked_directory(tmp_path):
    (tmp_path / "real").mkdir()
    os.symlink("real", tmp_path / "dirlink")
    os.symlink(tmp_path / "dirlink" / "m.json", tmp_path / "one")
    os.symlink("one", tmp_path / "two")
    write_atomic(tmp_path / "two", "x")
    assert (tmp_path / "real" / "m.json").read_text() == "x"
    assert os.path.islink(tmp_path / "one") and os.path.islink(tmp_path / "two")


@posix_only
def test_a_symlink_loop_is_refused_clearly(tmp_path):
    os.symlink("b", tmp_path / "a")
    os.symlink("a", tmp_path / "b")
    with pytest.raises(OSError, match="cannot save to .*a"):
        write_atomic(tmp_path / "a", "x")


def test_a_directory_is_refused(tmp_path):
    with pytest.raises(IsADirectoryError, match="it is a directory"):
        write_atomic(tmp_path, "x")
    os.symlink(tmp_path, tmp_path / "link") if os.name == "posix" else None
    if os.name == "posix":
        with pytest.raises(IsADirectoryError, match="it is a directory"):
            write_atomic(tmp_path / "link", "x")


@posix_only
def test_a_socket_is_refused_and_left_alone(tmp_path):
    path = tmp_path / "s"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
    except OSError as error:  # path too long for AF_UNIX on some systems
        pytest.skip(str(error))
    try:
        with pytest.raises(OSError, match="not a regular file"):
            write_atomic(path, "x")
        assert stat.S_ISSOCK(os.lstat(path).st_mode)
    finally:
        server.close()


# -- leftovers of killed saves -------------------------------------------------------------------

KILLED_SAVE = """
import os, sys, time
import autograd_mini.files as files
real_fsync = os.fsync
def hang(fd):
    print("writing", flush=True)
    time.sleep(600)
os.fsync = hang
files.write_atomic(sys.argv[1], b"new" * 1000)
"""


@posix_only
def test_the_leftover_of_a_killed_save_is_cleaned_up_by_the_next_save(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("old")
    saving = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert saving.stdout.readline() == "writing\n"
        leftovers = [name for name in os.listdir(tmp_path) if name.endswith(".tmp")]
        assert len(leftovers) == 1 and leftovers[0].startswith(".model.json.")
        an_hour_ago = time.time() - 3600  # old enough to look abandoned: only its lock says not
        os.utime(tmp_path / leftovers[0], (an_hour_ago, an_hour_ago))
        write_atomic(path, "while the other save runs")  # a live save's file is not touched
        assert sorted(os.listdir(tmp_path)) == sorted(["model.json"] + leftovers)
    finally:
        saving.kill()  # kill -9: the temporary file stays behind
        saving.wait()
    assert path.read_text() == "while the other save runs"
    unrelated = tmp_path / ".other.json.0123456789ab.tmp"
    unrelated.write_text("not ours")
    write_atomic(path, "next")
    assert sorted(os.listdir(tmp_path)) == [".other.json.0123456789ab.tmp", "model.json"]
    assert path.read_text() == "next"


def test_a_regular_file_is_replaced_whole(tmp_path):
    path = tmp_path / "m.txt"
    path.write_text("old")
    os.chmod(path, 0o600)
    write_atomic(path, "new")
    assert path.read_text() == "new" and stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["m.txt"]
    with pytest.raises(FileNotFoundError, match="does not exist"):
        write_atomic(tmp_path / "no" / "m.txt", "x")


# -- every kind of path at once: the kind never changes, the bytes land where they should ----------

KINDS = ["missing", "regular", "link_to_regular", "dangling_link", "fifo", "null_device",
         "directory", "link_to_directory", "socket"]


def make(tmp_path, kind):
    """A path of ``kind`` in tmp_path; returns (path, where the bytes should land or None)."""
    path = tmp_path / "out"
    if kind == "missing":
        return path, path
    if kind == "regular":
        path.write_text("old")
        return path, path
    if kind in ("link_to_regular", "dangling_link"):
        target = tmp_path / "target"
        if kind == "link_to_regular":
            target.write_text("old")
        os.symlink("target", path)
        return path, target
    if kind == "fifo":
        os.mkfifo(path)
        return path, None
    if kind == "null_device":
        return device(tmp_path, "out", 1, 3), None
    if kind in ("directory", "link_to_directory"):
        (tmp_path / "folder").mkdir()
        if kind == "directory":
            return tmp_path / "folder", None
        os.symlink("folder", path)
        return path, None
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.close()  # the socket file stays
    return path, None


def kind_of(path):
    info = os.lstat(path)
    return stat.S_IFMT(info.st_mode)


@posix_only
@pytest.mark.parametrize("kind", KINDS)
def test_saving_to_any_kind_of_path_keeps_its_kind(tmp_path, kind):
    path, lands = make(tmp_path, kind)
    before = kind_of(path) if os.path.lexists(path) else stat.S_IFREG
    names = sorted(os.listdir(tmp_path))
    if kind == "fifo":
        received = []
        reader = threading.Thread(target=lambda: received.append(open(path, "rb").read()),
                                  daemon=True)
        reader.start()
    refused = kind in ("directory", "link_to_directory", "socket")
    if refused:  # check_writable, the check before long work, says the same in advance
        with pytest.raises(OSError, match=f"cannot save to {path}: it is "):
            check_writable(path)
    else:
        check_writable(path)
    try:
        write_atomic(path, b"new bytes")
    except OSError as error:
        assert refused, error
        assert str(error).startswith(f"cannot save to {path}: it is ")
    else:
        assert kind not in ("directory", "link_to_directory", "socket")
        if lands is not None:
            assert lands.read_bytes() == b"new bytes"
        if kind == "fifo":
            reader.join(10)
            assert received == [b"new bytes"]
    assert kind_of(path) == before  # a link stays a link, a device a device, a FIFO a FIFO
    after = sorted(os.listdir(tmp_path))
    assert not [name for name in after if name.endswith(".tmp")]
    assert after == sorted(set(names) | ({"out"} if kind == "missing" else set())) or \
        (kind == "dangling_link" and after == sorted(names + ["target"]))


# -- read-only files and long names ----------------------------------------------------------------

def test_a_read_only_file_is_refused_unless_forced(tmp_path):
    """As cp and editors do; the mode is read, so root (whom access() lets write) is refused too."""
    path = tmp_path / "kept.json"
    path.write_text("the owner's")
    os.chmod(path, 0o444)
    for attempt in (check_writable, lambda p: write_atomic(p, "over it")):
        with pytest.raises(PermissionError) as caught:
            attempt(path)
        message = str(caught.value)
        assert message.startswith(f"cannot save to {path}: the file is read-only (mode 444)")
        assert "force" in message and "\n" not in message
    assert path.read_text() == "the owner's" and os.listdir(tmp_path) == ["kept.json"]
    check_writable(path, force=True)
    write_atomic(path, "asked for", force=True)
    assert path.read_text() == "asked for" and stat.S_IMODE(os.stat(path).st_mode) == 0o444
    if os.name == "posix":  # through a symlink: the target's mode decides
        os.chmod(path, 0o444)
        os.symlink("kept.json", tmp_path / "link.json")
        with pytest.raises(PermissionError, match="read-only"):
            write_atomic(tmp_path / "link.json", "x")


@pytest.mark.parametrize("length", [237, 238, 250, 255])
def test_names_up_to_the_systems_limit_can_be_saved_and_resaved(tmp_path, length):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    if length > limit:
        pytest.skip(f"this file system's names are at most {limit} bytes")
    name = "m" * (length - 5) + ".json"
    path = tmp_path / name
    check_writable(path)  # the check and the save agree
    write_atomic(path, "first")
    write_atomic(path, "second")
    assert path.read_text() == "second" and os.listdir(tmp_path) == [name]


def test_a_name_past_the_limit_is_refused_alike_by_the_check_and_the_save(tmp_path):
    limit = os.pathconf(tmp_path, "PC_NAME_MAX") if hasattr(os, "pathconf") else 255
    path = tmp_path / ("m" * (limit + 1))
    errors = []
    for attempt in (check_writable, lambda p: write_atomic(p, "x")):
        with pytest.raises(OSError) as caught:
            attempt(path)
        errors.append((caught.value.errno, str(caught.value)))
    assert errors[0] == errors[1] and errors[0][0] == errno.ENAMETOOLONG
    assert os.listdir(tmp_path) == []


@posix_only
def test_the_leftover_of_a_killed_save_of_a_long_name_is_cleaned_up(tmp_path):
    name = "n" * 250
    path = tmp_path / name
    write_atomic(path, "old")
    leftover = [p for p in os.listdir(tmp_path)]  # make one as a killed save would leave it
    from autograd_mini.files import _stem
    stale = tmp_path / f".{_stem(str(tmp_path), name)}.0123456789ab.tmp"
    stale.write_text("half")
    an_hour_ago = time.time() - 3600
    os.utime(stale, (an_hour_ago, an_hour_ago))
    write_atomic(path, "new")
    assert os.listdir(tmp_path) == leftover and path.read_text() == "new"


def test_the_cli_refuses_a_read_only_output_in_one_line_and_force_writes_it(tmp_path):
    out = tmp_path / "e.dot"
    out.write_text("mine")
    os.chmod(out, 0o444)
    command = [sys.executable, "-m", "autograd_mini", "graph", "a*b", "a=1", "b=2", "-o", str(out)]
    refused = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0 and out.read_text() == "mine"
    assert refused.stderr.count("\n") == 1 and "read-only (mode 444)" in refused.stderr
    forced = subprocess.run(command + ["--force"], capture_output=True, text=True, timeout=120)
    assert forced.returncode == 0, forced.stderr
    assert out.read_text().startswith("digraph")
