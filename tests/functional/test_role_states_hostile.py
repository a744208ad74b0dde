"""Role states render node ids from pillar eos:roles, which holds other minions' ids: an id
holding newlines, YAML or quotes stays inside the stub's contents and adds no state."""
HOSTILE = "evil\n    - name: /etc/pwned\n'\"x: [y]"


def test_a_hostile_peer_id_stays_inside_the_stub(salt_local):
    salt_local.pillar({"eos": {"roles": {"eos-test-minion": ["core", "edge"], HOSTILE: ["core", "edge"]}}})
    ret = salt_local.call("state.show_sls", "roles.core,roles.edge,roles.absent")
    assert ret.returncode == 0, ret
    names = [arg["name"] for state in ret.data.values() for args in state.values() if isinstance(args, list)
             for arg in args if isinstance(arg, dict) and "name" in arg]
    assert "/etc/pwned" not in names and names, names
    stub = ret.data["eos-role-edge-Caddyfile"]["file"]
    contents = next(arg["contents"] for arg in stub if isinstance(arg, dict) and "contents" in arg)
    assert contents.endswith(f"# edge peers: eos-test-minion, {HOSTILE}\n"), contents
