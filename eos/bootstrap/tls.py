"""The salt-api certificate: a self-signed RSA key and certificate made by openssl(1) (argv, no
shell), valid for the master's name and addresses. Operators pin it (``curl --cacert``) or
replace both files with ones from their own CA; a present pair is kept."""
import ipaddress
import os

from eos.bootstrap.proc import run


def _san(names):
    out = []
    for name in names:
        try:
            ipaddress.ip_address(name)
            out.append(f"IP:{name}")
        except ValueError:
            out.append(f"DNS:{name}")
    return ",".join(dict.fromkeys(out))


def self_signed(cert, key, names, days=825):
    """Write key (0600) and cert for names unless both exist; returns True when it made them."""
    if os.path.exists(cert) and os.path.exists(key):
        return False
    os.makedirs(os.path.dirname(cert), mode=0o700, exist_ok=True)
    tmp_key, tmp_cert = key + ".tmp", cert + ".tmp"
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
         "-days", str(days), "-subj", f"/CN={names[0]}", "-addext", f"subjectAltName={_san(names)}",
         "-keyout", tmp_key, "-out", tmp_cert], timeout=120)
    os.chmod(tmp_key, 0o600)
    os.replace(tmp_key, key)
    os.replace(tmp_cert, cert)
    return True
