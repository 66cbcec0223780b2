package io.spool.gateway;

import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.vertx.core.buffer.Buffer;

/**
 * An event with its JSON text, made once however many clients it goes to: a live event keeps the
 * text it was published with (Jackson-escaped, no raw newlines), so fanning it out to a thousand
 * sockets costs a thousand writes, not a thousand encodings. Its Server-Sent Event bytes are made
 * on first use, on whichever event loop asks first (two loops asking at once may each make one;
 * they are equal and never changed).
 */
final class EventFrame {
  private final JobEvent event;
  private final String json;
  private volatile Buffer sse;

  EventFrame(JobEvent event, String json) {
    this.event = event;
    this.json = json;
  }

  static EventFrame of(JobEvent event) {
    return new EventFrame(event, JobJson.encode(event));
  }

  JobEvent event() {
    return event;
  }

  String json() {
    return json;
  }

  /**
   * The event as one Server-Sent Event: {@code id: seq}, {@code event: type}, {@code data: JSON}.
   * The type is one of a fixed few and the JSON has no raw newlines: no frame injection.
   */
  Buffer sse() {
    Buffer bytes = sse;
    if (bytes == null) {
      bytes =
          Buffer.buffer(
              "id: " + event.seq() + "\nevent: " + event.type() + "\ndata: " + json + "\n\n");
      sse = bytes;
    }
    return bytes;
  }
}
