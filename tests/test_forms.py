"""``acrawl.FormRequest`` (+ ``from_response``) and ``acrawl.JsonRequest``."""

from __future__ import annotations

import json
import logging
from urllib.parse import parse_qsl, urlsplit

import attrs
import pytest

import acrawl
from acrawl.forms import FormRequest, JsonRequest
from acrawl.frontier.codec import decode_request, encode_request
from acrawl.http import Request, Response

PAGE_URL = "http://site.test/dir/page.html"


def page(body: str, *, head: str = "", url: str = PAGE_URL,
         content_type: str = "text/html; charset=utf-8") -> Response:
    html = f"<!doctype html><html><head>{head}</head><body>{body}</body></html>"
    return Response(url, 200, {"Content-Type": content_type}, html.encode(), Request(url))


def fields(request: Request) -> list[tuple[str, str]]:
    """The submitted (name, value) pairs, from the body or, for GET, the query."""
    raw = urlsplit(request.url).query if request.method == "GET" else (
        request.body or b"").decode()
    return parse_qsl(raw, keep_blank_values=True)


LOGIN = """
<form id="login-form" name="login" action="/login?next=/home" method="post">
  <input type="hidden" name="csrf_token" value="t0k3n">
  <input type="text" name="username" value="">
  <input type="password" name="password">
  <input type="submit" name="go" value="Log in">
</form>"""


# -- FormRequest(url, formdata=...) ---------------------------------------------------------------


def test_formdata_makes_a_urlencoded_post() -> None:
    req = FormRequest("http://site.test/post", formdata={"a": "1", "b": "x y&z"})
    assert isinstance(req, acrawl.Request) and isinstance(req, acrawl.FormRequest)
    assert req.method == "POST"
    assert req.body == b"a=1&b=x+y%26z"
    assert req.headers == {"Content-Type": "application/x-www-form-urlencoded"}


def test_formdata_pairs_and_list_values_repeat_a_field() -> None:
    req = FormRequest("http://site.test/post", formdata=[("t", "a"), ("u", ["1", "2"])])
    assert req.body == b"t=a&u=1&u=2"
    req = FormRequest("http://site.test/post", formdata={"t": ["a", "b"], "gone": None})
    assert req.body == b"t=a&t=b"


def test_get_puts_the_data_in_the_query_replacing_the_url_query() -> None:
    req = FormRequest("http://site.test/search?old=1#frag", formdata={"q": "é"}, method="GET")
    assert req.url == "http://site.test/search?q=%C3%A9#frag"
    assert req.body is None and req.headers == {}


def test_without_formdata_it_is_a_plain_get() -> None:
    req = FormRequest("http://site.test/")
    assert (req.method, req.body, req.headers) == ("GET", None, {})


def test_a_given_content_type_is_kept_and_other_arguments_pass_through() -> None:
    req = FormRequest("http://site.test/p", formdata={"a": "1"}, method="put",
                      headers={"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
                      callback="after", meta={"k": 1}, priority=3, dont_filter=True)
    assert req.method == "PUT" and req.body == b"a=1"
    assert req.headers == {"content-type": "application/x-www-form-urlencoded; charset=utf-8"}
    assert (req.callback, req.meta, req.priority, req.dont_filter) == ("after", {"k": 1}, 3, True)


def test_bad_formdata_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="formdata"):
        FormRequest("http://site.test/", formdata=["abc"])  # type: ignore[list-item]


def test_derived_copies_keep_the_class_and_the_encoded_data() -> None:
    req = FormRequest("http://site.test/p", formdata={"a": "1"}, callback="done")
    for copy in (attrs.evolve(req, depth=2), req.replace(priority=5)):
        assert type(copy) is FormRequest
        assert (copy.method, copy.body, copy.headers, copy.callback) == (
            req.method, req.body, req.headers, "done")


# -- the durable frontier's codec -----------------------------------------------------------------


def _same_request(a: Request, b: Request) -> None:
    assert attrs.asdict(a, recurse=False) == attrs.asdict(b, recurse=False)


