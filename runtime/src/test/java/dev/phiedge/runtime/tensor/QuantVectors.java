package dev.phiedge.runtime.tensor;

import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufTensorInfo;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * ggml's reference vectors (src/test/resources/quant-vectors, a copy of
 * ../shared/testdata/quant-vectors; see PROVENANCE.md there): 8 rows of 512 weights, 4 activation
 * vectors, and per type the quantized bytes, ggml's dequantization and dot products.
 */
final class QuantVectors implements AutoCloseable {
    static final int COLS = 512;
    static final int ROWS = 8;
    static final int NX = 4;
    static final ValueLayout.OfFloat LE_FLOAT = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    final GgufFile file;

    private QuantVectors(GgufFile file) {
        this.file = file;
    }

    static QuantVectors open() throws Exception {
        return new QuantVectors(GgufFile.open(path()));
    }

    static Path path() {
        try {
            var url = QuantVectors.class.getResource("/quant-vectors/quant-vectors.gguf");
            if (url == null) throw new IllegalStateException("test resource quant-vectors/quant-vectors.gguf is missing");
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The file's name for a type: f16, bf16, q4_0, ..., q4_K. */
    static String name(GgmlType type) {
        String n = type.name().toLowerCase();
        return n.endsWith("_k") ? n.substring(0, n.length() - 1) + "K" : n;
    }

    MemorySegment bytes(String tensor) {
        GgufTensorInfo info = file.tensor(tensor);
        if (info == null) throw new IllegalStateException("quant-vectors.gguf has no tensor " + tensor);
        return file.tensorData(info);
    }

    float[] floats(String tensor) {
        MemorySegment seg = bytes(tensor);
        float[] out = new float[(int) (seg.byteSize() / 4)];
        for (int i = 0; i < out.length; i++) out[i] = seg.getAtIndex(LE_FLOAT, i);
        return out;
    }

    /** {@code w.<type>} as a tensor; for F32 the source weights themselves. */
    WeightTensor weights(GgmlType type) {
        MemorySegment seg = type == GgmlType.F32 ? bytes("src") : bytes("w." + name(type));
        return WeightTensor.of(type, seg, ROWS, COLS);
    }

    @Override
    public void close() {
        file.close();
    }
}
