"""Entity names in messages, as a sentence says them: "approve an order", "this invoice".

Catalog names are type names (``Order``, ``OrderLine``); refusals are read by people, so they
take the lower-case noun with the article its sound asks for."""

from __future__ import annotations

import re

# Nouns whose first letter's sound is not what the letter suggests ("a user", "an hour").
_SOUNDS_LIKE_A_VOWEL = ("hour", "honest")
_SOUNDS_LIKE_A_CONSONANT = ("user", "uni", "euro", "one")


def noun(type_name: str) -> str:
    """``OrderLine`` → "order line"."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", type_name).lower()


def indefinite(type_name: str) -> str:
    """``Order`` → "an order", ``Customer`` → "a customer"."""
    word = noun(type_name)
    vowel = word[:1] in "aeiou"
    if word.startswith(_SOUNDS_LIKE_A_VOWEL):
        vowel = True
    elif word.startswith(_SOUNDS_LIKE_A_CONSONANT):
        vowel = False
    return f"{'an' if vowel else 'a'} {word}"
