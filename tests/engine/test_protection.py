"""Protection of sensitive values: encryption, keys, the blind index and masks (no database)."""

from __future__ import annotations

import base64
import stat
import threading
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine.protection import DecryptionFailed, KeyProblem, Plain, Protector, field_place
from engine.protection.blind_index import normalise
from engine.protection.fingerprint import check_key
from engine.protection.keys import KEY_FILE, KeyRing, MasterKey, load_keys, new_key_text
from engine.protection.masks import mask_value
from engine.settings import Settings
from tests.databases import started_runtime

PLACE = "housing.applicant.id_number"
ID_NUMBER = "11010519900101123X"
ALGORITHMS = ["aes-gcm", "sm4-gcm"]


def settings_with(tmp_path: Path, **values: object) -> Settings:
    return Settings(data_dir=tmp_path / "var", **values)  # type: ignore[arg-type]


def protector(tmp_path: Path, algorithm: str = "aes-gcm", **values: object) -> Protector:
    settings = settings_with(tmp_path, encryption_algorithm=algorithm, **values)
    return Protector.from_settings(settings)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("string", ID_NUMBER),
        ("string", "张三丰"),
        ("string", ""),
        ("text", "line one\nline two"),
        ("integer", 0),
        ("integer", -(2**63)),
        ("integer", 2**63 - 1),
        ("decimal", Decimal("12.50")),
        ("decimal", Decimal("-0.001")),
        ("decimal", Decimal("123456789012345678.12")),
        ("date", date(1990, 1, 1)),
    ],
)
def test_values_round_trip_with_their_exact_type(
    tmp_path: Path, algorithm: str, kind: str, value: Plain
) -> None:
    sealed = protector(tmp_path, algorithm).seal(PLACE, value)
    assert sealed.ciphertext is not None

    back = protector(tmp_path, algorithm).unseal(PLACE, kind, sealed.ciphertext)

    assert (type(back), back) == (type(value), value)
    assert str(back) == str(value)  # 12.50 stays 12.50


@pytest.mark.parametrize(("algorithm", "tag"), [("aes-gcm", "a1:"), ("sm4-gcm", "s1:")])
def test_ciphertext_is_compact_ascii_naming_algorithm_and_key(
    tmp_path: Path, algorithm: str, tag: str
) -> None:
    text = protector(tmp_path, algorithm).encrypt(PLACE, ID_NUMBER)

    assert text.startswith(tag)
    assert text.isascii() and ID_NUMBER not in text
    # 12-byte nonce + 18 bytes + 16-byte tag, base64url without padding
    assert len(text) == len(tag) + len(base64.urlsafe_b64encode(bytes(46)).rstrip(b"="))


def test_same_value_encrypts_differently_each_time(tmp_path: Path) -> None:
    protection = protector(tmp_path)

    assert protection.encrypt(PLACE, ID_NUMBER) != protection.encrypt(PLACE, ID_NUMBER)


def test_switching_the_algorithm_keeps_old_values_readable(tmp_path: Path) -> None:
    written = protector(tmp_path, "aes-gcm").encrypt(PLACE, ID_NUMBER)

    switched = protector(tmp_path, "sm4-gcm")

    assert switched.decrypt(PLACE, written) == ID_NUMBER
    assert switched.encrypt(PLACE, ID_NUMBER).startswith("s1:")
    assert not switched.is_current(written)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_ciphertext_moved_to_another_field_does_not_decrypt(tmp_path: Path, algorithm: str) -> None:
    protection = protector(tmp_path, algorithm)
    text = protection.encrypt(PLACE, ID_NUMBER)

    with pytest.raises(DecryptionFailed, match="housing.applicant.phone"):
        protection.decrypt("housing.applicant.phone", text)


def flip_a_character(text: str) -> str:
    """One base64 character changed mid-way (the last may only carry padding bits)."""
    return text[:20] + ("A" if text[20] != "A" else "B") + text[21:]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "tamper",
    [
        flip_a_character,
        lambda t: t[:10] + t[12:],  # bytes removed
        lambda t: t[:3],  # nothing after the header
        lambda t: t[:3] + "!!!" + t[6:],  # not base64
        lambda t: "x1:" + t[3:],  # unknown algorithm
        lambda t: ID_NUMBER,  # clear text where ciphertext belongs
        lambda t: ("s" if t[0] == "a" else "a") + t[1:],  # header claims the other algorithm
    ],
)
def test_tampered_ciphertext_is_refused(tmp_path: Path, algorithm: str, tamper: object) -> None:
    protection = protector(tmp_path, algorithm)
    text = protection.encrypt(PLACE, ID_NUMBER)

    with pytest.raises(DecryptionFailed):
        protection.decrypt(PLACE, tamper(text))  # type: ignore[operator]


