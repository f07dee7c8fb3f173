"""Guards: detectors behind one protocol (text in, Verdict out), usable inline in the gateway,
on recorded traces, and as evaluators.

Other capabilities use only what is exported here.
"""

from llmdeck.guards.base import (
    AsyncDetector,
    Detector,
    DetectorContext,
    DetectorFactory,
    Embed,
    Finding,
    Judge,
    Verdict,
)
from llmdeck.guards.grounded import GroundednessDetector
from llmdeck.guards.injection import IndirectInjectionDetector, InjectionDetector
from llmdeck.guards.output import BannedTermsDetector, JsonDetector, LengthDetector
from llmdeck.guards.pii.detector import PiiDetector
from llmdeck.guards.policy import (
    Checked,
    Counters,
    Guard,
    GuardBlocked,
    Policy,
    Result,
    Side,
    build_policy,
    run_detector,
)
from llmdeck.guards.redact import Vault, partial_placeholder, redact
from llmdeck.guards.registry import UnknownDetector, build_detector, detector_factories

__all__ = [
    "AsyncDetector",
    "BannedTermsDetector",
    "Checked",
    "Counters",
    "Detector",
    "DetectorContext",
    "DetectorFactory",
    "Embed",
    "Finding",
    "GroundednessDetector",
    "Guard",
    "GuardBlocked",
    "IndirectInjectionDetector",
    "InjectionDetector",
    "JsonDetector",
    "Judge",
    "LengthDetector",
    "PiiDetector",
    "Policy",
    "Result",
    "Side",
    "UnknownDetector",
    "Vault",
    "Verdict",
    "build_detector",
    "build_policy",
    "detector_factories",
    "partial_placeholder",
    "redact",
    "run_detector",
]
