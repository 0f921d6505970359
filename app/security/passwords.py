"""The password policy for passwords set from now on (ASVS V2.1): long enough, not one of the most
common passwords, not the username. Existing hashes (the demo users' ``demo``) keep working: the
policy applies where a password is set, never at login."""
from __future__ import annotations

import functools
import unicodedata
from importlib import resources

MAX_LENGTH = 128  # long passphrases are welcome (ASVS 2.1.2); beyond this it is an attack on the hash


@functools.cache
def common_passwords() -> frozenset[str]:
    """The shipped list (``data/common-passwords.txt``, lower case), read once per process."""
    text = resources.files("app.security").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _normal(text: str) -> str:
    # NFKC folds full-width digits and letters (１２３４５６) into the ones of the list
    return unicodedata.normalize("NFKC", text).casefold()


def password_problems(password: str, username: str, min_length: int) -> list[str]:
    """What is wrong with ``password`` for ``username``, as '中文 / English' messages (empty: fine).

    Length counts characters, not bytes, so a Chinese passphrase counts as it reads. No rules about
    character classes (ASVS 2.1.9): length and the common list do the work.
    """
    problems: list[str] = []
    length = len(password)
    if length < min_length:
        problems.append(f"密码至少需要 {min_length} 个字符 / at least {min_length} characters")
    if length > MAX_LENGTH:
        problems.append(f"密码最多 {MAX_LENGTH} 个字符 / at most {MAX_LENGTH} characters")
    folded = _normal(password)
    if folded in common_passwords():
        problems.append("这是最常见的密码之一，请另选 / this is one of the most common passwords; choose another")
    name = _normal(username.strip())
    # the username itself, or the username with a few characters around it (zhang.wei.2026)
    if name and (folded == name or folded.replace(" ", "") == name
                 or len(name) >= 4 and name in folded and len(folded) - len(name) < 8):
        problems.append("密码不能是用户名或与用户名过于相近 / the password must not be (close to) the username")
    return problems