def test_key_file_is_created_once_private_and_reused(tmp_path: Path) -> None:
    first = protector(tmp_path)
    path = tmp_path / "var" / KEY_FILE
    written = path.read_text()

    second = protector(tmp_path)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text() == written
    assert second.decrypt(PLACE, first.encrypt(PLACE, ID_NUMBER)) == ID_NUMBER
    assert [p.name for p in path.parent.iterdir()] == ["encryption.key"]


def test_processes_starting_together_agree_on_one_key(tmp_path: Path) -> None:
    settings = settings_with(tmp_path)
    rings = []
    barrier = threading.Barrier(8)

    def start() -> None:
        barrier.wait()
        rings.append(load_keys(settings))

    threads = [threading.Thread(target=start) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len({ring.current.secret for ring in rings}) == 1
    assert [p.name for p in (tmp_path / "var" / "keys").iterdir()] == ["encryption.key"]


def test_configured_key_is_used_and_no_key_file_written(tmp_path: Path) -> None:
    key = new_key_text().split(":")[1]
    one = protector(tmp_path, encryption_key=key)
    other = Protector.from_settings(Settings(data_dir=tmp_path / "elsewhere", encryption_key=key))

    assert other.decrypt(PLACE, one.encrypt(PLACE, ID_NUMBER)) == ID_NUMBER
    assert not (tmp_path / "var" / KEY_FILE).exists()


def test_a_different_key_cannot_decrypt(tmp_path: Path) -> None:
    text = protector(tmp_path, encryption_key=new_key_text()).encrypt(PLACE, ID_NUMBER)

    with pytest.raises(DecryptionFailed):
        protector(tmp_path, encryption_key=new_key_text()).decrypt(PLACE, text)


def test_rotated_key_encrypts_and_old_key_still_decrypts(tmp_path: Path) -> None:
    old, new = new_key_text("1"), new_key_text("2")
    written = protector(tmp_path, encryption_key=old).encrypt(PLACE, ID_NUMBER)
    rotated = protector(tmp_path, encryption_key=new, encryption_old_keys=old)

    again = rotated.encrypt(PLACE, ID_NUMBER)

    assert again.startswith("a2:")
    assert rotated.decrypt(PLACE, written) == ID_NUMBER
    assert (rotated.is_current(written), rotated.is_current(again)) == (False, True)
    with pytest.raises(DecryptionFailed, match="key '1' is not loaded"):
        protector(tmp_path, encryption_key=new).decrypt(PLACE, written)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"encryption_key": "not base64!"}, "ANJU_ENCRYPTION_KEY: expected base64 of 32 bytes"),
        ({"encryption_key": base64.b64encode(bytes(16)).decode()}, "expected 32 bytes, got 16"),
        ({"encryption_key": "a-b:" + new_key_text()[2:]}, "key id 'a-b' must be 1 to 8 letters"),
        ({"encryption_old_keys": "x"}, "ANJU_ENCRYPTION_OLD_KEYS: expected base64"),
        ({"encryption_old_keys": new_key_text("1")}, "key id '1' is given more than once"),
        ({"encryption_algorithm": "des"}, "'des' is not one of aes-gcm, sm4-gcm"),
    ],
)
def test_unusable_key_settings_say_which_and_why(
    tmp_path: Path, values: dict[str, str], message: str
) -> None:
    with pytest.raises(KeyProblem, match=message):
        Protector.from_settings(settings_with(tmp_path, **values))


def test_blind_index_is_stable_keyed_and_bound_to_the_place(tmp_path: Path) -> None:
    protection = protector(tmp_path)
    digest = protection.blind_index(PLACE, ID_NUMBER)

    assert len(digest) == 64 and int(digest, 16) >= 0
    assert protector(tmp_path).blind_index(PLACE, ID_NUMBER) == digest  # same key file
    assert protection.blind_index("housing.applicant.phone", ID_NUMBER) != digest
    assert protector(tmp_path / "other").blind_index(PLACE, ID_NUMBER) != digest  # other key
    assert protection.seal(PLACE, ID_NUMBER).blind_index == digest


