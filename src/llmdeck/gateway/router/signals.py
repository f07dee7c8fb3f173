"""What makes a request hard, as signals in [0, 1] read from its text: length, code, math,
multi-step reasoning, the number of turns, tools offered, and cues of a simple request.

These are cheap (regular expressions over the text, about 50 microseconds for a short
prompt); `complexity.py` weighs them into a score.
"""

from __future__ import annotations

import math
import re

from llmdeck.gateway.tokens import estimate_text
from llmdeck.gateway.wire.openai import ChatRequest

_CODE = re.compile(
    r"```|^[ \t]*(def|class|import|from \S+ import|function|const|let|var|public|private|"
    r"#include|package|func|fn|SELECT|INSERT|UPDATE|CREATE TABLE)\b|"
    r"[{};][ \t]*$|=>|->|\bTraceback\b|\b\w+Error\b|\bnull pointer\b|\b\w+\([^()\s]{0,80}\)",
    re.MULTILINE,
)
_CODE_WORDS = re.compile(
    r"\b(code|function|class|method|bug|debug|refactor|implement|compile|regex|sql|query|"
    r"algorithm|api|script|python|javascript|typescript|rust|golang|java|c\+\+|kubernetes|"
    r"docker|stack trace|exception|unit test|endpoint|schema|recursion|complexity)\b",
    re.IGNORECASE,
)
_MATH = re.compile(
    r"\\(frac|int|sum|sqrt|lim|prod|partial)|\$[^$]+\$|\b\d+\s*[-+*/^]\s*\d+|[=<>≤≥∑∫√π]|"
    r"\b[a-z]\s*\^\s*\d|\bx\s*[=+-]",
    re.IGNORECASE,
)
_PROOF_WORDS = re.compile(
    r"\b(prove|proof|theorem|lemma|derive|derivation|induction|integral|eigen\w*|"
    r"converge\w*|recurrence|asymptotic)\b",
    re.IGNORECASE,
)
_MATH_WORDS = re.compile(
    r"\b(derivative|equation|solve for|probability|expected value|variance|matrix|polynomial|"
    r"optimi[sz]\w*|statistic\w*|regression|hypothesis|combinatori\w*|calculate|compute)\b",
    re.IGNORECASE,
)
_REASONING = re.compile(
    r"\b(step[- ]by[- ]step|explain (why|how)|why (does|do|is|would)|compare|contrast|"
    r"trade-?offs?|pros and cons|analy[sz]e|evaluate|design|architect\w*|plan|strategy|"
    r"justify|critique|reason\w*|implications?|what would happen|in detail|"
    r"root cause|diagnose|recommend|assess|weigh|prioriti[sz]e|scenario|edge cases?|"
    r"migrat\w+|scal\w+|consisten\w+|concurren\w+|hypothes\w+|experiment|forecast|"
    r"validat\w+|estimate|assumptions?|build or buy|propose|schema|investigat\w+|"
    r"systematic\w*|rollback|uncertainty|allocation|risks?)\b",
    re.IGNORECASE,
)
_STEPS = re.compile(
    r"^[ \t]*(\d+[.)]|[-*•])[ \t]+|\b(first|then|after that|finally|next)\b", re.M | re.I
)
_SIMPLE = re.compile(
    r"^\W*(hi|hello|hey|thanks|thank you|ok|yes|no)\b|\b(translate|synonym|spell|capital of|"
    r"what time|what day|define|definition of|meaning of|who (is|was)|when (is|was|did)|"
    r"how many|convert \d|in one (word|sentence)|one-line|short answer|fix the typo)\b",
    re.IGNORECASE,
)
_CLAUSES = re.compile(r",\s|;\s|\band\b|\bwith\b|\bthen\b|\bincluding\b", re.IGNORECASE)
SCANNED = 20_000  # characters the patterns read: the start and the end of a long request
SIGNALS = ("length", "code", "math", "reasoning", "steps", "clauses", "turns", "tools", "simple")


def _ramp(value: float, low: float, high: float) -> float:
    """0 at `low`, 1 at `high`, linear between (on whatever scale the caller chose)."""
    if value <= low:
        return 0.0
    return 1.0 if value >= high else (value - low) / (high - low)


def _hits(pattern: re.Pattern[str], text: str, full: int) -> float:
    return min(1.0, len(pattern.findall(text)) / full)


def bounded(text: str) -> str:
    """At most SCANNED characters: the head and the tail, where instructions usually are."""
    if len(text) <= SCANNED:
        return text
    half = SCANNED // 2
    return text[:half] + "\n" + text[-half:]


def signals(request: ChatRequest) -> dict[str, float]:
    """The request's signals, each in [0, 1]."""
    texts = [m.text() for m in request.messages if m.role in ("user", "system", "developer")]
    whole = "\n".join(texts)
    tokens = estimate_text(whole)
    text = bounded(whole)
    last = bounded(next((m.text() for m in reversed(request.messages) if m.role == "user"), ""))
    turns = sum(1 for m in request.messages if m.role in ("user", "assistant"))
    return {
        "length": _ramp(math.log2(max(tokens, 1)), math.log2(12), math.log2(400)),
        "code": max(_hits(_CODE, text, 3), 0.6 * _hits(_CODE_WORDS, text, 2)),
        "math": max(
            _hits(_MATH, text, 3), _hits(_PROOF_WORDS, text, 1), 0.7 * _hits(_MATH_WORDS, text, 2)
        ),
        "reasoning": _hits(_REASONING, text, 2),
        "steps": max(_hits(_STEPS, text, 4), _ramp(last.count("?"), 1, 3)),
        "clauses": _ramp(len(_CLAUSES.findall(last)), 1, 5),
        "turns": _ramp(turns, 2, 10),
        "tools": 1.0 if request.tools else 0.0,
        "simple": 1.0 if _SIMPLE.search(last) and tokens < 25 else 0.0,
    }
