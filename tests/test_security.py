"""Security: secrets stay secret, the token file stays private, TLS is verified.

* No secret (password, id/access/refresh token, device password) appears in any log record
  captured at DEBUG from every logger (ours, botocore's, aiohttp's, the emulator's) over a
  whole session, nor in the ``repr``/``str`` of the session objects, nor in any exception
  raised along the way, its cause chain and traceback included.
* Cognito errors that echo the request (some servers do) are scrubbed of what was sent.
* The token file is created 0600 in a 0700 directory whatever the umask, at every save of a
  session, and a file that others can read is refused.
* TLS certificates are verified by default for every kind of request (GraphQL, the user
  lookup, Cognito, the websocket); ``verify_tls=False`` (explicit, documented) turns that
  off, and ``verify_tls=<SSLContext>`` trusts a private CA.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import logging
import ssl
import stat
import traceback
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import aclosing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from pydantic import SecretStr

from andersen_ev import (
    AndersenA2,
    AndersenConnectionError,
    AndersenError,
    ApiError,
    CognitoError,
    DeviceNotFoundError,
    Endpoints,
    InsecureTokenFileError,
    InvalidCredentialsError,
    InvalidInputError,
    ReauthRequiredError,
    RetryPolicy,
    Tokens,
    TokenStore,
)
from andersen_ev.stream import StreamState
from andersen_ev.testing import AndersenCloud, Charger, EmulatedUser
from tests.fuzz_support import far_tokens
from tests.loopback import serve

WRONG_PASSWORD = "an entirely wrong password"
LOGGERS = ("", "andersen_ev", "botocore", "aiohttp", "asyncio", "gql", "websockets")


def secret_values(tokens: Iterable[Tokens | None]) -> set[str]:
    """Every secret the tokens hold, and each part of the JWTs among them that is secret
    on its own (the claims and the signature), so that a partial leak is caught too."""
    found: set[str] = set()
    for token in tokens:
        if token is None:
            continue
        values = [token.id_token, token.access_token, token.refresh_token, token.device_password]
        for value in (secret.get_secret_value() for secret in values if secret is not None):
            found.add(value)
            found.update(part for part in value.split(".")[1:] if len(part) >= 16)
    return found


def exception_texts(error: BaseException) -> list[str]:
    """What a program might print or log of an exception: str, repr, args, the traceback
    with its whole cause/context chain."""
    return [
        str(error),
        repr(error),
        repr(error.args),
        "".join(traceback.format_exception(error)),
    ]


def record_texts(records: Iterable[logging.LogRecord]) -> Iterator[str]:
    """Everything a log handler could write of each record."""
    formatter = logging.Formatter()
    for record in records:
        yield record.getMessage()
        yield str(record.msg)
        yield repr(record.args)
        if record.exc_info:
            yield formatter.formatException(record.exc_info)
        if record.stack_info:
            yield record.stack_info


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Capture DEBUG records of every logger, botocore's and aiohttp's included."""
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


@dataclass
class Seen:
    """What a session showed the outside world: texts to search, secrets to search for."""

    texts: list[str] = field(default_factory=list)
    tokens: list[Tokens | None] = field(default_factory=list)

    def error(self, error: BaseException) -> None:
        self.texts += exception_texts(error)

    def objects(self, *values: object) -> None:
        for value in values:
            self.texts += [repr(value), str(value)]

    async def expect(self, call: Any, kind: type[AndersenError]) -> None:
        with pytest.raises(kind) as caught:
            await call
        self.error(caught.value)


