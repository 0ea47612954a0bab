"""Tell a survey export's format from its bytes, the extension serving only as a cross-check."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Literal

from flows.errors import IngestError

FileFormat = Literal["csv", "xlsx", "sav", "dta"]

EXTENSIONS: dict[str, FileFormat] = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".sav": "sav",
    ".zsav": "sav",
    ".dta": "dta",
}

# Signatures of files people drop in an inbox by mistake, to say what was found.
KNOWN_BINARY: tuple[tuple[bytes, str], ...] = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel 97-2003 (.xls) or other OLE2 document"),
    (b"%PDF", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"PAR1", "a Parquet file"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"SQLite format 3\x00", "an SQLite database"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"),
)

SAMPLE_SIZE = 64 * 1024
FIX_FORMAT = "Export the wave as CSV, XLSX, SPSS .sav or Stata .dta and drop that file in the inbox"


def detect_format(path: Path, sample: bytes) -> FileFormat:
    """The format of ``path`` judged from its first bytes; raise when it is none we read."""
    if not sample.strip():
        raise IngestError(
            f"read_raw: {path.name} is empty ({path.stat().st_size} bytes, no header and no "
            "rows). Export the wave again; the download may have failed."
        )
    if sample.startswith(b"PK\x03\x04") or sample.startswith(b"PK\x05\x06"):
        return _zip_format(path)
    if sample[:4] in (b"$FL2", b"$FL3"):
        return "sav"
    if sample.startswith(b"<stata_dta>") or _is_old_stata(sample):
        return "dta"
    for signature, description in KNOWN_BINARY:
        if sample.startswith(signature):
            raise IngestError(
                f"read_raw: {path.name} is not a survey export; found {description}. {FIX_FORMAT}."
            )
    if text_encoding_from_bytes(sample) is None:
        raise IngestError(
            f"read_raw: {path.name} is not a survey export we can read; found binary content "
            f"starting with bytes {sample[:8].hex(' ')} (not CSV text, XLSX, SPSS or Stata). "
            f"{FIX_FORMAT}."
        )
    return "csv"


def _zip_format(path: Path) -> FileFormat:
    try:
        with zipfile.ZipFile(path) as archive:
            names = archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise IngestError(
            f"read_raw: {path.name} starts like an XLSX workbook (a ZIP archive) but cannot be "
            f"opened ({error}); the file is corrupt or truncated. Export the wave again."
        ) from None
    if any(name.startswith("xl/") for name in names):
        return "xlsx"
    shown = ", ".join(repr(name) for name in names[:5]) or "nothing"
    raise IngestError(
        f"read_raw: {path.name} is a ZIP archive but not an XLSX workbook; it holds {shown}. "
        "Unzip it and drop the survey file itself in the inbox."
    )


def _is_old_stata(sample: bytes) -> bool:
    # Stata formats 104-115: release byte, byte order (1 = big, 2 = little), file type 1, 0.
    return (
        len(sample) >= 4
        and 0x68 <= sample[0] <= 0x77
        and sample[1] in (1, 2)
        and sample[2] == 1
        and sample[3] == 0
    )


def text_encoding_from_bytes(sample: bytes) -> str | None:
    """The encoding of a text sample (BOM, UTF-16 NUL pattern, UTF-8, cp1252); None if binary."""
    if sample.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if sample.startswith(b"\xff\xfe"):
        return "utf-16"
    if sample.startswith(b"\xfe\xff"):
        return "utf-16"
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    if b"\x00" in sample:
        return None
    controls = sum(1 for byte in sample if byte < 0x20 and byte not in b"\t\n\r\x0c\x1a")
    if controls > max(2, len(sample) // 100):
        return None
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as error:
        # A sample may end in the middle of a multi-byte character.
        if error.start < len(sample) - 4:
            return "cp1252"
    return "utf-8"


def _utf16_without_bom(sample: bytes) -> str | None:
    size = len(sample) - len(sample) % 2
    if size < 4:
        return None
    even, odd = sample[0:size:2], sample[1:size:2]
    even_nul, odd_nul = even.count(0) / len(even), odd.count(0) / len(odd)
    if odd_nul > 0.9 and even_nul < 0.1:
        return "utf-16-le"
    if even_nul > 0.9 and odd_nul < 0.1:
        return "utf-16-be"
    return None


def format_from_extension(path: Path) -> FileFormat | None:
    """The format the extension claims, or None for an extension we do not know."""
    return EXTENSIONS.get(path.suffix.lower())
