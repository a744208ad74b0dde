"""Role states render node ids from pillar eos:roles, which holds other minions' ids: an id
holding newlines, YAML or quotes adds no state and reaches no config file (only plausible ids
are taken as peers), while a plausible peer does."""
HOSTILE = "evil\n    - name: /etc/pwned\n'\"x: [y]"


def test_a_hostile_peer_id_adds_no_state_and_reaches_no_file(salt_local):
    roles = ["core", "data", "message", "observe"]
    salt_local.pillar({"eos": {"roles": {"eos-test-minion": roles, "peer-2": roles, HOSTILE: roles}}})
    ret = salt_local.call("state.show_sls", "roles.core,roles.data,roles.message,roles.observe,roles.absent")
    assert ret.returncode == 0, ret
    args = [arg for state in ret.data.values() for fun in state.values() if isinstance(fun, list)
            for arg in fun if isinstance(arg, dict)]
    names = [a["name"] for a in args if "name" in a]
    assert names and "/etc/pwned" not in names, names
    contents = "".join(str(a["contents"]) for a in args if "contents" in a)
    assert "peer-2" in contents, contents
    assert "pwned" not in contents and "evil" not in contents, contents
