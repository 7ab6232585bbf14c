"""The simulated files v2 upload over real HTTP, checked against the contract: reserve, upload, complete,
and the image blocks that show an uploaded file."""

from __future__ import annotations

import httpx
import pytest

from tests.slack_sim.fake_slack import Fake, refusal

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 120
IMAGE = {"type": "image", "alt_text": "a chart", "slack_file": {"id": "F0000000000"}}


async def upload(fake: Fake, data: bytes = PNG, *, name: str = "chart.png") -> str:
    client = fake.client()
    reserved = await client.files_getUploadURLExternal(filename=name, length=len(data), alt_txt="a chart")
    async with httpx.AsyncClient() as http:
        assert (await http.post(reserved["upload_url"], content=data)).status_code == 200
    done = await client.files_completeUploadExternal(files=[{"id": reserved["file_id"], "title": "Trend"}])
    assert done["files"][0]["id"] == reserved["file_id"] and done["files"][0]["title"] == "Trend"
    return str(reserved["file_id"])


async def test_the_three_steps_store_the_file_privately(fake: Fake) -> None:
    file_id = await upload(fake)
    file = fake.workspace.files.files[file_id]
    assert file.data == PNG and file.completed and file.channels == [] and file.is_image
    view = {"type": "home", "blocks": [{**IMAGE, "slack_file": {"id": file_id}}]}
    assert (await fake.client().views_publish(user_id="U0ALICE", view=view))["ok"]


async def test_the_upload_url_wants_the_declared_length_once(fake: Fake) -> None:
    reserved = await fake.client().files_getUploadURLExternal(filename="c.png", length=10)
    async with httpx.AsyncClient() as http:
        assert (await http.post(reserved["upload_url"], content=b"short")).status_code == 400
        assert (await http.post(reserved["upload_url"], content=b"0123456789")).status_code == 200
        assert (await http.post(reserved["upload_url"], content=b"0123456789")).status_code == 404


async def test_completing_a_file_never_uploaded_is_file_not_found(fake: Fake) -> None:
    reserved = await fake.client().files_getUploadURLExternal(filename="c.png", length=10)
    answer = await refusal(fake.client().files_completeUploadExternal(files=[{"id": reserved["file_id"]}]))
    assert answer["error"] == "file_not_found"


async def test_without_files_write_the_upload_is_refused(fake: Fake) -> None:
    fake.workspace.bot_scopes.remove("files:write")
    answer = await refusal(fake.client().files_getUploadURLExternal(filename="c.png", length=10))
    assert answer["error"] == "missing_scope" and answer["needed"] == "files:write"


@pytest.mark.parametrize("ref", [{"id": "F9999999999"}, {"id": "F1", "url": "https://files.slack.com/x.png"}])
async def test_an_image_of_a_file_slack_does_not_have_is_invalid_blocks(fake: Fake, ref: dict[str, str]) -> None:
    view = {"type": "home", "blocks": [{**IMAGE, "slack_file": ref}]}
    assert (await refusal(fake.client().views_publish(user_id="U0ALICE", view=view)))["error"] == "invalid_blocks"
    message = await refusal(fake.client().chat_postMessage(channel=fake.channel, text="x",
                                                           blocks=[{**IMAGE, "slack_file": ref}]))
    assert message["error"] == "invalid_blocks"


async def test_a_file_that_is_not_an_image_cannot_be_shown(fake: Fake) -> None:
    file_id = await upload(fake, b"plain text", name="notes.txt")
    view = {"type": "home", "blocks": [{**IMAGE, "slack_file": {"id": file_id}}]}
    assert (await refusal(fake.client().views_publish(user_id="U0ALICE", view=view)))["error"] == "invalid_blocks"
