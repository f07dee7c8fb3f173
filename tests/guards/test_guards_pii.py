"""PII and secrets: checksums, each recogniser, redaction with consistent placeholders."""

from __future__ import annotations

import pytest

from llmdeck.guards import PiiDetector, Vault, build_detector, redact
from llmdeck.guards.pii import checksums


def test_luhn() -> None:
    assert checksums.luhn("4111 1111 1111 1111") and checksums.luhn("378282246310005")
    assert not checksums.luhn("4111 1111 1111 1112")


def test_iban_mod97_and_length() -> None:
    assert checksums.iban("GB82 WEST 1234 5698 7654 32") and checksums.iban(
        "DE89370400440532013000"
    )
    assert not checksums.iban("GB82 WEST 1234 5698 7654 33")  # check digits
    assert not checksums.iban("GB82WEST123456987654")  # length for GB
    assert not checksums.iban("QQ82WEST12345698765432")  # no such country


def test_national_ids() -> None:
    assert checksums.us_ssn("123-45-6788")
    for bad in ("000-12-3456", "666-12-3456", "912-34-5678", "123-00-4567", "078-05-1120"):
        assert not checksums.us_ssn(bad), bad
    assert checksums.uk_nino("AB 12 34 56 C") and not checksums.uk_nino("GB 12 34 56 C")
    assert checksums.es_dni("12345678Z") and not checksums.es_dni("12345678A")
    assert checksums.es_dni("X1234567L")
    assert checksums.br_cpf("111.444.777-35") and not checksums.br_cpf("111.444.777-36")
    assert not checksums.br_cpf("111.111.111-11")
    assert checksums.verhoeff("2363") and not checksums.verhoeff("2364")


CASES = {
    "email": "write to jane.roe@example.org now",
    "phone": "call me on +44 20 7946 0958 tomorrow",
    "credit_card": "my card is 4111-1111-1111-1111",
    "iban": "IBAN: DE89 3704 0044 0532 0130 00.",
    "us_ssn": "SSN 123-45-6788",
    "uk_nino": "NI number AB 12 34 56 C",
    "es_dni": "DNI 12345678Z",
    "br_cpf": "CPF 111.444.777-35",
    "ip_address": "from 203.0.113.7 and 2001:db8::8a2e:370:7334",
    "openai_key": "key sk-proj-Zq8Xw3Vt6Ub9Ra2Sd5Fg7Hj1Kl4Mn0Pq",
    "anthropic_key": "key sk-ant-api03-Zq8Xw3Vt6Ub9Ra2Sd5Fg7Hj1Kl4Mn0Pq",
    "aws_access_key": "AKIAIOSFODNN7EXAMPLE",
    "github_token": "ghp_abcdefghijklmnopqrstuvwxyz0123456789",
    "slack_token": "xoxb-123456789012-abcdefghijkl",
    "google_api_key": "AIzaSyA1234567890abcdefghijklmnopqrstuv",
    "jwt": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0",
    "private_key": "-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY-----",
    "credential": "password = hunter2hunter2",
    "street_address": "She lives at 1600 Pennsylvania Avenue, Washington.",
}


@pytest.fixture(scope="module")
def detector() -> PiiDetector:
    return PiiDetector()


@pytest.mark.parametrize("kind", sorted(CASES))
def test_each_type_is_found(detector: PiiDetector, kind: str) -> None:
    found = {f.type for f in detector.check(CASES[kind]).findings}
    assert kind in found, found


NOT_PII = [
    "card 4111 1111 1111 1112 fails the Luhn check",
    "IBAN GB82 WEST 1234 5698 7654 33 has wrong check digits",
    "version 1.2.3 released on 2024-05-01 at 10:30",
    "the meeting is on 12/05/2024",
    "SSN 666-12-3456 is never issued",
    "sk-short",
]


@pytest.mark.parametrize("text", NOT_PII)
def test_lookalikes_are_not_flagged(detector: PiiDetector, text: str) -> None:
    rules = {f.type for f in detector.check(text).findings} - {"person", "street_address"}
    assert not rules, rules


def test_redaction_uses_consistent_placeholders_and_restores() -> None:
    text = "a@b.io wrote to c@d.io, then a@b.io again; card 4111 1111 1111 1111"
    verdict = PiiDetector(types=["email", "credit_card"]).check(text)
    vault = Vault()
    hidden = redact(text, verdict.findings, vault)
    assert hidden == "<EMAIL_1> wrote to <EMAIL_2>, then <EMAIL_1> again; card <CREDIT_CARD_1>"
    assert vault.restore(hidden) == text
    assert vault.restore("unknown <EMAIL_9> stays") == "unknown <EMAIL_9> stays"


def test_types_option_and_secrets_detector() -> None:
    secrets = build_detector("secrets")
    assert secrets.name == "secrets"
    found = secrets.check("mail a@b.io key AKIAIOSFODNN7EXAMPLE").findings
    assert [f.type for f in found] == ["aws_access_key"]
    with pytest.raises(ValueError, match="unknown type 'bogus'"):
        build_detector("pii", {"types": ["bogus"]})
