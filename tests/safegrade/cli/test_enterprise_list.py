"""`safegrade enterprise list`: the API's filters as options (--search, --flag, --after) and its pages."""

from __future__ import annotations

import json


def test_search_and_pages_on_the_command_line(ready):
    cli, wuqing, hexi = ready
    code, out, err = cli("--json", "enterprise", "list", "--search", wuqing[:12].lower())
    assert code == 0, err
    assert [e["credit_code"] for e in json.loads(out)] == [wuqing]
    code, out, _ = cli("enterprise", "list", "--limit", "1")
    assert code == 0
    cursor = out.rsplit("--after ", 1)[1].strip()
    code, out, _ = cli("--json", "enterprise", "list", "--after", cursor)
    assert [e["credit_code"] for e in json.loads(out)] == [wuqing]  # 河西区 (120103) comes first
    code, _, err = cli("enterprise", "list", "--after", "??")
    assert code == 1
    assert "--after" in err
