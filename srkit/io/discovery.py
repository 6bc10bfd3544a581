"""Input discovery: a file, a folder (recursive) or a glob -> an ordered list of images.

Import-light (no numpy, OpenCV or torch) so the CLI can list inputs fast.
Order is stable: sorted by the path relative to the input root, in POSIX form.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from srkit.errors import InputError, UsageError
from srkit.io.atomic import check_folder_path
from srkit.io.formats import SUPPORTED_EXTENSIONS, extensions_text

_GLOB_CHARS = frozenset("*?[")


@dataclass(frozen=True)
class InputItem:
    """One input image: ``path`` to read, ``relative`` to mirror under an output folder."""

    path: Path
    relative: Path


def _is_image_name(name: str) -> bool:
    return Path(name).suffix.lower() in SUPPORTED_EXTENSIONS


def _is_hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _sorted_items(root: Path, paths: Iterable[Path]) -> list[InputItem]:
    """Supported, non-hidden files under ``root`` as items sorted by relative POSIX path."""
    items: dict[str, InputItem] = {}
    for path in paths:
        relative = path.relative_to(root)
        if _is_image_name(path.name) and not _is_hidden(relative) and (path.is_file() or is_dangling_link(path)):
            items[relative.as_posix()] = InputItem(path=path, relative=relative)
    return [items[key] for key in sorted(items)]


def is_dangling_link(path: Path) -> bool:
    """A symbolic link whose target does not exist: kept as an input, so it is reported as unreadable
    (named, and in ``report.json`` with ``--skip-unreadable``) instead of vanishing silently."""
    return path.is_symlink() and not path.exists()


def _walk(folder: Path) -> Iterable[Path]:
    for parent, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        yield from (Path(parent) / name for name in files)


def _glob_root(pattern: str) -> Path:
    """The longest leading part of ``pattern`` without glob characters (what matches are relative to)."""
    fixed: list[str] = []
    for part in Path(pattern).parts:
        if _GLOB_CHARS & set(part):
            break
        fixed.append(part)
    return Path(*fixed) if fixed else Path(".")


def find_images(source: str | Path) -> list[InputItem]:
    """Images named by ``source``: an image file, a folder (searched recursively) or a glob.

    Folders and globs keep only supported extensions (case-insensitive) and skip
    hidden files and folders; ``**`` in a glob matches any depth. Dangling
    symbolic links are kept (reading them fails, naming the link). Raises
    ``InputError`` when the input does not exist or holds no image.
    """
    text = os.path.expanduser(str(source))
    path = Path(text)
    if path.is_file():
        if not _is_image_name(path.name):
            raise InputError(f"{path} is not a supported image type; srkit reads {extensions_text()}")
        return [InputItem(path=path, relative=Path(path.name))]
    if path.is_dir():
        items = _sorted_items(path, _walk(path))
    elif _GLOB_CHARS & set(text):
        root = _glob_root(text)
        items = _sorted_items(root, (Path(p) for p in glob.iglob(text, recursive=True)))
    else:
        raise InputError(f"input not found: {text}")
    if not items:
        raise InputError(f"no images found in {text} (looked for {extensions_text()}; hidden files skipped)")
    return items


def _normalise_ext(ext: str) -> str:
    dotted = (ext if ext.startswith(".") else f".{ext}").lower()
    if dotted not in SUPPORTED_EXTENSIONS:
        raise UsageError(f"unsupported output extension {dotted}; use one of {extensions_text()}")
    return dotted


def output_path_for(item: InputItem, out_dir: str | Path, *, ext: str | None = None, suffix: str = "") -> Path:
    """``out_dir/<relative folder>/<stem><suffix><ext>``; ``ext`` (e.g. ``"png"``) defaults to the input's."""
    extension = _normalise_ext(ext) if ext else item.path.suffix
    return Path(out_dir) / item.relative.parent / f"{item.path.stem}{suffix}{extension}"


def output_paths(
    items: Sequence[InputItem], out_dir: str | Path, *, ext: str | None = None, suffix: str = ""
) -> list[Path]:
    """:func:`output_path_for` for every item, refusing two inputs with one output, an output over its input
    or an output folder that is an existing file."""
    check_folder_path(out_dir)
    if any(char in suffix for char in "/\\\0"):
        raise UsageError(f"--suffix must be part of a file name (no path separators), got {suffix!r}")
    outputs = [output_path_for(item, out_dir, ext=ext, suffix=suffix) for item in items]
    seen: dict[Path, InputItem] = {}
    for item, out in zip(items, outputs, strict=True):
        key = out.resolve()
        if key == item.path.resolve():
            raise UsageError(f"output {out} would overwrite its input; choose another output folder or a --suffix")
        if key in seen:
            raise UsageError(
                f"{seen[key].path} and {item.path} would both be written to {out}; use a --suffix or keep extensions"
            )
        seen[key] = item
    return outputs


def output_file_for(source: str | Path, output: str | Path) -> Path | None:
    """``output`` itself when ``source`` is one image file and ``output`` names an image file (a supported
    extension, not an existing folder): ``srkit upscale photo.jpg photo_x4.png``; else None (a folder)."""
    out = Path(output)
    if Path(os.path.expanduser(str(source))).is_file() and _is_image_name(out.name) and not out.is_dir():
        return out
    return None


def _inside(item: InputItem, folder: Path) -> bool:
    return folder in item.path.resolve().parents


def _input_root(item: InputItem) -> Path:
    return item.path.resolve().parents[len(item.relative.parts) - 1]


def outside_folder(items: Sequence[InputItem], folder: str | Path | None) -> list[InputItem]:
    """``items`` less those inside ``folder`` (an output or run folder that may sit inside the input folder)."""
    if folder is None:
        return list(items)
    resolved = Path(folder).resolve()
    return [item for item in items if not _inside(item, resolved)]


def without_own_outputs(
    items: Sequence[InputItem], out_dir: str | Path, *, ext: str | None = None, suffix: str = ""
) -> list[InputItem]:
    """``items`` less those that are outputs of the same run, so a re-run never reads its own results:
    files inside ``out_dir`` where that is a sub-folder of the input folder, and files that are the
    output path of another item (``--suffix`` into the input folder itself)."""
    out = Path(out_dir).resolve()
    kept = [item for item in items if not _inside(item, out) or out == _input_root(item)]
    outputs = {output_path_for(item, out_dir, ext=ext, suffix=suffix).resolve(): item for item in kept}
    return [item for item in kept if outputs.get(item.path.resolve(), item) is item]


def should_skip(path: str | Path, overwrite: bool) -> bool:
    """Whether an output can be skipped: it exists and ``overwrite`` is off."""
    return not overwrite and Path(path).exists()
