package dev.phiedge.runtime.tokenizer;

import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Streaming detokenization: text comes out only when UTF-8 characters are complete. */
class TokenTextDecoderTest {

    private static String stream(TokenTextDecoder d, int[] ids) {
        StringBuilder sb = new StringBuilder();
        for (int id : ids) sb.append(d.accept(id));
        return sb.append(d.finish()).toString();
    }

    @Test
    void emojiSplitAcrossByteTokensComesOutWhole() throws IOException {
        // phi3-extra case "🌡️🔥 ✅": ids_add0_parse0 from llama.cpp.
        Map<String, Object> row = null;
        for (Object o : Json.parseLines(Fixtures.resource("phi3-extra.jsonl"))) {
            if (Json.str(Json.at(o, "text")).startsWith("\uD83C\uDF21")) row = Json.obj(o);
        }
        int[] ids = Json.ints(row.get("ids_add0_parse0"));
        Tokenizer t = Fixtures.phi3();
        TokenTextDecoder d = new TokenTextDecoder(t, false, true);
        assertEquals("", d.accept(ids[0]));   // ▁ with the leading space stripped
        assertEquals("", d.accept(ids[1]));   // <0xF0>
        assertTrue(d.hasPending());
        assertEquals("", d.accept(ids[2]));   // <0x9F>
        assertEquals("", d.accept(ids[3]));   // <0x8C>
        assertEquals("\uD83C\uDF21", d.accept(ids[4])); // <0xA1> completes U+1F321
        assertFalse(d.hasPending());
        StringBuilder rest = new StringBuilder("\uD83C\uDF21");
        for (int i = 5; i < ids.length; i++) rest.append(d.accept(ids[i]));
        rest.append(d.finish());
        assertEquals(Json.str(row.get("text")), rest.toString());
    }

    @Test
    void bytesThatCannotFormACharacterBecomeReplacementCharacters() {
        Tokenizer t = Fixtures.phi3();
        int b80 = t.vocabulary().byteToken(0x80), bE2 = t.vocabulary().byteToken(0xE2), a = t.vocabulary().id("A").orElseThrow();
        TokenTextDecoder d = new TokenTextDecoder(t, false, false);
        assertEquals("\uFFFD", d.accept(b80));          // a lone continuation byte is never completed
        assertEquals("", d.accept(bE2));                // may still become a 3-byte character
        assertEquals("\uFFFDA", d.accept(a));           // it does not
        assertEquals("", d.accept(bE2));
        assertEquals("\uFFFD", d.finish());             // stream ends inside a character
    }

    @Test
    void streamingEqualsDecodeForRandomByteAndTextTokens() {
        Tokenizer t = Fixtures.phi3();
        Random rnd = new Random(42);
        for (int round = 0; round < 300; round++) {
            int[] ids = new int[rnd.nextInt(1, 40)];
            for (int i = 0; i < ids.length; i++) {
                int kind = rnd.nextInt(4);
                ids[i] = kind == 0 ? t.vocabulary().byteToken(0x80 + rnd.nextInt(0x80))
                        : kind == 1 ? t.vocabulary().byteToken(rnd.nextInt(256))
                        : kind == 2 ? 32000 + rnd.nextInt(64) : rnd.nextInt(32000);
            }
            assertEquals(t.decode(ids, false, false), stream(TokenTextDecoder.forGeneration(t), ids), "round " + round);
            assertEquals(t.decode(ids, false, true), stream(new TokenTextDecoder(t, true, true), ids), "round " + round);
        }
    }

    @Test
    void streamingTheGoldenGreedyTokensGivesTheReferenceText() throws IOException {
        int checked = 0;
        for (String golden : new String[] {"testdata/phi3-tiny/golden.json", "testdata/real-tiny/golden.json",
                "testdata/real-tiny/golden-200.json"}) {
            Path file = SharedData.require(golden);
            Object root = Json.parse(file);
            for (Object f : Json.list(Json.at(root, "files"))) {
                Path model = file.resolveSibling(Json.str(Json.at(f, "file")));
                if (!Files.exists(model)) continue;
                Tokenizer t = Fixtures.load(model, null);
                for (Object r : Json.list(Json.at(f, "results"))) {
                    int[] tokens = Json.ints(Json.at(r, "greedy", "tokens"));
                    String where = model.getFileName() + " " + Json.str(Json.at(r, "prompt"));
                    assertArrayEquals(Fixtures.hex(Json.str(Json.at(r, "greedy", "text_hex"))), t.decodeBytes(tokens, false, false), where);
                    assertEquals(Json.str(Json.at(r, "greedy", "text")), t.decode(tokens, false, false), where);
                    assertEquals(Json.str(Json.at(r, "greedy", "text_with_special")), t.decode(tokens, false, true), where);
                    assertEquals(Json.str(Json.at(r, "greedy", "text")), stream(TokenTextDecoder.forGeneration(t), tokens), where);
                    checked++;
                }
            }
        }
        assertTrue(checked >= 17, "golden sequences checked: " + checked);
    }

    @Test
    void incompleteTailFollowsUtf8WellFormedness() {
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(), 0));
        assertEquals(1, TokenTextDecoder.incompleteTail(bytes(0x41, 0xE2), 2));
        assertEquals(2, TokenTextDecoder.incompleteTail(bytes(0xE2, 0x82), 2));
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(0xE2, 0x82, 0xAC), 3));   // complete €
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(0xE0, 0x80), 2));         // overlong: never valid
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(0xED, 0xA0), 2));         // surrogate: never valid
        assertEquals(3, TokenTextDecoder.incompleteTail(bytes(0xF0, 0x9F, 0x8C), 3));
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(0xF5), 1));               // not a lead byte
        assertEquals(0, TokenTextDecoder.incompleteTail(bytes(0xC0), 1));
    }

    private static byte[] bytes(int... v) {
        byte[] b = new byte[v.length];
        for (int i = 0; i < v.length; i++) b[i] = (byte) v[i];
        return b;
    }

}
