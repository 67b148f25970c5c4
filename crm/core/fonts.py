"""The PDFs' Chinese font, subset once on the server: the Simplified-Chinese face of the system's Noto Sans CJK
(Debian's fonts-noto-cjk) cut to GB2312's characters and the symbols the documents use.

Each PDF embeds the characters it uses, and WeasyPrint cuts them out of the font on every render: from the
system's 65,000-glyph collection that took about 50 ms of a readiness sheet and left 63,000 empty glyph slots
in every file. From the 8,000-glyph subset built here the same sheet renders faster and its file is less than half
the size. A character outside the subset (a rare one in an enterprise's name, 珺 say) falls back to the system
font, face by face, so nothing is lost. Noto Sans CJK is under the SIL Open Font License 1.1, which allows a
subset; it has no reserved font name, and the subset is built here, on the server, from the installed package,
and never shipped in this repository.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

# the family the documents name first (their @font-face rules), then the system's
SUBSET_FAMILY = "Miaopu SC"
SYSTEM_FAMILY = "Noto Sans CJK SC"
# weight → (the system's collection file, the subset's file name)
FACES = {400: ("NotoSansCJK-Regular.ttc", "miaopu-sc-regular.otf"), 700: ("NotoSansCJK-Bold.ttc", "miaopu-sc-bold.otf")}
FONT_DIRS = (Path("/usr/share/fonts/opentype/noto"), Path("/usr/share/fonts/noto-cjk"),
             Path("/usr/share/fonts/google-noto-cjk"))
# what the documents use beyond GB2312: ASCII and Latin-1, general punctuation, letter-like symbols, arrows,
# mathematical operators (≥ ≤ ×), box drawing and shapes (■ ● ○ ✓), CJK punctuation, enclosed numbers, fullwidth forms
EXTRA_RANGES = ((0x20, 0x7E), (0xA0, 0x17F), (0x2000, 0x206F), (0x2100, 0x214F), (0x2150, 0x218F), (0x2190, 0x21FF),
                (0x2200, 0x22FF), (0x2460, 0x24FF), (0x2500, 0x25FF), (0x2600, 0x27BF), (0x3000, 0x303F),
                (0x3200, 0x33FF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF))


def charset() -> set[int]:
    """The code points kept: GB2312's (its 6,763 hanzi and its symbols) and EXTRA_RANGES."""
    kept = {c for low, high in EXTRA_RANGES for c in range(low, high + 1)}
    for high in range(0xA1, 0xF8):
        for low in range(0xA1, 0xFF):
            try:
                kept.add(ord(bytes((high, low)).decode("gb2312")))
            except UnicodeDecodeError:
                continue
    return kept


def system_collection(file_name: str) -> Path | None:
    """The installed Noto Sans CJK collection file (.ttc), or None."""
    for folder in FONT_DIRS:
        if (folder / file_name).is_file():
            return folder / file_name
    return None


def _sc_face(path: Path):
    # the collection holds the JP, KR, SC, TC and HK faces; pick SC by its name, not by its position
    from fontTools.ttLib import TTCollection

    for font in TTCollection(str(path)).fonts:
        if font["name"].getDebugName(1) == SYSTEM_FAMILY:
            return font
    raise ValueError(f"{path} has no {SYSTEM_FAMILY} face")


def build(out_dir: Path) -> list[Path]:
    """Write the subset of each weight into `out_dir` (about 3 MB each, 12 s each); returns the files written.
    Each file is written under a temporary name and renamed, so a reader never sees half a font.
    FileNotFoundError when the system font is not installed."""
    from fontTools import subset

    out_dir.mkdir(parents=True, exist_ok=True)
    kept = charset()
    written = []
    for collection_name, file_name in FACES.values():
        source = system_collection(collection_name)
        if source is None:
            raise FileNotFoundError(f"{collection_name} not found in {', '.join(map(str, FONT_DIRS))}: "
                                    "install Debian's fonts-noto-cjk")
        font = _sc_face(source)
        options = subset.Options()
        options.layout_features = ["*"]  # vertical forms, proportional punctuation: as the system font has them
        options.name_IDs = ["*"]  # the copyright and licence records stay in the font
        options.name_languages = ["*"]
        options.hinting = False  # a PDF is not hinted
        options.notdef_outline = True
        cutter = subset.Subsetter(options)
        cutter.populate(unicodes=kept)
        cutter.subset(font)
        handle, temporary = tempfile.mkstemp(dir=out_dir, suffix=".part")
        os.close(handle)
        font.save(temporary)
        os.chmod(temporary, 0o644)  # mkstemp's 0600 would hide it from a service user other than the builder
        os.replace(temporary, out_dir / file_name)
        written.append(out_dir / file_name)
    return written


def subset_faces(font_dir: Path) -> dict[int, Path]:
    """{weight: file} of the subset in `font_dir` when every weight is built there, else {} (the system font)."""
    files = {weight: font_dir / file_name for weight, (_source, file_name) in FACES.items()}
    return files if all(path.is_file() for path in files.values()) else {}
