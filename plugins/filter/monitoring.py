# Copyright: vigil.monitoring contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters shared by the roles of vigil.monitoring."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

try:
    import bcrypt

    HAS_BCRYPT = True
except ImportError:
    HAS_BCRYPT = False

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    HAS_CRYPTOGRAPHY = True
except ImportError:
    HAS_CRYPTOGRAPHY = False

# Units of Prometheus's --storage.tsdb.retention.size, as its flag parser
# (prometheus/common units.ParseBase2Bytes) takes them: powers of 1024.
_SIZE_UNITS = {
    "B": 1,
    "KB": 1024,
    "MB": 1024**2,
    "GB": 1024**3,
    "TB": 1024**4,
    "PB": 1024**5,
    "EB": 1024**6,
}
_SIZE_UNITS.update(
    {unit[0] + "iB": size for unit, size in _SIZE_UNITS.items() if unit != "B"}
)
_SIZE_RE = re.compile(r"^([0-9]+)(B|KB|MB|GB|TB|PB|EB|KiB|MiB|GiB|TiB|PiB|EiB)$")
# Prometheus prints sizes with binary prefixes (1GiB) and durations in the
# largest units that divide them (7d as 1w); both parse here.
_DURATION_PART_RE = re.compile(r"([0-9]+)(ms|y|w|d|h|m|s)")
_DURATION_SECONDS = {
    "y": 365 * 86400,
    "w": 7 * 86400,
    "d": 86400,
    "h": 3600,
    "m": 60,
    "s": 1,
    "ms": 0.001,
}


def bcrypt_hash(password, existing_hash="", rounds=10):
    """Hash a password with bcrypt, keeping ``existing_hash`` when it matches.

    bcrypt draws a random salt, so a fresh hash differs on every run. Reusing
    the hash already on the host when it still verifies keeps the rendered
    file byte-for-byte stable until the password itself changes.
    """
    if not HAS_BCRYPT:
        raise AnsibleFilterError(
            "bcrypt_hash needs the Python package 'bcrypt' on the controller: "
            "pip install bcrypt"
        )
    if not isinstance(password, str) or password == "":
        raise AnsibleFilterError("bcrypt_hash got an empty password")
    secret = password.encode("utf-8")
    if len(secret) > 72:
        raise AnsibleFilterError(
            f"bcrypt_hash got a password of {len(secret)} bytes; bcrypt uses at most "
            "72, so choose a shorter password"
        )
    if existing_hash:
        try:
            if bcrypt.checkpw(secret, str(existing_hash).encode("ascii")):
                return str(existing_hash)
        except ValueError:
            pass  # not a bcrypt hash: replace it
    return bcrypt.hashpw(secret, bcrypt.gensalt(rounds=int(rounds))).decode("ascii")


def prometheus_size_bytes(value):
    """Convert a Prometheus size such as ``512MB`` or ``10GB`` to bytes."""
    match = _SIZE_RE.match(str(value))
    if not match:
        raise AnsibleFilterError(
            f"invalid Prometheus size {value!r}: use a whole number and one of "
            "B, KB, MB, GB, TB, PB, EB, for example 10GB"
        )
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def prometheus_duration_seconds(value):
    """Convert a Prometheus duration such as ``15d`` or ``1h30m`` to seconds."""
    text = str(value)
    parts = _DURATION_PART_RE.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise AnsibleFilterError(
            f"invalid Prometheus duration {value!r}: use numbers with units y, w, d, "
            "h, m, s or ms, for example 15d or 1h30m"
        )
    return sum(int(number) * _DURATION_SECONDS[unit] for number, unit in parts)


def without_secrets(items, keys=("password",)):
    """Copy a list of dicts, replacing each secret key by ``has_<key>``.

    Loops over the copies can show their items in task output without
    showing a secret, while asserts can still test that one was given.
    """
    copies = []
    for item in items or []:
        copy = {k: v for k, v in dict(item).items() if k not in keys}
        for key in keys:
            copy["has_" + key] = bool(item.get(key))
        copies.append(copy)
    return copies


