"""Messaging: conversations, messages, read state and attachment uploads."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import JSONResponse
from mangum import Mangum

from shared.files import check_upload
from shared.models.messaging import (
    Attachment,
    Conversation,
    ConversationCreate,
    ConversationPreview,
    Message,
    MessageCreate,
    MessagesQuery,
    PageQuery,
    ReadState,
)
from shared.providers.storage import get_storage
from shared.services import attachments, conversations, messages
from shared.services.messages import StoredMessage
from shared.web.app import API_PREFIX, create_app
from shared.web.deps import CurrentUser, Db
from shared.web.envelope import CursorPage, Envelope, Page, ok, page_of

router = APIRouter(prefix=API_PREFIX, tags=["messaging"])


async def _present(items: list[StoredMessage]) -> list[Message]:
    """Signs attachment URLs after the transaction has closed (storage may be a network call)."""
    storage = get_storage()
    out: list[Message] = []
    for item in items:
        signed = await attachments.signed(storage, item.attachments) if item.attachments else []
        out.append(
            Message(
                id=item.id,
                conversation_id=item.conversation_id,
                sender_id=item.sender_id,
                content=item.content,
                attachments=signed,
                read_by=item.read_by,
                created_at=item.created_at,
            )
        )
    return out


@router.post("/conversations", response_model=Envelope[Conversation])
async def get_or_create_conversation(body: ConversationCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        conversation, created = await conversations.get_or_create(conn, user.user_id, body)
    # 201 when this call created it, 200 when it already existed.
    envelope = ok(conversation)
    return JSONResponse(envelope.model_dump(mode="json", by_alias=True), status_code=201 if created else 200)


@router.get("/conversations", response_model=Envelope[Page[ConversationPreview]])
async def list_conversations(query: Annotated[PageQuery, Query()], user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        items, total = await conversations.list_for_caller(conn, page=query.page, limit=query.limit)
    return ok(page_of(items, total=total, page=query.page, limit=query.limit))


@router.get("/conversations/{conversation_id}/messages", response_model=Envelope[CursorPage[Message]])
async def get_messages(
    conversation_id: UUID, query: Annotated[MessagesQuery, Query()], user: CurrentUser, db: Db
) -> Any:
    async with db.user_tx(user) as conn:
        page = await messages.list_page(conn, conversation_id, cursor=query.cursor, limit=query.limit)
    items = await _present(page.items)
    return ok(CursorPage[Message](items=items, next_cursor=page.next_cursor, has_more=page.has_more))


@router.post("/conversations/{conversation_id}/messages", status_code=201, response_model=Envelope[Message])
async def send_message(conversation_id: UUID, body: MessageCreate, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        message = await messages.send(conn, conversation_id, body)
    return ok((await _present([message]))[0])


@router.post("/conversations/{conversation_id}/read", response_model=Envelope[ReadState])
async def mark_as_read(conversation_id: UUID, user: CurrentUser, db: Db) -> Any:
    async with db.user_tx(user) as conn:
        return ok(await messages.mark_read(conn, conversation_id))


@router.post("/attachments", status_code=201, response_model=Envelope[Attachment])
async def upload_attachment(
    file: Annotated[UploadFile, File()], conversation_id: Annotated[UUID, Form()], user: CurrentUser, db: Db
) -> Any:
    data = await file.read(attachments.MAX_BYTES + 1)
    checked = check_upload(data, file.filename, allowed=attachments.ALLOWED_TYPES, max_bytes=attachments.MAX_BYTES)
    # Membership first (404 for strangers), then the blob outside any transaction, then its row.
    async with db.user_tx(user) as conn:
        await conversations.require_participant(conn, conversation_id)
    storage = get_storage()
    path = attachments.storage_path(user.user_id, conversation_id, checked)
    await storage.put(attachments.BUCKET, path, checked.data, checked.content_type, upsert=False)
    try:
        async with db.user_tx(user) as conn:
            row = await attachments.record(conn, conversation_id, path, checked)
    except BaseException:
        await storage.delete(attachments.BUCKET, [path])
        raise
    return ok((await attachments.signed(storage, [row]))[0])


app = create_app(router, title="ugig messaging")
handler = Mangum(app, lifespan="off")
