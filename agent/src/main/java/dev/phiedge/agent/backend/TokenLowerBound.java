package dev.phiedge.agent.backend;

import dev.phiedge.runtime.tokenizer.Vocabulary;
import java.util.ArrayList;
import java.util.List;

/**
 * The fewest tokens a chat message's text can encode to, computed from its length without tokenizing
 * it: a megabyte of text is refused in a millisecond instead of after seconds of tokenizing.
 *
 * <p>Every token covers at most {@link Vocabulary#longestPieceBytes()} bytes of the text (spaces and
 * literal {@code ▁} counted as one byte, as that accessor says), so a text of N bytes needs at least
 * {@code ceil(N / longest)} tokens. The only text a token can cover beyond its piece is whitespace that a
 * special token with LSTRIP/RSTRIP removes; such whitespace is not counted: at the text's ends (the chat
 * template's {@code <|user|>} and {@code <|end|>} around it may strip it), and everywhere when the text
 * contains a special token that is recognised inside a message (USER_DEFINED, e.g. Phi-3's {@code </s>})
 * and strips. The result is therefore a true lower bound: a prompt refused by it would be refused by its
 * real token count too, and a prompt that fits is never refused.
 */
final class TokenLowerBound {

    private final int longestPiece;
    /** Texts of USER_DEFINED tokens with LSTRIP or RSTRIP: recognised inside a message, they eat whitespace. */
    private final List<String> strippingTexts;

    private TokenLowerBound(int longestPiece, List<String> strippingTexts) {
        this.longestPiece = Math.max(1, longestPiece);
        this.strippingTexts = List.copyOf(strippingTexts);
    }

    static TokenLowerBound of(Vocabulary vocabulary) {
        List<String> stripping = new ArrayList<>();
        for (int id = 0; id < vocabulary.size(); id++) {
            int attrs = vocabulary.attributes(id);
            if ((attrs & Vocabulary.ATTR_USER_DEFINED) != 0
                    && (attrs & (Vocabulary.ATTR_LSTRIP | Vocabulary.ATTR_RSTRIP)) != 0
                    && !vocabulary.piece(id).isEmpty()) {
                stripping.add(vocabulary.piece(id));
            }
        }
        return new TokenLowerBound(vocabulary.longestPieceBytes(), stripping);
    }

    int longestPiece() {
        return longestPiece;
    }

    /**
     * @param utf8Bytes     the text's UTF-8 length
     * @param countedBytes  the bytes that tokens must cover (▁ as one byte, strippable whitespace left out)
     * @param minimumTokens {@code ceil(countedBytes / longestPiece)}: the text encodes to at least this many
     */
    record Estimate(long utf8Bytes, long countedBytes, long minimumTokens) {}

    Estimate estimate(String text) {
        long utf8 = 0;      // the text's real UTF-8 length, for messages
        long counted = 0;   // bytes as longestPieceBytes() measures them, whitespace included
        long whitespace = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c < 0x80) {
                utf8 += 1;
                counted += 1;
                if (isSpace(c)) {
                    whitespace++;
                }
            } else if (c < 0x800) {
                utf8 += 2;
                counted += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                utf8 += 4;
                counted += 4;
                i++;
            } else if (Character.isSurrogate(c)) {
                utf8 += 1; // a lone surrogate: the encoder sees '?' (1 byte)
                counted += 1;
            } else {
                utf8 += 3;
                counted += c == '\u2581' ? 1 : 3;
            }
        }
        if (whitespace > 0) {
            if (containsStrippingToken(text)) {
                counted -= whitespace;
            } else {
                counted -= edgeWhitespace(text);
            }
        }
        return new Estimate(utf8, counted, (counted + longestPiece - 1) / longestPiece);
    }

    private boolean containsStrippingToken(String text) {
        for (String token : strippingTexts) {
            if (text.contains(token)) {
                return true;
            }
        }
        return false;
    }

    /** The whitespace at the start and at the end of {@code text}. */
    private static long edgeWhitespace(String text) {
        int start = 0;
        while (start < text.length() && isSpace(text.charAt(start))) {
            start++;
        }
        int end = text.length();
        while (end > start && isSpace(text.charAt(end - 1))) {
            end--;
        }
        return start + (text.length() - end);
    }

    /** What LSTRIP/RSTRIP remove: C {@code isspace} in the "C" locale, as the tokenizer. */
    private static boolean isSpace(char c) {
        return c == ' ' || c == '\t' || c == '\n' || c == 0x0B || c == '\f' || c == '\r';
    }
}