def systemd_quote(value):
    """Quote one command-line argument for ExecStart= of a systemd unit.

    systemd applies C-style escapes inside quotes, expands ``$NAME`` and
    ``%x`` specifiers, so a regular expression such as ``^(lo|veth.*)$``
    must have ``\\``, ``"``, ``$`` and ``%`` escaped to reach the program
    unchanged.
    """
    text = str(value)
    text = text.replace("\\", "\\\\").replace('"', '\\"')
    text = text.replace("$", "$$").replace("%", "%%")
    return f'"{text}"'


def _load_pem(path, loader, kind):
    """Read ``path`` with a cryptography ``loader``, or raise ValueError."""
    try:
        with open(path, "rb") as handle:
            return loader(handle.read())
    except (OSError, ValueError, TypeError) as error:
        raise ValueError(f"{path} is not {kind} ({error})") from error


def tls_files_problem(ca_path, cert_path, key_path):
    """Describe what is wrong with a CA, certificate and key, or return "".

    Checks that each file contains PEM of its kind, that the key belongs to the
    certificate, and that the CA issued the certificate, so that a bad file
    fails the preflight instead of breaking HTTPS once it is on the host.
    """
    if not HAS_CRYPTOGRAPHY:
        return "the Python package 'cryptography' is missing on the controller"
    try:
        ca = _load_pem(ca_path, x509.load_pem_x509_certificate, "a PEM certificate")
        cert = _load_pem(cert_path, x509.load_pem_x509_certificate, "a PEM certificate")
        key = _load_pem(
            key_path,
            lambda data: serialization.load_pem_private_key(data, password=None),
            "an unencrypted PEM private key",
        )
    except ValueError as error:
        return str(error)

    spki = (serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    if key.public_key().public_bytes(*spki) != cert.public_key().public_bytes(*spki):
        return f"the key {key_path} does not belong to the certificate {cert_path}"
    if cert.issuer != ca.subject:
        return (
            f"the certificate {cert_path} was issued by "
            f"'{cert.issuer.rfc4514_string()}', not by the CA {ca_path} "
            f"('{ca.subject.rfc4514_string()}')"
        )
    return ""


def ini_problems(ini):
    """Return the names in an ini mapping that one line of an ini file cannot hold.

    Each entry is ``[section]`` or ``[section] key``; values are never
    returned, because they may be secrets.
    """
    if not isinstance(ini, dict):
        raise AnsibleFilterError("ini_problems expects a mapping of sections")
    problems = []
    for section_name, settings in ini.items():
        section = str(section_name)
        if not section or any(c in section for c in "[]\r\n"):
            problems.append(f"[{section!r}]")
            continue
        for key_name, value in (settings or {}).items():
            key = str(key_name)
            text = str(value)
            bad_key = not key.strip() or any(c in key for c in "=[]\r\n")
            bad_value = "\n" in text or "\r" in text or '"""' in text
            if bad_key or bad_value:
                problems.append(f"[{section}] {key!r}")
    return problems


def ini_overrides(extra, protected):
    """Return ``section.key`` for each key of ``extra`` that ``protected`` lists."""
    found = []
    for section, keys in (protected or {}).items():
        settings = (extra or {}).get(section) or {}
        found.extend(f"{section}.{key}" for key in keys if key in settings)
    return found


class FilterModule:
    """Filters of vigil.monitoring."""

    def filters(self):
        return {
            "bcrypt_hash": bcrypt_hash,
            "prometheus_size_bytes": prometheus_size_bytes,
            "prometheus_duration_seconds": prometheus_duration_seconds,
            "without_secrets": without_secrets,
            "systemd_quote": systemd_quote,
            "tls_files_problem": tls_files_problem,
            "ini_problems": ini_problems,
            "ini_overrides": ini_overrides,
        }
