import tokenfab_gaudi
from tokenfab.conformance import assert_pack_conforms
from tokenfab.testing import PackConformance


def test_gaudi_pack_conforms():
    assert_pack_conforms(tokenfab_gaudi)


class TestGaudiPack(PackConformance):
    """tokenfab's conformance suite (pytest plugin), run against the installed pack 'gaudi'."""

    pack = "gaudi"
