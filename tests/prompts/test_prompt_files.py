"""Prompt files: YAML, or Markdown with front matter; problems named by file and line; what
`pull` writes reads back to the same content."""

from __future__ import annotations

from pathlib import Path

import pytest

from llmdeck.prompts import PromptVersion, dump_version, read_file, read_folder

MARKDOWN = """\
---
model: chat
variables: {topic: string, tone: "string?"}
messages:
  - {role: system, content: "Be {{ tone or 'brief' }}."}
---
Tell me about {{ topic }}.

- one point
- another
"""


def test_markdown_front_matter_and_body(tmp_path: Path) -> None:
    path = tmp_path / "explain.md"
    path.write_text(MARKDOWN)
    spec = read_file(path)
    assert spec.name == "explain" and spec.model == "chat"
    assert [m.role for m in spec.messages] == ["system", "user"]
    assert spec.messages[1].content == "Tell me about {{ topic }}.\n\n- one point\n- another\n"
    assert spec.variables["tone"].optional


@pytest.mark.parametrize(
    ("name", "text", "where", "message"),
    [
        ("a.yaml", "messages: [\n", ":2:", "invalid YAML"),
        ("b.yaml", "- 1\n", ":1:", "the file must hold a mapping"),
        ("c.yaml", "name: other\nmessages: []\n", ":1:", "name 'other' does not match"),
        ("d.yaml", "messages:\n  - {role: robot, content: x}\n", ":2:", "messages[0].role"),
        (
            "e.yaml",
            "messages:\n  - {role: user, content: x}\n  - role: user\n    content: '{{ y }'\n",
            ":4:",
            "messages[1].content: line 1: unexpected '}'",
        ),
        (
            "f.yaml",
            "messages:\n  - {role: user, content: '{{ q }}'}\nvariables:\n  q: strin\n",
            ":3:",
            "variable 'q': unknown type 'strin'",
        ),
        ("g.md", "---\nmodel: x\nmessages: [\n---\nbody\n", ":4:", "invalid YAML"),
        ("h.md", "---\nmodel: x\n", ":1:", "front matter is not closed"),
        ("i.yaml", "messages:\n  - {role: user, content: x}\nlabels: [v2]\n", ":3:", "'v2'"),
    ],
)
def test_problems_name_the_file_and_line(
    tmp_path: Path, name: str, text: str, where: str, message: str
) -> None:
    (tmp_path / name).write_text(text)
    (tmp_path / "good.yaml").write_text("messages: [{role: user, content: hi}]\n")
    specs, problems = read_folder(tmp_path)
    assert [s.name for _, s in specs] == ["good"]  # the others are not lost
    (problem,) = problems
    assert f"{name}{where}" in str(problem) and message in str(problem)


def test_what_pull_writes_reads_back_the_same(tmp_path: Path) -> None:
    source = tmp_path / "explain.md"
    source.write_text(MARKDOWN)
    spec = read_file(source)
    version = PromptVersion.model_validate({**spec.model_dump(exclude={"labels"}), "version": 3})
    for markdown, suffix in ((True, ".md"), (False, ".yaml")):
        out = tmp_path / "out" / f"explain{suffix}"
        out.parent.mkdir(exist_ok=True)
        out.write_text(dump_version(version, ["production", "latest"], markdown=markdown))
        again = read_file(out)
        assert again.compute_hash() == spec.compute_hash()
        assert again.labels == ["production"]
