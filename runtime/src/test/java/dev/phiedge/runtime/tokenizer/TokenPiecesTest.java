package dev.phiedge.runtime.tokenizer;

import org.junit.jupiter.api.Test;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code llama_token_to_piece} (special false and true), the token attributes (type bits and RSTRIP)
 * and the end-of-generation flag for all 32064 ids of the Phi-3 vocabulary, against
 * {@code phi3-pieces.tsv.gz}.
 */
class TokenPiecesTest {

    record Row(int id, int attr, boolean eog, byte[] plain, byte[] special) {}

    static List<Row> rows() throws IOException {
        List<Row> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(
                new GZIPInputStream(Files.newInputStream(Fixtures.resource("phi3-pieces.tsv.gz"))), StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null; ) {
                if (line.startsWith("#") || line.isEmpty()) continue;
                String[] f = line.split("\t", -1);
                rows.add(new Row(Integer.parseInt(f[0]), Integer.parseInt(f[1]), f[2].equals("1"),
                        Fixtures.hex(f[3]), Fixtures.hex(f[4])));
            }
        }
        return rows;
    }

    @Test
    void everyPieceMatchesLlamaCpp() throws IOException {
        Tokenizer t = Fixtures.phi3();
        List<Row> rows = rows();
        assertEquals(t.vocabulary().size(), rows.size(), "one row per id");
        List<String> mismatches = new ArrayList<>();
        for (Row row : rows) {
            byte[] plain = t.tokenToPiece(row.id, false), special = t.tokenToPiece(row.id, true);
            if (!java.util.Arrays.equals(row.plain, plain) || !java.util.Arrays.equals(row.special, special)) {
                mismatches.add(row.id + " '" + t.vocabulary().piece(row.id) + "'");
            }
        }
        assertTrue(mismatches.isEmpty(), () -> mismatches.size() + " pieces differ, first: " + mismatches.subList(0, Math.min(10, mismatches.size())));
    }

    @Test
    void attributesAndRstripMatchLlamaCpp() throws IOException {
        Vocabulary v = Fixtures.phi3().vocabulary();
        for (Row row : rows()) {
            assertEquals(row.attr, v.attributes(row.id), () -> "attr of " + row.id + " '" + v.piece(row.id) + "'");
        }
    }

    @Test
    void endOfGenerationFlagsMatchLlamaCpp() throws IOException {
        Tokenizer t = Fixtures.phi3();
        List<Integer> expected = new ArrayList<>();
        for (Row row : rows()) {
            assertEquals(row.eog, t.isEndOfGeneration(row.id), () -> "is_eog of " + row.id);
            if (row.eog) expected.add(row.id);
        }
        assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), t.vocabulary().endOfGenerationIds());
    }

    @Test
    void piecesOfSelectedTokens() {
        Tokenizer t = Fixtures.phi3();
        assertArrayEquals(" Hello".getBytes(StandardCharsets.UTF_8), t.tokenToPiece(15043, false));
        assertArrayEquals(new byte[] {'\n'}, t.tokenToPiece(13, false));           // <0x0A>
        assertArrayEquals(new byte[0], t.tokenToPiece(32007, false));              // <|end|>, CONTROL
        assertArrayEquals("<|end|>".getBytes(StandardCharsets.UTF_8), t.tokenToPiece(32007, true));
        assertArrayEquals("</s>".getBytes(StandardCharsets.UTF_8), t.tokenToPiece(2, false)); // USER_DEFINED
    }
}
