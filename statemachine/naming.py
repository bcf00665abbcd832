"""Container ids and names, docker's way."""

from __future__ import annotations

import os
import re

from mydocker.statemachine.errors import InvalidArgument

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$")

_ADJECTIVES = (
    "admiring adoring agitated amazing angry awesome blissful bold boring brave busy charming clever "
    "cool compassionate confident cranky dazzling determined distracted dreamy eager ecstatic elastic "
    "elated elegant eloquent epic fervent festive flamboyant focused friendly frosty gallant gifted "
    "goofy gracious happy hardcore heuristic hopeful hungry infallible inspiring jolly jovial keen kind "
    "laughing loving lucid magical modest musing mystifying naughty nervous nice nifty nostalgic "
    "objective optimistic peaceful pedantic pensive practical priceless quirky quizzical relaxed "
    "reverent romantic sad serene sharp silly sleepy stoic strange suspicious sweet tender thirsty "
    "trusting unruffled upbeat vibrant vigilant vigorous wizardly wonderful xenodochial youthful zealous zen"
).split()
_SCIENTISTS = (
    "albattani allen almeida archimedes ardinghelli aryabhata austin babbage banach bardeen bartik bassi "
    "bell bhabha blackwell bohr booth borg bose brahmagupta brattain brown carson cerf chandrasekhar "
    "clarke colden cori cray curie darwin davinci dijkstra dubinsky easley edison einstein elion "
    "engelbart euclid euler fermat fermi feynman franklin galileo gates goldberg goodall hamilton "
    "hawking heisenberg hermann hodgkin hoover hopper hugle hypatia jackson jang jennings jepsen johnson "
    "joliot jones kalam kare keller kepler khorana kilby kirch knuth kowalevski lalande lamarr lamport "
    "leakey leavitt lewin lichterman liskov lovelace lumiere mahavira mayer mccarthy mcclintock mclean "
    "meitner mendel merkle mestorf mirzakhani morse murdock napier newton nobel noether northcutt noyce "
    "panini pare pasteur payne perlman pike poincare ptolemy raman ramanujan ride ritchie roentgen "
    "rosalind saha sammet shannon shaw shirley shockley sinoussi snyder spence stallman stonebraker "
    "swanson swartz swirles tesla thompson torvalds turing varahamihira visvesvaraya volhard wescoff "
    "wiles williams wilson wing wozniak wright yalow yonath"
).split()


# os.urandom rather than secrets: `secrets` loads OpenSSL (~25 ms) on every run.
def new_id() -> str:
    return os.urandom(32).hex()


def _choice(words: list[str]) -> str:
    return words[int.from_bytes(os.urandom(4), "big") % len(words)]


def random_name() -> str:
    return f"{_choice(_ADJECTIVES)}_{_choice(_SCIENTISTS)}"


def check_name(name: str) -> str:
    """Docker's rule; returns the name without a leading '/'."""
    if not NAME_RE.match(name):
        raise InvalidArgument(f'Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed')
    return name.lstrip("/")
