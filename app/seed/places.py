"""Countries the demo customers live in: cities, street names and the shape of their
postal codes, phone numbers and tax ids."""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.seed.common import fill_pattern


@dataclass(frozen=True)
class Country:
    code: str
    calling: str
    phone: str  # pattern for fill_pattern
    postal: str
    tax_id: str
    cities: tuple[str, ...]
    streets: tuple[str, ...]
    number_first: bool  # "12 Main Street" rather than "Hauptstraße 12"
    suffixes: tuple[str, ...]  # legal forms of companies
    people: str  # which name pool individuals come from


_EN_STREETS = (
    "Main Street",
    "Oak Avenue",
    "Maple Drive",
    "Cedar Lane",
    "Park Road",
    "Lake Street",
    "Hill Road",
    "Church Street",
    "Mill Lane",
    "Washington Avenue",
    "River Road",
    "Elm Street",
)
_DE_STREETS = (
    "Hauptstraße",
    "Bahnhofstraße",
    "Lindenweg",
    "Gartenstraße",
    "Schillerstraße",
    "Goethestraße",
    "Bergstraße",
    "Kirchplatz",
    "Am Markt",
    "Industriestraße",
)

COUNTRIES = {
    c.code: c
    for c in (
        Country(
            "US",
            "+1",
            "### 555 ####",
            "#####",
            "##-#######",
            ("New York", "Chicago", "Austin", "Seattle", "Boston", "Denver", "Atlanta", "Phoenix"),
            _EN_STREETS,
            True,
            ("Inc.", "LLC", "Corp."),
            "en",
        ),
        Country(
            "CA",
            "+1",
            "### 555 ####",
            "A#A #A#",
            "#########RT0001",
            ("Toronto", "Vancouver", "Montreal", "Calgary", "Ottawa"),
            _EN_STREETS,
            True,
            ("Ltd.", "Inc."),
            "en",
        ),
        Country(
            "MX",
            "+52",
            "## #### ####",
            "#####",
            "AAA######AA#",
            ("Ciudad de México", "Guadalajara", "Monterrey", "Puebla"),
            ("Avenida Reforma", "Calle Hidalgo", "Calle Juárez", "Avenida Insurgentes"),
            False,
            ("S.A. de C.V.",),
            "intl",
        ),
        Country(
            "GB",
            "+44",
            "20 #### ####",
            "AA# #AA",
            "GB#########",
            ("London", "Manchester", "Leeds", "Bristol", "Glasgow"),
            _EN_STREETS,
            True,
            ("Ltd", "PLC"),
            "en",
        ),
        Country(
            "JP",
            "+81",
            "3 #### ####",
            "###-####",
            "T#############",
            ("Tokyo", "Osaka", "Yokohama", "Nagoya"),
            ("Shibuya", "Minato", "Chuo", "Umeda"),
            False,
            ("K.K.",),
            "intl",
        ),
        Country(
            "AU",
            "+61",
            "2 #### ####",
            "####",
            "## ### ### ###",
            ("Sydney", "Melbourne", "Brisbane", "Perth"),
            _EN_STREETS,
            True,
            ("Pty Ltd",),
            "en",
        ),
        Country(
            "DE",
            "+49",
            "30 ########",
            "#####",
            "DE#########",
            ("Berlin", "Hamburg", "München", "Köln", "Frankfurt am Main", "Stuttgart", "Leipzig"),
            _DE_STREETS,
            False,
            ("GmbH", "AG", "KG"),
            "de",
        ),
        Country(
            "AT",
            "+43",
            "1 #######",
            "####",
            "ATU########",
            ("Wien", "Graz", "Linz", "Salzburg"),
            _DE_STREETS,
            False,
            ("GmbH", "AG"),
            "de",
        ),
        Country(
            "CH",
            "+41",
            "44 ### ## ##",
            "####",
            "CHE-###.###.###",
            ("Zürich", "Genf", "Basel", "Bern"),
            _DE_STREETS,
            False,
            ("AG", "GmbH"),
            "de",
        ),
        Country(
            "FR",
            "+33",
            "1 ## ## ## ##",
            "#####",
            "FR###########",
            ("Paris", "Lyon", "Marseille", "Toulouse"),
            ("Rue de la République", "Avenue Victor Hugo", "Rue Pasteur", "Boulevard Voltaire"),
            True,
            ("SAS", "SARL"),
            "intl",
        ),
        Country(
            "NL",
            "+31",
            "20 ### ####",
            "#### AA",
            "NL#########B01",
            ("Amsterdam", "Rotterdam", "Utrecht", "Eindhoven"),
            ("Kerkstraat", "Dorpsstraat", "Stationsweg", "Molenweg"),
            False,
            ("B.V.",),
            "intl",
        ),
        Country(
            "IT",
            "+39",
            "02 #### ####",
            "#####",
            "IT###########",
            ("Milano", "Roma", "Torino", "Bologna"),
            ("Via Roma", "Via Garibaldi", "Corso Italia", "Via Dante"),
            False,
            ("S.r.l.", "S.p.A."),
            "intl",
        ),
        Country(
            "PL",
            "+48",
            "22 ### ## ##",
            "##-###",
            "PL##########",
            ("Warszawa", "Kraków", "Wrocław", "Gdańsk"),
            ("ulica Długa", "ulica Polna", "ulica Lipowa", "ulica Słoneczna"),
            False,
            ("Sp. z o.o.",),
            "intl",
        ),
    )
}


def phone(rng: random.Random, country: Country) -> str:
    return f"{country.calling} {fill_pattern(rng, country.phone)}"


def address(rng: random.Random, country: Country) -> tuple[str, str, str]:
    """(street, city, postal code)."""
    street = rng.choice(country.streets)
    number = rng.randint(1, 2400 if country.number_first else 180)
    line = f"{number} {street}" if country.number_first else f"{street} {number}"
    return line, rng.choice(country.cities), fill_pattern(rng, country.postal)
