"""Real faults for the live tests: small ext4 file systems on loop devices, a verbose broker.

``Ext4Image(size_mb)`` makes an image file (``truncate``), formats it
(``mkfs.ext4 -q -F -m 0``: no blocks reserved for root, so a full disk is full for the
service too, which runs as root here) and mounts it with ``mount -o loop``:

* ``.path`` is the mount point;
* ``.fill()`` writes filler files until ``ENOSPC`` (and again after an ``fsync``, which
  gives back what ext4 had reserved for delayed allocation), so the next write that needs a
  new block fails; it may be called again (e.g. after SQLite deleted its ``-wal``);
  ``.free()`` removes the filler;
* ``.snapshot(dest)`` copies the image file *without any sync*: only what the kernel has
  written to the loop device is in the copy, i.e. what the disk would hold after a power
  cut at that instant (dirty pages of the mounted file system are lost, exactly as they
  would be);
* ``with .mount_copy(copy) as root:`` mounts such a copy read-write (ext4 replays its
  journal, SQLite recovers its WAL, as at the next boot) and unmounts it afterwards.

Every mount is undone in a ``finally`` (``umount``, then ``losetup -d`` when a loop device
is still attached to the image). Without root, without ``mkfs.ext4`` or when the mount
fails, the test is skipped with the reason.

The fixtures: ``ext4_image`` (a factory: ``ext4_image(16)`` -> a mounted ``Ext4Image``,
unmounted at the end of the test) and ``verbose_broker`` (a mosquitto that logs every
packet, so ``broker.pubacks_from(client_id)`` can count what the service acknowledged).
"""

from __future__ import annotations

import contextlib
import errno
import gc
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from broker import Broker