async def first_session(
    cloud: AndersenCloud, device: str, email: str, password: str, seen: Seen, store: TokenStore
) -> None:
    """Failed logins, a login, device confirmation, queries and commands, API errors, a
    refresh forced by expired tokens, and a device update stream; tokens saved to ``store``."""

    async def remember(tokens: Tokens | None) -> None:
        seen.tokens.append(tokens)
        await store.update(tokens)

    async with AndersenA2(endpoints=cloud.endpoints, on_tokens_updated=remember) as a2:
        seen.objects(a2, a2.auth, a2.streams)
        await seen.expect(a2.authenticate(email, WRONG_PASSWORD), InvalidCredentialsError)
        await seen.expect(a2.authenticate("nobody@example.com", password), InvalidCredentialsError)
        await seen.expect(a2.get_device_status(device), ReauthRequiredError)  # not logged in
        await a2.authenticate(email, password)
        await a2.confirm_device("security test")
        assert [d.id for d in await a2.get_current_user_devices()] == [device]
        await a2.user_lock(device)
        cloud.advance(2)  # the charger applies the command
        await seen.expect(a2.get_device_status("0" * 24), DeviceNotFoundError)
        await seen.expect(a2.run_aev_command(device, "noSuchFunction"), ApiError)
        cloud.expire_tokens()  # the next query is refused, refreshes, and is sent again
        refreshes = cloud.stats.refreshes
        assert (await a2.get_device_status(device)).sys_user_lock is True
        assert cloud.stats.refreshes == refreshes + 1
        updates = a2.subscribe_device_updates(device)
        async with aclosing(updates):
            first = await anext(updates)  # the websocket's connection_init carries the token
        assert first.id == device
        seen.objects(a2, a2.auth, a2.tokens, a2.streams, updates, store)


async def resumed_session(
    cloud: AndersenCloud, device: str, email: str, password: str, seen: Seen, store: TokenStore
) -> None:
    """From the saved tokens: a device-SRP login, refreshes, revoked refresh tokens, a new
    login and sign-out."""
    async with AndersenA2(endpoints=cloud.endpoints, tokens=await store.load()) as resumed:
        await resumed.authenticate(email, password)  # answers DEVICE_SRP_AUTH with the secret
        seen.tokens.append(resumed.tokens)
        await resumed.auth.refresh()
        seen.tokens.append(resumed.tokens)
        seen.objects(resumed, resumed.auth, resumed.tokens)
        cloud.revoke_refresh_tokens()
        await seen.expect(resumed.auth.refresh(), ReauthRequiredError)
        await seen.expect(resumed.get_device_status(device), ReauthRequiredError)
        await resumed.authenticate(email, password)
        seen.tokens.append(resumed.tokens)
        await resumed.sign_out()
        seen.objects(resumed, resumed.auth)
        await seen.expect(resumed.get_device_status(device), ReauthRequiredError)


async def test_no_secret_in_debug_logs_reprs_or_errors_over_a_whole_session(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_charger: Charger,
    andersen_credentials: tuple[str, str],
    debug_logs: pytest.LogCaptureFixture,
    tmp_path: Path,
) -> None:
    email, password = andersen_credentials
    seen = Seen()
    store = TokenStore(tmp_path / "tokens.json")
    for session in (first_session, resumed_session):
        await session(andersen_cloud, andersen_charger.id, email, password, seen, store)

    secrets = secret_values(seen.tokens) | {password, WRONG_PASSWORD}
    assert len(secret_values(seen.tokens)) >= 20  # logins, refreshes, device secret
    assert any(t is not None and t.device_password is not None for t in seen.tokens)
    records = debug_logs.records
    assert any(record.name.startswith("andersen_ev.") for record in records)
    for name in ("botocore.parsers", "aiohttp.client", "aiohttp.websocket", "andersen_ev"):
        assert logging.getLogger(name).isEnabledFor(logging.DEBUG)  # heard, had they spoken
    texts = [*seen.texts, *record_texts(records)]
    leaks = {(secret[:12], text[:80]) for secret in secrets for text in texts if secret in text}
    assert not leaks


@dataclass
class EchoingCognito:
    """A Cognito that refuses everything, quoting the whole request in its message."""

    url: str = ""
    requests: list[str] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        self.requests.append(request.headers.get("X-Amz-Target", "lookup"))
        answer = {"__type": "InvalidParameterException", "message": f"cannot accept {body}"}
        return web.json_response(answer, status=400, content_type="application/x-amz-json-1.1")


@pytest.fixture
async def echoing_cognito() -> AsyncIterator[EchoingCognito]:
    echo = EchoingCognito()
    app = web.Application()
    app.router.add_post("/", echo.handle)
    async with serve(app) as echo.url:
        yield echo


