"""GET /auth/config: what a browser page needs to sign a customer in (oidc-client-ts's
authority, client id and scope), so that /post is configured by the server it talks to."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from api.state import HttpState
from config.identity import SIGN_IN_SCOPE


async def auth_config(request: Request) -> JSONResponse:
    http: HttpState = request.state.http_state
    settings = http.settings
    body = {
        "issuer": settings.oidc_issuer,
        "clientId": settings.oidc_client_id,
        "scope": SIGN_IN_SCOPE,
        "development": settings.oidc_development,
    }
    # Revalidated each time: an issuer changed by a restart must reach the page at once.
    return JSONResponse(body, headers={"Cache-Control": "no-cache"})
