package dev.phiedge.runtime.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** The most text one token can cover, measured as the encoder matches: a ▁ stands for one space. */
class LongestPieceBytesTest {

    private static Vocabulary vocabulary(String... pieces) {
        return Vocabulary.of("test", pieces, null, null, 1, 2, 0, true, false, true);
    }

    @Test
    void countsUtf8BytesWithEachSpaceMarkerAsOne() {
        // <unk> 5; "▁▁▁▁▁▁" 6 (18 UTF-8 bytes, but six spaces of text); "▁дом" 1 + 3 * 2 = 7.
        assertEquals(7, vocabulary("<unk>", "<s>", "</s>", "\u2581".repeat(6), "\u2581дом").longestPieceBytes());
        // "€€" 2 * 3 = 6 and an emoji 4: the special token <|assistant|> (13) is the longest.
        assertEquals(13, vocabulary("<unk>", "<s>", "</s>", "€€", "\uD83D\uDE00", "<|assistant|>").longestPieceBytes());
    }
}
