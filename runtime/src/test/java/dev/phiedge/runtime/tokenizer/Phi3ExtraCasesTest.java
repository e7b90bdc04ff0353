package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufValue;
import dev.phiedge.runtime.gguf.GgufWriter;
import dev.phiedge.runtime.testutil.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * The project's extra Phi-3 cases ({@code phi3-extra.jsonl}, ids made by llama.cpp): every case with
 * and without BOS and special-token parsing, the RSTRIP rule (and its absence when general.name lacks
 * "phi3"), and the three detokenizations.
 */
class Phi3ExtraCasesTest {

    static Stream<Arguments> cases() throws IOException {
        List<Object> rows = Json.parseLines(Fixtures.resource("phi3-extra.jsonl"));
        List<String> inp = Fixtures.readCases(Fixtures.resource("phi3-extra.inp"));
        assertEquals(34, rows.size(), "phi3-extra.jsonl case count");
        assertEquals(rows.size(), inp.size(), "phi3-extra.inp case count");
        return IntStream.range(0, rows.size()).mapToObj(i -> {
            Map<String, Object> row = Json.obj(rows.get(i));
            String text = Fixtures.utf8(Json.str(row.get("text_hex")));
            assertEquals(Json.str(row.get("text")), text, "text vs text_hex, case " + i);
            assertEquals(inp.get(i), text, "phi3-extra.inp vs jsonl, case " + i);
            return Arguments.of(i, LlamaCppTokenizerVectorsTest.escape(text), row);
        });
    }

    private static String text(Map<String, Object> row) { return Fixtures.utf8(Json.str(row.get("text_hex"))); }

    @ParameterizedTest(name = "case {0}: {1}")
    @MethodSource("cases")
    void encodesForAllFourAddAndParseSettings(int index, String shown, Map<String, Object> row) {
        Tokenizer t = Fixtures.phi3();
        for (int add = 0; add <= 1; add++) {
            for (int parse = 0; parse <= 1; parse++) {
                String key = "ids_add" + add + "_parse" + parse;
                assertArrayEquals(Json.ints(row.get(key)), t.encode(text(row), add == 1, parse == 1), key);
            }
        }
    }

    @ParameterizedTest(name = "case {0}: {1}")
    @MethodSource("cases")
    void keepsWhitespaceAfterChatTokensWhenTheNameLacksPhi3(int index, String shown, Map<String, Object> row) {
        assertArrayEquals(Json.ints(row.get("ids_add1_parse1_if_name_lacks_phi3")),
                Fixtures.phi3NamedOtherwise().encode(text(row), true, true));
    }

    @ParameterizedTest(name = "case {0}: {1}")
    @MethodSource("cases")
    void detokenizesLikeLlamaCpp(int index, String shown, Map<String, Object> row) {
        Tokenizer t = Fixtures.phi3();
        int[] ids = Json.ints(row.get("ids_add1_parse1"));
        assertArrayEquals(Fixtures.hex(Json.str(row.get("detok_keep_special_hex"))), t.decodeBytes(ids, false, true), "keep_special");
        assertArrayEquals(Fixtures.hex(Json.str(row.get("detok_plain_hex"))), t.decodeBytes(ids, false, false), "plain");
        assertArrayEquals(Fixtures.hex(Json.str(row.get("detok_remove_special_hex"))), t.decodeBytes(ids, true, false), "remove_special");
        assertEquals(Json.str(row.get("detok_keep_special")), t.decode(ids, false, true), "keep_special text");
        assertEquals(Json.str(row.get("detok_plain")), t.decode(ids, false, false), "plain text");
        assertEquals(Json.str(row.get("detok_remove_special")), t.decode(ids, true, false), "remove_special text");
    }

    /** The name rule read from a real GGUF: a copy of the vocabulary written with another general.name. */
    @Test
    void aGgufNamedWithoutPhi3KeepsTheNewlines(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("renamed-vocab.gguf");
        try (GgufFile src = GgufFile.open(Fixtures.resource(Fixtures.PHI3_VOCAB))) {
            new GgufWriter().copyMetadata(src, "tokenizer.")
                    .put("general.architecture", GgufValue.of("phi3"))
                    .put("general.name", GgufValue.of("Phi 3 Mini 4k Instruct"))
                    .write(copy);
        }
        Tokenizer renamed;
        try (GgufFile f = GgufFile.open(copy)) {
            renamed = Tokenizer.fromGguf(f);
        }
        for (Object o : Json.parseLines(Fixtures.resource("phi3-extra.jsonl"))) {
            Map<String, Object> row = Json.obj(o);
            assertArrayEquals(Json.ints(row.get("ids_add1_parse1_if_name_lacks_phi3")), renamed.encode(text(row), true, true),
                    () -> Json.str(row.get("text")));
        }
        assertArrayEquals(new int[] {1, 32010, 29871, 13, 10994, 32007, 29871, 13, 32001, 29871, 13},
                renamed.encode("<|user|>\nHello<|end|>\n<|assistant|>\n", true, true));
    }

    @Test
    void chatTokensSwallowTheFollowingNewlineForAPhi3Name() {
        // README behaviour 6, stated explicitly.
        assertArrayEquals(new int[] {1, 32010, 15043, 32007, 32001},
                Fixtures.phi3().encode("<|user|>\nHello<|end|>\n<|assistant|>\n", true, true));
    }
}
