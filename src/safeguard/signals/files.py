"""Hash files: read bytes once, compute every registered signal type that applies (the
digests of any file; PDQ, local features when asked, and plug-in types of decoded photos;
with `variants`, the variants lookups use), and report problems per file.

`hash_file` never raises for a bad file: the returned `FileSignals` carries `error` and
`error_code` instead, so one bad upload never stops a batch. `hash_paths` walks files and
directories and hashes them on several processes, yielding results in input order.

The worker processes come from a fork server (`worker_pool`), never from a fork of the
caller: a caller that has run threads (an encoder's, a server's, a progress bar's) can be
forked while one of them holds a lock, and the child then waits on it for ever.
"""

from __future__ import annotations

import io
import multiprocessing
import os
import stat
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO

import numpy as np

from safeguard.config import (
    DEFAULT_MAX_IMAGE_BYTES,
    DEFAULT_MAX_IMAGE_PIXELS,
    DecodeLimits,
    Settings,
)
from safeguard.errors import ConfigError, FileProblem, WorkerStopped
from safeguard.signals import SignalType, signal_types
from safeguard.signals import local as local_features
from safeguard.signals.images import decoded
from safeguard.signals.video_decode import looks_like_video

_READ_CHUNK = 1 << 20
#: bytes read to tell a video container from other files
_HEAD = 512
_THREADED_DIGEST_BYTES = 64 * 1024


@dataclass
class FileSignals:
    """What safeguard extracted from one file; `error` is set when something failed.

    `values` holds every signal computed, by type name (`signals()` the listable ones);
    `quality` the quality of those that have one; `variants` the values of the content's
    variants for lookups ({type: {variant: value}}), computed with `variants=True`."""

    path: str
    values: dict[str, str] = field(default_factory=dict)
    quality: dict[str, int] = field(default_factory=dict)
    variants: dict[str, dict[str, str]] = field(default_factory=dict)
    width: int | None = None
    height: int | None = None
    low_quality: bool | None = None
    size: int | None = None
    error: str | None = None
    error_code: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None

    def signals(self) -> dict[str, str]:
        """The listable signal values present, by signal type name."""
        listable = signal_types(listable=True)
        return {t: v for t, v in self.values.items() if t in listable}

    def query(self) -> dict[str, str]:
        """What a lookup uses: every value (local features included) and `<type>:<variant>`
        for each variant."""
        found = dict(self.values)
        for t, named in self.variants.items():
            if t in found:
                found.update({f"{t}:{name}": v for name, v in named.items()})
        return found

    def to_json(self) -> dict[str, object]:
        """Listable values at the top level by type name, with `<type>_quality` and, where
        computed, `<type>_variants` (local features are left out: 12 KB nobody reads)."""
        listable = signal_types(listable=True)
        data: dict[str, object] = {"path": self.path}
        order = [t for t in self.values if t in listable] + [
            t for t in listable if t not in self.values
        ]
        data.update((t, self.values.get(t)) for t in order)
        data.update((f"{t}_quality", self.quality.get(t)) for t in order if listable[t].has_quality)
        data.update(width=self.width, height=self.height, low_quality=self.low_quality)
        data["size"] = self.size
        if not self.ok:
            data.update(error=self.error, error_code=self.error_code)
        data.update((f"{t}_variants", self.variants[t]) for t in order if t in self.variants)
        return data

    # the attributes of the first releases, for library callers

    @property
    def pdq(self) -> str | None:
        return self.values.get("pdq")

    @property
    def md5(self) -> str | None:
        return self.values.get("md5")

    @property
    def sha256(self) -> str | None:
        return self.values.get("sha256")

    @property
    def pdq_quality(self) -> int | None:
        return self.quality.get("pdq")

    @property
    def pdq_variants(self) -> dict[str, str] | None:
        return self.variants.get("pdq")

    @property
    def local(self) -> str | None:
        return self.values.get(local_features.NAME)


def hash_bytes(
    data: bytes,
    path: str = "<bytes>",
    *,
    quality_floor: int = 50,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    variants: bool = False,
    local: bool = False,
    decode: DecodeLimits | None = None,
) -> FileSignals:
    """Signals of in-memory content (for example an upload) named `path` in the result;
    with `variants`, also the PDQ of its rotations, flips and inner picture (for lookups);
    with `local`, its local features (for adds, and lookups in banks that keep them), and
    with both, those of its mirror image too. `decode`: the decode memory and wait
    (`Settings.decode`; None: from the environment)."""
    if not data:
        return FileSignals(path=path, size=0, error="empty file (0 bytes)", error_code="empty_file")
    kinds = video_kinds(data[:_HEAD])
    if kinds:  # a video already in memory (an event's upload): read as a file
        return _video_signals(path, io.BytesIO(data), kinds, variants, decode)
    return _signals_of(path, data, quality_floor, max_pixels, variants, local, decode)


