"""Signing the bundle: an in-toto Statement in a DSSE envelope, Ed25519 (DESIGN §7), and
whom a verifier trusts.

The statement's subject is the bundle file and its sha256; the predicate names the release,
the chain heads, the QI catalog and whether the key was ephemeral. The envelope is written
beside the bundle as `<bundle>.dsse.json`. Only what the signature covers is acted on: the
signer is whichever key of the verifier's trust set (`--public-key`, `MC_TRUSTED_KEYS`) the
signature verifies under, and the ephemeral flag is read from the signed statement. The
envelope's `public_key` is a hint, used only to name and check a signer nobody trusts. A run
without a user key signs with an ephemeral key: such a signature proves integrity, not who
signed, and no one outside that run holds its public key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_mc.errors import BundleError, InputError
from pytest_mc.inputs import bounded, dotted, parse_json_object, quote, read_json_object

PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "urn:pytest-mc:predicate:evidence-bundle:v1"
TRUST_ENV = "MC_TRUSTED_KEYS"
"""Environment variable: os.pathsep-separated PEM public-key files or directories of them."""
HOW_TO_TRUST = f"pass the signer's public key with --public-key PUB.pem, or list it in ${TRUST_ENV}"
_STRICT = ConfigDict(extra="forbid", frozen=True)


class DsseSignature(BaseModel):
    model_config = _STRICT
    keyid: str = Field(description="hint: the signer's key id (the verifier identifies the key)")
    sig: str


class DsseEnvelope(BaseModel):
    """The DSSE envelope. The signatures cover `payloadType` and `payload`, nothing else."""

    model_config = _STRICT
    payloadType: str
    payload: str
    signatures: tuple[DsseSignature, ...] = Field(min_length=1)
    public_key: str | None = Field(
        default=None,
        description="hint: base64 raw Ed25519 public key of the signer. Not covered by the "
        "signature and never trusted: a verifier checks the signature under its own keys",
    )
    ephemeral_key: bool | None = Field(
        default=None,
        description="written by earlier versions and ignored: the signed statement's "
        "predicate says whether the key was ephemeral",
    )


class StatementSubject(BaseModel):
    model_config = _STRICT
    name: str
    digest: dict[str, str]


class SignedPredicate(BaseModel):
    """The part of the predicate a verifier acts on. The rest (release, catalog, chain heads,
    rehearsal) restates what the subject's digest already covers, so it is accepted as
    signed rather than refused for its shape."""

    model_config = ConfigDict(extra="allow", frozen=True)
    ephemeral_key: bool


class Statement(BaseModel):
    """The in-toto Statement v1 inside the envelope's payload."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    statement_type: Literal["https://in-toto.io/Statement/v1"] = Field(alias="_type")
    subject: tuple[StatementSubject, ...] = Field(min_length=1)
    predicateType: Literal["urn:pytest-mc:predicate:evidence-bundle:v1"]
    predicate: SignedPredicate


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
    def public_pem(self) -> bytes:
        """The public key as PEM (SubjectPublicKeyInfo), what `--public-key` reads."""
        return self.private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )

    @property
    def keyid(self) -> str:
        return key_id(self.public_raw)


