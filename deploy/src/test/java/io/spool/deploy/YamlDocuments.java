package io.spool.deploy;

import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Reads every document of a YAML file into trees, resolving anchors, aliases and {@code <<} merge
 * keys as Docker compose does (Jackson alone reports an alias as the anchor's name, a plain
 * string).
 */
final class YamlDocuments {
  private static final YAMLFactory FACTORY = new YAMLFactory();
  private static final JsonNodeFactory NODES = JsonNodeFactory.instance;

  private YamlDocuments() {}

  /** The file's documents in order; an empty document (a lone {@code ---}) is a null node. */
  static List<JsonNode> read(Path file) throws IOException {
    try (YAMLParser parser = FACTORY.createParser(file.toFile())) {
      var documents = new ArrayList<JsonNode>();
      var anchors = new HashMap<String, JsonNode>();
      while (parser.nextToken() != null) {
        documents.add(node(parser, anchors));
      }
      return documents;
    }
  }

  private static JsonNode node(YAMLParser parser, Map<String, JsonNode> anchors)
      throws IOException {
    String anchor = parser.getObjectId(); // read before moving on
    JsonNode node =
        switch (parser.currentToken()) {
          case START_OBJECT -> object(parser, anchors);
          case START_ARRAY -> {
            ArrayNode array = NODES.arrayNode();
            while (parser.nextToken() != JsonToken.END_ARRAY) {
              array.add(node(parser, anchors));
            }
            yield array;
          }
          case VALUE_STRING -> {
            if (!parser.isCurrentAlias()) {
              yield NODES.textNode(parser.getText());
            }
            JsonNode target = anchors.get(parser.getText());
            if (target == null) {
              throw new IOException(
                  "alias *"
                      + parser.getText()
                      + " names no anchor before it, at "
                      + parser.currentLocation());
            }
            yield target;
          }
          case VALUE_NUMBER_INT ->
              switch (parser.getNumberType()) {
                case INT -> NODES.numberNode(parser.getIntValue());
                case LONG -> NODES.numberNode(parser.getLongValue());
                default -> NODES.numberNode(parser.getBigIntegerValue());
              };
          case VALUE_NUMBER_FLOAT -> NODES.numberNode(parser.getDoubleValue());
          case VALUE_TRUE, VALUE_FALSE -> NODES.booleanNode(parser.getBooleanValue());
          case VALUE_NULL -> NODES.nullNode();
          default -> NODES.textNode(parser.getText());
        };
    if (anchor != null) {
      anchors.put(anchor, node);
    }
    return node;
  }

  private static ObjectNode object(YAMLParser parser, Map<String, JsonNode> anchors)
      throws IOException {
    ObjectNode object = NODES.objectNode();
    var merged = new ArrayList<JsonNode>();
    while (parser.nextToken() == JsonToken.FIELD_NAME) {
      String key = parser.currentName();
      parser.nextToken();
      JsonNode value = node(parser, anchors);
      if (key.equals("<<")) {
        merged.add(value);
      } else {
        object.set(key, value);
      }
    }
    // Keys written in the mapping win over merged ones, wherever the << stands; "<<: [*a, *b]"
    // merges both, a first.
    for (JsonNode source : merged) {
      for (JsonNode map : source.isArray() ? source : List.of(source)) {
        map.properties()
            .forEach(
                field -> {
                  if (!object.has(field.getKey())) {
                    object.set(field.getKey(), field.getValue());
                  }
                });
      }
    }
    return object;
  }
}
