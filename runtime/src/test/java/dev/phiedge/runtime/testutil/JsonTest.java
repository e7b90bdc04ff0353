package dev.phiedge.runtime.testutil;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

class JsonTest {
    @Test
    void parsesEveryValueKind() {
        Object v = Json.parse(" {\"a\": [1, -2, 3.5, 1e2, true, false, null], \"s\": \"x\\n\\u00e9\\\"\\/\", \"o\": {}} ");
        Map<String, Object> m = Json.obj(v);
        assertEquals(List.of("a", "s", "o"), List.copyOf(m.keySet()));
        List<Object> a = Json.list(m.get("a"));
        assertEquals(1L, a.get(0));
        assertEquals(-2L, a.get(1));
        assertEquals(3.5, a.get(2));
        assertEquals(100.0, a.get(3));
        assertEquals(true, a.get(4));
        assertEquals(false, a.get(5));
        assertNull(a.get(6));
        assertEquals("x\né\"/", m.get("s"));
        assertEquals(Map.of(), m.get("o"));
        assertArrayEquals(new int[] {1, 2}, Json.ints(Json.parse("[1,2]")));
        assertEquals("b", Json.at(Json.parse("{\"x\":[{\"y\":\"b\"}]}"), "x", 0, "y"));
        assertEquals("\uD83C\uDF21", Json.parse("\"\\ud83c\\udf21\""));
    }

    @Test
    void rejectsMalformedInput() {
        for (String bad : List.of("", "{", "[1,]", "{\"a\" 1}", "\"open", "tru", "01x", "[1] 2", "\"\\q\"")) {
            assertThrows(IllegalArgumentException.class, () -> Json.parse(bad), bad);
        }
    }
}
