"""Files in the simulated workspace, uploaded the files v2 way, and the image blocks that show them.

Slack's three steps (contract: slack_web_api_addendum.json): `files.getUploadURLExternal`
reserves a file id and a one-off upload URL; the bytes are POSTed to that URL (no token, the
declared length must match); `files.completeUploadExternal` finishes the files and optionally
shares them. `files.upload` is retired and not offered. An image block (or image element) may
show an uploaded file by `slack_file: {id}` or `{url}`: Slack refuses the surface (`invalid_blocks`)
unless the file exists, is complete and is a png, jpg, jpeg or gif, and only one of the two is given.
"""

from __future__ import annotations

import contextlib
import itertools
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

IMAGE_TYPES = {"png": "image/png", "jpg": "image/jpeg", "jpeg": "image/jpeg", "gif": "image/gif"}
ALT_TXT_MAX = 1000
FILES_SCOPE = "files:write"


@dataclass
class SimFile:
    id: str
    name: str
    length: int
    alt_txt: str | None = None
    data: bytes | None = None  # set by the upload step
    title: str | None = None
    completed: bool = False
    channels: list[str] = field(default_factory=list)

    @property
    def filetype(self) -> str:
        return self.name.rsplit(".", 1)[-1].lower() if "." in self.name else "binary"

    @property
    def is_image(self) -> bool:
        return self.filetype in IMAGE_TYPES

    def url_private(self, team: str) -> str:
        return f"https://files.slack.com/files-pri/{team}-{self.id}/{self.name}"


class SimFiles:
    """The workspace's files, and the two Web API methods of the files v2 upload."""

    def __init__(self, *, team: str, scopes: Callable[[], list[str]], user: str) -> None:
        self.team = team
        self._scopes = scopes
        self._user = user
        self.files: dict[str, SimFile] = {}
        self._ids = itertools.count(1)
        self.upload_url: Callable[[str], str] = lambda file_id: f"https://files.slack.com/upload/v1/{file_id}"

    def get_upload_url(self, p: dict[str, Any]) -> dict[str, Any]:
        if FILES_SCOPE not in self._scopes():
            return {"ok": False, "error": "missing_scope", "needed": FILES_SCOPE, "provided": ",".join(self._scopes())}
        name = str(p.get("filename") or "")
        try:
            length = int(p.get("length") or 0)
        except (TypeError, ValueError):
            length = 0
        if not name or length < 1:
            return {"ok": False, "error": "missing_argument"}
        alt = p.get("alt_txt")
        if alt is not None and len(str(alt)) > ALT_TXT_MAX:
            return {"ok": False, "error": "alt_txt_too_large"}
        file = SimFile(f"F{next(self._ids):010d}", name, length, None if alt is None else str(alt))
        self.files[file.id] = file
        return {"ok": True, "upload_url": self.upload_url(file.id), "file_id": file.id}

    def receive(self, file_id: str, data: bytes) -> tuple[int, str]:
        """Step 2: the bytes POSTed to the upload URL. HTTP status and body, as files.slack.com answers."""
        file = self.files.get(file_id)
        if file is None or file.completed or file.data is not None:
            return 404, "no upload is waiting at this URL"
        if len(data) != file.length:
            return 400, f"expected {file.length} bytes, got {len(data)}"
        file.data = data
        return 200, f"OK - {len(data)}"

    def complete(self, p: dict[str, Any]) -> dict[str, Any]:
        if FILES_SCOPE not in self._scopes():
            return {"ok": False, "error": "missing_scope", "needed": FILES_SCOPE, "provided": ",".join(self._scopes())}
        items = p.get("files")
        if isinstance(items, str):
            with contextlib.suppress(json.JSONDecodeError):
                items = json.loads(items)
        if not isinstance(items, list) or not items or not all(isinstance(i, dict) and i.get("id") for i in items):
            return {"ok": False, "error": "invalid_arguments"}
        found = [self.files.get(str(i["id"])) for i in items]
        if any(f is None or f.data is None for f in found):
            return {"ok": False, "error": "file_not_found"}
        channels = [c for c in str(p.get("channels") or p.get("channel_id") or "").split(",") if c]
        done = []
        for item, file in zip(items, found, strict=True):
            assert file is not None
            file.completed, file.title = True, str(item.get("title") or file.name)
            file.channels += channels
            done.append(self.file_json(file))
        return {"ok": True, "files": done}

    def file_json(self, file: SimFile) -> dict[str, Any]:
        return {"id": file.id, "name": file.name, "title": file.title or file.name, "size": file.length,
                "filetype": file.filetype, "mimetype": IMAGE_TYPES.get(file.filetype, "application/octet-stream"),
                "user": self._user, "is_public": bool(file.channels), "url_private": file.url_private(self.team),
                "channels": [c for c in file.channels if c.startswith("C")]}

    def image_problems(self, blocks: Any) -> list[str]:
        """Why Slack would refuse these blocks' Slack-file images (empty when it would not)."""
        problems = []
        for image in _images(blocks):
            ref = image.get("slack_file")
            if ref is None:
                continue
            if not isinstance(ref, dict) or ("id" in ref) == ("url" in ref):
                problems.append("slack_file needs exactly one of id and url")
                continue
            file = self.files.get(str(ref["id"])) if "id" in ref else next(
                (f for f in self.files.values() if f.url_private(self.team) == ref["url"]), None)
            if file is None or not file.completed:
                problems.append(f"slack_file {ref}: no such uploaded file")
            elif not file.is_image:
                problems.append(f"slack_file {ref}: {file.filetype} is not an image Slack shows")
        return problems


def _images(blocks: Any) -> Iterator[dict[str, Any]]:
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        if block.get("type") == "image":
            yield block
        for element in [block.get("accessory"), *(block.get("elements") or [])]:
            if isinstance(element, dict) and element.get("type") == "image":
                yield element
