"""Known shapes of prompt injection and jailbreaks, matched on normalised (lower-case) text.

Each signature has a score: how sure a match alone makes us. Patterns allow missing spaces
(`\\s*`) because letter-spaced evasions are joined into one run by normalisation.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_ALL = r"(?:all\s*|any\s*|every\s*|the\s*|your\s*|my\s*|these\s*|those\s*|of\s*)*"
_VERB = r"(?:ignore|disregard|forget|skip|override|bypass|neglect)"
_BEFORE = r"(?:previous|prior|above|earlier|preceding|former|initial|original|old|system|given|provided|existing)\s*"
_RULES = r"(?:instructions?|prompts?|rules|directions?|guidelines|context|commands?|orders|tasks?|constraints|restrictions|programming|guidance|text)"
_STRICT_RULES = r"(?:instructions?|prompts?|rules|directions?|guidelines|commands?|constraints|restrictions|programming)"


@dataclass(frozen=True)
class Signature:
    """A named pattern and the risk a match carries."""

    name: str
    pattern: re.Pattern[str]
    score: float


def _sig(name: str, score: float, *patterns: str) -> Signature:
    return Signature(name, re.compile("|".join(f"(?:{p})" for p in patterns)), score)


DIRECT = (
    _sig(
        "ignore_instructions",
        0.95,
        rf"\b{_VERB}\s*{_ALL}{_BEFORE}{_RULES}",
        rf"\b{_VERB}\s*(?:all|any|every)\s*{_ALL}{_STRICT_RULES}",
        r"\b(?:ignore|disregard|forget)\s*(?:everything|anything|what)\s*(?:(?:i|you)\s*(?:said|told|were|was|know|have\s*been)|before|above|previously)",
        r"\bdo\s*not\s*follow\s*(?:your|the|any)\s*(?:previous\s*|system\s*)?(?:instructions|rules)",
    ),
    _sig(
        "ignore_instructions_de",
        0.95,
        r"\b(?:ignoriere|ignorieren\s*sie|vergiss|vergessen\s*sie|missachte)\s*(?:alle|alles|die|deine|ihre|s[aä]mtliche|jegliche|vorherigen|bisherigen|obigen|vorangegangenen|\s)*(?:anweisungen|aufgaben|instruktionen|befehle|anordnungen|regeln|informationen|vorgaben)",
        r"\b(?:vergiss|vergessen\s*sie)\s*(?:alles|alle)\b",
    ),
    _sig(
        "new_instructions",
        0.8,
        r"\b(?:new|updated|real|actual|secret)\s*(?:instructions?|task|rules|orders)\s*(?::|are|is|follow)",
        r"\byour\s*(?:new|real)\s*(?:task|job|goal|instructions?)\s*(?:is|are|will)",
        r"\bneue\s*(?:aufgabe|anweisung|anweisungen)\b",
        r"\bnow\s*(?:focus|concentrate)\s*on\s*(?:your|the|a)\s*new\s*task",
    ),
    _sig(
        "prompt_leak",
        0.85,
        r"\b(?:reveal|show|print|repeat|display|output|tell\s*me|give\s*me|return|spell|leak|share|write\s*out)\s*(?:me\s*)?(?:all\s*)?(?:of\s*)?(?:your|the)\s*(?:full\s*|entire\s*|exact\s*|original\s*|initial\s*|hidden\s*|secret\s*|internal\s*)*(?:system\s*(?:prompt|message|instructions)|prompt\s*texts?|initial\s*(?:prompt|instructions)|instructions\s*(?:above|you\s*were\s*given))",
        r"\b(?:what|which)\s*(?:is|are|was|were)\s*(?:your|the)\s*(?:system\s*prompt|initial\s*instructions|hidden\s*instructions)",
        r"\b(?:repeat|print)\s*(?:the\s*)?(?:words|text)\s*above\b",
        r"\bzeige?\s*(?:mir\s*)?(?:deinen|den|alle)\s*(?:system\s*)?prompt",
    ),
    _sig(
        "persona_override",
        0.9,
        r"\b(?:you\s*are|you're|act\s*as|pretend\s*(?:to\s*be|you\s*are))\s*(?:now\s*)?(?:a\s*|an\s*)?(?:dan|stan|dude|aim|evil|unfiltered|uncensored|unrestricted|jailbroken|amoral|unethical)\b",
        r"\bdo\s*anything\s*now\b",
        r"\b(?:developer|god|jailbreak|unrestricted|dan)\s*mode\b",
        r"\b(?:without|no|free\s*of|free\s*from|not\s*bound\s*by)\s*(?:any\s*)?(?:moral|ethical|content)?\s*(?:restrictions|filters|censorship|guidelines|limitations|boundaries)\b.{0,80}\b(?:answer|respond|reply|output)",
        r"\b(?:openai|anthropic|content)\s*(?:policy|policies|guidelines)\s*(?:do|does)\s*not\s*apply",
        r"\bbroken\s*free\s*of\s*the\s*(?:typical\s*)?confines\b",
        r"\b(?:stay|remain)\s*in\s*character\b.{0,120}\b(?:no\s*matter|always|never\s*break)",
    ),
    _sig(
        "role_markers",
        0.7,
        r"<\|(?:im_start|im_end|system|endoftext|start_header_id)\|>",
        r"\[/?inst\]|<</?sys>>",
        r"(?:^|\s)#{2,}\s*(?:system|instruction|new\s*instructions?)\s*:?",
    ),
)

INDIRECT = (
    _sig(
        "addressed_to_model",
        0.85,
        r"\b(?:ai|assistant|chatbot|language\s*model|llm|gpt|claude|bot|agent)\s*[,:;!-]?\s*(?:please\s*)?(?:you\s*must|you\s*should|ignore|disregard|instead|do\s*not\s*(?:tell|mention|reveal)|always\s*(?:say|answer|respond)|respond\s*(?:only\s*)?with|tell\s*the\s*user)",
        r"\b(?:note|message|instructions?)\s*(?:to|for)\s*(?:the\s*)?(?:ai|assistant|model|llm|chatbot|language\s*model|agent)\b",
        r"\bif\s*you\s*are\s*(?:an?\s*)?(?:ai|assistant|language\s*model|llm|large\s*language\s*model)\b",
    ),
    _sig(
        "steer_answer",
        0.75,
        r"\bwhen\s*(?:you\s*)?(?:summari[sz]e|summari[sz]ing|answering|asked|reading|processing)\s*(?:about\s*)?(?:this|the)\s*(?:document|page|text|email|content|article)",
        r"\b(?:tell|inform|convince|instruct)\s*the\s*user\s*(?:that|to)\b",
        r"\b(?:include|insert|add|send|append)\s*(?:this|the\s*following)?\s*(?:link|url|image)\s*(?:in|to)\s*(?:your|the)\s*(?:answer|response|reply|summary)",
        r"!\[[^\]]*\]\(https?://[^)]*[?&][a-z_]+=",
    ),
    _sig(
        "hidden_markup",
        0.6,
        r"<!--[^>]{0,400}\b(?:ignore|instruction|assistant|system|prompt|you\s*must)\b",
        r"\bdisplay\s*:\s*none\b.{0,200}\b(?:ignore|instruction|assistant|you\s*must)\b",
    ),
)


@dataclass(frozen=True)
class Hit:
    """A signature matched `text[start:end]` of the text it ran on."""

    signature: Signature
    start: int
    end: int


def scan(text: str, signatures: tuple[Signature, ...] = DIRECT) -> list[Hit]:
    """Every signature that matches `text` (the first match of each)."""
    hits = []
    for signature in signatures:
        match = signature.pattern.search(text)
        if match:
            hits.append(Hit(signature, match.start(), match.end()))
    return hits
