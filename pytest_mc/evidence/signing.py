"""Signing the bundle: an in-toto Statement in a DSSE envelope, Ed25519 (DESIGN §7).

The statement's subject is the bundle file and its sha256; the predicate names the release,
the chain heads and the QI catalog. The envelope is written beside the bundle as
`<bundle>.dsse.json`. A run without a user key signs with an ephemeral key; the envelope
and the bundle say so, because such a signature proves integrity, not who signed.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_mc.errors import BundleError, InputError

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:pytest-mc:predicate:evidence-bundle:v1"
_STRICT = ConfigDict(extra="forbid", frozen=True)


class DsseSignature(BaseModel):
    model_config = _STRICT
    keyid: str
    sig: str


class DsseEnvelope(BaseModel):
    """The DSSE envelope, plus the public key and whether it was ephemeral."""

    model_config = _STRICT
    payloadType: str
    payload: str
    signatures: tuple[DsseSignature, ...] = Field(min_length=1)
    public_key: str = Field(description="base64 raw Ed25519 public key of the signer")
    ephemeral_key: bool


@dataclass(frozen=True)
class SigningKey:
    """An Ed25519 private key, and whether it was made up for this run."""

    private: Ed25519PrivateKey
    ephemeral: bool

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def keyid(self) -> str:
        return key_id(self.public_raw)


def key_id(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


def load_signing_key(path: Path | None) -> SigningKey:
    """The user's PEM Ed25519 key at `path`, or an ephemeral key when `path` is None."""
    if path is None:
        return SigningKey(private=Ed25519PrivateKey.generate(), ephemeral=True)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InputError(f"signing key not found: {path}; pass a PEM Ed25519 key") from None
    except (ValueError, TypeError) as exc:
        raise InputError(
            f"signing key {path} is not an unencrypted PEM private key ({exc}); create one with "
            f"`openssl genpkey -algorithm ed25519 -out KEY.pem`"
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise InputError(
            f"signing key {path} is not an Ed25519 key; evidence is signed with Ed25519"
        )
    return SigningKey(private=key, ephemeral=False)


def generate_signing_key(path: Path) -> Path:
    """Write a new Ed25519 key to `path` (PEM, readable by its owner only) and its public key
    beside it (`<name>.pub.pem`, to hand to whoever verifies); returns the public key's path.
    An existing file is never overwritten: evidence signed with it would become unverifiable."""
    public_path = path.with_name(f"{path.stem}.pub.pem")
    for existing in (path, public_path):
        if existing.exists():
            raise InputError(f"{existing} already exists; keep it, or remove it first")
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return public_path


def load_public_key(path: Path) -> bytes:
    """Raw Ed25519 public key bytes from a PEM public key (or a PEM private key)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"public key not found: {path}") from None
    try:
        public = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError) as exc:
            raise InputError(f"public key {path} is not a PEM Ed25519 key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise InputError(f"public key {path} is not an Ed25519 key")
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def pae(payload_type: str, payload: bytes) -> bytes:
    """DSSE pre-authentication encoding: what is actually signed."""
    kind = payload_type.encode()
    return b"DSSEv1 %d %s %d %s" % (len(kind), kind, len(payload), payload)


def sign_bundle(
    bundle_path: Path, key: SigningKey, *, predicate: dict[str, object]
) -> DsseEnvelope:
    """Sign the bundle file as it is on disk; write and return `<bundle>.dsse.json`."""
    digest = hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [{"name": bundle_path.name, "digest": {"sha256": digest}}],
        "predicateType": PREDICATE_TYPE,
        "predicate": {**predicate, "ephemeral_key": key.ephemeral},
    }
    payload = json.dumps(statement, sort_keys=True, separators=(",", ":")).encode()
    signature = key.private.sign(pae(PAYLOAD_TYPE, payload))
    envelope = DsseEnvelope(
        payloadType=PAYLOAD_TYPE,
        payload=base64.b64encode(payload).decode(),
        signatures=(DsseSignature(keyid=key.keyid, sig=base64.b64encode(signature).decode()),),
        public_key=base64.b64encode(key.public_raw).decode(),
        ephemeral_key=key.ephemeral,
    )
    envelope_path(bundle_path).write_text(envelope.model_dump_json(indent=2) + "\n")
    return envelope


def envelope_path(bundle_path: Path) -> Path:
    return bundle_path.with_name(bundle_path.name + ".dsse.json")


@dataclass(frozen=True)
class SignatureCheck:
    keyid: str
    ephemeral: bool
    trusted_key: bool


def verify_signature(bundle_path: Path, *, trusted_public_key: bytes | None) -> SignatureCheck:
    """Check the envelope beside `bundle_path`; raise `BundleError` naming what broke."""
    where = envelope_path(bundle_path)
    try:
        envelope = DsseEnvelope.model_validate_json(where.read_bytes())
    except FileNotFoundError:
        raise BundleError(f"signature {where} is missing; the bundle is unsigned") from None
    except ValidationError as exc:
        raise BundleError(f"signature {where} is malformed: {exc.errors()[0]['msg']}") from None
    try:
        payload = base64.b64decode(envelope.payload, validate=True)
        public_raw = base64.b64decode(envelope.public_key, validate=True)
        signature = base64.b64decode(envelope.signatures[0].sig, validate=True)
    except ValueError:
        raise BundleError(f"signature {where}: not valid base64 (altered)") from None
    if trusted_public_key is not None and public_raw != trusted_public_key:
        raise BundleError(
            f"signature {where}: signed by {key_id(public_raw)}, not by the trusted key "
            f"{key_id(trusted_public_key)}"
        )
    try:
        Ed25519PublicKey.from_public_bytes(public_raw).verify(
            signature, pae(envelope.payloadType, payload)
        )
    except (InvalidSignature, ValueError):
        raise BundleError(
            f"signature {where}: Ed25519 signature does not verify; the envelope or its "
            f"statement was altered"
        ) from None
    statement = json.loads(payload)
    digest = hashlib.sha256(bundle_path.read_bytes()).hexdigest()
    subject = statement["subject"][0]
    if subject["digest"]["sha256"] != digest or subject["name"] != bundle_path.name:
        raise BundleError(
            f"signature {where}: the signed digest of {subject['name']} does not match "
            f"{bundle_path.name} (sha256 {digest[:12]}…); the bundle changed after signing"
        )
    return SignatureCheck(
        keyid=key_id(public_raw),
        ephemeral=envelope.ephemeral_key,
        trusted_key=trusted_public_key is not None,
    )
