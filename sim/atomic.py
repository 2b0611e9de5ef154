"""Atomic file output: write to a temporary name, then rename into place.

Output directories (``--out``) are *claimed* before a command simulates anything
(``claimed_output_dir``): the path is checked (not empty, not an existing non-directory, its
directory creatable and writable, its file system not full), an exclusive lock next to it keeps
other innosim runs out until the command ends, and staging directories that killed runs left
behind are removed. ``staged_output_dir`` then writes everything into a staging directory and
moves it into place only when every file is written; a failed write (a full disk) raises
``OutputError`` and leaves the target as it was.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import stat
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType

from sim.errors import OutputError

try:
    import fcntl
except ImportError:  # pragma: no cover - not on POSIX: no locking
    fcntl = None  # type: ignore[assignment]

#: Name part of the staging directories and lock files innosim makes beside a target.
MARK = "innosim"
#: Age (seconds) after which any staging directory of ours is stale, whoever made it.
STALE_AGE = 24 * 3600
#: Free space (bytes) below which a file system counts as full before anything is run.
MIN_FREE_BYTES = 1 << 20


def _mode_for(path: Path) -> int:
    """Permission bits for ``path``: those of the existing file, else 0o666 less the umask."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so readers never see a half-written file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, _mode_for(path))
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: Path, text: str, encoding: str = "utf-8") -> None:
    """Write ``text`` to ``path`` so readers never see a half-written file."""
    atomic_write_bytes(path, text.encode(encoding))


# --- claiming an output directory -----------------------------------------------------------


def _reason(exc: OSError) -> str:
    """An OS error in words (``No space left on device``), without the path."""
    return exc.strerror or str(exc) or type(exc).__name__


def _host() -> str:
    """This machine's name as a file-name part."""
    return re.sub(r"[^A-Za-z0-9-]", "-", socket.gethostname())[:32] or "host"


def _alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class _Claim:
    """A claimed output directory: where its lock and staging directories live."""

    target: Path
    home: Path
    lock: Path
    fd: int | None
    stages: set[Path] = field(default_factory=set)


#: Output directories claimed by this process, by resolved path.
_CLAIMS: dict[Path, _Claim] = {}


def _stage_prefix(target: Path) -> str:
    return f".{target.name}.{MARK}-"


def _stage_pattern(target: Path) -> re.Pattern[str]:
    """Names of our staging directories for ``target``: ``(pid, host)`` groups, or an
    older unnamed ``mkdtemp`` one (no groups)."""
    name = re.escape(target.name)
    return re.compile(
        rf"^\.{name}\.(?:{MARK}-(\d+)@([A-Za-z0-9-]*)\.[A-Za-z0-9_]+|[A-Za-z0-9_]{{8}})\.tmp$"
    )


def _remove_stale(claim: _Claim) -> list[Path]:
    """Delete the staging directories of ``claim.target`` that killed runs left behind: made
    on this machine by a process that is gone, or older than ``STALE_AGE``."""
    pattern = _stage_pattern(claim.target)
    removed = []
    now = time.time()
    try:
        entries = list(os.scandir(claim.home))
    except OSError:
        return removed
    for entry in entries:
        match = pattern.match(entry.name)
        path = Path(entry.path)
        if match is None or path in claim.stages or not entry.is_dir(follow_symlinks=False):
            continue
        try:
            old = now - entry.stat(follow_symlinks=False).st_mtime > STALE_AGE
        except OSError:
            continue
        pid, host = match.group(1), match.group(2)
        gone = (
            pid is not None
            and host == _host()
            and (int(pid) == os.getpid() or not _alive(int(pid)))
        )
        if gone or old:
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
    return removed


def _holder(fd: int) -> str:
    """``' (process N)'`` from a lock file's content, or ``''``."""
    with contextlib.suppress(OSError, ValueError):
        pid = int(os.pread(fd, 32, 0).decode().split()[0])
        return f" (process {pid})"
    return ""


