"""eraseMyData: a signed-in customer erases what this server holds about them."""

from __future__ import annotations

from context import Info
from db.personal_data import erase_customer


async def erase_my_data(info: Info) -> bool:
    customer = await info.context.auth.require_customer()
    app = info.context.app
    await erase_customer(app.pool, app.media_store, customer, actor=customer)
    return True