def hash_file(
    path: str | os.PathLike[str],
    *,
    quality_floor: int = 50,
    max_pixels: int = DEFAULT_MAX_IMAGE_PIXELS,
    max_image_bytes: int = DEFAULT_MAX_IMAGE_BYTES,
    variants: bool = False,
    local: bool = False,
    decode: DecodeLimits | None = None,
) -> FileSignals:
    """Signals of one file (see `hash_bytes` for `variants`, `local` and `decode`). Never
    raises for a bad file: see `FileSignals.error`."""
    name = str(path)
    try:
        return _hash_file(name, quality_floor, max_pixels, max_image_bytes, variants, local, decode)
    except FileProblem as e:
        return FileSignals(path=name, error=e.message, error_code=e.code)
    except MemoryError:
        return FileSignals(path=name, error="out of memory decoding file", error_code="too_large")
    except Exception as e:  # a bug or an exotic OS error; keep the batch going
        return FileSignals(path=name, error=f"unexpected error: {e!r}"[:300], error_code="internal")


def _hash_file(
    name: str,
    quality_floor: int,
    max_pixels: int,
    max_image_bytes: int,
    variants: bool,
    local: bool,
    decode: DecodeLimits | None = None,
) -> FileSignals:
    try:
        st = os.stat(name)
    except FileNotFoundError:
        if os.path.islink(name):
            raise FileProblem("broken symbolic link", "unreadable") from None
        raise FileProblem("no such file or directory", "not_found") from None
    except OSError as e:
        raise FileProblem(f"cannot stat file: {e.strerror}", "unreadable") from None
    if not stat.S_ISREG(st.st_mode):
        raise FileProblem(f"not a regular file ({_file_kind(st.st_mode)})", "not_a_file")
    try:
        with open(name, "rb") as fh:
            kinds = video_kinds(fh.read(_HEAD))
            if kinds:
                return _video_signals(name, fh, kinds, variants, decode)
            fh.seek(0)
            if st.st_size > max_image_bytes:
                return _digest_only(name, fh, b"", max_image_bytes)
            data = fh.read(st.st_size + 1)  # one exact-size read; +1 notices a growing file
            if len(data) > st.st_size:
                data += fh.read(max_image_bytes + 1 - len(data))
                if len(data) > max_image_bytes:
                    return _digest_only(name, fh, data, max_image_bytes)
    except PermissionError:
        raise FileProblem("permission denied", "unreadable") from None
    except OSError as e:
        raise FileProblem(f"cannot read file: {e.strerror or e}", "unreadable") from None
    if not data:
        raise FileProblem("empty file (0 bytes)", "empty_file")
    return _signals_of(name, data, quality_floor, max_pixels, variants, local, decode)


def video_kinds(head: bytes) -> list[type[SignalType]]:
    """The video signal types to compute for a file that starts with `head` (none when it
    is not a video, or no video type is registered)."""
    kinds = _video_types()
    return kinds if kinds and looks_like_video(head) else []


def hash_video_file(
    fh: BinaryIO, name: str, *, variants: bool = False, decode: DecodeLimits | None = None
) -> FileSignals:
    """Signals of a video in an open binary file (an upload spooled to disk): its digests
    and video signals (with `variants`, their lookup variants), read from the file, never
    held whole in memory, within `decode.video` (None: the limits from the environment)."""
    fh.seek(0)
    kinds = video_kinds(fh.read(_HEAD))
    if not kinds:
        raise ValueError("not a video (check with video_kinds first)")
    try:
        return _video_signals(name, fh, kinds, variants, decode)
    except OSError as e:
        return FileSignals(path=name, error=f"cannot read upload: {e}", error_code="unreadable")


def _byte_types() -> list[type[SignalType]]:
    return [t for t in signal_types().values() if "file" in t.content_types]


def _pixel_types(local: bool) -> list[type[SignalType]]:
    """Photo types; local features only when asked (`local`): they cost the most."""
    return [
        t
        for t in signal_types().values()
        if "photo" in t.content_types and (local or t.name != local_features.NAME)
    ]


def _video_types() -> list[type[SignalType]]:
    return [t for t in signal_types().values() if "video" in t.content_types]


