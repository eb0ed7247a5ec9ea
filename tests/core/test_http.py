import pytest
from starlette.requests import Request

from passbox.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from passbox.core.http import parse_form, parse_json, read_body, read_json


def make_request(body: bytes, headers: dict[str, str] | None = None, chunks: int = 1) -> Request:
    pieces = [body[i::chunks] for i in range(chunks)] if chunks > 1 else [body]
    messages = [
        {"type": "http.request", "body": piece, "more_body": i < len(pieces) - 1} for i, piece in enumerate(pieces)
    ]

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    raw_headers = [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return Request({"type": "http", "method": "POST", "headers": raw_headers, "path": "/"}, receive)


async def test_body_over_the_limit_is_refused_by_declared_length() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_body(make_request(b"x", {"content-length": "101"}), 100)


async def test_body_over_the_limit_is_refused_while_streaming() -> None:
    with pytest.raises(PayloadTooLarge):
        await read_body(make_request(b"x" * 150, chunks=3), 100)
    assert await read_body(make_request(b"x" * 100), 100) == b"x" * 100


@pytest.mark.parametrize(
    ("body", "message"),
    [
        pytest.param(b"", "empty", id="empty"),
        pytest.param(b"{", "not valid JSON", id="truncated"),
        pytest.param(b"\xff\xfe", "UTF-8", id="not-utf8"),
        pytest.param(b'{"a": NaN}', "NaN is not valid JSON", id="nan"),
        pytest.param(b"[" * 100_000, "not valid JSON", id="deep"),
    ],
)
def test_bad_json_is_a_clear_400(body: bytes, message: str) -> None:
    with pytest.raises(BadRequest, match=message):
        parse_json(body)


async def test_read_json_checks_the_media_type() -> None:
    with pytest.raises(UnsupportedMediaType, match="text/plain"):
        await read_json(make_request(b"{}", {"content-type": "text/plain"}), 100)
    assert await read_json(make_request(b'{"a":1}', {"content-type": "application/json; charset=utf-8"}), 100) == {
        "a": 1
    }
    assert await read_json(make_request(b"{}", {"content-type": "application/merge-patch+json"}), 100) == {}


def test_parse_form_keeps_the_first_value() -> None:
    assert parse_form(b"a=1&b=two+words&a=2&c=") == {"a": "1", "b": "two words", "c": ""}
    with pytest.raises(BadRequest):
        parse_form(b"\xff")