def _run(*args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess:
    out = subprocess.run(list(args), capture_output=True, text=True, timeout=timeout)
    if check and out.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({out.returncode}): {out.stderr.strip() or out.stdout.strip()}")
    return out


def require_loop_mounts() -> None:
    """Skip the test unless this process can format and loop-mount an ext4 image."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(f"needs root to loop-mount an ext4 image (running as uid {os.geteuid()})")
    for tool in ("mkfs.ext4", "mount", "umount", "losetup"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (apt-get install -y e2fsprogs mount)")
    if not Path("/dev/loop-control").exists() and not any(Path("/dev").glob("loop[0-9]*")):
        pytest.skip("no loop device (/dev/loop-control, /dev/loop*) in this environment")


def _loop_devices(image: Path) -> list[str]:
    out = _run("losetup", "-j", str(image), check=False)
    return [line.split(":", 1)[0] for line in out.stdout.splitlines() if line.strip()]


def _is_mounted(mountpoint: Path) -> bool:
    target = os.path.realpath(mountpoint)
    with open("/proc/self/mounts") as f:
        return any(line.split()[1].replace("\\040", " ") == target for line in f if line.strip())


def _mount_loop(image: Path, mountpoint: Path) -> None:
    mountpoint.mkdir(parents=True, exist_ok=True)
    out = _run("mount", "-o", "loop", "-t", "ext4", str(image), str(mountpoint), check=False)
    if out.returncode != 0:
        for dev in _loop_devices(image):
            _run("losetup", "-d", dev, check=False)
        pytest.skip(f"cannot loop-mount an ext4 image here: mount -o loop {image} {mountpoint}: "
                    f"{out.stderr.strip() or out.returncode}")


def _unmount(image: Path, mountpoint: Path) -> None:
    """umount (retried while busy, lazily as a last resort), then detach any loop device."""
    try:
        if _is_mounted(mountpoint):
            gc.collect()  # a SQLite connection of the test kept alive by a reference cycle holds the disk
            last = None
            for _ in range(150):
                last = _run("umount", str(mountpoint), check=False)
                if last.returncode == 0 or not _is_mounted(mountpoint):
                    break
                time.sleep(0.2)
            else:
                holders = _holders(mountpoint)
                _run("umount", "-l", str(mountpoint), check=False)
                raise RuntimeError(f"{mountpoint} was busy for 30 s ({last.stderr.strip()}; open by {holders}): "
                                   "lazily unmounted")
    finally:
        for dev in _loop_devices(image):
            _run("losetup", "-d", dev, check=False)


def _holders(mountpoint: Path) -> list[str]:
    """The processes with a file open below ``mountpoint`` (pid and command)."""
    found = []
    root = str(mountpoint)
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if any(os.readlink(fd).startswith(root) for fd in (proc / "fd").iterdir()):
                command = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:120]
                found.append(f"{proc.name} {command}")
        except OSError:
            continue
    return found


class Ext4Image:
    """A small ext4 file system in an image file, loop-mounted (see the module's doc)."""

    def __init__(self, size_mb: int, workdir: str | Path | None = None, name: str = "disk"):
        self.size_mb = int(size_mb)
        self._own_dir = workdir is None
        self.workdir = Path(workdir) if workdir is not None else Path(tempfile.mkdtemp(prefix="tessdb-ext4-"))
        self.image = self.workdir / f"{name}.img"
        self.path = self.workdir / name  # the mount point
        self.fillers: list[Path] = []
        self.mounted = False

    # -- life cycle ---------------------------------------------------------------------------
    def mount(self) -> "Ext4Image":
        try:
            require_loop_mounts()
            self.workdir.mkdir(parents=True, exist_ok=True)
            _run("truncate", "-s", f"{self.size_mb}M", str(self.image))
            _run("mkfs.ext4", "-q", "-F", "-m", "0", str(self.image))
            _mount_loop(self.image, self.path)
            self.mounted = True
            return self
        except BaseException:  # a skip included: leave nothing behind
            self.close()
            raise

    def close(self) -> None:
        try:
            if self.mounted:
                _unmount(self.image, self.path)
        finally:
            self.mounted = False
            if self._own_dir:
                shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Ext4Image":
        return self.mount()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- faults -------------------------------------------------------------------------------
    def available(self) -> int:
        """Bytes a (root) process can still allocate on the file system."""
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize

    def fill(self) -> int:
        """Write filler files until ENOSPC; return the bytes written.  After it, any write
        that needs a new block fails with ENOSPC (space already allocated to a file, like
        the unused tail of a SQLite WAL, can still be rewritten: that is what a real full
        disk does too)."""
        written = 0
        for _ in range(20):  # fsync hands back ext4's delayed-allocation reservations: go on
            filler = self.path / f".filler-{len(self.fillers)}"
            self.fillers.append(filler)
            n = 0
            try:
                fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            except OSError as exc:
                if exc.errno != errno.ENOSPC:  # not even a directory entry left: full
                    raise
                break
            try:
                for size in (1 << 20, 1 << 16, 1 << 12, 1 << 10, 1):
                    block = b"\xa5" * size
                    while True:
                        try:
                            n += os.write(fd, block)
                        except OSError as exc:
                            if exc.errno not in (errno.ENOSPC, errno.EDQUOT):
                                raise
                            break
                with contextlib.suppress(OSError):
                    os.fsync(fd)
            finally:
                os.close(fd)
            written += n
            if n == 0:
                break
        assert self.available() < 64 * 1024, f"{self.path} still has {self.available()} bytes free after fill()"
        return written

    def free(self) -> None:
        """Remove the filler: the space is back (synced, so ext4 can reuse the blocks at once)."""
        for filler in self.fillers:
            with contextlib.suppress(FileNotFoundError):
                filler.unlink()
        self.fillers.clear()
        fd = os.open(self.path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def snapshot(self, dest: str | Path) -> Path:
        """Copy the image file as it is now, without syncing anything: what the disk holds
        after a power cut at this instant."""
        dest = Path(dest)
        shutil.copyfile(self.image, dest)
        return dest

    @contextlib.contextmanager
    def mount_copy(self, copy: str | Path) -> Iterator[Path]:
        """Mount a copy made by ``snapshot`` read-write (journal replayed, as at the next
        boot); yield its mount point; unmount it afterwards."""
        copy = Path(copy)
        mountpoint = copy.with_name(copy.name + ".mnt")
        require_loop_mounts()
        _mount_loop(copy, mountpoint)
        try:
            yield mountpoint
        finally:
            _unmount(copy, mountpoint)


@pytest.fixture
def ext4_image(tmp_path):
    """A factory: ``ext4_image(size_mb, name="disk")`` -> a mounted ``Ext4Image`` in the
    test's tmp dir; every image is unmounted (and its loop device detached) at the end.
    Fixtures that use the images (a service running on one) must depend on this one, so
    that they are torn down first."""
    images: list[Ext4Image] = []

    def make(size_mb: int, name: str = "disk") -> Ext4Image:
        image = Ext4Image(size_mb, tmp_path / f"ext4-{len(images)}", name)
        images.append(image)
        return image.mount()

    try:
        yield make
    finally:
        errors = []
        for image in reversed(images):
            try:
                image.close()
            except Exception as exc:  # unmount the others anyway
                errors.append(exc)
        if errors:
            raise errors[0]


@pytest.fixture
def verbose_broker(tmp_path):
    """A real mosquitto that logs every packet (``broker.pubacks_from(client_id)``)."""
    b = Broker(tmp_path / "broker", log_all=True).start()
    try:
        yield b
    finally:
        b.stop()
