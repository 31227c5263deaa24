"""Uploaded files: what they really are (by content, never the claimed type) and safe names."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from dataclasses import dataclass

import puremagic

from shared.errors import PayloadTooLarge, UnsupportedMediaType, ValidationFailed

IMAGE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
DOCUMENT_TYPES = frozenset(
    {
        "application/pdf",
        "application/zip",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "text/plain",
        "text/csv",
        "text/markdown",
        "application/json",
    }
)
_TEXT_TYPES = {"text/plain", "text/csv", "text/markdown", "application/json"}
_EXTENSIONS = {
    "image/png": "png",
    "image/jpeg": "jpg",
    "image/gif": "gif",
    "image/webp": "webp",
    "application/pdf": "pdf",
    "application/zip": "zip",
    "text/plain": "txt",
    "text/csv": "csv",
    "text/markdown": "md",
    "application/json": "json",
}
_OOXML = {
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


@dataclass(frozen=True)
class CheckedFile:
    data: bytes
    content_type: str
    filename: str
    extension: str

    @property
    def size(self) -> int:
        return len(self.data)


def _looks_like_text(data: bytes) -> bool:
    sample = data[:8192]
    if b"\x00" in sample:
        return False
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sample's end is still text.
        return exc.start >= len(sample) - 3
    return True


def sniff_mime(data: bytes, filename: str = "") -> str | None:
    """The type the bytes say they are; None when unknown."""
    if not data:
        return None
    try:
        mime = puremagic.from_string(data[:65536], mime=True)
    except puremagic.PureError:
        mime = ""
    if mime == "application/zip" or (not mime and data[:4] == b"PK\x03\x04"):
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return _OOXML.get(ext, "application/zip")
    if mime:
        return str(mime)
    if _looks_like_text(data):
        ext = filename.rsplit(".", 1)[-1].lower() if "." in filename else ""
        return {"csv": "text/csv", "md": "text/markdown", "json": "application/json"}.get(ext, "text/plain")
    return None


def safe_filename(name: str | None, default: str = "file") -> str:
    """A display name with no path, control characters or traversal; never used as a storage path."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = unicodedata.normalize("NFKC", base)
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C")
    base = re.sub(r"[^\w.\- ()]+", "_", base).strip(" .")
    return base[:120] or default


def check_upload(data: bytes, filename: str | None, *, allowed: Collection[str], max_bytes: int) -> CheckedFile:
    if not data:
        raise ValidationFailed("The file is empty", fields={"file": ["The file is empty"]})
    if len(data) > max_bytes:
        raise PayloadTooLarge(f"The file is larger than {max_bytes // (1024 * 1024)} MB")
    name = safe_filename(filename)
    mime = sniff_mime(data, name)
    if mime is None or mime not in allowed:
        raise UnsupportedMediaType("This type of file is not allowed")
    if mime in _TEXT_TYPES and not _looks_like_text(data):
        raise UnsupportedMediaType("This type of file is not allowed")
    extension = _EXTENSIONS.get(mime) or next((e for e, m in _OOXML.items() if m == mime), "bin")
    return CheckedFile(data=data, content_type=mime, filename=name, extension=extension)
