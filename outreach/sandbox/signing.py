"""Signing webhooks exactly as the providers do, so the receiving side verifies them
with the providers' own validators."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator


def twilio_signature(auth_token: str, url: str, params: dict[str, str]) -> str:
    """X-Twilio-Signature: HMAC-SHA1 of the URL and the sorted form parameters."""
    return RequestValidator(auth_token).compute_signature(url, params)


@dataclass
class SendGridSigner:
    """The ECDSA key pair of SendGrid's signed event webhook."""

    private_key: ec.EllipticCurvePrivateKey = field(default_factory=lambda: ec.generate_private_key(ec.SECP256R1()))

    @property
    def public_key(self) -> str:
        """Base64 DER, the form SendGrid shows under Mail Settings and the SDK's verifier takes."""
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def sign(self, timestamp: str, payload: str) -> str:
        signature = self.private_key.sign((timestamp + payload).encode(), ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()