async def test_cognito_errors_that_echo_the_request_are_scrubbed(
    echoing_cognito: EchoingCognito, debug_logs: pytest.LogCaptureFixture
) -> None:
    tokens = far_tokens().model_copy(
        update={
            "id_token": SecretStr("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJlLXZhbHVl"),
            "access_token": SecretStr(
                "eyJraWQiOiJrIn0.eyJ0b2tlbl91c2UiOiJhY2Nlc3MifQ.YWNjZXNzLXNpZw"
            ),
            "refresh_token": SecretStr("opaque-refresh-token-" + "r" * 40),
            "device_key": "eu-west-1_device",
            "device_group_key": "-group",
        }
    )
    endpoints = Endpoints(cognito_url=echoing_cognito.url, graphql_url="http://127.0.0.1:9/")
    seen = Seen(tokens=[tokens])
    async with AndersenA2(endpoints=endpoints, tokens=tokens) as a2:
        await seen.expect(a2.auth.refresh(), CognitoError)  # REFRESH_TOKEN_AUTH
        await seen.expect(a2.confirm_device("echo"), CognitoError)  # ConfirmDevice
        await seen.expect(a2.forget_device(), CognitoError)  # ForgetDevice
        await seen.expect(a2.sign_out(), CognitoError)  # GlobalSignOut
        seen.objects(a2, a2.auth, a2.tokens)
    assert len(echoing_cognito.requests) == 4
    assert "cannot accept" in seen.texts[0]  # Cognito's message is kept, minus the secrets
    secrets = secret_values(seen.tokens)
    texts = [*seen.texts, *record_texts(debug_logs.records)]
    assert not [secret for secret in secrets for text in texts if secret in text]


# -- the token file -------------------------------------------------------------------------------


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("permissive_umask")
async def test_token_file_stays_private_through_a_session_and_an_open_one_is_refused(
    andersen_cloud: AndersenCloud,
    andersen_user: EmulatedUser,
    andersen_credentials: tuple[str, str],
    tmp_path: Path,
) -> None:
    store = TokenStore(tmp_path / "config" / "andersen-ev" / "tokens.json")
    modes: list[tuple[int, int, tuple[str, ...]]] = []

    def observe() -> None:
        if store.path.exists():
            entries = tuple(sorted(p.name for p in store.path.parent.iterdir()))
            modes.append((mode(store.path), mode(store.path.parent), entries))

    async def save(tokens: Tokens | None) -> None:
        await store.update(tokens)
        await asyncio.to_thread(observe)  # file system calls stay out of the event loop

    async with AndersenA2(endpoints=andersen_cloud.endpoints, on_tokens_updated=save) as a2:
        await a2.authenticate(*andersen_credentials)
        await a2.confirm_device("store test")
        await a2.auth.refresh()
        tokens = a2.tokens
    assert tokens is not None
    assert tokens.device_password is not None
    assert len(modes) == 3
    assert set(modes) == {(0o600, 0o700, ("tokens.json",))}  # no temporary file left behind
    assert await store.load() == tokens

    secrets = secret_values([tokens])
    for others in (0o644, 0o640, 0o604, 0o660, 0o606):
        store.path.chmod(others)
        with pytest.raises(InsecureTokenFileError, match="chmod 600") as refused:
            await store.load()
        assert not [s for s in secrets for t in exception_texts(refused.value) if s in t]
        assert f"{others:03o}" in str(refused.value)
    store.path.chmod(0o600)
    assert await store.load() == tokens
    assert not [s for s in secrets if s in repr(store)]


# -- TLS ------------------------------------------------------------------------------------------


