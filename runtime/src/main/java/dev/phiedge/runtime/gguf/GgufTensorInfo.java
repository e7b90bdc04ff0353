package dev.phiedge.runtime.gguf;

/**
 * A tensor's entry in the GGUF header. {@code shape} is in ggml order: shape[0] is the contiguous
 * row length ("ne[0]"), shape[1] the number of rows. {@code offset} is relative to the data section.
 */
public record GgufTensorInfo(String name, GgmlType type, long[] shape, long offset) {

    public long elementCount() {
        long n = 1;
        for (long d : shape) n = Math.multiplyExact(n, d);
        return n;
    }

    public long byteSize() { return type.bytesFor(elementCount()); }

    /** Row length (ne[0]). */
    public long cols() { return shape[0]; }

    /** Number of rows: the product of every dimension after the first. */
    public long rows() { return elementCount() / Math.max(1, shape[0]); }
}
