"""Secrets the master's runners hand to the tools they drive (Terraform providers, Nomad's ACL
token): a reference ``<kv path>#<key>`` into the secrets store (OpenBao, kv v2), read through
eos.vault with the master's token file. The value goes straight to its user; it is never
logged, returned, put into pillar or into an error message (errors name the path and key)."""
from salt.exceptions import CommandExecutionError

from eos import vault


def read(opts, ref, what):
    """The secret ``ref`` names, for ``what`` (said in errors). Master options:
    ``eos_vault_addr``, ``eos_vault_token_file`` (default /etc/eos/vault/token),
    ``eos_vault_verify``, ``eos_vault_timeout``, ``eos_vault_mount`` (default secret)."""
    if not isinstance(ref, str) or ref.count("#") != 1 or not all(ref.split("#")):
        raise CommandExecutionError(f"{what}: a secret reference is '<kv path>#<key>', got {ref!r}")
    if not opts.get("eos_vault_addr"):
        raise CommandExecutionError(
            f"{what}: master option eos_vault_addr is not set: where is the secrets store?")
    conf = vault.settings({"addr": opts["eos_vault_addr"], "token_file": opts.get("eos_vault_token_file"),
                           "verify": opts.get("eos_vault_verify", True),
                           "timeout": opts.get("eos_vault_timeout"),
                           "mount": opts.get("eos_vault_mount", vault.DEFAULT_MOUNT)})
    path, key = ref.split("#")
    client = vault.connect(conf["addr"], token_file=conf["token_file"], verify=conf["verify"],
                           timeout=conf["timeout"])
    data = vault.kv_get(client, path, conf["mount"])
    if key not in data:
        raise CommandExecutionError(f"{what}: secret {conf['mount']}/{path} has no key {key!r}")
    return str(data[key])