@dataclass
class Certificate:
    """A self-signed certificate for 127.0.0.1, its key and a file holding it."""

    cert_file: Path
    key_file: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert_file, self.key_file)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A context that trusts this certificate (as a private CA would be trusted)."""
        return ssl.create_default_context(cafile=str(self.cert_file))


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "andersen-ev test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    directory = tmp_path_factory.mktemp("tls")
    certificate = Certificate(directory / "cert.pem", directory / "key.pem")
    certificate.cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificate.key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return certificate


@dataclass
class TlsService:
    """GraphQL, the user lookup, Cognito and the websocket, over HTTPS with that certificate."""

    base: str = ""
    websockets: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def endpoints(self) -> Endpoints:
        return Endpoints(
            graphql_url=self.base,
            websocket_url=self.base.replace("https", "wss", 1) + "graphql",
            user_lookup_url=self.base + "get-pending-user",
            cognito_url=self.base + "cognito",
        )

    async def graphql(self, request: web.Request) -> web.Response:
        self.seen.append("graphql")
        await request.read()
        return web.json_response({"data": {"getSupportMessage": "over TLS"}})

    async def lookup(self, request: web.Request) -> web.Response:
        self.seen.append("lookup")
        await request.read()
        return web.json_response({"username": "user"})

    async def cognito(self, request: web.Request) -> web.Response:
        self.seen.append("cognito")
        await request.read()
        refusal = {"__type": "UserNotFoundException", "message": "User does not exist."}
        return web.json_response(refusal, status=400, content_type="application/x-amz-json-1.1")

    async def websocket(self, request: web.Request) -> web.WebSocketResponse:
        self.websockets += 1
        ws = web.WebSocketResponse(protocols=("graphql-ws",))
        await ws.prepare(request)
        await ws.close()
        return ws


@pytest.fixture
async def tls_service(certificate: Certificate) -> AsyncIterator[TlsService]:
    service = TlsService()
    app = web.Application()
    app.router.add_post("/", service.graphql)
    app.router.add_post("/get-pending-user", service.lookup)
    app.router.add_post("/cognito", service.cognito)
    app.router.add_get("/graphql", service.websocket)
    async with serve(
        app, ssl_context=certificate.server_context(), shutdown_timeout=0.1
    ) as service.base:
        yield service


async def first_stream_outcome(a2: AndersenA2) -> StreamState:
    """Subscribe, and return the state the stream reaches after its first connect attempt."""
    reached: asyncio.Future[StreamState] = asyncio.get_running_loop().create_future()

    def watch(state: StreamState) -> None:
        if state in {StreamState.CONNECTED, StreamState.RECONNECTING} and not reached.done():
            reached.set_result(state)

    remove = a2.on_stream_state(watch)
    updates = a2.subscribe_device_updates("device")
    waiting = asyncio.ensure_future(anext(updates))
    try:
        async with asyncio.timeout(10):
            return await reached
    finally:
        remove()
        waiting.cancel()
        await asyncio.wait([waiting])
        await updates.aclose()


async def test_tls_certificates_are_verified_by_default(tls_service: TlsService) -> None:
    """A self-signed certificate is refused for every kind of request, before any is sent."""
    once = RetryPolicy(attempts=1)  # a refused certificate is refused again: no need to wait
    async with AndersenA2(endpoints=tls_service.endpoints, tokens=far_tokens(), retry=once) as a2:
        with pytest.raises(AndersenConnectionError, match="ertificate") as graphql:
            await a2.get_support_message()
        assert graphql.value.before_request  # refused at the handshake: nothing was sent
        with pytest.raises(AndersenConnectionError, match="ertificate"):
            await a2.authenticate("me@example.com", "pw")
        assert await first_stream_outcome(a2) is StreamState.RECONNECTING
    assert tls_service.seen == []
    assert tls_service.websockets == 0


async def test_verify_tls_false_turns_verification_off(tls_service: TlsService) -> None:
    async with AndersenA2(
        endpoints=tls_service.endpoints, tokens=far_tokens(), verify_tls=False
    ) as a2:
        assert await a2.get_support_message() == "over TLS"
        with pytest.raises(InvalidCredentialsError):  # Cognito answered: it was reached
            await a2.authenticate("me@example.com", "pw")
        await first_stream_outcome(a2)
    assert tls_service.seen == ["graphql", "lookup", "cognito"]
    assert tls_service.websockets >= 1


async def test_verify_tls_accepts_a_context_trusting_a_private_ca(
    tls_service: TlsService, certificate: Certificate
) -> None:
    async with AndersenA2(
        endpoints=tls_service.endpoints,
        tokens=far_tokens(),
        verify_tls=certificate.client_context(),
    ) as a2:
        assert await a2.get_support_message() == "over TLS"
        await first_stream_outcome(a2)
    assert tls_service.websockets >= 1


async def test_verify_tls_does_not_apply_to_a_session_passed_in() -> None:
    async with aiohttp.ClientSession() as session:
        with pytest.raises(InvalidInputError, match="verify_tls"):
            AndersenA2(session, verify_tls=False)
        AndersenA2(session)  # the session's own TLS settings apply


def test_verification_is_the_default() -> None:
    import inspect

    parameter = inspect.signature(AndersenA2).parameters["verify_tls"]
    assert parameter.default is True
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY  # never switched off by position
    assert "verify_tls" in (AndersenA2.__doc__ or "")
