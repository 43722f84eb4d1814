import tokenfab_gaudi
from tokenfab.conformance import assert_pack_conforms


def test_gaudi_pack_conforms():
    assert_pack_conforms(tokenfab_gaudi)
