package dev.phiedge.runtime.tokenizer;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Stop tokens and special ids of the Phi-3 and Llama vocabularies (tokenizer README, items 7 and 8). */
class EndOfGenerationTest {

    @Test
    void phi3StopsAtEndOfTextAndEndButNotAtSlashS() {
        Tokenizer t = Fixtures.phi3();
        assertArrayEquals(new int[] {32000, 32007}, t.vocabulary().endOfGenerationIds());
        assertTrue(t.isEndOfGeneration(32000));
        assertTrue(t.isEndOfGeneration(32007));
        assertFalse(t.isEndOfGeneration(2));
        assertFalse(t.isEndOfGeneration(-1));
        assertFalse(t.isEndOfGeneration(1 << 20));
        assertEquals(32007, t.endOfTurn());
    }

    @Test
    void phi3SpecialIdsAndFlags() {
        Vocabulary v = Fixtures.phi3().vocabulary();
        assertEquals(32064, v.size());
        assertEquals(1, v.bos());
        assertEquals(32000, v.eos());
        assertEquals(0, v.unk());
        assertEquals(32000, v.pad());
        assertTrue(v.addBos());
        assertFalse(v.addEos());
        assertTrue(v.addSpacePrefix());
        assertEquals(TokenType.CONTROL, v.type(32010));
        assertEquals(TokenType.USER_DEFINED, v.type(2));
        assertEquals(TokenType.UNKNOWN, v.type(32011));
        assertEquals(TokenType.BYTE, v.type(13));
        assertEquals(TokenType.NORMAL, v.type(15043));
        assertEquals(32010, v.id("<|user|>").orElseThrow());
        assertEquals(3 + 0x0A, v.byteToken(0x0A));
        assertTrue(v.id("no such piece").isEmpty());
    }

    @Test
    void emptyTextIsBosOnlyWithSpecialTokens() {
        Tokenizer t = Fixtures.phi3();
        assertArrayEquals(new int[0], t.encode("", false, true));
        assertArrayEquals(new int[] {1}, t.encode("", true, true));
    }

    @Test
    void llamaVocabularyStopsAtEos() {
        Tokenizer t = Fixtures.llamaSpm();
        assertArrayEquals(new int[] {2}, t.vocabulary().endOfGenerationIds());
        assertEquals(-1, t.endOfTurn());
    }
}
