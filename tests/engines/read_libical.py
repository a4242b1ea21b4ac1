"""Reads calendar files with libical (Evolution's parser, through GObject introspection) and
prints, as JSON, what it makes of each VEVENT. Run by Debian's /usr/bin/python3 (python3-gi)."""

import json
import sys

import gi

gi.require_version("ICalGLib", "3.0")
from gi.repository import ICalGLib as ICal  # noqa: E402


def read(path):
    with open(path, encoding="utf-8") as file:
        root = ICal.Component.new_from_string(file.read())
    events = []
    event = root.get_first_component(ICal.ComponentKind.VEVENT_COMPONENT)
    while event is not None:
        start, end = event.get_dtstart(), event.get_dtend()
        attendees = []
        attendee = event.get_first_property(ICal.PropertyKind.ATTENDEE_PROPERTY)
        while attendee is not None:
            attendees.append(attendee.get_attendee())
            attendee = event.get_next_property(ICal.PropertyKind.ATTENDEE_PROPERTY)
        attachments = []
        attach = event.get_first_property(ICal.PropertyKind.ATTACH_PROPERTY)
        while attach is not None:
            attachments.append(attach.get_attach().get_url())
            attach = event.get_next_property(ICal.PropertyKind.ATTACH_PROPERTY)
        status = event.get_first_property(ICal.PropertyKind.STATUS_PROPERTY)
        events.append(
            {
                "uid": event.get_uid(),
                "start": start.as_timet_with_zone(start.get_timezone()),
                "end": end.as_timet_with_zone(end.get_timezone()),
                "sequence": event.get_sequence(),
                "status": status.get_value_as_string() if status else None,
                "attendees": attendees,
                "attachments": attachments,
            }
        )
        event = root.get_next_component(ICal.ComponentKind.VEVENT_COMPONENT)
    method = root.get_first_property(ICal.PropertyKind.METHOD_PROPERTY)
    return {"method": method.get_value_as_string() if method else None, "events": events}


print(json.dumps([read(path) for path in sys.argv[1:]]))