def test_blind_index_key_is_not_the_encryption_key(tmp_path: Path) -> None:
    ring = load_keys(settings_with(tmp_path))

    derived = {ring.current.derive(p, 32) for p in ("aes-gcm", "blind index")}

    assert len(derived) == 2 and ring.current.secret not in derived


@pytest.mark.parametrize(
    ("typed", "same"),
    [
        ("11010519900101123x", "11010519900101123X"),
        (" 110105 19900101 123X ", "11010519900101123X"),
        ("１３８１２３４５６７８", "13812345678"),  # full-width digits
        ("138 1234 5678", "13812345678"),
    ],
)
def test_blind_index_matches_normalised_values(tmp_path: Path, typed: str, same: str) -> None:
    protection = protector(tmp_path)

    assert normalise(typed) == same
    assert protection.blind_index(PLACE, typed) == protection.blind_index(PLACE, same)


def test_blind_index_tells_different_values_apart(tmp_path: Path) -> None:
    protection = protector(tmp_path)

    assert protection.blind_index(PLACE, "110105199001011234") != protection.blind_index(
        PLACE, "110105199001011235"
    )


def test_none_is_stored_as_none(tmp_path: Path) -> None:
    protection = protector(tmp_path)

    sealed = protection.seal(PLACE, None)

    assert (sealed.ciphertext, sealed.blind_index) == (None, None)
    assert protection.unseal(PLACE, "string", None) is None


@pytest.mark.parametrize("value", [True, 1.5, {"a": 1}])
def test_values_a_sensitive_field_cannot_hold_are_refused(tmp_path: Path, value: object) -> None:
    with pytest.raises(TypeError, match="a sensitive field cannot hold"):
        protector(tmp_path).seal(PLACE, value)  # type: ignore[arg-type]


def test_place_names_app_entity_and_field() -> None:
    assert field_place("housing.applicant", "id_number") == PLACE


@pytest.mark.parametrize(
    ("value", "pattern", "shown"),
    [
        ("110105199001011234", "6*4", "110105********1234"),
        ("11010519900101123X", "6*4", "110105********123X"),
        ("13812345678", "3*4", "138****5678"),
        ("6222021234567890123", "4*4", "6222***********0123"),
        ("张三丰", "1*0", "张**"),
        ("13812345678", None, "****"),
        ("1234567", "3*4", "1****67"),  # 3+4 ≥ 7: at most half (3) shown, shared 3:4
        ("1234", "3*4", "1**4"),
        ("12", "3*4", "*2"),
        ("1", "3*4", "*"),
        ("12345678", "6*4", "12****78"),
        ("12345678", "0*4", "****5678"),
        ("1234", "0*4", "**34"),
        ("1234", "4*0", "12**"),
        ("1234", "0*0", "****"),
        ("", "3*4", ""),
        (12345, "3*4", "****"),
        (Decimal("8500.00"), "1*1", "****"),
        (date(1990, 1, 1), None, "****"),
        (None, "6*4", None),
    ],
)
def test_masks(value: object, pattern: str | None, shown: str | None) -> None:
    assert mask_value(value, pattern) == shown


def test_a_process_with_another_key_refuses_to_start_on_the_database(settings: Settings) -> None:
    with started_runtime(settings) as runtime:
        protector = runtime.options.protector
        assert protector is not None
        first = protector.keys.current
        check_key(runtime.engine, protector.keys)  # the same key, again: fine
        stranger = MasterKey("1", b"\x01" * 32)
        with pytest.raises(KeyProblem, match="not the one this database"):
            check_key(runtime.engine, KeyRing(stranger))
        rotated = KeyRing(MasterKey("2", b"\x02" * 32), (first,))
        check_key(runtime.engine, rotated)  # rotation: the recorded key is among the old ones
        check_key(runtime.engine, KeyRing(MasterKey("2", b"\x02" * 32)))
        with pytest.raises(KeyProblem):
            check_key(runtime.engine, KeyRing(first))
