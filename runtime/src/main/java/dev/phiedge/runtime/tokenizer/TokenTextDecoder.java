package dev.phiedge.runtime.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;

/**
 * Streaming detokenizer: feed generated token ids one at a time and get back the text that became
 * complete. Bytes of a UTF-8 character split across byte tokens ({@code <0xE2><0x82><0xAC>}) are held
 * until the character is complete; bytes that can never form a character come out as U+FFFD.
 *
 * <p>The concatenation of everything {@link #accept} and {@link #finish} return equals
 * {@link Tokenizer#decode(int[], boolean, boolean) decode(ids, false, special)} when
 * {@code stripLeadingSpace} is the vocabulary's {@code add_space_prefix} (see {@link #forGeneration}).
 * Not thread-safe; one instance per stream.
 */
public final class TokenTextDecoder {
    private final Tokenizer tokenizer;
    private final boolean special;
    private boolean stripSpace;
    private byte[] pending = new byte[16];
    private int pendingLength;

    /**
     * @param special           print CONTROL/UNKNOWN tokens (e.g. {@code <|end|>}) as their text
     * @param stripLeadingSpace drop one leading space of the first token's piece, as
     *                          {@code llama_detokenize} does
     */
    public TokenTextDecoder(Tokenizer tokenizer, boolean special, boolean stripLeadingSpace) {
        this.tokenizer = tokenizer;
        this.special = special;
        this.stripSpace = stripLeadingSpace;
    }

    /**
     * For a reply generated after a prompt: control tokens print nothing and the space the tokenizer
     * puts in front of the first word is removed, so the result equals {@code llama_detokenize(tokens,
     * false, false)} of the generated tokens.
     */
    public static TokenTextDecoder forGeneration(Tokenizer tokenizer) {
        return new TokenTextDecoder(tokenizer, false, tokenizer.vocabulary().addSpacePrefix());
    }

    /** Adds one token; returns the text completed by it (often empty while a character is incomplete). */
    public String accept(int id) {
        byte[] piece = tokenizer.pieceView(id, special);
        int skip = stripSpace && piece.length > 0 && piece[0] == ' ' ? 1 : 0;
        stripSpace = false;
        append(piece, skip, piece.length - skip);
        int complete = pendingLength - incompleteTail(pending, pendingLength);
        if (complete == 0) return "";
        String text = new String(pending, 0, complete, StandardCharsets.UTF_8);
        System.arraycopy(pending, complete, pending, 0, pendingLength - complete);
        pendingLength -= complete;
        return text;
    }

    /** Ends the stream: held bytes of an unfinished character come out as U+FFFD. */
    public String finish() {
        String text = new String(pending, 0, pendingLength, StandardCharsets.UTF_8);
        pendingLength = 0;
        return text;
    }

    /** Whether bytes of an unfinished character are being held. */
    public boolean hasPending() { return pendingLength > 0; }

    private void append(byte[] b, int off, int len) {
        if (pendingLength + len > pending.length) pending = Arrays.copyOf(pending, Math.max(pending.length * 2, pendingLength + len));
        System.arraycopy(b, off, pending, pendingLength, len);
        pendingLength += len;
    }

    /**
     * Length of the suffix of {@code b[0..n)} that is a proper prefix of a well-formed UTF-8 sequence
     * (Unicode table 3-7), i.e. bytes that a later token may still complete; 0 if there is none.
     */
    static int incompleteTail(byte[] b, int n) {
        for (int k = 1; k <= 3 && k <= n; k++) {
            int lead = b[n - k] & 0xFF;
            if (lead >= 0x80 && lead < 0xC0) continue; // a continuation byte: look further back
            int need = lead >= 0xC2 && lead <= 0xDF ? 2 : lead >= 0xE0 && lead <= 0xEF ? 3 : lead >= 0xF0 && lead <= 0xF4 ? 4 : 0;
            if (need <= k) return 0; // ASCII, an invalid lead, or a complete sequence
            for (int j = 1; j < k; j++) {
                int c = b[n - k + j] & 0xFF;
                int lo = 0x80, hi = 0xBF;
                if (j == 1) {
                    if (lead == 0xE0) lo = 0xA0;
                    else if (lead == 0xED) hi = 0x9F;
                    else if (lead == 0xF0) lo = 0x90;
                    else if (lead == 0xF4) hi = 0x8F;
                }
                if (c < lo || c > hi) return 0;
            }
            return k;
        }
        return 0;
    }
}
