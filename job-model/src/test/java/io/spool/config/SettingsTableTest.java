package io.spool.config;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The README's settings table gives each whole-number setting the default the parser uses. */
class SettingsTableTest {
  private static final Pattern ROW = Pattern.compile("^\\| `(SPOOL_[A-Z_]+)` \\| ([^|]*) \\|");

  @Test
  void theReadmeGivesEveryWholeNumberSettingItsDefault()
      throws IOException, IllegalAccessException {
    Map<String, String> documented = new HashMap<>();
    for (String line : Files.readAllLines(Path.of("../README.md"))) {
      var row = ROW.matcher(line);
      if (row.find()) {
        documented.put(row.group(1), row.group(2).strip());
      }
    }
    var problems = new ArrayList<String>();
    int checked = 0;
    for (Field field : IntSettings.class.getFields()) {
      if (!Modifier.isStatic(field.getModifiers()) || field.getType() != IntSetting.class) {
        continue;
      }
      var setting = (IntSetting) field.get(null);
      checked++;
      String cell = documented.get(setting.name());
      if (cell == null) {
        problems.add(setting.name() + " is not in the README's settings table");
      } else if (!cell.startsWith("`" + setting.defaultValue() + "`")) {
        problems.add(
            setting.name()
                + ": the README says "
                + cell
                + ", the parser "
                + setting.defaultValue());
      }
    }
    assertFalse(checked == 0, "IntSettings declares no settings");
    assertTrue(problems.isEmpty(), String.join("\n", problems));
  }
}
