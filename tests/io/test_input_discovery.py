"""Input discovery: files, folders and globs in stable order; output path mirroring."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from srkit.errors import InputError, UsageError
from srkit.io.discovery import InputItem, find_images, output_path_for, output_paths, should_skip, without_own_outputs


def _touch(root: Path, *relatives: str) -> None:
    for relative in relatives:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")  # discovery never decodes


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "in"
    _touch(
        root,
        "b.png",
        "a.JPG",
        "sub/z.webp",
        "sub/deeper/c.TIFF",
        "sub/c.bmp",
        "A.tif",
        "notes.txt",
        "anim.gif",
        ".hidden.png",
        ".cache/x.png",
        "sub/.thumbs/y.jpg",
    )
    return root


def _relatives(items: list[InputItem]) -> list[str]:
    return [item.relative.as_posix() for item in items]


def test_folder_is_recursive_sorted_case_insensitive_and_skips_hidden(tree: Path) -> None:
    items = find_images(tree)
    assert _relatives(items) == ["A.tif", "a.JPG", "b.png", "sub/c.bmp", "sub/deeper/c.TIFF", "sub/z.webp"]
    assert all(item.path == tree / item.relative for item in items)


def test_folder_order_does_not_depend_on_creation_order(tmp_path: Path) -> None:
    first, second = tmp_path / "one", tmp_path / "two"
    _touch(first, "z.png", "m/a.png", "a.png")
    _touch(second, "a.png", "m/a.png", "z.png")
    assert _relatives(find_images(first)) == _relatives(find_images(second)) == ["a.png", "m/a.png", "z.png"]


def test_single_file_is_one_item_relative_to_its_folder(tree: Path) -> None:
    assert find_images(tree / "sub" / "z.webp") == [InputItem(tree / "sub" / "z.webp", Path("z.webp"))]


def test_explicit_hidden_file_is_accepted(tree: Path) -> None:
    assert _relatives(find_images(tree / ".hidden.png")) == [".hidden.png"]


def test_glob_matches_relative_to_its_fixed_prefix(tree: Path) -> None:
    assert _relatives(find_images(f"{tree}/*.png")) == ["b.png"]
    assert _relatives(find_images(f"{tree}/**/c.*")) == ["sub/c.bmp", "sub/deeper/c.TIFF"]
    assert _relatives(find_images(f"{tree}/su?/*")) == ["sub/c.bmp", "sub/z.webp"]


def test_relative_glob_resolves_from_working_folder(tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tree)
    items = find_images("**/*.webp")
    assert _relatives(items) == ["sub/z.webp"]
    assert items[0].path == Path("sub/z.webp")


def test_folder_without_images_is_input_error(tmp_path: Path) -> None:
    _touch(tmp_path, "readme.txt", ".x.png")
    with pytest.raises(InputError, match=r"^no images found in .*\.png"):
        find_images(tmp_path)


def test_glob_without_matches_is_input_error(tree: Path) -> None:
    with pytest.raises(InputError, match="no images found"):
        find_images(f"{tree}/*.jpeg")


def test_missing_input_is_input_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"^input not found: "):
        find_images(tmp_path / "nope")


def test_single_unsupported_file_is_input_error(tree: Path) -> None:
    with pytest.raises(InputError, match="not a supported image type"):
        find_images(tree / "anim.gif")


def test_output_path_mirrors_folders_and_applies_ext_and_suffix(tree: Path, tmp_path: Path) -> None:
    item = next(i for i in find_images(tree) if i.relative.name == "c.TIFF")
    out = tmp_path / "out"
    assert output_path_for(item, out) == out / "sub" / "deeper" / "c.TIFF"
    assert output_path_for(item, out, ext="PNG", suffix="_x4") == out / "sub" / "deeper" / "c_x4.png"
    assert output_path_for(item, out, ext=".webp") == out / "sub" / "deeper" / "c.webp"


def test_output_ext_must_be_supported(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"\.gif"):
        output_path_for(find_images(tree)[0], tmp_path, ext="gif")


def test_output_paths_refuse_two_inputs_on_one_output(tmp_path: Path) -> None:
    _touch(tmp_path / "in", "x.png", "x.jpg")
    items = find_images(tmp_path / "in")
    assert len(output_paths(items, tmp_path / "out")) == 2
    with pytest.raises(UsageError, match="would both be written to"):
        output_paths(items, tmp_path / "out", ext="png")


def test_output_paths_refuse_overwriting_the_input(tmp_path: Path) -> None:
    _touch(tmp_path, "x.png")
    items = find_images(tmp_path)
    with pytest.raises(UsageError, match="would overwrite its input"):
        output_paths(items, tmp_path)
    assert output_paths(items, tmp_path, suffix="_sr") == [tmp_path / "x_sr.png"]


def test_output_paths_refuse_a_suffix_with_a_path_separator(tmp_path: Path) -> None:
    _touch(tmp_path, "x.png")
    with pytest.raises(UsageError, match="--suffix must be part of a file name"):
        output_paths(find_images(tmp_path), tmp_path, suffix="/../y")


def test_own_outputs_are_not_inputs_in_a_nested_output_folder(tmp_path: Path) -> None:
    _touch(tmp_path / "in", "a.png", "sub/b.png", "out/a.png", "out/old.png", "outside.png")
    items = find_images(tmp_path / "in")
    assert _relatives(without_own_outputs(items, tmp_path / "in" / "out")) == ["a.png", "outside.png", "sub/b.png"]
    assert len(without_own_outputs(items, tmp_path / "elsewhere")) == 5  # an output folder outside: all stay
    glob_items = find_images(str(tmp_path / "in" / "**" / "*.png"))
    assert _relatives(without_own_outputs(glob_items, tmp_path / "in" / "out")) == ["a.png", "outside.png", "sub/b.png"]


def test_own_outputs_are_not_inputs_with_a_suffix_in_place(tmp_path: Path) -> None:
    _touch(tmp_path, "a.png", "a_x4.png", "b_x4.png", "c.jpg", "c_x4.png")
    items = find_images(tmp_path)
    kept = without_own_outputs(items, tmp_path, suffix="_x4", ext="png")
    assert _relatives(kept) == ["a.png", "b_x4.png", "c.jpg"]  # b_x4.png is nobody's output
    assert len(without_own_outputs(items, tmp_path)) == 5  # no suffix: each input is its own output, refused later


def test_output_paths_refuse_an_output_folder_that_is_a_file(tmp_path: Path) -> None:
    _touch(tmp_path / "in", "x.png")
    (tmp_path / "out.png").write_bytes(b"x")
    with pytest.raises(UsageError, match="is a file"):
        output_paths(find_images(tmp_path / "in"), tmp_path / "out.png")


def test_should_skip_only_existing_outputs_without_overwrite(tmp_path: Path) -> None:
    existing = tmp_path / "done.png"
    existing.write_bytes(b"x")
    assert should_skip(existing, overwrite=False)
    assert not should_skip(existing, overwrite=True)
    assert not should_skip(tmp_path / "todo.png", overwrite=False)


def test_discovery_imports_neither_torch_nor_opencv() -> None:
    code = "import sys, srkit.io, srkit.io.discovery; print(sorted({'torch', 'cv2'} & set(sys.modules)))"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=root, env=env, check=True)
    assert result.stdout.strip() == "[]"


def test_folder_helpers_refuse_a_file_in_the_way(tmp_path: Path) -> None:
    from srkit.io.atomic import check_folder_path, make_folder

    (tmp_path / "f").write_bytes(b"x")
    for path in (tmp_path / "f", tmp_path / "f" / "sub"):
        with pytest.raises(UsageError, match="is a file"):
            check_folder_path(path)
        with pytest.raises(UsageError, match="is a file"):
            make_folder(path)
    assert check_folder_path(tmp_path / "new" / "sub") == tmp_path / "new" / "sub"
    assert make_folder(tmp_path / "new" / "sub").is_dir()