def _streamed(fh: BinaryIO, head: bytes) -> tuple[dict[str, str], int]:
    """The values of the file types that hash incrementally, read through in chunks (after
    `head`, what was read already), and the file's size."""
    streams = {t.name: h for t in _byte_types() if (h := t.stream()) is not None}
    size = len(head)
    for h in streams.values():
        h.update(head)
    while chunk := fh.read(_READ_CHUNK):
        for h in streams.values():
            h.update(chunk)
        size += len(chunk)
    return {t: h.hexdigest() for t, h in streams.items()}, size


def _video_signals(
    name: str,
    fh: BinaryIO,
    kinds: list[type[SignalType]],
    variants: bool,
    decode: DecodeLimits | None,
) -> FileSignals:
    """A video: its digests streamed, then each video type's value from its frames, read
    from the same open file. A video that does not decode keeps its digests, with the
    error."""
    fh.seek(0)
    values, size = _streamed(fh, b"")
    result = FileSignals(path=name, values=values, size=size)
    limits = (decode or DecodeLimits.from_env()).video
    for t in kinds:
        fh.seek(0)
        try:
            hashed = t.hash_video(fh, limits, variants=variants)
        except FileProblem as e:
            result.error, result.error_code = e.message, e.code
            return result
        except ConfigError as e:  # the `video` extra is not installed
            result.error, result.error_code = e.message, "needs_extra"
            return result
        if hashed is not None:
            result.values[t.name] = hashed.value
            if hashed.variants:
                result.variants[t.name] = dict(hashed.variants)
    return result


def _digest_only(name: str, fh: BinaryIO, head: bytes, max_image_bytes: int) -> FileSignals:
    """Stream a file too large to decode through the file types that hash incrementally."""
    values, size = _streamed(fh, head)
    return FileSignals(
        path=name,
        values=values,
        size=size,
        error=f"file is {size:,} bytes, over the image limit of {max_image_bytes:,} "
        "(SAFEGUARD_MAX_IMAGE_BYTES): digests computed, no PDQ",
        error_code="too_large",
    )


def _digests(data: bytes) -> dict[str, str]:
    return {t.name: v for t in _byte_types() if (v := t.hash_bytes(data)) is not None}


_digest_pool: tuple[int, ThreadPoolExecutor] | None = None


def _digest_executor() -> ThreadPoolExecutor:
    """One helper thread per process (re-made after fork: threads do not survive it)."""
    global _digest_pool
    if _digest_pool is None or _digest_pool[0] != os.getpid():
        _digest_pool = (os.getpid(), ThreadPoolExecutor(1, thread_name_prefix="digests"))
    return _digest_pool[1]


def _signals_of(
    path: str,
    data: bytes,
    quality_floor: int,
    max_pixels: int,
    variants: bool = False,
    local: bool = False,
    decode: DecodeLimits | None = None,
) -> FileSignals:
    """Every signal of in-memory bytes. Digests of larger inputs run on a helper thread
    while the image decodes (both release the GIL), so they cost almost nothing."""
    result = FileSignals(path=path, size=len(data))
    if len(data) >= _THREADED_DIGEST_BYTES:
        pending = _digest_executor().submit(_digests, data)
        _add_pixel_signals(result, data, quality_floor, max_pixels, variants, local, decode)
        result.values = {**pending.result(), **result.values}
        return result
    result.values = _digests(data)
    return _add_pixel_signals(result, data, quality_floor, max_pixels, variants, local, decode)


def _add_pixel_signals(
    result: FileSignals,
    data: bytes,
    quality_floor: int,
    max_pixels: int,
    variants: bool,
    local: bool = False,
    decode: DecodeLimits | None = None,
) -> FileSignals:
    try:
        with decoded(data, max_pixels, decode) as image:  # decode memory is held until hashed
            result.width, result.height = image.width, image.height
            return _hash_pixels(result, image.pixels, quality_floor, variants, local)
    except FileProblem as e:
        result.error, result.error_code = e.message, e.code
        return result


def _hash_pixels(
    result: FileSignals, pixels: np.ndarray, quality_floor: int, variants: bool, local: bool
) -> FileSignals:
    for t in _pixel_types(local):
        hashed = t.hash_pixels(pixels, variants=variants)
        if hashed is None:
            continue
        result.values[t.name] = hashed.value
        if hashed.quality is not None:
            result.quality[t.name] = hashed.quality
        if variants and (t.listable or hashed.variants):
            result.variants[t.name] = dict(hashed.variants)
    if result.quality:
        result.low_quality = min(result.quality.values()) < quality_floor
    return result


def _file_kind(mode: int) -> str:
    for test, kind in (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
    ):
        if test(mode):
            return kind
    return "special file"


