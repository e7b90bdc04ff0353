package dev.phiedge.runtime.gguf;

/**
 * The tensor element types of ggml, with their GGUF type ids and block geometry.
 *
 * <p>Ids and sizes follow ggml's {@code enum ggml_type} (ggml.h) and the block structs in
 * ggml-common.h: a quantized row is a sequence of blocks, each holding {@code blockSize} weights in
 * {@code blockBytes} bytes. Types this runtime cannot compute with are still listed so that
 * {@code phi3 inspect} can name them; {@link #isSupported()} says which ones it can.
 */
public enum GgmlType {
    F32(0, 1, 4, true),
    F16(1, 1, 2, true),
    Q4_0(2, 32, 18, true),     // block_q4_0: fp16 d; 16 bytes of 4-bit quants
    Q4_1(3, 32, 20, true),     // block_q4_1: fp16 d, fp16 m; 16 bytes of 4-bit quants
    Q5_0(6, 32, 22, true),     // block_q5_0: fp16 d; 4 bytes of high bits; 16 bytes of low nibbles
    Q5_1(7, 32, 24, true),     // block_q5_1: fp16 d, fp16 m; 4 bytes high bits; 16 bytes low nibbles
    Q8_0(8, 32, 34, true),     // block_q8_0: fp16 d; 32 int8
    Q8_1(9, 32, 36, false),    // block_q8_1: fp16 d, fp16 s; 32 int8 (activations only)
    Q2_K(10, 256, 84, false),
    Q3_K(11, 256, 110, false),
    Q4_K(12, 256, 144, true),  // block_q4_K: fp16 d, fp16 dmin; 12 bytes of 6-bit scales/mins; 128 bytes quants
    Q5_K(13, 256, 176, true),  // block_q5_K: fp16 d, fp16 dmin; 12 bytes scales; 32 bytes high bits; 128 bytes
    Q6_K(14, 256, 210, true),  // block_q6_K: 128 bytes ql; 64 bytes qh; 16 int8 scales; fp16 d
    Q8_K(15, 256, 292, false), // block_q8_K: f32 d; 256 int8; 16 int16 bsums (activations only)
    IQ2_XXS(16, 256, 66, false),
    IQ2_XS(17, 256, 74, false),
    IQ3_XXS(18, 256, 98, false),
    IQ1_S(19, 256, 50, false),
    IQ4_NL(20, 32, 18, false),
    IQ3_S(21, 256, 110, false),
    IQ2_S(22, 256, 82, false),
    IQ4_XS(23, 256, 136, false),
    I8(24, 1, 1, false),
    I16(25, 1, 2, false),
    I32(26, 1, 4, false),
    I64(27, 1, 8, false),
    F64(28, 1, 8, false),
    IQ1_M(29, 256, 56, false),
    BF16(30, 1, 2, true);

    private final int id;
    private final int blockSize;
    private final int blockBytes;
    private final boolean supported;

    GgmlType(int id, int blockSize, int blockBytes, boolean supported) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.supported = supported;
    }

    /** The type id stored in a GGUF tensor info. */
    public int id() { return id; }

    /** Number of weights in one block (1 for plain float and integer types). */
    public int blockSize() { return blockSize; }

    /** Bytes of one block. */
    public int blockBytes() { return blockBytes; }

    /** Whether this runtime has dequantization and dot-product kernels for the type. */
    public boolean isSupported() { return supported; }

    /** Bytes taken by {@code elements} weights; the count must be a whole number of blocks. */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(elements + " elements is not a multiple of the " + this + " block size " + blockSize);
        }
        return Math.multiplyExact(elements / blockSize, (long) blockBytes);
    }

    private static final GgmlType[] BY_ID = new GgmlType[64];

    static {
        for (GgmlType t : values()) BY_ID[t.id] = t;
    }

    /** The type with this GGUF id, or null when the id is unknown. */
    public static GgmlType byId(int id) {
        return id >= 0 && id < BY_ID.length ? BY_ID[id] : null;
    }
}
