"""The people of the demo data: unique names and GB 11643 ID numbers, families of a given
size with plausible ages and marital status, and each member's employment and income."""

from __future__ import annotations

import random
from datetime import date

from plugins.builtin.demo_common import (
    SURNAMES,
    TODAY,
    Person,
    either,
    id_check_char,
    person_name,
)


class People:
    """People whose resident ID numbers are unique across the whole run."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.used: set[str] = set()

    def person(
        self, gender: str, age: int, relation: str, area: str, surname: str | None = None
    ) -> Person:
        rng = self.rng
        surname = surname or rng.choice(SURNAMES)
        birth = min(date(TODAY.year - age, rng.randint(1, 12), rng.randint(1, 28)), TODAY)
        name = person_name(gender, rng, surname)
        return Person(surname, name, gender, birth, self.id_number(area, birth, gender), relation)

    def id_number(self, area: str, birth: date, gender: str) -> str:
        """A GB 11643 number: area, birth date, serial (odd for men) and check character."""
        while True:
            serial = int(self.rng.random() * 500) * 2 + (gender == "male")
            body = f"{area}{birth.year}{birth.month:02d}{birth.day:02d}{serial:03d}"
            number = body + id_check_char(body)
            if number not in self.used:
                self.used.add(number)
                return number


def family(size: int, area: str, people: People) -> tuple[list[Person], str]:
    """The members of a household, applicant first, and the applicant's marital status."""
    rng = people.rng
    gender = either(rng)
    couple = size >= 2 and rng.random() < (0.65 if size == 2 else 0.85)
    age = rng.randint(22, 60) if size == 1 else rng.randint(28, 55)
    members = [people.person(gender, age, "self", area)]
    if couple:
        spouse = "female" if gender == "male" else "male"
        members.append(people.person(spouse, max(22, age + rng.randint(-5, 5)), "spouse", area))
    father = members[1] if couple and gender == "female" else members[0]
    with_parent = size >= 4 and rng.random() < 0.5
    for _ in range(size - len(members) - with_parent):
        child_age = rng.randint(0, min(age - 23, 25))
        members.append(people.person(either(rng), child_age, "child", area, father.surname))
    if with_parent:
        members.append(
            people.person(either(rng), min(age + rng.randint(22, 32), 90), "parent", area)
        )
    if couple:
        return members, "married"
    singles = ("unmarried", "divorced", "widowed") if size == 1 else ("divorced", "widowed")
    return members, rng.choice(singles)


def earnings(person: Person, rng: random.Random) -> tuple[str, int]:
    """Employment and annual income (CNY) of one member, by age."""
    age = TODAY.year - person.birth.year
    if age < 6:
        return "preschool", 0
    if person.relation == "child" and age <= 22:
        return "student", 0
    if age >= 60:
        return "retired", rng.randrange(18_000, 42_000, 100)
    draw = rng.random()
    if draw < 0.1:
        return "unemployed", 0
    if draw < 0.4:
        return "flexible", rng.randrange(12_000, 42_000, 100)
    return "employed", rng.randrange(30_000, 72_000, 100)
