"""Rule-based recognisers: a pattern finds candidates, a validator (checksum, format rules,
nearby words) decides how sure we are. Each yields (type, start, end, score)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from llmdeck.guards.pii import checksums

Match = tuple[str, int, int, float]

_PHONE_WORDS = re.compile(
    r"(?:phone|\btel\b|telephone|call|mobile|cell|fax|desk|whatsapp|sms|text\s+me|number|"
    r"reach|contact|dial|answering|telefon|handy|téléphone|portable|móvil|messages?\s+to|"
    r"registered)",
    re.IGNORECASE,
)
_PHONE_AFTER = re.compile(r"[\s\-]*(?:office|mobile|cell|fax|home|work|desk|phone|tel\b)", re.I)
_SSN_WORDS = re.compile(r"(?:ssn|social\s+security|tax\s*id|tin)\b", re.IGNORECASE)
_ID_WORDS = re.compile(r"(?:dni|nie|cpf|aadhaar|uid|id\s*(?:number|no)|national\s+id)", re.I)


def _near(words: re.Pattern[str], text: str, start: int, end: int, span: int = 40) -> bool:
    return bool(words.search(text, max(0, start - span), start))


@dataclass(frozen=True)
class Recognizer:
    """A candidate pattern and the function scoring each candidate (None: reject)."""

    type: str
    pattern: re.Pattern[str]
    score: Callable[[str, re.Match[str]], float | None]
    group: int = 0

    def find(self, text: str) -> Iterator[Match]:
        """Every accepted match in `text`."""
        for match in self.pattern.finditer(text):
            score = self.score(text, match)
            if score is not None:
                yield self.type, match.start(self.group), match.end(self.group), score


def _email(text: str, match: re.Match[str]) -> float | None:
    return 0.99


def _card(text: str, match: re.Match[str]) -> float | None:
    value = match.group()
    number = checksums.digits(value)
    if not 12 <= len(number) <= 19 or not checksums.luhn(number) or len(set(number)) < 2:
        return None
    known = re.match(r"4|5[1-5]|2[2-7]|3[47]|3[068]|35|6|1800|2131", number)
    if known and len(number) >= 13:
        return 0.95
    return 0.75 if known else 0.55


def _iban(text: str, match: re.Match[str]) -> float | None:
    return 0.99 if checksums.iban(match.group()) else None


def _ssn(text: str, match: re.Match[str]) -> float | None:
    value = match.group()
    if not checksums.us_ssn(value):
        return None
    if value.isdigit():
        return 0.85 if _near(_SSN_WORDS, text, match.start(), match.end()) else None
    return 0.9 if _near(_SSN_WORDS, text, match.start(), match.end()) else 0.75


def _nino(text: str, match: re.Match[str]) -> float | None:
    return 0.85 if checksums.uk_nino(match.group()) else None


def _checked(
    check: Callable[[str], bool], plain: float
) -> Callable[[str, re.Match[str]], float | None]:
    def score(text: str, match: re.Match[str]) -> float | None:
        if not check(match.group()):
            return None
        return 0.95 if _near(_ID_WORDS, text, match.start(), match.end()) else plain

    return score


def _ipv4(text: str, match: re.Match[str]) -> float | None:
    before = text[max(0, match.start() - 8) : match.start()].lower()
    if re.search(r"(?:v|version|ver\.?)\s*$", before):
        return None
    return 0.85


def _ipv6(text: str, match: re.Match[str]) -> float | None:
    value = match.group()
    if value.count(":") < 2 or sum(c.isalnum() for c in value) < 4:
        return None
    try:
        ipaddress.IPv6Address(value)
    except ValueError:
        return None
    return 0.85


# North American (NXX) NXX-XXXX, or a national number with its leading trunk 0, 8+ digits.
_PHONE_SHAPE = re.compile(
    r"^(?:\(?\d{3}\)?[\s.\-]?\d{3}[\s.\-]\d{4}$|0\d{1,4}[\s.\-]\d(?:[\s.\-]?\d){5,})"
)
_DATE = re.compile(r"^(?:\d{4}[-/.]\d{1,2}[-/.]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})$")


def _phone(text: str, match: re.Match[str]) -> float | None:
    value = match.group()
    main = re.split(r"\s*(?:x|ext\.?)\s*\d", value, maxsplit=1)[0]
    count = len(checksums.digits(main))
    if not 7 <= count <= 15 or _DATE.match(main.strip()):
        return None
    if re.fullmatch(r"\d{1,3}(?:\.\d{1,3}){3}", main):  # an IPv4 address
        return None
    if text[match.end() : match.end() + 1] == ":":  # a time of day
        return None
    plus = value.startswith("+") or value.startswith("(")
    grouped = bool(re.search(r"\d[\s.\-)]+\d", main))
    near = _near(_PHONE_WORDS, text, match.start(), match.end()) or bool(
        _PHONE_AFTER.match(text, match.end())
    )
    if not grouped and not plus:
        return 0.8 if near else (0.55 if count == 10 else None)
    if not near and not plus and not _PHONE_SHAPE.match(main):
        return 0.45  # digit groups alone: as often a house number and a postcode, or an id
    return min(0.6 + (0.3 if near else 0.0) + (0.1 if plus else 0.0), 0.97)


def _secret(score: float) -> Callable[[str, re.Match[str]], float | None]:
    return lambda text, match: score


RECOGNIZERS: tuple[Recognizer, ...] = (
    Recognizer("private_key", re.compile(
        r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)"
    ), _secret(1.0)),
    Recognizer("anthropic_key", re.compile(r"\bsk-ant-(?:api|admin|sid)\d{2}-[A-Za-z0-9_\-]{20,}"), _secret(0.99)),
    Recognizer("openai_key", re.compile(r"\bsk-(?!ant-)(?:proj-|svcacct-|admin-|None-)?[A-Za-z0-9_\-]{20,}"), _secret(0.95)),
    Recognizer("aws_access_key", re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b"), _secret(0.95)),
    Recognizer("aws_secret_key", re.compile(
        r"(?i)aws.{0,20}(?:secret|private).{0,20}?[=:]\s*[\"']?([A-Za-z0-9/+=]{40})(?![A-Za-z0-9/+=])"
    ), _secret(0.9), group=1),
    Recognizer("github_token", re.compile(r"\b(?:(?:ghp|gho|ghu|ghs|ghr)_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{22,})\b"), _secret(0.99)),
    Recognizer("slack_token", re.compile(r"\bxox[abposre]-[A-Za-z0-9\-]{10,}|https://hooks\.slack\.com/services/[A-Za-z0-9/]+"), _secret(0.95)),
    Recognizer("google_api_key", re.compile(r"\bAIza[0-9A-Za-z_\-]{35}(?![0-9A-Za-z_\-])"), _secret(0.95)),
    Recognizer("stripe_key", re.compile(r"\b(?:sk|rk|pk)_(?:live|test)_[A-Za-z0-9]{20,}"), _secret(0.95)),
    Recognizer("jwt", re.compile(r"\beyJ[A-Za-z0-9_\-]{8,}\.eyJ[A-Za-z0-9_\-]{8,}\.[A-Za-z0-9_\-]{8,}"), _secret(0.9)),
    Recognizer("credential", re.compile(
        r"(?i)\b(?:api[_\-]?key|secret(?:[_\-]?key)?|access[_\-]?token|auth[_\-]?token|password|passwd|pwd)\b[\"']?\s*[=:]\s*[\"']?([^\s\"',;]{8,})"
    ), _secret(0.7), group=1),
    Recognizer("email", re.compile(
        r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*\.[A-Za-z]{2,}\b"
    ), _email),
    Recognizer("iban", re.compile(
        r"\b[A-Za-z]{2}\d{2}(?:[A-Za-z0-9]{11,30}|(?: [A-Za-z0-9]{4}){2,7}(?: [A-Za-z0-9]{1,4})?)\b"
    ), _iban),
    Recognizer("credit_card", re.compile(r"(?<![\d-])\d(?:[ \-]?\d){11,18}(?![\d-])"), _card),
    Recognizer("us_ssn", re.compile(r"(?<![\d-])(?:\d{3}-\d{2}-\d{4}|\d{3} \d{2} \d{4}|\d{9})(?![\d-])"), _ssn),
    Recognizer("uk_nino", re.compile(r"\b[A-Za-z]{2} ?\d{2} ?\d{2} ?\d{2} ?[A-Da-d]\b"), _nino),
    Recognizer("es_dni", re.compile(r"\b[XYZxyz]?\d{7,8}-?[A-Za-z]\b"), _checked(checksums.es_dni, 0.8)),
    Recognizer("br_cpf", re.compile(r"(?<![\d.])\d{3}\.\d{3}\.\d{3}-\d{2}(?![\d])"), _checked(checksums.br_cpf, 0.9)),
    Recognizer("in_aadhaar", re.compile(r"(?<!\d)[2-9]\d{3} \d{4} \d{4}(?!\d)"), _checked(checksums.in_aadhaar, 0.7)),
    Recognizer("ip_address", re.compile(
        r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(?:\.(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(?![\d.]|\.\d)"
    ), _ipv4),
    Recognizer("ip_address", re.compile(r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:%\w+)?(?![\w:])"), _ipv6),
    Recognizer("phone", re.compile(
        r"(?<![\w+\-./])(?!\d{4}-\d\d?-\d\d?(?![-\d])|\d\d?[-/.]\d\d?[-/.]\d{2,4}(?![-/.]?\d))"
        r"(?:\+\d{1,3}[ \t.\-]?)?(?:\(\d{1,5}\)[ \t.\-]?)?\d{1,5}(?:[ \t.\-]\d{1,5}|\d){1,8}"
        r"(?:\s?(?:x|ext\.?)\s?\d{1,5})?(?!\w|-\d)"
    ), _phone),
)  # fmt: skip
"""In priority order: where two matches overlap, the earlier recogniser's wins."""

SECRET_TYPES = frozenset(
    {"private_key", "anthropic_key", "openai_key", "aws_access_key", "aws_secret_key",
     "github_token", "slack_token", "google_api_key", "stripe_key", "jwt", "credential"}
)  # fmt: skip


def find_all(text: str, types: frozenset[str] | None = None) -> list[Match]:
    """Accepted matches of every recogniser, overlaps resolved by priority."""
    taken: list[tuple[int, int]] = []
    out: list[Match] = []
    for recognizer in RECOGNIZERS:
        if types is not None and recognizer.type not in types:
            continue
        for match in recognizer.find(text):
            _, start, end, _ = match
            if any(start < e and s < end for s, e in taken):
                continue
            taken.append((start, end))
            out.append(match)
    return sorted(out, key=lambda m: m[1])
