import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.requests import ClientDisconnect, Request

from passbox.core.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType
from passbox.core.http import base_url, header, media_type, parse_form, parse_json, read_body, read_json


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


def receiving(messages: list[dict[str, object]]) -> Request:
    """A request whose body arrives as these ASGI messages."""

    async def receive() -> dict[str, object]:
        return messages.pop(0)

    return Request({"type": "http", "method": "POST", "headers": [], "path": "/"}, receive)


async def test_a_body_in_several_messages_is_read_whole_and_in_order() -> None:
    body = bytes(range(90))
    messages = [{"type": "http.request", "body": body[n : n + 30], "more_body": n < 60} for n in (0, 30, 60)]
    assert await read_body(receiving(messages), 100) == body


async def test_a_client_that_goes_away_mid_body_is_a_disconnect() -> None:
    messages: list[dict[str, object]] = [
        {"type": "http.request", "body": b"partial", "more_body": True},
        {"type": "http.disconnect"},
    ]
    with pytest.raises(ClientDisconnect):
        await read_body(receiving(messages), 100)


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


@pytest.mark.parametrize(
    "body",
    [
        b'{"a": 1, "b": [1.5, -0, true, null], "c": "\\u00e9\\ud83d\\ude00/"}',
        b' {"dup": 1, "dup": 2} ',
        b'"' + b"1" * 150 + b'"',  # digits in a string are not a number
        b"[" * 32 + b"]" * 32,
        b"1" * 100,
        b"[1e400]",  # as the standard library reads it
        b'{"k": "' + b"x" * 5000 + b'"}',
    ],
)
def test_parse_json_reads_what_the_standard_library_reads(body: bytes) -> None:
    import json

    assert parse_json(body) == json.loads(body)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'"\\ud800"', "lone surrogate"),
        (b"[" * 33 + b"]" * 33, "nested"),
        (b"1" * 101, "more than 100 digits"),
        (b'{"a": NaN}', "NaN"),
        (b'["a\x01"]', "not valid JSON"),
        (b"\xff", "UTF-8"),
    ],
)
def test_parse_json_refuses_with_the_reason(body: bytes, reason: str) -> None:
    with pytest.raises(BadRequest, match=reason):
        parse_json(body)


@pytest.mark.parametrize(
    "value",
    [
        {"a": "x/\n\t\x7f\x00é\u2028\u2029😀", "b": 1.0, "c": 10**30, "d": [True, None, -0.5], "e": {"n": {"m": []}}},
        ["<script>&amp;</script>", "https://example.com/a?b=c&d=e"],
        "plain",
    ],
)
def test_responses_are_encoded_as_the_standard_library_would(value: object) -> None:
    import json

    from passbox.core.responses import RailsJSONResponse, compact_json, laravel_json

    assert compact_json(value) == json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()
    laravel = json.dumps(value, separators=(",", ":"), ensure_ascii=True).replace("/", "\\/").encode()
    assert laravel_json(value) == laravel
    rails = RailsJSONResponse(value).body
    assert json.loads(rails) == value
    escapes = {"&": "\\u0026", "<": "\\u003c", ">": "\\u003e", "\u2028": "\\u2028", "\u2029": "\\u2029"}
    as_rails = json.dumps(value, separators=(",", ":"), ensure_ascii=False).translate(str.maketrans(escapes))
    assert rails == as_rails.encode()


HOSTS = st.one_of(
    st.sampled_from(["127.0.0.1:8000", "localhost", "EXAMPLE.com:443", "a:0", "a:00080", "a:65535", "a:65536"]),
    st.sampled_from(["a:123456", "[::1]:8000", "a b", "", ":80", "a:", "a:b", "é.example", "x.test:80"]),
    st.text(alphabet="ab.-:09[]%_ ", max_size=12),
)


@given(host=HOSTS, scheme=st.sampled_from(["http", "https"]), root_path=st.sampled_from(["", "/base"]))
def test_the_base_url_is_starlettes(host: str, scheme: str, root_path: str) -> None:
    scope = {
        "type": "http",
        "scheme": scheme,
        "server": ("10.0.0.1", 8080),
        "path": "/api/x",
        "root_path": root_path,
        "query_string": b"",
        "headers": [(b"host", host.encode("utf-8"))],
    }
    request = Request(scope)
    assert base_url(request, None) == str(Request(scope).base_url).rstrip("/")
    assert base_url(request, "https://configured.example/") == "https://configured.example"


@given(
    headers=st.lists(
        st.tuples(
            st.sampled_from([b"authorization", b"key", b"content-type", b"x-other"]),
            st.binary(max_size=20).filter(lambda value: b"\r" not in value and b"\n" not in value),
        ),
        max_size=6,
    )
)
def test_header_reads_what_starlette_headers_get_reads(headers: list[tuple[bytes, bytes]]) -> None:
    """The first value of a repeated header, latin-1 text, None when absent."""
    request = Request({"type": "http", "method": "GET", "headers": headers, "path": "/"})
    for name in ("authorization", "key", "content-type", "x-other", "missing"):
        assert header(request.scope, name.encode()) == request.headers.get(name)


def test_media_type_is_the_content_type_without_parameters_in_lower_case() -> None:
    assert media_type(make_request(b"", {"Content-Type": "Application/JSON ; charset=utf-8"})) == "application/json"
    assert media_type(make_request(b"", {})) == ""
    repeated = Request({"type": "http", "headers": [(b"content-type", b"text/plain"), (b"content-type", b"x/y")]})
    assert media_type(repeated) == "text/plain"


def test_without_a_host_header_the_base_url_is_starlettes_from_the_server() -> None:
    scope = {"type": "http", "scheme": "http", "server": ("10.0.0.1", 8080), "path": "/", "headers": []}
    assert base_url(Request(scope), None) == "http://10.0.0.1:8080"