def iter_input_files(paths: Iterable[str | os.PathLike[str]]) -> Iterator[str | FileSignals]:
    """Expand files and directories (recursively, sorted) into file paths.

    Yields a path string for each candidate file and a FileSignals error record for each
    input that cannot be listed (a missing path, an unreadable directory). Symbolic links to
    directories are not followed, so a link loop cannot hang the walk.
    """
    for raw in paths:
        p = os.fspath(raw)
        if os.path.isdir(p) and not os.path.islink(p):
            yield from _walk(p)
        elif os.path.lexists(p):
            yield p
        else:
            yield FileSignals(path=p, error="no such file or directory", error_code="not_found")


def _walk(top: str) -> Iterator[str | FileSignals]:
    problems: list[OSError] = []
    for dirpath, dirnames, filenames in os.walk(top, onerror=problems.append):
        yield from _listing_errors(problems, dirpath)
        dirnames.sort()
        for fn in sorted(filenames):
            yield os.path.join(dirpath, fn)
        # os.walk lists symlinks to directories in dirnames but does not descend: report them
        for d in dirnames:
            full = os.path.join(dirpath, d)
            if os.path.islink(full):
                yield FileSignals(
                    path=full,
                    error="symbolic link to a directory: not followed",
                    error_code="not_a_file",
                )
    yield from _listing_errors(problems, top)


def _listing_errors(problems: list[OSError], where: str) -> Iterator[FileSignals]:
    while problems:
        e = problems.pop()
        yield FileSignals(
            path=str(e.filename or where),
            error=f"cannot list directory: {e.strerror or e}",
            error_code="unreadable",
        )


def hash_paths(
    paths: Iterable[str | os.PathLike[str]],
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    variants: bool = False,
    local: bool = False,
) -> Iterator[FileSignals]:
    """Hash every file under `paths`, in input order, on `workers` processes.

    Directories are walked recursively; every input yields exactly one record.
    """
    items = list(iter_input_files(paths))
    return hash_items(items, settings, workers=workers, variants=variants, local=local)


def hash_items(
    items: list[str | FileSignals],
    settings: Settings | None = None,
    *,
    workers: int | None = None,
    variants: bool = False,
    local: bool = False,
) -> Iterator[FileSignals]:
    """Hash the output of `iter_input_files` (error records pass through), in order."""
    settings = settings or Settings.from_env()
    fn = partial(
        hash_file,
        quality_floor=settings.pdq_quality_floor,
        max_pixels=settings.max_image_pixels,
        max_image_bytes=settings.max_image_bytes,
        variants=variants,
        local=local,
        decode=settings.decode,
    )
    return _ordered_map(fn, items, workers or settings.workers)


def _ordered_map(
    fn: Callable[[str], FileSignals], items: list[str | FileSignals], workers: int
) -> Iterator[FileSignals]:
    """Apply `fn` to the path items (error records pass through), in order, in parallel."""
    paths = [i for i in items if isinstance(i, str)]
    if workers <= 1 or len(paths) < 4:
        for item in items:
            yield item if isinstance(item, FileSignals) else fn(item)
        return
    chunk = max(1, min(32, len(paths) // (workers * 8)))
    batches = [items[i : i + chunk] for i in range(0, len(items), chunk)]
    with worker_pool(workers) as pool:
        pending: deque[tuple[list[str | FileSignals], Future[list[FileSignals]]]] = deque()
        it = iter(batches)
        for batch in it:
            pending.append((batch, pool.submit(_run_batch, fn, batch)))
            if len(pending) >= workers * 4:
                break
        while pending:
            batch, fut = pending.popleft()
            yield from fut.result()
            nxt = next(it, None)
            if nxt is not None:
                pending.append((nxt, pool.submit(_run_batch, fn, nxt)))


@contextmanager
def worker_pool(workers: int) -> Iterator[ProcessPoolExecutor]:
    """A pool of `workers` processes forked from a fork server that has imported this module
    (and the main script), shut down on leaving; a worker that ends before its work is done
    raises WorkerStopped, which says why that happens.

    The server starts once per process, single-threaded, so its forks inherit no lock that
    another thread holds; each worker then starts in milliseconds with the hashing code loaded.
    """
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["__main__", __name__])
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            yield pool
    except BrokenProcessPool as e:
        raise WorkerStopped(
            "a hashing worker process stopped before it finished: it was killed (out of "
            "memory?), or the main script hashes when it is imported, as the worker processes "
            'import it again (put that work under `if __name__ == "__main__":`, or use workers=1)'
        ) from e


def _run_batch(
    fn: Callable[[str], FileSignals], batch: list[str | FileSignals]
) -> list[FileSignals]:
    return [item if isinstance(item, FileSignals) else fn(item) for item in batch]
