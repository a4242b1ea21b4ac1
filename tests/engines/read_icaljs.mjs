// Reads calendar files with ical.js (the parser inside Thunderbird's calendar) and prints, as
// JSON, what it makes of each VEVENT: the instants as Unix seconds, and the iTIP fields.
import { readFileSync } from "node:fs";
import ICAL from "ical.js";

const read = (path) => {
  const root = new ICAL.Component(ICAL.parse(readFileSync(path, "utf8")));
  for (const zone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.register(zone);
  }
  const events = root.getAllSubcomponents("vevent").map((vevent) => {
    const event = new ICAL.Event(vevent);
    return {
      uid: event.uid,
      start: event.startDate.toUnixTime(),
      end: event.endDate.toUnixTime(),
      sequence: event.sequence,
      status: vevent.getFirstPropertyValue("status"),
      attendees: event.attendees.map((attendee) => attendee.getFirstValue()),
      attachments: vevent.getAllProperties("attach").map((attach) => attach.getFirstValue()),
    };
  });
  for (const zone of root.getAllSubcomponents("vtimezone")) {
    ICAL.TimezoneService.remove(zone.getFirstPropertyValue("tzid"));
  }
  return { method: root.getFirstPropertyValue("method"), events };
};

console.log(JSON.stringify(process.argv.slice(2).map(read)));
