package dev.phiedge.runtime.synth;

import dev.phiedge.runtime.gguf.GgmlType;
import java.util.Locale;

/**
 * The tensor-type mixes of {@code phi3 synth}: what {@code llama-quantize} (llama.cpp c392e50,
 * {@code llama_tensor_get_type}) gives a phi3 model for each file type. Norms and LongRoPE factors
 * are always F32.
 *
 * <ul>
 *   <li>F16: every matrix F16 (as the converter writes it).</li>
 *   <li>Q8_0: every matrix Q8_0, token_embd and output included.</li>
 *   <li>Q4_0: every matrix Q4_0 except output, which is Q6_K.</li>
 *   <li>Q4_K_M: token_embd, attn_output and ffn_up Q4_K; attn_qkv Q5_K; output Q6_K; ffn_down Q6_K in
 *       the layers {@link #useMoreBits} picks (0-3, 6, 9, ..., 24, 27-31 of 32), Q4_K in the others.</li>
 * </ul>
 */
public enum SyntheticType {
    F16(1), Q8_0(7), Q4_0(2), Q4_K_M(15);

    /** What a matrix is for: its type depends on it. */
    public enum Role { TOKEN_EMBD, OUTPUT, ATTN_QKV, ATTN_OUTPUT, FFN_UP, FFN_DOWN, NORM, ROPE_FACTORS }

    private final int fileType;

    SyntheticType(int fileType) { this.fileType = fileType; }

    /** {@code general.file_type} (llama_ftype). */
    public int fileType() { return fileType; }

    /** Whether the file is written by llama-quantize (tensor and key order) rather than the converter. */
    boolean quantized() { return this != F16; }

    public GgmlType typeFor(Role role, int layer, int layers) {
        if (role == Role.NORM || role == Role.ROPE_FACTORS) return GgmlType.F32;
        return switch (this) {
            case F16 -> GgmlType.F16;
            case Q8_0 -> GgmlType.Q8_0;
            case Q4_0 -> role == Role.OUTPUT ? GgmlType.Q6_K : GgmlType.Q4_0;
            case Q4_K_M -> switch (role) {
                case OUTPUT -> GgmlType.Q6_K;
                case ATTN_QKV -> GgmlType.Q5_K;
                case FFN_DOWN -> useMoreBits(layer, layers) ? GgmlType.Q6_K : GgmlType.Q4_K;
                default -> GgmlType.Q4_K;
            };
        };
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    public static SyntheticType parse(String name) {
        for (SyntheticType t : values()) if (t.name().equals(name.toUpperCase(Locale.ROOT))) return t;
        throw new IllegalArgumentException("unknown type '" + name + "' (known: F16, Q8_0, Q4_0, Q4_K_M)");
    }
}
