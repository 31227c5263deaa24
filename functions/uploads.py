"""POST /uploads: generic upload, multipart `file` + `folder` -> file descriptor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, UploadFile
from mangum import Mangum

from shared.errors import PayloadTooLarge
from shared.models.uploads import FileDescriptor, UploadFolder
from shared.services import uploads
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import Envelope, ok

router = APIRouter(prefix=API_PREFIX, tags=["uploads"])


@router.post("/uploads", status_code=201, response_model=Envelope[FileDescriptor])
async def upload(
    file: Annotated[UploadFile, File()],
    folder: Annotated[UploadFolder, Form()],
    user: CurrentUser,
    db: Db,
) -> Any:
    limit = uploads.FOLDERS[folder].max_bytes
    data = await file.read(limit + 1)  # one byte past the limit is enough to refuse
    if len(data) > limit:
        raise PayloadTooLarge(f"The file is larger than {limit // uploads.MB} MB")
    return ok(await uploads.upload(db, user, folder, data, file.filename))


app = create_app(router, title="ugig uploads")
handler = Mangum(app, lifespan="off")
