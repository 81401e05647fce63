"""Synthetic consumers for the demo's traffic: realistic in shape, fictional by construction.

Places are real US cities and zip codes (a zip is not a person); names are common ones put
together at random; every email is at a reserved domain (``example.com``, RFC 2606), every
phone number in the fictional ``555-0100``…``555-0199`` block, every IP address in a
documentation range (RFC 5737), so no generated lead is a real person's data.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, TypeVar

__all__ = ["EMAIL_DOMAINS", "LeadFactory", "SyntheticLead", "Vertical"]

Vertical = Literal["auto_insurance", "health_insurance"]
FieldValue = str | int | bool

EMAIL_DOMAINS = ("example.com", "example.org", "example.net")

T = TypeVar("T")
_GENDERS = {"female": 49, "male": 49, "non_binary": 2}


@dataclass(frozen=True)
class _City:
    state: str
    name: str
    area_code: str
    zips: tuple[str, ...]
    #: rough share of the traffic
    weight: int


_CITIES = (
    _City("CA", "Los Angeles", "213", ("90001", "90012", "90026", "90045"), 9),
    _City("CA", "San Diego", "619", ("92101", "92103", "92109"), 4),
    _City("CA", "Sacramento", "916", ("95814", "95818"), 2),
    _City("TX", "Houston", "713", ("77002", "77004", "77019"), 5),
    _City("TX", "Dallas", "214", ("75201", "75204", "75219"), 4),
    _City("TX", "San Antonio", "210", ("78205", "78209"), 3),
    _City("FL", "Miami", "305", ("33101", "33125", "33130", "33139"), 4),
    _City("FL", "Tampa", "813", ("33602", "33606"), 3),
    _City("FL", "Orlando", "407", ("32801", "32803"), 2),
    _City("NY", "New York", "212", ("10001", "10013", "10027"), 6),
    _City("NY", "Buffalo", "716", ("14201", "14214"), 1),
    _City("GA", "Atlanta", "404", ("30303", "30309", "30318"), 3),
    _City("NC", "Charlotte", "704", ("28202", "28205"), 2),
    _City("SC", "Charleston", "843", ("29401", "29407"), 1),
    _City("AL", "Birmingham", "205", ("35203", "35205"), 1),
    _City("IL", "Chicago", "312", ("60601", "60614", "60647"), 4),
    _City("PA", "Philadelphia", "215", ("19103", "19107", "19147"), 3),
    _City("OH", "Columbus", "614", ("43215", "43201"), 2),
    _City("MI", "Detroit", "313", ("48226", "48201"), 2),
    _City("AZ", "Phoenix", "602", ("85004", "85008"), 2),
    _City("WA", "Seattle", "206", ("98101", "98103"), 2),
    _City("OR", "Portland", "503", ("97205", "97209"), 1),
    _City("NV", "Las Vegas", "702", ("89101", "89109"), 1),
    _City("CO", "Denver", "303", ("80202", "80205"), 2),
    _City("OK", "Oklahoma City", "405", ("73102", "73106"), 1),
    _City("NJ", "Newark", "973", ("07102", "07104"), 1),
)
_CITY_WEIGHTS = [city.weight for city in _CITIES]

_FIRST_NAMES = {
    "female": (
        "Ana", "Maria", "Jennifer", "Linda", "Emily", "Sarah", "Jessica", "Ashley", "Grace",
        "Olivia", "Sofia", "Mei", "Aisha", "Priya", "Rosa", "Hannah",
    ),
    "male": (
        "James", "Michael", "Robert", "David", "Daniel", "Jose", "Luis", "Kevin", "Brian",
        "Anthony", "Wei", "Omar", "Raj", "Tyrone", "Ethan", "Noah",
    ),
}  # fmt: skip
_LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Garcia", "Miller", "Davis", "Rodriguez",
    "Martinez", "Lopez", "Wilson", "Anderson", "Thomas", "Lee", "Nguyen", "Patel", "Kim",
    "Clark", "Lewis", "Walker", "Hall", "Young", "Allen", "Lima", "Okafor", "Cohen",
)  # fmt: skip
_STREETS = (
    "Maple", "Oak", "Cedar", "Pine", "Elm", "Washington", "Lake", "Hill", "Park", "Sunset",
    "Highland", "Main", "Church", "River", "Willow", "Meadow",
)  # fmt: skip
_STREET_KINDS = ("St", "Ave", "Rd", "Blvd", "Ln", "Dr", "Ct")
_VEHICLES = {
    "Toyota": ("Camry", "Corolla", "RAV4", "Tacoma", "Highlander"),
    "Honda": ("Civic", "Accord", "CR-V", "Pilot"),
    "Ford": ("F-150", "Escape", "Explorer", "Focus", "Mustang"),
    "Chevrolet": ("Silverado", "Malibu", "Equinox", "Tahoe"),
    "Nissan": ("Altima", "Rogue", "Sentra"),
    "Hyundai": ("Elantra", "Tucson", "Sonata"),
    "Tesla": ("Model 3", "Model Y"),
    "Subaru": ("Outback", "Forester", "Crosstrek"),
}
_CARRIERS = ("Progressive", "GEICO", "State Farm", "Allstate", "Liberty Mutual", "Farmers")
_HEALTH_CARRIERS = ("Blue Cross", "Aetna", "Cigna", "UnitedHealthcare", "Humana", "Kaiser")
_OCCUPATIONS = (
    "teacher", "nurse", "engineer", "sales", "driver", "student", "retired", "accountant",
    "electrician", "chef", "manager", "self-employed",
)  # fmt: skip
_USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Linux; Android 15; Pixel 8) AppleWebKit/537.36 Chrome/131.0 Mobile Safari",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/131.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 Version/18.1 Safari",
)
#: documentation networks (RFC 5737): never a real visitor's address
_IP_PREFIXES = ("192.0.2.", "198.51.100.", "203.0.113.")
_CONSENT = (
    "By clicking Get Quotes I agree to be contacted by up to 3 insurance companies and their "
    "agents at the number I provided, including by autodialer, about quotes. Consent is "
    "not a condition of purchase."
)
_SOURCES = {
    "auto_insurance": "https://quotes.example.com/auto",
    "health_insurance": "https://quotes.example.com/health",
}


@dataclass(frozen=True)
class SyntheticLead:
    """One consumer's lead: what a seller may ping (no PII) and what the post adds."""

    vertical: Vertical
    ping_fields: Mapping[str, FieldValue]
    contact_fields: Mapping[str, FieldValue] = field(default_factory=dict)

    @property
    def post_fields(self) -> dict[str, FieldValue]:
        return {**self.ping_fields, **self.contact_fields}


