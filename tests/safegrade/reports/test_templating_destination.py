"""The one Jinja2 environment (safegrade.reports.templating) and the one report output helper
(safegrade.reports.destination)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from jinja2 import DictLoader, UndefinedError

from safegrade.errors import InvalidInput
from safegrade.reports import destination, loop_common
from safegrade.reports.templating import environment


def test_one_environment_escapes_html_templates_and_not_markdown() -> None:
    env = environment()
    assert env is environment()  # made once
    source = "{{ x }}|{{ at | when }}|{{ d | short(4) }}|{{ none | blank }}|{{ 'a|b' | cell }}\n"
    at = datetime(2023, 6, 1, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    values = {"x": "<b>", "at": at, "d": "abcdef", "none": None}
    assert env.from_string(source).render(values) == "&lt;b&gt;|2023-06-01 09:30|abcd…|—|a\\|b\n"  # strings: escaped
    html, md = env.get_template("circular.html.j2"), env.get_template("circular.md.j2")
    assert html.environment is md.environment is env
    assert env.autoescape("circular.html.j2")
    assert env.autoescape("loop.html.j2")
    assert not env.autoescape("circular.md.j2")
    with pytest.raises(UndefinedError):
        env.from_string("{{ missing }}").render()


def test_the_reviewers_pages_still_end_at_their_last_tag(monkeypatch: pytest.MonkeyPatch) -> None:
    """The environment keeps a template's last newline (the circular's files end with one); the reviewer's
    pages were rendered without it and still are."""
    page = "<p>{{ x }}</p>\n{% if x %}\n</html>\n{% endif %}\n"
    pages = environment().overlay(loader=DictLoader({"page.html.j2": page}))
    monkeypatch.setattr(loop_common, "environment", lambda: pages)
    assert pages.get_template("page.html.j2").render(x="<") == "<p>&lt;</p>\n</html>\n"
    assert loop_common.render("page.html.j2", x="<") == "<p>&lt;</p>\n</html>"
    with pytest.raises(UndefinedError):  # strict about missing names
        loop_common.render("page.html.j2")


def test_the_format_comes_from_the_option_or_the_suffix() -> None:
    assert destination.choose_format(None, None) == "html"
    assert destination.choose_format(Path("a.XLSX"), None) == "xlsx"
    assert destination.choose_format(Path("a.json"), "json") == "json"
    with pytest.raises(InvalidInput, match="make them agree"):
        destination.choose_format(Path("a.json"), "html")
    with pytest.raises(InvalidInput, match="cannot tell the format"):
        destination.choose_format(Path("a.pdf"), None)
    with pytest.raises(InvalidInput, match="choose one of html, xlsx, json"):
        destination.choose_format(None, "pdf")


def test_default_paths_and_names(tmp_path: Path) -> None:
    assert destination.default_path("loop", "2023年 评估/x", date(2023, 6, 1), "html") == Path(
        "var/reports/loop-2023年_评估_x-2023-06-01.html")
    assert destination.circular_name(" 2023年/运行 质量评估. ", "docx") == "2023年_运行_质量评估-通报.docx"
    assert destination.circular_name("///", "md") == "campaign-通报.md"
    assert destination.circular_path(tmp_path, "评估", "html") == tmp_path / "var/reports/评估-通报.html"


def test_the_target_folder_and_writing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    made = destination.target(None, Path("var/reports/x.html"))  # the default folder is made
    assert made.parent.is_dir()
    for out in (Path("var/reports/deeper/x.html"), tmp_path / "nowhere" / "x.html"):  # a named one never is
        with pytest.raises(InvalidInput, match="does not exist") as refused:
            destination.target(out, Path("var/reports/x.html"))
        assert (refused.value.code, refused.value.field, refused.value.value) == ("no_such_folder", "out", str(out))
        assert not out.parent.exists()
    with pytest.raises(InvalidInput, match="does not exist"):
        destination.given(tmp_path / "nowhere" / "x.html")
    assert destination.given(None) is None
    assert destination.target(tmp_path / "x.html", Path("var/reports/x.html")) == tmp_path / "x.html"
    with pytest.raises(InvalidInput, match="cannot write"):  # save_report makes no folder either
        destination.save_report(tmp_path / "new" / "deeper" / "c.md", b"# x\n")
    assert not (tmp_path / "new").exists()
    destination.save_report(tmp_path / "c.md", b"# x\n")
    assert (tmp_path / "c.md").read_bytes() == b"# x\n"
    (tmp_path / "file").write_text("")
    with pytest.raises(InvalidInput, match="--out: cannot write"):
        destination.save_report(tmp_path / "file" / "c.md", b"x")
