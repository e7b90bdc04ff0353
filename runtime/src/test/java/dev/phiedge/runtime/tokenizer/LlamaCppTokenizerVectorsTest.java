package dev.phiedge.runtime.tokenizer;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.io.IOException;
import java.util.List;
import java.util.stream.IntStream;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * llama.cpp's own tokenizer vectors ({@code test-tokenizer-0}) for the Phi-3 and the Llama SPM
 * vocabularies: 46 cases each, {@code add_special=false, parse_special=false}.
 */
class LlamaCppTokenizerVectorsTest {

    static Stream<Arguments> cases() throws IOException {
        Stream<Arguments> all = Stream.empty();
        for (String vocab : List.of(Fixtures.PHI3_VOCAB, Fixtures.LLAMA_SPM_VOCAB)) {
            List<String> texts = Fixtures.readCases(Fixtures.resource(vocab + ".inp"));
            List<int[]> ids = Fixtures.readExpected(Fixtures.resource(vocab + ".out"));
            assertEquals(46, texts.size(), vocab + ".inp case count");
            assertEquals(texts.size(), ids.size(), vocab + ".out line count");
            all = Stream.concat(all, IntStream.range(0, texts.size())
                    .mapToObj(i -> Arguments.of(vocab, i, texts.get(i), ids.get(i))));
        }
        return all;
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("cases")
    void encodesExactlyAsLlamaCpp(String vocab, int index, String text, int[] expected) {
        Tokenizer t = Fixtures.load(Fixtures.resource(vocab), null);
        assertArrayEquals(expected, t.encode(text, false, false), () -> "case " + index + ": " + escape(text));
    }

    @ParameterizedTest(name = "{0} case {1}")
    @MethodSource("cases")
    void decodingTheReferenceIdsGivesBackTheText(String vocab, int index, String text, int[] expected) {
        Tokenizer t = Fixtures.load(Fixtures.resource(vocab), null);
        assertEquals(text, t.decode(expected, false, false), () -> "case " + index + ": " + escape(text));
    }

    static String escape(String s) {
        return '"' + s.replace("\n", "\\n").replace("\t", "\\t").replace("\r", "\\r") + '"';
    }

}
