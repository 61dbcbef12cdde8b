"""Word lists for people and companies, and the e-mail addresses made from them."""

from __future__ import annotations

import random

FIRST_NAMES = {
    "en": (
        "James",
        "Mary",
        "Robert",
        "Patricia",
        "John",
        "Jennifer",
        "Michael",
        "Linda",
        "David",
        "Elizabeth",
        "William",
        "Barbara",
        "Richard",
        "Susan",
        "Joseph",
        "Jessica",
        "Thomas",
        "Sarah",
        "Charles",
        "Karen",
        "Daniel",
        "Nancy",
        "Matthew",
        "Lisa",
        "Anthony",
        "Emily",
        "Mark",
        "Olivia",
        "Steven",
        "Ashley",
        "Kevin",
        "Grace",
        "Brian",
        "Chloe",
        "Jason",
        "Maya",
        "Ryan",
        "Aisha",
    ),
    "de": (
        "Lukas",
        "Anna",
        "Jonas",
        "Lea",
        "Leon",
        "Hannah",
        "Finn",
        "Sophie",
        "Paul",
        "Emma",
        "Felix",
        "Marie",
        "Maximilian",
        "Lena",
        "Tim",
        "Laura",
        "Jan",
        "Julia",
        "Niklas",
        "Sarah",
        "Jürgen",
        "Katrin",
        "Stefan",
        "Sabine",
        "Tobias",
        "Claudia",
        "Matthias",
        "Petra",
        "Andreas",
        "Jörg",
    ),
    "intl": (
        "Lucía",
        "Mateo",
        "Sofia",
        "Luca",
        "Camille",
        "Hugo",
        "Daan",
        "Sanne",
        "Giulia",
        "Marco",
        "Zofia",
        "Jakub",
        "Yuki",
        "Haruto",
        "Chloé",
        "Léa",
        "Pedro",
        "Valentina",
        "Aiko",
        "Noa",
    ),
}

LAST_NAMES = {
    "en": (
        "Smith",
        "Johnson",
        "Williams",
        "Brown",
        "Jones",
        "Garcia",
        "Miller",
        "Davis",
        "Rodriguez",
        "Martinez",
        "Wilson",
        "Anderson",
        "Taylor",
        "Thomas",
        "Moore",
        "Jackson",
        "Martin",
        "Lee",
        "Thompson",
        "White",
        "Harris",
        "Clark",
        "Lewis",
        "Walker",
        "Hall",
        "Young",
        "King",
        "Wright",
        "Lopez",
        "Hill",
        "Scott",
        "Green",
        "Adams",
        "Baker",
        "Nelson",
        "Carter",
        "Mitchell",
        "Patel",
    ),
    "de": (
        "Müller",
        "Schmidt",
        "Schneider",
        "Fischer",
        "Weber",
        "Meyer",
        "Wagner",
        "Becker",
        "Schulz",
        "Hoffmann",
        "Schäfer",
        "Koch",
        "Bauer",
        "Richter",
        "Klein",
        "Wolf",
        "Schröder",
        "Neumann",
        "Schwarz",
        "Zimmermann",
        "Braun",
        "Krüger",
        "Hofmann",
        "Hartmann",
        "Lange",
        "Schmitt",
        "Werner",
    ),
    "intl": (
        "García",
        "Fernández",
        "Rossi",
        "Bianchi",
        "Dubois",
        "Lefèvre",
        "de Vries",
        "Jansen",
        "Nowak",
        "Kowalski",
        "Tanaka",
        "Suzuki",
        "Moreau",
        "Ricci",
        "Bakker",
        "Wiśniewski",
        "Sato",
    ),
}

COMPANY_FIRST = (
    "Northwind",
    "Blue Ridge",
    "Summit",
    "Pioneer",
    "Silverline",
    "Redwood",
    "Harbor",
    "Granite",
    "Evergreen",
    "Cobalt",
    "Brightwater",
    "Ironclad",
    "Lakeside",
    "Starling",
    "Keystone",
    "Meridian",
    "Atlas",
    "Vertex",
    "Crescent",
    "Orchard",
    "Alpine",
    "Nordlicht",
    "Falcon",
    "Sunrise",
    "Oakridge",
    "Polaris",
    "Riverside",
    "Westbrook",
    "Bluefin",
    "Kestrel",
)
COMPANY_SECOND = (
    "Logistics",
    "Foods",
    "Systems",
    "Builders",
    "Analytics",
    "Retail",
    "Manufacturing",
    "Health",
    "Media",
    "Energy",
    "Motors",
    "Textiles",
    "Labs",
    "Partners",
    "Supply",
    "Outfitters",
    "Robotics",
    "Software",
    "Hospitality",
    "Engineering",
    "Pharma",
    "Trading",
)

# Letters that e-mail local parts leave out, spelled the way people do.
_ASCII = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "ß": "ss",
        "é": "e",
        "è": "e",
        "á": "a",
        "í": "i",
        "ó": "o",
        "ś": "s",
        "ł": "l",
        " ": "",
        "'": "",
    }
)


def person(rng: random.Random, pool: str) -> tuple[str, str]:
    return rng.choice(FIRST_NAMES[pool]), rng.choice(LAST_NAMES[pool])


def company(rng: random.Random, suffixes: tuple[str, ...], people_pool: str) -> str:
    # Mostly invented brand names, some family firms ("Weber & Koch GmbH").
    if rng.random() < 0.2:
        a, b = rng.sample(LAST_NAMES[people_pool], 2)
        return f"{a} & {b} {rng.choice(suffixes)}"
    return f"{rng.choice(COMPANY_FIRST)} {rng.choice(COMPANY_SECOND)} {rng.choice(suffixes)}"


def ascii_slug(text: str) -> str:
    return text.lower().translate(_ASCII).replace("&", "and").replace(".", "").replace(",", "")


class UniqueEmails:
    """first.last@domain, with a number appended when the address is already taken."""

    def __init__(self, domain: str) -> None:
        self.domain = domain
        self._taken: set[str] = set()

    def make(self, first: str, last: str) -> str:
        local = f"{ascii_slug(first)}.{ascii_slug(last)}"
        candidate, n = local, 1
        while candidate in self._taken:
            n += 1
            candidate = f"{local}{n}"
        self._taken.add(candidate)
        return f"{candidate}@{self.domain}"
