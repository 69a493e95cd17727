"""Addresses and names for an English-language export (US wholesale customers).

Overseas addresses have no district: street, city, state, ZIP code and country are what a
carrier needs; phones are written ``+1 (415) 555-0137``.
"""

from __future__ import annotations

import numpy as np

#: (city, state, ZIP, area code)
CITIES: tuple[tuple[str, str, str, str], ...] = (
    ("San Jose", "CA", "95112", "408"), ("Austin", "TX", "78701", "512"), ("Portland", "OR", "97205", "503"),
    ("Denver", "CO", "80202", "303"), ("Columbus", "OH", "43215", "614"), ("Raleigh", "NC", "27601", "919"),
    ("Madison", "WI", "53703", "608"), ("Boise", "ID", "83702", "208"), ("Tucson", "AZ", "85701", "520"),
    ("Richmond", "VA", "23219", "804"), ("Omaha", "NE", "68102", "402"), ("Savannah", "GA", "31401", "912"),
)
STREETS = ("Main St", "Oak Ave", "Maple Dr", "2nd St", "Cedar Ln", "Park Blvd", "Elm St", "Lake Rd",
           "Pine St", "Hill Ave", "Market St", "River Rd")
FIRST = ("Olivia", "Liam", "Emma", "Noah", "Ava", "Mason", "Sophia", "Lucas", "Mia", "Ethan", "Harper", "Logan")
LAST = ("Martin", "Nguyen", "Garcia", "Patel", "Johnson", "Kim", "Lopez", "Walker", "Reyes", "Brooks", "Shah")
SHOP_WORDS = ("Maple", "Harbor", "Summit", "Prairie", "Coastal", "Juniper", "Copper", "Willow", "Granite",
              "Meadow", "Canyon", "Bayside", "Orchard", "Lantern", "Riverbend", "Foxglove")
SHOP_KINDS = ("Market", "Grocers", "Deli", "Pantry", "General Store", "Corner Shop")


def person_names(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.char.add(np.char.add(rng.choice(FIRST, n), " "), rng.choice(LAST, n))


def phones(rng: np.random.Generator, area: np.ndarray) -> np.ndarray:
    nums = rng.integers(0, 10**4, len(area))
    return np.array([f"+1 ({a}) 555-{x:04d}" for a, x in zip(area, nums)])


def addresses(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    """``n`` US addresses: state (as province), city, no district, street, ZIP, country, area code."""
    pick = rng.integers(0, len(CITIES), n)
    street = [f"{rng.integers(10, 9900)} {rng.choice(STREETS)}" for _ in range(n)]
    return {"province": np.array([CITIES[i][1] for i in pick]), "city": np.array([CITIES[i][0] for i in pick]),
            "district": np.array([None] * n, dtype=object), "address": np.array(street),
            "postcode": np.array([CITIES[i][2] for i in pick]), "country": np.array(["US"] * n),
            "area_code": np.array([CITIES[i][3] for i in pick])}


def shop_names(n: int) -> list[str]:
    return [f"{SHOP_WORDS[i % 16]} {SHOP_KINDS[i // 16 % 6]}" + (f" {i // 96 + 1}" if i >= 96 else "")
            for i in range(n)]
