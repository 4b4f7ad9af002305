"""Untrusted text in chat markdown stays text: no image fetches, links or HTML from it."""

from __future__ import annotations

from agents.markdown import label, plain


def test_plain_escapes_what_opens_images_links_and_html() -> None:
    hostile = "See ![pixel](http://localhost/p?q=secret) and [click](x) <img src=x> `code`"
    assert plain(hostile) == (
        "See \\!\\[pixel\\](http://localhost/p?q=secret) and \\[click\\](x) \\<img src=x\\> "
        "\\`code\\`"
    )


def test_plain_works_piece_by_piece_as_text_streams() -> None:
    text = "Sales up 12% for *VIP* customers ![x](http://localhost/p)"
    pieces = [text[i : i + 5] for i in range(0, len(text), 5)]
    assert "".join(plain(p) for p in pieces) == plain(text)


def test_plain_keeps_ordinary_prose_as_it_reads() -> None:
    assert plain("Tuesday at 10:00 had a 40.6% open rate (994 sends).") == (
        "Tuesday at 10:00 had a 40.6% open rate (994 sends)."
    )


def test_label_drops_markup_from_short_untrusted_strings() -> None:
    assert label("Win back ![x](http://localhost/p)  <b>lapsed</b> `buyers`") == (
        "Win back !x(http://localhost/p) blapsed/b buyers"
    )
