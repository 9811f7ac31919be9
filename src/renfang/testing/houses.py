"""Houses of the test world, each with the uses it has had."""

from __future__ import annotations

import datetime

from renfang.areas.models import Area
from renfang.houses.models import House, HouseUse, standard_address

D = datetime.date
Use = tuple[str, datetime.date, datetime.date | None]  # use, from, to


def house(  # noqa: PLR0913 (a house is described by this many values)
    code: str,
    area: Area,
    *,
    road: str,
    number: str,
    room: str = "101",
    uses: tuple[Use, ...] = (("rented_whole", D(2018, 1, 1), None),),
    floor_area: str | None = None,
    rooms: int | None = None,
) -> House:
    """A flat at ``road`` ``number``, ``room``, used as ``uses`` say."""
    made = House.objects.create(
        house_code=code,
        area=area,
        road=road,
        number=number,
        room=room,
        address=standard_address(road, number, "", "", room),
        kind="flat",
        floor_area=floor_area,
        rooms=rooms,
    )
    for use, valid_from, valid_to in uses:
        HouseUse.objects.create(house=made, use=use, valid_from=valid_from, valid_to=valid_to)
    return made
