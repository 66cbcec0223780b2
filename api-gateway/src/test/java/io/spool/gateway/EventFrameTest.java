package io.spool.gateway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.WebSocket08FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The WebSocket bytes made once per event, read back by Netty's own client-side decoder. */
class EventFrameTest {
  private static String text(int length) {
    var text = new StringBuilder(length);
    for (int i = 0; text.length() < length; i++) {
      text.append(i % 7 == 0 ? 'é' : (char) ('a' + i % 26)); // two bytes in UTF-8 now and then
    }
    return text.toString();
  }

  /** Decodes the message as a client with Vert.x's default 64 KiB frame limit would. */
  private static String decode(ByteBuf message, int expectedFrames) {
    var channel = new EmbeddedChannel(new WebSocket08FrameDecoder(false, false, 65_536));
    channel.writeInbound(message.duplicate());
    var payload = new ByteArrayOutputStream();
    for (int i = 0; i < expectedFrames; i++) {
      WebSocketFrame frame = channel.readInbound();
      assertTrue(
          i == 0
              ? frame instanceof TextWebSocketFrame
              : frame instanceof ContinuationWebSocketFrame,
          "frame " + i + " is " + frame);
      assertEquals(i == expectedFrames - 1, frame.isFinalFragment(), "FIN on the last only");
      assertTrue(frame.content().readableBytes() <= EventFrame.MAX_WS_FRAME_PAYLOAD);
      payload.writeBytes(ByteBufUtil.getBytes(frame.content()));
      frame.release();
    }
    Object rest = channel.readInbound();
    assertNull(rest, "nothing after the last frame");
    assertFalse(channel.finish());
    return payload.toString(StandardCharsets.UTF_8);
  }

  @Test
  void everyLengthFormReadsBackAsTheSameText() {
    for (int bytes : new int[] {0, 1, 125, 126, 127, 65_535}) {
      String ascii = "x".repeat(bytes);
      assertEquals(ascii, decode(EventFrame.webSocketMessage(ascii.getBytes()), 1), bytes + "");
    }
    String mixed = text(40_000);
    assertEquals(
        mixed, decode(EventFrame.webSocketMessage(mixed.getBytes(StandardCharsets.UTF_8)), 1));
  }

  @Test
  void aLongMessageIsSplitIntoContinuationFramesAClientCanRead() {
    String long1 = "y".repeat(65_536);
    assertEquals(long1, decode(EventFrame.webSocketMessage(long1.getBytes()), 2));
    String long2 = text(300_000); // a character may straddle two frames
    byte[] utf8 = long2.getBytes(StandardCharsets.UTF_8);
    int frames =
        (utf8.length + EventFrame.MAX_WS_FRAME_PAYLOAD - 1) / EventFrame.MAX_WS_FRAME_PAYLOAD;
    assertEquals(long2, decode(EventFrame.webSocketMessage(utf8), frames));
  }

  @Test
  void theSharedBytesSurviveManyWritesAndAreNeverReleased() {
    var frame = new EventFrame(null, "{\"type\":\"progress\"}");
    ByteBuf shared = frame.webSocket();
    for (int i = 0; i < 3; i++) {
      ByteBuf view = shared.duplicate();
      assertEquals("{\"type\":\"progress\"}", decode(view, 1));
      view.release(); // what Netty does after writing it
    }
    assertTrue(shared.isReadable(), "still whole for the next socket");
    assertTrue(shared.isDirect(), "direct: a socket write copies nothing");
  }
}
