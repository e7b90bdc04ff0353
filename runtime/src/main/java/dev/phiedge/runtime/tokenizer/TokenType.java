package dev.phiedge.runtime.tokenizer;

/**
 * The type of a vocabulary entry, as stored in the GGUF array {@code tokenizer.ggml.token_type}
 * (llama.cpp {@code llama_token_type}: 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED, 5 UNUSED, 6 BYTE).
 * Any other value (0 included) reads as {@link #UNDEFINED}, which llama.cpp treats as "print nothing,
 * never special".
 */
public enum TokenType {
    NORMAL(1), UNKNOWN(2), CONTROL(3), USER_DEFINED(4), UNUSED(5), BYTE(6), UNDEFINED(0);

    private final int ggufId;

    TokenType(int ggufId) { this.ggufId = ggufId; }

    /** The value used in {@code tokenizer.ggml.token_type}. */
    public int ggufId() { return ggufId; }

    public static TokenType fromGguf(int id) {
        return switch (id) {
            case 1 -> NORMAL;
            case 2 -> UNKNOWN;
            case 3 -> CONTROL;
            case 4 -> USER_DEFINED;
            case 5 -> UNUSED;
            case 6 -> BYTE;
            default -> UNDEFINED;
        };
    }
}