def key_id(public_raw: bytes) -> str:
    return "ed25519:" + hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a verifier trusts (raw Ed25519 bytes by key id); may be empty."""

    keys: Mapping[str, bytes] = field(default_factory=dict)

    @classmethod
    def of(cls, public_keys: Iterable[bytes]) -> TrustedKeys:
        return cls({key_id(raw): raw for raw in public_keys})

    @property
    def ids(self) -> tuple[str, ...]:
        return tuple(sorted(self.keys))

    def __bool__(self) -> bool:
        return bool(self.keys)


def load_trusted_keys(
    public_keys: Sequence[Path] = (), *, environ: Mapping[str, str] | None = None
) -> TrustedKeys:
    """The trust set: every `--public-key` file plus every key `$MC_TRUSTED_KEYS` lists.

    `MC_TRUSTED_KEYS` is an os.pathsep-separated list of PEM public-key files or directories
    (every `*.pem` in a directory). An entry that does not exist, a directory without a key
    and a file that is not an Ed25519 key are input errors, never skipped in silence.
    """
    files = list(public_keys)
    listed = (os.environ if environ is None else environ).get(TRUST_ENV, "")
    for entry in listed.split(os.pathsep):
        if not entry.strip():
            continue
        path = Path(entry)
        if path.is_dir():
            found = sorted(child for child in path.glob("*.pem") if child.is_file())
            if not found:
                raise InputError(
                    f"${TRUST_ENV} names the directory {bounded(str(path))}, which holds no "
                    f"*.pem public key; put the signers' public keys there or fix ${TRUST_ENV}"
                )
            files += found
        elif path.exists():
            files.append(path)
        else:
            raise InputError(
                f"${TRUST_ENV} names {bounded(str(path))}, which does not exist; list PEM "
                f"public-key files or directories, separated by {os.pathsep!r}"
            )
    return TrustedKeys.of(load_public_key(path) for path in files)


def load_signing_key(path: Path | None) -> SigningKey:
    """The user's PEM Ed25519 key at `path`, or an ephemeral key when `path` is None."""
    if path is None:
        return SigningKey(private=Ed25519PrivateKey.generate(), ephemeral=True)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except FileNotFoundError:
        raise InputError(f"signing key not found: {path}; pass a PEM Ed25519 key") from None
    except OSError as exc:
        raise InputError(f"cannot read signing key {path}: {exc.strerror or exc}") from None
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise InputError(
            f"signing key {path} is not an unencrypted PEM private key ({bounded(str(exc))}); "
            f"create one with `mc-verify evidence keygen KEY.pem`"
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
    key = SigningKey(private=Ed25519PrivateKey.generate(), ephemeral=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    private_pem = key.private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    public_path.write_bytes(key.public_pem)
    return public_path


def load_public_key(path: Path) -> bytes:
    """Raw Ed25519 public key bytes from a PEM public key (or a PEM private key)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"public key not found: {path}") from None
    except OSError as exc:
        raise InputError(f"cannot read public key {path}: {exc.strerror or exc}") from None
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        try:
            public = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
            raise InputError(
                f"public key {path} is not a PEM Ed25519 key ({bounded(str(exc))})"
            ) from None
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
    statement = Statement(
        statement_type="https://in-toto.io/Statement/v1",
        subject=(StatementSubject(name=bundle_path.name, digest={"sha256": digest}),),
        predicateType="urn:pytest-mc:predicate:evidence-bundle:v1",
        predicate=SignedPredicate(**predicate, ephemeral_key=key.ephemeral),
    )
    envelope = signed_envelope(statement.model_dump_json(by_alias=True).encode(), key)
    envelope_path(bundle_path).write_text(
        envelope.model_dump_json(indent=2, exclude_none=True) + "\n"
    )
    return envelope


def signed_envelope(payload: bytes, key: SigningKey) -> DsseEnvelope:
    """A DSSE envelope of an in-toto statement (`payload`), signed with `key`."""
    signature = key.private.sign(pae(PAYLOAD_TYPE, payload))
    return DsseEnvelope(
        payloadType=PAYLOAD_TYPE,
        payload=base64.b64encode(payload).decode(),
        signatures=(DsseSignature(keyid=key.keyid, sig=base64.b64encode(signature).decode()),),
        public_key=base64.b64encode(key.public_raw).decode(),
    )


def envelope_path(bundle_path: Path) -> Path:
    return bundle_path.with_name(bundle_path.name + ".dsse.json")


@dataclass(frozen=True)
class SignatureCheck:
    """Who signed (the key the signature verifies under) and whether the caller trusts it."""

    keyid: str
    ephemeral: bool
    trusted: bool


def verify_signature(bundle_path: Path, *, trusted: TrustedKeys) -> SignatureCheck:
    """Check the envelope beside `bundle_path`; raise `BundleError` naming what broke.

    The signature must verify, under a trusted key or, when none of them signed, under the
    envelope's hinted key (then `trusted` is False and the caller refuses the signer: a valid
    signature by a key nobody trusts proves nothing about who wrote the bundle). The signed
    statement must name this bundle file and its sha256.
    """
    where = envelope_path(bundle_path)
    if not where.exists():
        raise BundleError(f"signature {where} is missing; the bundle is unsigned")
    payload, signer = verified_payload(where, trusted=trusted, what="signature")
    statement = _statement(payload, where=where)
    digest = hashlib.sha256(_bundle_bytes(bundle_path)).hexdigest()
    subject = statement.subject[0]
    if subject.digest.get("sha256") != digest or subject.name != bundle_path.name:
        raise BundleError(
            f"signature {where}: the signed digest of {quote(subject.name)} does not match "
            f"{bundle_path.name} (sha256 {digest[:12]}…); the bundle changed after signing"
        )
    return SignatureCheck(
        keyid=key_id(signer),
        ephemeral=statement.predicate.ephemeral_key,
        trusted=signer in trusted.keys.values(),
    )


def verified_payload(where: Path, *, trusted: TrustedKeys, what: str) -> tuple[bytes, bytes]:
    """The in-toto statement a DSSE envelope file signs, and the raw public key it verifies
    under: a trusted key's or, when none of them signed, the envelope's hinted key (the
    caller refuses that signer unless it is trusted). `BundleError` names what broke."""
    document = read_json_object(where, what=what, error=BundleError)
    try:
        envelope = DsseEnvelope.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BundleError(
            f"{what} {where} is malformed: {dotted(first['loc'])}: {first['msg']}"
        ) from None
    try:
        payload = base64.b64decode(envelope.payload, validate=True)
        signatures = [base64.b64decode(s.sig, validate=True) for s in envelope.signatures]
    except (ValueError, binascii.Error):
        raise BundleError(f"{what} {where}: not valid base64 (altered)") from None
    signed = pae(envelope.payloadType, payload)
    signer = _signer(signatures, signed, trusted.keys.values())
    if signer is None:
        hinted = _hinted_key(envelope)
        signer = _signer(signatures, signed, [hinted] if hinted is not None else [])
        if signer is None:
            against = "any trusted key" if trusted else "the key the envelope names"
            raise BundleError(
                f"{what} {where}: Ed25519 signature does not verify under {against}; the "
                f"envelope or its statement was altered"
            )
    if envelope.payloadType != PAYLOAD_TYPE:
        raise BundleError(
            f"{what} {where}: payloadType {quote(envelope.payloadType)} is not "
            f"{PAYLOAD_TYPE!r}; this is not an in-toto statement's envelope"
        )
    return payload, signer


def untrusted_signer(check: SignatureCheck, trusted: TrustedKeys) -> str:
    """Why `check`'s signer is refused (no key is trusted at all, or not this one), and what
    to do about it."""
    ephemeral = (
        " (an ephemeral key: only the run that made it held its public key; sign with "
        "--signing-key KEY.pem, in pytest --mc-signing-key, to make evidence others can "
        "authenticate)"
        if check.ephemeral
        else ""
    )
    if not trusted:
        return (
            f"the signer {check.keyid}{ephemeral} is not authenticated: no trusted key was "
            f"given; {HOW_TO_TRUST}"
        )
    return (
        f"the signer {check.keyid}{ephemeral} is not a trusted key (trusted: "
        f"{', '.join(trusted.ids)}); {HOW_TO_TRUST} if you trust it"
    )


def _signer(
    signatures: Sequence[bytes], signed: bytes, candidates: Iterable[bytes]
) -> bytes | None:
    """The first candidate public key under which one of `signatures` verifies."""
    for raw in candidates:
        try:
            public = Ed25519PublicKey.from_public_bytes(raw)
        except ValueError:
            continue
        for signature in signatures:
            try:
                public.verify(signature, signed)
            except InvalidSignature:
                continue
            return raw
    return None


def _hinted_key(envelope: DsseEnvelope) -> bytes | None:
    if envelope.public_key is None:
        return None
    try:
        return base64.b64decode(envelope.public_key, validate=True)
    except (ValueError, binascii.Error):
        return None


def _statement(payload: bytes, *, where: Path) -> Statement:
    document = parse_json_object(
        payload, where=f"signature {where}: the signed statement", error=BundleError
    )
    try:
        return Statement.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise BundleError(
            f"signature {where}: the signed statement is not an evidence-bundle statement: "
            f"{dotted(first['loc'])}: {bounded(first['msg'])}"
        ) from None


def _bundle_bytes(bundle_path: Path) -> bytes:
    try:
        return bundle_path.read_bytes()
    except OSError as exc:
        raise BundleError(
            f"cannot read evidence bundle {bundle_path}: {exc.strerror or exc}"
        ) from None
