"""Property tests for the reference and name validators."""

from __future__ import annotations

import string

from hypothesis import given
from hypothesis import strategies as st

from components.settings.grammar import (
    is_dns1123_label,
    is_dns1123_subdomain,
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
digest = st.builds(lambda h: "sha256:" + h, st.text("0123456789abcdef", min_size=64, max_size=64))


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
