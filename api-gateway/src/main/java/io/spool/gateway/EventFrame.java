package io.spool.gateway;

import io.spool.model.JobEvent;
import io.spool.model.JobJson;

/**
 * An event with its JSON text, encoded once however many clients it goes to: a live event keeps the
 * text it was published with (Jackson-escaped, no raw newlines), so fanning it out to a thousand
 * sockets costs a thousand writes, not a thousand encodings.
 */
record EventFrame(JobEvent event, String json) {
  static EventFrame of(JobEvent event) {
    return new EventFrame(event, JobJson.encode(event));
  }
}
