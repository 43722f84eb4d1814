"""tokenfab.discovery reads the entry points importlib.metadata reads, without importing it."""

import importlib.metadata
import subprocess
import sys
import zipfile

import tokenfab
from tokenfab import discovery


def _ours(group, **kw):
    return [
        (ep.name, ep.value, dist.metadata["Name"], dist.version) for ep, dist in discovery.entry_points(group, **kw)
    ]


def _theirs(group):
    dists = importlib.metadata.distributions()
    return [
        (ep.name, ep.value, d.metadata["Name"], d.version) for d in dists for ep in d.entry_points if ep.group == group
    ]


def test_every_group_of_every_installed_distribution_matches_importlib_metadata():
    groups = {ep.group for d in importlib.metadata.distributions() for ep in d.entry_points}
    assert {"tokenfab", "console_scripts"} <= groups
    for group in groups:
        assert _ours(group) == _theirs(group), group
    unique = [(ep.name, ep.value) for ep, _ in discovery.entry_points("console_scripts", unique=True)]
    assert unique == [(ep.name, ep.value) for ep in importlib.metadata.entry_points(group="console_scripts")]


def test_builtin_packs_load_to_the_same_objects():
    ours = {ep.name: ep.load() for ep, _ in discovery.entry_points("tokenfab")}
    theirs = {ep.name: ep.load() for ep in importlib.metadata.entry_points(group="tokenfab")}
    assert ours == theirs and "nvidia" in ours


def test_entry_points_text_worked_example(tmp_path):
    folder = tmp_path / "Acme.Pack-1.2.dist-info"
    folder.mkdir()
    (folder / "METADATA").write_text("Metadata-Version: 2.1\nName: Acme.Pack\nVersion: 1.2\n\nName: not a header\n")
    (folder / "entry_points.txt").write_text(
        "# comment\n[tokenfab]\nacme = acme_pack.devices:Pack.instance [extra]\n\n[other]\nx=y\n"
    )
    dist = discovery.Distribution(str(folder))
    (ep,) = [ep for ep in dist.entry_points if ep.group == "tokenfab"]
    assert (ep.name, ep.value) == ("acme", "acme_pack.devices:Pack.instance [extra]")
    assert dist.metadata["Name"] == "Acme.Pack" and dist.version == "1.2"  # the body's "Name:" is not a header
    assert dist._normalized_name == "acme_pack"
    assert [(e.group, e.name, e.value) for e in dist.entry_points][1] == ("other", "x", "y")


def test_entry_point_load_resolves_attributes():
    ep = discovery.EntryPoint("x", "os.path:join", "g")
    assert ep.load() is __import__("os").path.join


def test_a_zip_on_sys_path_falls_back_to_importlib_metadata(tmp_path, monkeypatch):
    archive = tmp_path / "packs.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("zpack-0.1.dist-info/METADATA", "Name: zpack\nVersion: 0.1\n")
        zf.writestr("zpack-0.1.dist-info/entry_points.txt", "[tokenfab]\nzpack = zpack\n")
    monkeypatch.syspath_prepend(str(archive))
    found = [(ep.name, dist.metadata["Name"], dist.version) for ep, dist in discovery.entry_points("tokenfab")]
    assert found[0] == ("zpack", "zpack", "0.1")


def test_building_the_registry_does_not_import_importlib_metadata():
    code = "import sys, tokenfab; tokenfab.backends(); print('importlib.metadata' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_deep_copy_is_equal_and_independent_and_takes_what_pickle_cannot():
    import attrs
    from tokenfab.guard import deep_copy

    device = tokenfab.get_backend("nvidia:h100-sxm")
    twin = deep_copy(device)
    assert twin == device and twin is not device and twin.peak_flops_per_s is not device.peak_flops_per_s

    @attrs.define
    class Local:  # defined in a function: pickle cannot name it, copy.deepcopy can
        items: list

    original = Local(items=[1, [2]])
    copied = deep_copy(original)
    assert copied == original and copied.items[1] is not original.items[1]
