"""Secrets at rest on the Salt master, sealed with the master's own RSA key pair.

Why the master key: whoever can read the master's private key (``pki_dir/master.pem``, root
only, 0400) already commands every minion, so sealing the OpenBao unseal keys and root token
with it adds no new secret to guard and no new way in; a copy of the sealed file (a backup, a
leaked cache directory) is useless without that key. A random AES-256-GCM key encrypts the
JSON document; RSA-OAEP(SHA-256) with the master's public key wraps the AES key.

File format (JSON): ``{"v": 1, "wrapped_key": b64, "nonce": b64, "ciphertext": b64}``, written
0600 through a temp file and rename.
"""
import base64
import json
import os

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from eos.glue import save_json

_OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(),
                     label=None)
_AAD = b"eos-sealed-v1"


def _b64(data):
    return base64.b64encode(data).decode("ascii")


def seal(path, document, public_pem):
    """Encrypt ``document`` (JSON-serialisable) for the holder of the private key matching
    ``public_pem`` (bytes) and write it to ``path`` (0600, its directory 0700)."""
    public = serialization.load_pem_public_key(public_pem)
    key = AESGCM.generate_key(bit_length=256)
    nonce = os.urandom(12)
    ciphertext = AESGCM(key).encrypt(nonce, json.dumps(document).encode("utf-8"), _AAD)
    save_json(path, {"v": 1, "wrapped_key": _b64(public.encrypt(key, _OAEP)),
                     "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)})


def unseal(path, private_pem):
    """The document sealed in ``path``. ValueError when the file is not a sealed document or
    was not sealed for this key (the message names the file, nothing of its content)."""
    with open(path, encoding="utf-8") as f:
        try:
            box = json.load(f)
            wrapped, nonce, ciphertext = (base64.b64decode(box[k], validate=True)
                                          for k in ("wrapped_key", "nonce", "ciphertext"))
        except (ValueError, KeyError, TypeError):
            raise ValueError(f"{path}: not a sealed Eos document") from None
    private = serialization.load_pem_private_key(private_pem, password=None)
    try:
        key = private.decrypt(wrapped, _OAEP)
        return json.loads(AESGCM(key).decrypt(nonce, ciphertext, _AAD))
    except Exception:  # cryptography raises several types; none may leak content
        raise ValueError(f"{path}: cannot be opened with this master key (sealed for another "
                         "key, or damaged)") from None