class LeadFactory:
    """Draws synthetic leads from one seeded RNG; ``today`` anchors dates of birth."""

    def __init__(self, rng: random.Random, today: dt.date) -> None:
        self._rng = rng
        self._today = today
        self._serial = 0

    def lead(self, vertical: Vertical) -> SyntheticLead:
        if vertical == "auto_insurance":
            return self.auto_lead()
        return self.health_lead()

    def auto_lead(self) -> SyntheticLead:
        rng = self._rng
        city = self._city()
        # a few drivers are too young for any buyer: their pings find no eligible buyer
        age = rng.randint(16, 17) if rng.random() < 0.03 else self._adult_age(18, 85)
        insured = rng.random() < 0.75
        gender = self._pick(_GENDERS)
        make = rng.choice(list(_VEHICLES))
        fields: dict[str, FieldValue] = {
            "zip": rng.choice(city.zips),
            "state": city.state,
            "city": city.name,
            "age": age,
            "gender": gender,
            "marital_status": self._pick(
                {"single": 40, "married": 42, "divorced": 10, "widowed": 4, "domestic_partner": 4}
            ),
            "credit_rating": self._pick({"excellent": 25, "good": 40, "fair": 25, "poor": 10}),
            "homeowner": rng.random() < 0.55,
            "occupation": rng.choice(_OCCUPATIONS),
            "currently_insured": insured,
            "coverage_level": self._pick(
                {"state_minimum": 15, "basic": 25, "standard": 40, "premium": 20}
            ),
            "violations": self._pick({0: 75, 1: 17, 2: 6, 3: 2}),
            "accidents": self._pick({0: 85, 1: 12, 2: 3}),
            "dui": rng.random() < 0.03,
            "vehicle_count": self._pick({1: 60, 2: 32, 3: 8}),
            "vehicle_year": rng.randint(2006, self._today.year),
            "vehicle_make": make,
            "vehicle_model": rng.choice(_VEHICLES[make]),
            "vehicle_ownership": self._pick({"owned": 50, "financed": 38, "leased": 12}),
            "annual_mileage": rng.randrange(4_000, 25_000, 500),
            **self._tracking("auto_insurance"),
        }
        if insured:
            fields["current_carrier"] = rng.choice(_CARRIERS)
            fields["months_insured"] = rng.randint(1, 120)
        return SyntheticLead("auto_insurance", fields, self._contact(city, age, gender))

    def health_lead(self) -> SyntheticLead:
        rng = self._rng
        city = self._city()
        age = self._adult_age(18, 85)
        gender = self._pick(_GENDERS)
        if age >= 65:
            coverage = self._pick({"medicare_supplement": 50, "medicare_advantage": 50})
        else:
            coverage = self._pick(
                {
                    "individual": 40,
                    "family": 30,
                    "short_term": 15,
                    "dental_vision": 10,
                    "small_group": 5,
                }
            )
        household = 1 if coverage in ("individual", "short_term") else rng.randint(2, 6)
        fields: dict[str, FieldValue] = {
            "zip": rng.choice(city.zips),
            "state": city.state,
            "city": city.name,
            "age": age,
            "gender": gender,
            "household_size": household,
            "household_income": rng.randrange(18_000, 240_000, 1_000),
            "tobacco_use": rng.random() < 0.14,
            "pregnant": gender == "female" and age < 45 and rng.random() < 0.05,
            "pre_existing_conditions": rng.random() < 0.3,
            "height_inches": rng.randint(60, 76),
            "weight_pounds": rng.randint(110, 260),
            "coverage_type": coverage,
            "currently_insured": rng.random() < 0.55,
            "qualifying_life_event": rng.random() < 0.2,
            "medicaid_eligible": rng.random() < 0.08,
            **self._tracking("health_insurance"),
        }
        if fields["currently_insured"]:
            fields["current_carrier"] = rng.choice(_HEALTH_CARRIERS)
        return SyntheticLead("health_insurance", fields, self._contact(city, age, gender))

    # --- parts ---------------------------------------------------------------------------

    def _pick(self, weights: Mapping[T, int]) -> T:
        """One of the keys, drawn in proportion to its weight."""
        return self._rng.choices(list(weights), list(weights.values()))[0]

    def _city(self) -> _City:
        return self._rng.choices(_CITIES, _CITY_WEIGHTS)[0]

    def _adult_age(self, low: int, high: int) -> int:
        # most shoppers are 25 to 60
        return max(low, min(high, round(self._rng.gauss(44, 14))))

    def lead_ref(self) -> str:
        """A new seller's reference for a lead, never drawn before by this factory."""
        self._serial += 1
        return f"demo-{self._serial:07d}-{self._rng.getrandbits(32):08x}"

    def _tracking(self, vertical: Vertical) -> dict[str, FieldValue]:
        rng = self._rng
        return {
            "sub_id": f"pub-{rng.randint(100, 120)}",
            "source_url": f"{_SOURCES[vertical]}?utm_source=demo&utm_campaign=c{rng.randint(1, 9)}",
            "user_agent": rng.choice(_USER_AGENTS),
            "lead_ref": self.lead_ref(),
        }

    def _contact(self, city: _City, age: int, gender: str) -> dict[str, FieldValue]:
        rng = self._rng
        pool = _FIRST_NAMES["female" if gender == "female" else "male"]
        first, last = rng.choice(pool), rng.choice(_LAST_NAMES)
        born = self._today - dt.timedelta(days=age * 365 + rng.randint(1, 360))
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        return {
            "first_name": first,
            "last_name": last,
            "email": f"{first}.{last}{rng.randint(1, 999)}@{rng.choice(EMAIL_DOMAINS)}".lower(),
            # the fictional 555-01xx block, in the formats sellers really send
            "phone": rng.choice(
                ("({a}) 555-01{n:02d}", "{a}-555-01{n:02d}", "{a}55501{n:02d}")
            ).format(a=city.area_code, n=rng.randint(0, 99)),
            "address": f"{rng.randint(10, 9999)} {rng.choice(_STREETS)} "
            f"{rng.choice(_STREET_KINDS)}",
            "date_of_birth": born.isoformat(),
            "ip_address": f"{rng.choice(_IP_PREFIXES)}{rng.randint(1, 254)}",
            "consent_text": _CONSENT,
            "consent_at": now.isoformat().replace("+00:00", "Z"),
            "trusted_form_cert_id": f"{rng.getrandbits(160):040x}",
        }