@pytest.mark.parametrize("req", [
    FormRequest("http://site.test/login", formdata={"u": "ann", "p": "s3cr&t"},
                callback="after_login", meta={"step": 1}, cb_kwargs={"who": "ann"}),
    FormRequest("http://site.test/s", formdata={"q": "x"}, method="GET", errback="failed"),
    JsonRequest("http://site.test/api", data={"page": 2, "tags": ["a"]}, priority=4),
    JsonRequest("http://site.test/api?page=1"),
], ids=["form-post", "form-get", "json-post", "json-get"])
def test_a_stored_request_comes_back_as_the_equivalent_request(req: Request) -> None:
    back = decode_request(encode_request(req))
    assert type(back) is Request
    _same_request(back, req)
    assert encode_request(back) == encode_request(req)


def test_a_stored_from_response_request_comes_back_equivalent() -> None:
    req = FormRequest.from_response(page(LOGIN), formdata={"username": "ann"},
                                    callback="after_login")
    back = decode_request(encode_request(req))
    _same_request(back, req)


# -- FormRequest.from_response --------------------------------------------------------------------


def test_from_response_carries_hidden_fields_and_clicks_the_submit_button() -> None:
    req = FormRequest.from_response(page(LOGIN), formdata={"username": "ann",
                                                           "password": "pw"})
    assert type(req) is FormRequest
    assert req.url == "http://site.test/login?next=/home"
    assert req.method == "POST"
    assert req.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert fields(req) == [("csrf_token", "t0k3n"), ("username", "ann"), ("password", "pw"),
                           ("go", "Log in")]


def test_request_arguments_pass_through_and_headers_merge() -> None:
    req = FormRequest.from_response(page(LOGIN), callback="after_login", meta={"a": 1},
                                    headers={"X-Token": "1"}, dont_filter=True)
    assert (req.callback, req.meta, req.dont_filter) == ("after_login", {"a": 1}, True)
    assert req.headers == {"X-Token": "1",
                           "Content-Type": "application/x-www-form-urlencoded"}


def test_the_selected_option_is_sent_not_the_first() -> None:
    form = """<form action="/s"><select name="author">
        <option value="">----</option><option value="a1">A1</option>
        <option value="a2" selected>A2</option></select>
      <select name="none-selected"><option value="first">F</option><option>second</option>
      </select>
      <select name="multi" multiple><option selected>m1</option><option>m2</option>
        <option selected>m3</option></select>
      <select name="empty"></select></form>"""
    assert fields(FormRequest.from_response(page(form))) == [
        ("author", "a2"), ("none-selected", "first"), ("multi", "m1"), ("multi", "m3")]


def test_checked_checkboxes_and_radios_only() -> None:
    form = """<form action="/s" method="post">
      <input type="checkbox" name="c1" value="yes" checked>
      <input type="checkbox" name="c2" value="no">
      <input type="checkbox" name="c3" checked>
      <input type="radio" name="r" value="a"><input type="radio" name="r" value="b" checked>
      <input type="radio" name="r2" value="x">
      <textarea name="t">some text</textarea>
      <input type="reset" name="reset" value="R"><input name="plain" value="p"></form>"""
    assert fields(FormRequest.from_response(page(form))) == [
        ("c1", "yes"), ("c3", "on"), ("r", "b"), ("t", "some text"), ("plain", "p")]


def test_formdata_overrides_and_none_removes_a_field() -> None:
    req = FormRequest.from_response(page(LOGIN), formdata={"csrf_token": None,
                                                           "username": "u", "extra": "e"})
    assert fields(req) == [("password", ""), ("username", "u"), ("extra", "e"),
                           ("go", "Log in")]


TWO_BUTTONS = """<form action="/act" method="post"><input name="f" value="1">
  <input type="submit" name="op" value="save">
  <button type="submit" name="op" value="delete" class="danger">Delete</button>
  <input type="image" name="img" value="pic">
  <button type="button" name="not-a-submit" value="x">x</button></form>"""


def test_the_first_submit_button_is_clicked_by_default() -> None:
    assert fields(FormRequest.from_response(page(TWO_BUTTONS))) == [("f", "1"), ("op", "save")]


