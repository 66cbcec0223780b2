package io.spool.worker.builtin;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.vertx.core.buffer.Buffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class LineSplitterTest {
  @Test
  void linesAreWholeWhateverTheChunkBoundariesAndCrLfIsOneEnd() {
    byte[] stream =
        "data: {\"text\":\"héllo ✓\"}\r\n\r\ndata: [DONE]\n".getBytes(StandardCharsets.UTF_8);
    for (int size = 1; size <= stream.length; size++) {
      var splitter = new LlmHandler.LineSplitter();
      var lines = new ArrayList<String>();
      for (int at = 0; at < stream.length; at += size) {
        lines.addAll(
            splitter.feed(
                Buffer.buffer().appendBytes(stream, at, Math.min(size, stream.length - at))));
      }
      assertEquals(
          List.of("data: {\"text\":\"héllo ✓\"}", "", "data: [DONE]"),
          lines,
          "chunks of " + size + " bytes");
    }
  }
}