def _lock(claim: _Claim, where: str) -> int | None:
    """Hold an exclusive lock on ``claim.lock`` (refuse when another run holds it)."""
    if fcntl is None:  # pragma: no cover - not on POSIX
        return None
    for _ in range(10):
        fd = os.open(claim.lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputError(
                f"{where}: another innosim run{holder} is writing to {claim.target}; wait for "
                "it to finish or choose another --out"
            ) from None
        try:
            mine = os.stat(claim.lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            mine = False
        if mine:  # not a lock file its last holder unlinked after we opened it
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.pwrite(fd, f"{os.getpid()} {_host()}\n".encode(), 0)
            return fd
        os.close(fd)
    raise OutputError(f"{where}: could not lock {claim.lock}")


def _unlock(claim: _Claim) -> None:
    """Remove the lock file (while still holding it, so no one locks a dangling file)."""
    with contextlib.suppress(OSError):
        os.unlink(claim.lock)
    if claim.fd is not None:
        os.close(claim.fd)


def _writable(directory: Path) -> OSError | None:
    """Create and delete a probe file in ``directory``: the error, or ``None``."""
    try:
        fd, probe = tempfile.mkstemp(dir=directory, prefix=f".{MARK}-probe-", suffix=".tmp")
    except OSError as exc:
        return exc
    os.close(fd)
    with contextlib.suppress(OSError):
        os.unlink(probe)
    return None


def _make_parents(directory: Path, where: str) -> list[Path]:
    """Create ``directory`` and its missing parents; return those created (outermost
    first). ``OutputError`` naming the one that cannot be made."""
    missing = []
    for place in (directory, *directory.parents):
        if place.exists():
            if not place.is_dir():
                raise OutputError(f"{where}: {place} exists and is not a directory")
            break
        missing.append(place)
    created: list[Path] = []
    for place in reversed(missing):
        try:
            place.mkdir()
        except FileExistsError:
            if not place.is_dir():
                _remove_empty(created)
                raise OutputError(f"{where}: {place} exists and is not a directory") from None
        except OSError as exc:
            _remove_empty(created)
            raise OutputError(
                f"{where}: cannot create the directory {place}: {_reason(exc)}"
            ) from None
        else:
            created.append(place)
    return created


def _remove_empty(created: list[Path]) -> None:
    """Remove directories we created, innermost first, while they are empty."""
    for place in reversed(created):
        with contextlib.suppress(OSError):
            place.rmdir()


@contextlib.contextmanager
def _terminate_as_exit() -> Iterator[None]:
    """Turn SIGTERM into ``SystemExit`` (so staging directories and locks are cleaned up)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    try:
        previous = signal.signal(signal.SIGTERM, handler)
    except (ValueError, OSError):  # pragma: no cover - no signals here
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def check_output_path(target: str | Path, label: str = "--out") -> Path:
    """The absolute path of output directory ``target``; ``OutputError`` when it is empty or
    exists and is not a directory."""
    if not str(target).strip():
        raise OutputError(f"{label}: an empty path names no directory; give one, e.g. out/run")
    path = Path(os.path.abspath(target))
    if path.exists() and not path.is_dir():
        raise OutputError(f"{label} {target}: exists and is not a directory")
    if path.is_dir() and not path.name:
        raise OutputError(f"{label} {target}: the root directory; give a directory below it")
    return path


@contextlib.contextmanager
def claimed_output_dir(target: str | Path, label: str = "--out") -> Iterator[Path]:
    """Claim output directory ``target`` for the duration of the ``with`` body; yield its
    resolved path.

    Before the body: ``target`` must not be empty or an existing non-directory; its parent is
    created if missing and must take a file (a probe), ``target`` too when it exists, and
    their file system must have ``MIN_FREE_BYTES`` free; an exclusive lock next to ``target``
    must be free (another innosim run writing there is refused); staging directories of
    killed runs are removed. ``OutputError`` naming ``label`` otherwise, before anything is
    run. During the body SIGTERM exits cleanly. Afterwards the lock goes, and the parents
    created go too when ``target`` was not made. Claims nest within a process.
    """
    checked = check_output_path(target, label)
    resolved = checked.resolve()
    where = f"{label} {target}"
    if resolved in _CLAIMS:  # already ours: the outer claim checks, locks and cleans up
        yield resolved
        return
    created = _make_parents(resolved.parent, where)
    try:
        home = resolved.parent
        problem = _writable(home)
        if resolved.is_dir():
            inside = _writable(resolved)
            if inside is not None:
                raise OutputError(f"{where}: cannot write in it: {_reason(inside)}")
            if problem is not None:  # e.g. --out . in a home directory: stage inside it
                home, problem = resolved, None
        if problem is not None:
            raise OutputError(f"{where}: cannot write in {resolved.parent}: {_reason(problem)}")
        with contextlib.suppress(OSError):
            free = shutil.disk_usage(home).free
            if free < MIN_FREE_BYTES:
                raise OutputError(f"{where}: the file system is full ({free} bytes free)")
        claim = _Claim(resolved, home, home / f".{resolved.name}.{MARK}.lock", None)
        try:
            claim.fd = _lock(claim, where)
        except OSError as exc:
            raise OutputError(f"{where}: cannot write in {home}: {_reason(exc)}") from None
    except BaseException:
        _remove_empty(created)
        raise
    _CLAIMS[resolved] = claim
    try:
        _remove_stale(claim)
        with _terminate_as_exit():
            yield resolved
    finally:
        del _CLAIMS[resolved]
        _unlock(claim)
        if not resolved.exists():
            _remove_empty(created)


def _publish(stage: Path, target: Path) -> None:
    """Move the staged files into ``target`` (the whole directory when ``target`` is new)."""
    if not target.exists():
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(stage, 0o777 & ~umask)
        os.rename(stage, target)
        return
    target.mkdir(exist_ok=True)
    for item in sorted(stage.iterdir()):
        os.replace(item, target / item.name)


@contextlib.contextmanager
def staged_output_dir(target: Path) -> Iterator[Path]:
    """Yield a temporary directory whose files are moved into ``target`` on success.

    ``target`` is claimed (``claimed_output_dir``) unless it already is. The staging directory
    sits beside ``target`` (same file system, so each move is an atomic rename; inside
    ``target`` when only that is writable), named after the target, this process and this
    machine so that a later run can remove it if this one is killed. If the ``with`` body
    raises, the staging directory is deleted and ``target`` is left as it was; an ``OSError``
    (e.g. a full disk) becomes an ``OutputError``.
    """
    with claimed_output_dir(target) as resolved:
        claim = _CLAIMS[resolved]
        try:
            stage = Path(
                tempfile.mkdtemp(
                    dir=claim.home,
                    prefix=f"{_stage_prefix(resolved)}{os.getpid()}@{_host()}.",
                    suffix=".tmp",
                )
            )
        except OSError as exc:
            raise OutputError(
                f"--out {target}: cannot write in {claim.home}: {_reason(exc)}"
            ) from None
        claim.stages.add(stage)
        try:
            try:
                yield stage
            except OSError as exc:
                raise OutputError(
                    f"--out {target}: writing the outputs failed: {_reason(exc)}; nothing was "
                    "written"
                ) from exc
            try:
                _publish(stage, resolved)
            except OSError as exc:
                raise OutputError(
                    f"--out {target}: moving the outputs into place failed: {_reason(exc)}"
                ) from exc
        finally:
            claim.stages.discard(stage)
            shutil.rmtree(stage, ignore_errors=True)