@pytest.mark.parametrize(("clickdata", "sent"), [
    ({"value": "delete"}, ("op", "delete")),
    ({"name": "op", "class": "danger"}, ("op", "delete")),
    ({"nr": 2}, ("img", "pic")),
    ({"name": "op", "nr": 1}, ("op", "delete")),
])
def test_clickdata_picks_the_button(clickdata: dict[str, object],
                                    sent: tuple[str, str]) -> None:
    req = FormRequest.from_response(page(TWO_BUTTONS), clickdata=clickdata)
    assert fields(req) == [("f", "1"), sent]


@pytest.mark.parametrize(("clickdata", "message"), [
    ({"name": "op"}, "2 clickable elements match"),
    ({"value": "nope"}, "no clickable element matching"),
    ({"nr": 7}, "no clickable element matching"),
    ({"name": "not-a-submit"}, "no clickable element matching"),
])
def test_clickdata_that_does_not_pick_one_button_is_a_value_error(
        clickdata: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FormRequest.from_response(page(TWO_BUTTONS), clickdata=clickdata)


def test_dont_click_sends_no_button() -> None:
    assert fields(FormRequest.from_response(page(TWO_BUTTONS), dont_click=True)) == [("f", "1")]


def test_the_action_resolves_against_base_href() -> None:
    resp = page('<form action="submit"><input name="a" value="1"></form>'
                '<a href="rel">rel</a>', head='<base href="http://other.test/base/">')
    req = FormRequest.from_response(resp)
    assert req.url == "http://other.test/base/submit?a=1"


def test_no_action_submits_to_the_page_itself() -> None:
    req = FormRequest.from_response(page('<form method="post"><input name="a" value="1">'
                                         '</form>'))
    assert req.url == PAGE_URL and req.body == b"a=1"


def test_a_get_form_puts_the_data_in_the_query() -> None:
    resp = page('<form action="/find?stale=1" method="GET"><input name="q" value="x">'
                '<input type="submit" value="Go"></form>')
    req = FormRequest.from_response(resp, formdata={"q": "a b", "page": "2"})
    assert req.method == "GET" and req.body is None
    assert req.url == "http://site.test/find?q=a+b&page=2"
    assert req.headers == {}


def test_method_and_url_can_be_overridden() -> None:
    resp = page('<form action="/find" method="get"><input name="q" value="x"></form>')
    req = FormRequest.from_response(resp, method="POST")
    assert (req.method, req.url, req.body) == ("POST", "http://site.test/find", b"q=x")
    req = FormRequest.from_response(resp, url="other?z=9")
    assert req.url == "http://site.test/dir/other?q=x"


def test_enctype_text_plain_and_multipart() -> None:
    plain = page('<form action="/p" method="post" enctype="text/plain">'
                 '<input name="a" value="1"><input name="b" value="2"></form>')
    req = FormRequest.from_response(plain)
    assert req.headers == {"Content-Type": "text/plain"} and req.body == b"a=1\nb=2"


def test_a_multipart_form_is_sent_urlencoded_with_a_warning(
        caplog: pytest.LogCaptureFixture) -> None:
    multi = page('<form action="/up" method="post" enctype="multipart/form-data">'
                 '<input name="a" value="1"></form>')
    with caplog.at_level(logging.WARNING, logger="acrawl.forms"):
        req = FormRequest.from_response(multi)
    assert req.headers == {"Content-Type": "application/x-www-form-urlencoded"}
    assert req.body == b"a=1"
    assert "multipart/form-data" in caplog.text


FORMS = """
<form name="first" action="/1"><input name="n" value="1"></form>
<div class="box"><form id="second" action="/2"><p><input name="n" value="2" class="in"></p>
</form></div>
<form name="third" action="/3"><input name="n" value="3"></form>"""


@pytest.mark.parametrize(("how", "action"), [
    ({}, "/1"),
    ({"formnumber": 2}, "/3"),
    ({"formname": "third"}, "/3"),
    ({"formid": "second"}, "/2"),
    ({"formxpath": '//input[@class="in"]'}, "/2"),
    ({"formxpath": "(//form)[3]"}, "/3"),
    ({"formcss": "div.box input"}, "/2"),
    ({"formcss": "form[name=third]"}, "/3"),
    ({"formname": "missing", "formid": "second"}, "/2"),
])
def test_which_form(how: dict[str, object], action: str) -> None:
    req = FormRequest.from_response(page(FORMS), **how)  # type: ignore[arg-type]
    assert urlsplit(req.url).path == action


@pytest.mark.parametrize(("how", "message"), [
    ({"formname": "missing"}, "no <form> with name 'missing' in http://site.test/dir/page"),
    ({"formid": "x", "formcss": "div.nothing"}, "no <form> with id 'x' or css 'div.nothing'"),
    ({"formxpath": "//h1"}, "no <form> with xpath '//h1'"),
    ({"formnumber": 3}, "form number 3 not found in .* it has 3 forms"),
    ({"formnumber": -1}, "form number -1 not found"),
])
def test_a_form_that_is_not_found_is_a_value_error(how: dict[str, object],
                                                   message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FormRequest.from_response(page(FORMS), **how)  # type: ignore[arg-type]


def test_a_page_without_forms_is_a_value_error() -> None:
    with pytest.raises(ValueError, match=r"no <form> element found in http://site\.test/"):
        FormRequest.from_response(page("<p>no forms</p>"))


def test_the_not_found_message_lists_the_forms() -> None:
    with pytest.raises(ValueError) as info:
        FormRequest.from_response(page(FORMS), formname="x")
    assert "#0 (name='first' action='/1'), #1 (id='second' action='/2')" in str(info.value)


def test_a_page_in_another_encoding() -> None:
    html = ('<form action="/s" method="post"><input name="q" value="caf\xe9"></form>'
            ).encode("cp1252")
    resp = Response(PAGE_URL, 200, {"Content-Type": "text/html; charset=cp1252"}, html,
                    Request(PAGE_URL))
    assert fields(FormRequest.from_response(resp)) == [("q", "café")]


# -- JsonRequest ----------------------------------------------------------------------------------


def test_json_data_makes_a_post_with_a_sorted_json_body() -> None:
    req = JsonRequest("http://site.test/api", data={"b": [1, 2], "a": "é"})
    assert isinstance(req, acrawl.Request) and type(req) is JsonRequest
    assert req.method == "POST"
    assert req.body == b'{"a": "\\u00e9", "b": [1, 2]}'
    assert json.loads(req.body) == {"a": "é", "b": [1, 2]}
    assert req.headers == {"Content-Type": "application/json",
                           "Accept": "application/json, text/javascript, */*; q=0.01"}


def test_json_dumps_kwargs_and_method() -> None:
    req = JsonRequest("http://site.test/api", data={"b": 1, "a": "é"}, method="PUT",
                      dumps_kwargs={"sort_keys": False, "ensure_ascii": False})
    assert req.method == "PUT" and req.body == '{"b": 1, "a": "é"}'.encode()


def test_json_without_data_is_a_get_asking_for_json() -> None:
    req = JsonRequest("http://site.test/api?page=2", headers={"accept": "application/json"})
    assert (req.method, req.body) == ("GET", None)
    assert req.headers == {"accept": "application/json", "Content-Type": "application/json"}


def test_json_body_wins_over_data(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="acrawl.forms"):
        req = JsonRequest("http://site.test/api", body='{"x": 1}', data={"y": 2})
    assert req.body == b'{"x": 1}' and req.method == "GET"
    assert "data is ignored" in caplog.text


def test_json_replace_with_data_reencodes() -> None:
    req = JsonRequest("http://site.test/api", data={"page": 1}, callback="parse_api")
    nxt = req.replace(data={"page": 2})
    assert type(nxt) is JsonRequest
    assert (nxt.body, nxt.method, nxt.callback) == (b'{"page": 2}', "POST", "parse_api")
    assert attrs.evolve(req, priority=1).headers == req.headers
