"""`loa zalo-oa login`: the first authorisation of the app by the OA's admin, with PKCE.

1. Loa prints the permission URL (``/v4/oa/permission?app_id&redirect_uri&code_challenge&state``)
   and keeps the code verifier in memory; 2. the admin opens it, picks the OA and grants;
   3. Zalo redirects to the callback with ``?code=…&oa_id=…&state=…``; the admin pastes the code
   (or the whole URL); 4. Loa exchanges it (10 minutes, single use) and stores the pair sealed.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlparse

from bot.channels.zalo_oa.client import PERMISSION_URL, OaClient
from bot.channels.zalo_oa.tokens import TokenVault
from bot.clock import Clock


@dataclass(frozen=True, slots=True)
class Pkce:
    """A code verifier and its S256 challenge."""

    verifier: str
    challenge: str


def new_pkce() -> Pkce:
    """43 url-safe characters from 32 random bytes, and base64url(sha256(verifier))."""
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(32)).rstrip(b"=").decode("ascii")
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    return Pkce(verifier, challenge)


def permission_url(*, app_id: str, redirect_uri: str, challenge: str, state: str) -> str:
    """The page where the OA's admin grants the app (official SDK's getAuthorizationUrlByOA)."""
    query = urlencode(
        {
            "app_id": app_id,
            "redirect_uri": redirect_uri,
            "code_challenge": challenge,
            "state": state,
        }
    )
    return f"{PERMISSION_URL}?{query}"


def read_code(pasted: str, *, state: str) -> str:
    """The code from what the admin pasted: the code itself or the whole callback URL."""
    text = pasted.strip()
    if "code=" not in text:
        return text
    query = parse_qs(urlparse(text).query or text.split("?", 1)[-1])
    if query.get("state", [state])[0] != state:
        raise ValueError("the callback's state does not match this login")
    return query.get("code", [""])[0]


async def login(
    client: OaClient,
    vault: TokenVault,
    clock: Clock,
    *,
    app_id: str,
    redirect_uri: str,
    ask: Callable[[str], str],
    say: Callable[[str], None],
) -> None:
    """Walk the operator through the grant and store the first pair."""
    pkce, state = new_pkce(), secrets.token_urlsafe(12)
    say("Open this address as the OA's admin, choose the OA and allow the app:")
    say(
        permission_url(
            app_id=app_id, redirect_uri=redirect_uri, challenge=pkce.challenge, state=state
        )
    )
    code = read_code(ask("Paste the code (or the whole address Zalo sent you to): "), state=state)
    if not code:
        raise ValueError("no code given")
    pair = await client.token_from_code(code, pkce.verifier, now=clock.now())
    await vault.store(pair, now=clock.now(), after=None)
    say("Stored. The access token is refreshed automatically from now on.")
