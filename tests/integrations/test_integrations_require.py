"""The core does not need the frameworks: a missing one is a clear ImportError naming the extra."""

from __future__ import annotations

import pytest

from llmdeck.integrations import require


def test_missing_framework_names_the_extra_to_install() -> None:
    with pytest.raises(ImportError, match=r"pip install 'llmdeck\[langchain\]'"):
        require("langchain_core_not_installed", "langchain")
    assert require("json", "langchain").dumps([]) == "[]"
