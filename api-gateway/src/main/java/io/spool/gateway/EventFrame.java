package io.spool.gateway;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.spool.model.JobEvent;
import io.spool.model.JobJson;
import io.vertx.core.buffer.Buffer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;

/**
 * An event with its JSON text, and its bytes on the wire, each made once however many clients it
 * goes to: a live event keeps the text it was published with (Jackson-escaped, no raw newlines), so
 * fanning it out to a thousand sockets costs a thousand writes of one buffer, not a thousand
 * encodings. The wire forms are made on first use, on whichever event loop asks first (two loops
 * asking at once may each make one; they are equal and neither is ever changed).
 */
final class EventFrame {
  /**
   * Largest payload of one WebSocket frame: a longer event goes as a text frame followed by
   * continuation frames, as Vert.x's own {@code writeTextMessage} splits it, so clients with
   * Vert.x's default 64 KiB frame limit read it; every length then fits the 16-bit form.
   */
  static final int MAX_WS_FRAME_PAYLOAD = 65_535;

  private final JobEvent event;
  private final String json;
  private volatile ByteBuf webSocket;
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
   * The event as the bytes of an unmasked WebSocket text message (a server's frames are never
   * masked, so every socket gets the same bytes), in direct memory, so that a socket write neither
   * copies nor allocates beyond a view of it: {@link ByteBuf#duplicate()} it per write. Writes
   * never release it; the garbage collector frees it with the frame.
   */
  ByteBuf webSocket() {
    ByteBuf bytes = webSocket;
    if (bytes == null) {
      bytes = webSocketMessage(json.getBytes(StandardCharsets.UTF_8));
      webSocket = bytes;
    }
    return bytes;
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

  /** RFC 6455 frames for one text message: FIN on the last, payload lengths in 7 or 16 bits. */
  static ByteBuf webSocketMessage(byte[] payload) {
    int frames = Math.max(1, (payload.length + MAX_WS_FRAME_PAYLOAD - 1) / MAX_WS_FRAME_PAYLOAD);
    ByteBuffer out = ByteBuffer.allocateDirect(payload.length + frames * 4);
    int offset = 0;
    for (int i = 0; i < frames; i++) {
      int length = Math.min(MAX_WS_FRAME_PAYLOAD, payload.length - offset);
      int opcode = i == 0 ? 0x1 : 0x0; // text, then continuation
      out.put((byte) ((i == frames - 1 ? 0x80 : 0) | opcode));
      if (length < 126) {
        out.put((byte) length);
      } else {
        out.put((byte) 126).putShort((short) length);
      }
      out.put(payload, offset, length);
      offset += length;
    }
    out.flip();
    return Unpooled.unreleasableBuffer(Unpooled.wrappedBuffer(out));
  }
}
