"""Property tests for the reference and name validators."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from components.settings.grammar import (
    canonical_path,
    control_characters,
    edit_distance,
    is_dns1123_label,
    is_dns1123_subdomain,
    known_gate_typo,
    mount_path_refusal,
    parse_duration_seconds,
    parse_image_reference,
    parse_kubernetes_version,
)

LOWER_ALNUM = string.ascii_lowercase + string.digits
alnum = st.text(LOWER_ALNUM, min_size=1, max_size=8)
separator = st.sampled_from([".", "_", "__", "-", "--"])
path_component = st.builds(
    lambda first, rest: first + "".join(s + a for s, a in rest),
    alnum,
    st.lists(st.tuples(separator, alnum), max_size=2),
)
host_label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,6}[a-zA-Z0-9])?", fullmatch=True)
domain = st.builds(
    lambda labels, port: ".".join(labels) + (f":{port}" if port is not None else ""),
    st.lists(host_label, min_size=2, max_size=3),
    st.none() | st.integers(1, 65535),
)
tag = st.from_regex(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}", fullmatch=True)
HEX = "0123456789abcdef"
DIGEST_HEX_LENGTHS = {"sha256": 64, "sha512": 128}
digest = st.sampled_from(sorted(DIGEST_HEX_LENGTHS)).flatmap(
    lambda algorithm: st.text(
        HEX, min_size=DIGEST_HEX_LENGTHS[algorithm], max_size=DIGEST_HEX_LENGTHS[algorithm]
    ).map(lambda hex_digits: f"{algorithm}:{hex_digits}")
)


@st.composite
def valid_reference(draw: st.DrawFn) -> tuple[str, str, str | None, str | None]:
    name = "/".join(draw(st.lists(path_component, min_size=1, max_size=3)))
    host = draw(st.none() | domain)
    full_name = f"{host}/{name}" if host else name
    chosen_tag = draw(st.none() | tag)
    chosen_digest = draw(st.none() | digest)
    text = (
        full_name + (f":{chosen_tag}" if chosen_tag else "") + (f"@{chosen_digest}" if chosen_digest else "")
    )
    return text, full_name, chosen_tag, chosen_digest


@given(valid_reference())
def test_valid_references_parse_into_their_parts(case: tuple[str, str, str | None, str | None]) -> None:
    text, name, tag_, digest_ = case
    parsed = parse_image_reference(text)
    assert parsed is not None
    assert (parsed.name, parsed.tag, parsed.digest) == (name, tag_, digest_)


@given(valid_reference(), st.sampled_from([" ", ";", "$", "`", "\n", "'", '"', "|", "&", "\\", "*", "é"]))
def test_a_shell_or_foreign_character_anywhere_is_rejected(
    case: tuple[str, str, str | None, str | None], bad: str
) -> None:
    text = case[0]
    for position in (0, len(text) // 2, len(text)):
        assert parse_image_reference(text[:position] + bad + text[position:]) is None


@given(valid_reference())
def test_uppercase_repository_path_is_rejected(case: tuple[str, str, str | None, str | None]) -> None:
    text, name, _, _ = case
    last = name.rsplit("/", 1)[-1]
    if any(c.isalpha() for c in last):
        prefix = name[: len(name) - len(last)]
        assert parse_image_reference(text.replace(name, prefix + last.upper(), 1)) is None


def test_known_references() -> None:
    assert parse_image_reference("quay.io/crio/artifact:v1") is not None
    assert parse_image_reference("localhost:5000/a/b@sha256:" + "0" * 64) is not None
    assert parse_image_reference("ubuntu") is not None
    for bad in (
        "",
        "quay.io/crio/artifact:",
        ":v1",
        "a//b",
        "a/b:" + "t" * 129,
        "a@sha256:abc",
        "quay.io/crio/artifact:v1\n",
    ):
        assert parse_image_reference(bad) is None, bad


dns_label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", fullmatch=True)


@given(dns_label)
def test_dns_labels_are_accepted(label: str) -> None:
    assert is_dns1123_label(label) and is_dns1123_subdomain(label)


@given(dns_label, st.sampled_from(["-", "_", ".", "A", " ", "\n", ";"]))
def test_dns_label_with_a_bad_edge_or_character_is_rejected(label: str, bad: str) -> None:
    assert not is_dns1123_label(bad + label)
    assert not is_dns1123_label(label + bad)
    assert not is_dns1123_label(label[:1] + bad + label[1:]) or bad == "-"


@given(st.lists(dns_label, min_size=1, max_size=4))
def test_subdomains_join_labels_with_dots(labels: list[str]) -> None:
    name = ".".join(labels)
    assert is_dns1123_subdomain(name) == (len(name) <= 253)
    assert not is_dns1123_label(name) or len(labels) == 1


def test_length_limits() -> None:
    assert is_dns1123_label("a" * 63) and not is_dns1123_label("a" * 64)
    assert not is_dns1123_subdomain(".".join(["a" * 63] * 4) + ".aa")


@given(st.integers(0, 100), st.integers(0, 59), st.integers(0, 59))
def test_durations_sum_their_parts(hours: int, minutes: int, seconds: int) -> None:
    assert parse_duration_seconds(f"{hours}h{minutes}m{seconds}s") == hours * 3600 + minutes * 60 + seconds
    assert parse_duration_seconds(f"{seconds} s") is None
    assert parse_duration_seconds(str(seconds)) is None


def test_versions() -> None:
    assert str(parse_kubernetes_version("v1.31.0")) == "1.31.0"
    assert str(parse_kubernetes_version("1.35")) == "1.35.0"
    assert parse_kubernetes_version("1.31.0-rc.1") is None
    assert parse_kubernetes_version("01.31") is None
    assert parse_kubernetes_version("1.31.0\n") is None


@given(valid_reference(), digest)
def test_a_digest_is_sha256_or_sha512_in_lowercase_hex(
    case: tuple[str, str, str | None, str | None], good: str
) -> None:
    name = case[1]
    assert parse_image_reference(f"{name}@{good}") is not None
    algorithm, hex_digits = good.split(":")
    assert parse_image_reference(f"{name}@{algorithm}:{hex_digits.upper()}") is None or hex_digits.isdigit()
    assert parse_image_reference(f"{name}@{algorithm.upper()}:{hex_digits}") is None
    assert parse_image_reference(f"{name}@{algorithm}:{hex_digits}0") is None
    assert parse_image_reference(f"{name}@{algorithm}:{hex_digits[:-1]}") is None
    assert parse_image_reference(f"{name}@{algorithm}:{hex_digits[:-1]}g") is None


@given(
    valid_reference(),
    st.from_regex(r"[a-z][a-z0-9]{1,8}", fullmatch=True),
    st.integers(1, 200),
)
def test_no_other_digest_is_accepted(
    case: tuple[str, str, str | None, str | None], algorithm: str, length: int
) -> None:
    reference = f"{case[1]}@{algorithm}:{'a' * length}"
    expected = DIGEST_HEX_LENGTHS.get(algorithm) == length
    assert (parse_image_reference(reference) is not None) == expected


# Mount paths. The reserved places, written out here independently of grammar.py.
RESERVED_TREES = (
    "/proc",
    "/sys",
    "/dev",
    "/etc/hosts",
    "/etc/hostname",
    "/etc/resolv.conf",
    "/var/run/secrets/kubernetes.io/serviceaccount",
    "/run/secrets/kubernetes.io/serviceaccount",
)
RESERVED_EXACT = (
    "/",
    "/etc",
    "/bin",
    "/sbin",
    "/usr",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/libx32",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/run",
    "/var",
    "/var/run",
    "/var/run/secrets",
    "/var/run/secrets/kubernetes.io",
    "/run/secrets",
    "/run/secrets/kubernetes.io",
)


def is_reserved(path: str) -> bool:
    return path in RESERVED_EXACT or any(path == t or path.startswith(t + "/") for t in RESERVED_TREES)


COMMON_NAMES = [
    *{part for path in RESERVED_TREES + RESERVED_EXACT for part in path.split("/") if part},
    "myapp",
    "models",
    "share",
    "volume",
    "data",
    "...",
    ".hidden",
    "a b",
    "caf\u00e9",
]
component = st.sampled_from(COMMON_NAMES) | st.text(
    st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/"), min_size=1, max_size=12
).filter(lambda c: c not in (".", ".."))
canonical = st.lists(component, min_size=1, max_size=6).map(lambda parts: "/" + "/".join(parts))


@given(canonical)
def test_a_canonical_mount_path_is_accepted_unless_reserved(path: str) -> None:
    assert canonical_path(path) == path
    refusal = mount_path_refusal(path)
    assert (refusal is None) == (not is_reserved(path)), refusal
    if refusal is not None:
        assert refusal.suggestion is None and refusal.reason


@st.composite
def non_canonical(draw: st.DrawFn) -> tuple[str, str]:
    """A canonical path, and a spelling of it that is not canonical."""
    path = draw(canonical)
    parts = path[1:].split("/")
    at = draw(st.integers(0, len(parts)))
    # An empty component (//), ".", "x/..", or (None) a trailing /.
    inserted = draw(st.sampled_from([[""], ["."], ["x", ".."], None]))
    spoilt = [*parts, ""] if inserted is None else [*parts[:at], *inserted, *parts[at:]]
    text = "/" + "/".join(spoilt)
    if draw(st.booleans()) and not text.startswith("//"):
        text = text[1:]  # relative
    return path, text


@given(non_canonical())
def test_a_non_canonical_mount_path_is_refused_with_an_accepted_canonical_suggestion(
    case: tuple[str, str],
) -> None:
    path, text = case
    assert text != path and canonical_path(text) == path
    refusal = mount_path_refusal(text)
    assert refusal is not None
    if is_reserved(path):
        assert refusal.suggestion is None
    else:
        assert refusal.suggestion == path
        assert mount_path_refusal(path) is None


@given(canonical, st.sampled_from(["\x00", "\x1b", "\n", "\x7f", "\x85", "\x9f"]))
def test_a_control_character_in_a_mount_path_is_refused(path: str, bad: str) -> None:
    refusal = mount_path_refusal(path + bad)
    assert refusal is not None and refusal.suggestion is None
    assert control_characters(path + bad) == [bad]


def test_mount_path_lengths_count_utf8_bytes() -> None:
    assert mount_path_refusal("/" + "a" * 255) is None
    assert mount_path_refusal("/" + "\u00e9" * 127) is None
    assert mount_path_refusal("/" + "\u00e9" * 128) is not None  # 256 bytes
    assert mount_path_refusal(("/" + "a" * 255) * 16) is None  # 4096 bytes
    assert mount_path_refusal(("/" + "a" * 255) * 16 + "/b") is not None


def test_reserved_mount_paths_say_why() -> None:
    for path, why in [
        ("/", "the container's root"),
        ("/proc", "the kernel's /proc"),
        ("/proc/1", "the kernel's /proc"),
        ("/sys", "the kernel's /sys"),
        ("/dev/null", "/dev"),
        ("/etc/hosts", "kubelet mounts /etc/hosts there"),
        ("/dev/termination-log", "kubelet mounts /dev/termination-log there"),
        (
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            "/var/run/secrets/kubernetes.io/serviceaccount",
        ),
        ("/var/run/secrets", "kubelet mounts"),
        ("/usr", "system directory"),
    ]:
        refusal = mount_path_refusal(path)
        assert refusal is not None and why in refusal.reason, (path, refusal)
    for path in ("/etc/myapp", "/usr/share/models", "/var/run/myapp", "/volume", "/run/myapp", "/devices"):
        assert mount_path_refusal(path) is None, path


GATE = "ImageVolume"


@st.composite
def near_gate(draw: st.DrawFn) -> str:
    """ImageVolume with one or two random edits (insert, delete, replace, swap)."""
    text = GATE
    for _ in range(draw(st.integers(1, 2))):
        at = draw(st.integers(0, len(text) - 1))
        letter = draw(st.sampled_from(string.ascii_letters + string.digits))
        edit = draw(st.sampled_from(["insert", "delete", "replace", "swap"]))
        if edit == "insert":
            text = text[:at] + letter + text[at:]
        elif edit == "delete":
            text = text[:at] + text[at + 1 :]
        elif edit == "replace":
            text = text[:at] + letter + text[at + 1 :]
        elif at + 1 < len(text):
            text = text[:at] + text[at + 1] + text[at] + text[at + 2 :]
    return text


@given(near_gate())
def test_a_gate_one_or_two_edits_from_a_known_one_is_a_typo(name: str) -> None:
    assert edit_distance(name, GATE) <= 2
    assert known_gate_typo(name) == (None if name == GATE else GATE)


def test_gate_typos() -> None:
    for name in ("ImageVolumes", "imageVolume", "ImageVolme", "IMAGEVOLUME", "IamgeVolume", "ImgeVolumes"):
        assert known_gate_typo(name) == GATE, name
    for name in ("ImageVolume", "RecursiveReadOnlyMounts", "ImageVolumeWithDigest", "ImageMaximumGCAge"):
        assert known_gate_typo(name) is None, name
    assert edit_distance("ab", "ba") == 1 and edit_distance("", "abc") == 3


def test_control_characters_are_c0_del_and_c1() -> None:
    assert control_characters("".join(map(chr, range(0x20)))) == [chr(c) for c in range(0x20)]
    assert control_characters("a\x7fb\x80\x9f\xa0 \u2028\u00e9") == ["\x7f", "\x80", "\x9f"]
