"""Markdown in long texts: safe HTML, and plain text a person would write."""

from __future__ import annotations

from announcer.prose import raw_html, to_html, to_text


def test_raw_html_is_escaped_and_found() -> None:
    source = "Hi <img src=x onerror=alert(1)>\n\n<div>block</div>\n"
    assert "<img" not in to_html(source)
    assert "&lt;img src=x onerror=alert(1)&gt;" in to_html(source)
    assert "&lt;div&gt;block&lt;/div&gt;" in to_html(source)
    assert raw_html(source) == [(0, "<img src=x onerror=alert(1)>"), (2, "<div>block</div>")]


def test_only_links_mail_clients_follow_become_links() -> None:
    html = to_html("[a](https://x.org) [b](mailto:a@x.org) [c](javascript:alert(1)) [d](page.html)")
    assert '<a href="https://x.org">a</a>' in html
    assert '<a href="mailto:a@x.org">b</a>' in html
    assert "javascript:" not in html.replace("[c](javascript:alert(1))", "")
    assert '<a href="page.html"' not in html


def test_text_wraps_paragraphs_and_keeps_link_addresses() -> None:
    source = (
        "## Background\n\nA sentence that is long enough to need wrapping, "
        "with a [link](https://example.org/a) "
        "and an address <https://example.org/b> and [mail](mailto:host@example.org).\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n> quoted\n"
    )
    assert to_text(source, width=40) == (
        "Background\n----------\n\n"
        "A sentence that is long enough to need\nwrapping, with a link\n"
        "(https://example.org/a) and an address\n"
        "https://example.org/b and mail\n(host@example.org).\n\n"
        "- one\n- two\n\n1. first\n2. second\n\n> quoted"
    )


def test_text_never_breaks_a_long_url() -> None:
    url = "https://example.org/" + "x" * 120
    assert url in to_text(f"See {url} now.", width=40).splitlines()
