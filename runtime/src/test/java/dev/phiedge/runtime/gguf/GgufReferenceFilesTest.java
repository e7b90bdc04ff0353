package dev.phiedge.runtime.gguf;

import static dev.phiedge.runtime.gguf.GgufTestSupport.testdata;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import dev.phiedge.runtime.testutil.Json;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Reads the real llama.cpp-written GGUF files in ../shared/testdata and checks them against the facts
 * their READMEs and golden.json state (skipped, with a message, when ../shared is absent).
 */
class GgufReferenceFilesTest {

    private static final String[] PHI3_TINY = {
        "phi3-tiny-a.F32-embF16.gguf", "phi3-tiny-a.Q8_0.gguf", "phi3-tiny-a.Q4_0.gguf", "phi3-tiny-a.Q4_K_M.gguf"};

    @Test
    void q4KmModelHasTheReadmeTensorTable() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("phi3-tiny/phi3-tiny-a.Q4_K_M.gguf"))) {
            assertEquals(15, g.tensors().size(), "3 global tensors + 6 per layer x 2 layers");
            assertTensor(g, "token_embd.weight", GgmlType.Q4_K, 256, 32064);
            assertTensor(g, "output.weight", GgmlType.Q6_K, 256, 32064);
            assertTensor(g, "output_norm.weight", GgmlType.F32, 256);
            for (int layer = 0; layer < 2; layer++) {
                String b = "blk." + layer + ".";
                assertTensor(g, b + "attn_norm.weight", GgmlType.F32, 256);
                assertTensor(g, b + "attn_qkv.weight", GgmlType.Q5_K, 256, 768);
                assertTensor(g, b + "attn_output.weight", GgmlType.Q4_K, 256, 256);
                assertTensor(g, b + "ffn_norm.weight", GgmlType.F32, 256);
                assertTensor(g, b + "ffn_up.weight", GgmlType.Q4_K, 256, 1024);
            }
            assertTensor(g, "blk.0.ffn_down.weight", GgmlType.Q4_K, 512, 256);
            assertTensor(g, "blk.1.ffn_down.weight", GgmlType.Q6_K, 512, 256);
            // Block sizes from ggml-common.h: Q4_K 144 bytes and Q6_K 210 bytes per 256 weights.
            assertEquals(32064L * 144, g.tensor("token_embd.weight").byteSize());
            assertEquals(32064L * 210, g.tensor("output.weight").byteSize());
            assertEquals("output.weight", g.tensors().get(0).name(), "llama-quantize writes output.weight first (README)");
            assertNull(g.tensor("no.such.tensor"));
        }
    }

    @Test
    void q4KmModelHasTheReadmeMetadata() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("phi3-tiny/phi3-tiny-a.Q4_K_M.gguf"))) {
            assertEquals(3, g.version(), "llama.cpp writes GGUF v3");
            assertEquals("phi3", g.getString("general.architecture"));
            assertEquals("phi3-tiny-a", g.getString("general.name"));
            assertEquals(15, g.getInt("general.file_type"), "Q4_K_M is file type 15");
            assertEquals(512, g.getInt("phi3.context_length"));
            assertEquals(512, g.getInt("phi3.rope.scaling.original_context_length"));
            assertEquals(256, g.getInt("phi3.embedding_length"));
            assertEquals(512, g.getInt("phi3.feed_forward_length"));
            assertEquals(2, g.getInt("phi3.block_count"));
            assertEquals(4, g.getInt("phi3.attention.head_count"));
            assertEquals(4, g.getInt("phi3.attention.head_count_kv"));
            assertEquals(1e-5f, g.getFloat("phi3.attention.layer_norm_rms_epsilon"), 1e-12f);
            assertEquals(64, g.getInt("phi3.rope.dimension_count"));
            assertEquals(10000f, g.getFloat("phi3.rope.freq_base", 10000f));
            assertEquals(32, g.getInt("phi3.attention.sliding_window"));
            assertEquals("llama", g.getString("tokenizer.ggml.model"));
            assertEquals(32064, g.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals(32064, g.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(32064, g.getIntArray("tokenizer.ggml.token_type").length);
            assertEquals("<|user|>", g.getStringArray("tokenizer.ggml.tokens")[32010]);
            assertEquals(32, g.alignment(), "the GGUF default alignment (README)");
            assertFalse(g.has("general.alignment"));
            assertEquals(0, g.dataStart() % 32);
        }
    }

    @Test
    void q4KmModelHasTheReadmeSizeAndSha256() throws Exception {
        Path file = testdata("phi3-tiny/phi3-tiny-a.Q4_K_M.gguf");
        assertEquals(12902944L, Files.size(file));
        assertEquals("e5b53360cba17f5e678a6deb0d58c94beb6eff67768d0f505fabd26368f2670c", sha256(file));
        try (GgufFile g = GgufFile.open(file)) {
            assertEquals(12902944L, g.fileSize());
        }
    }

    /**
     * The mapping is seen as a read-only plain native segment, the class of every off-heap buffer the
     * runtime allocates (the KV cache), so the kernels meet one segment class (GgufFile's comment).
     */
    @Test
    void theMappedFileIsAReadOnlyPlainNativeSegment() throws Exception {
        Path file = testdata("phi3-tiny/phi3-tiny-a.Q4_K_M.gguf");
        try (GgufFile g = GgufFile.open(file); java.lang.foreign.Arena arena = java.lang.foreign.Arena.ofConfined()) {
            assertEquals(arena.allocate(16).getClass(), g.segment().getClass());
            assertEquals(arena.allocate(16).getClass(), g.tensorData(g.tensors().get(0)).getClass());
            assertTrue(g.segment().isReadOnly());
            assertEquals(Files.size(file), g.segment().byteSize());
            byte[] head = new byte[4];
            java.lang.foreign.MemorySegment.copy(g.segment(), java.lang.foreign.ValueLayout.JAVA_BYTE, 0, head, 0, 4);
            assertEquals("GGUF", new String(head, java.nio.charset.StandardCharsets.US_ASCII)); // the file's bytes, not a copy's
        }
    }

    /** golden.json lists each file's size, sha256 and tensors (name, type, ne) as llama.cpp saw them. */
    @ParameterizedTest
    @ValueSource(strings = {"phi3-tiny", "real-tiny"})
    void everyFileAgreesWithGoldenJson(String dir) throws Exception {
        Path golden = testdata(dir + "/golden.json");
        Map<String, Object> root = Json.obj(Json.parse(golden));
        int checked = 0;
        for (Object o : (List<?>) root.get("files")) {
            Map<?, ?> entry = (Map<?, ?>) o;
            Path file = golden.resolveSibling((String) entry.get("file"));
            if (!Files.isRegularFile(file)) {
                System.out.println("NOTE: " + file + " is listed in golden.json but not shipped; not checked");
                continue;
            }
            assertEquals(((Number) entry.get("size")).longValue(), Files.size(file), file + " size");
            assertEquals(entry.get("sha256"), sha256(file), file + " sha256");
            try (GgufFile g = GgufFile.open(file)) {
                List<String> expected = new ArrayList<>();
                for (Object t : (List<?>) entry.get("tensors")) {
                    Map<?, ?> tm = (Map<?, ?>) t;
                    List<String> ne = ((List<?>) tm.get("ne")).stream().map(String::valueOf).toList();
                    expected.add(tm.get("name") + " " + tm.get("type") + " " + ne);
                }
                List<String> actual = g.tensors().stream()
                        .map(t -> t.name() + " " + t.type() + " " + java.util.Arrays.stream(t.shape()).mapToObj(String::valueOf).toList())
                        .toList();
                assertEquals(expected, actual, file + ": tensors (in file order)");
                assertTensorsPacked(g);
            }
            checked++;
        }
        assertTrue(checked > 0, "no file of " + golden + " was present");
    }

    @Test
    void eachPhi3TinyFileHasTheTypesItsReadmeRowStates() throws IOException {
        for (String name : PHI3_TINY) {
            try (GgufFile g = GgufFile.open(testdata("phi3-tiny/" + name))) {
                for (GgufTensorInfo t : g.tensors()) {
                    String n = t.name();
                    GgmlType want;
                    if (n.endsWith("norm.weight")) want = GgmlType.F32;
                    else if (name.contains("F32-embF16")) want = n.startsWith("blk.") ? GgmlType.F32 : GgmlType.F16;
                    else if (name.contains("Q8_0")) want = GgmlType.Q8_0;
                    else if (name.contains("Q4_0")) want = n.equals("output.weight") ? GgmlType.Q6_K : GgmlType.Q4_0;
                    else if (n.equals("output.weight") || n.equals("blk.1.ffn_down.weight")) want = GgmlType.Q6_K;
                    else want = n.contains("attn_qkv") ? GgmlType.Q5_K : GgmlType.Q4_K;
                    assertEquals(want, t.type(), name + ": " + n);
                }
                assertEquals(32, g.alignment(), name);
                assertEquals("phi3-tiny-a", g.getString("general.name"), name);
            }
        }
    }

    @Test
    void tensorDataIsAZeroCopySliceOfTheMapping() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("phi3-tiny/phi3-tiny-a.F32-embF16.gguf"))) {
            GgufTensorInfo norm = g.tensor("output_norm.weight");
            var data = g.tensorData(norm);
            assertEquals(256L * 4, data.byteSize());
            assertEquals(g.segment().address() + g.dataStart() + norm.offset(), data.address(), "a slice, not a copy");
            // README weight recipe: norm weights are 1 + 0.05 N(0,1), so they sit near 1.
            double sum = 0;
            for (int i = 0; i < 256; i++) sum += data.get(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), 4L * i);
            assertEquals(1.0, sum / 256, 0.05, "mean of output_norm.weight");
        }
    }

    @Test
    void vocabOnlyFilesHaveTheirReadmeMetadataAndNoTensors() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("tokenizer/ggml-vocab-phi-3.gguf"))) {
            assertEquals(3, g.version());
            assertEquals(0, g.tensors().size());
            assertEquals("phi3", g.getString("general.architecture"));
            assertEquals("Phi3", g.getString("general.name"));
            assertEquals("llama", g.getString("tokenizer.ggml.model"));
            String[] tokens = g.getStringArray("tokenizer.ggml.tokens");
            assertEquals(32064, tokens.length);
            assertEquals("<unk>", tokens[0]);
            assertEquals("<s>", tokens[1]);
            assertEquals("<0x0A>", tokens[13], "byte tokens are ids 3..258");
            assertEquals("<|end|>", tokens[32007]);
            int[] types = g.getIntArray("tokenizer.ggml.token_type");
            assertEquals(3, types[32010], "<|user|> is CONTROL");
            assertEquals(6, types[3 + 0x0A], "<0x0A> is BYTE");
            assertEquals(1, g.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(32000, g.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(0, g.getInt("tokenizer.ggml.unknown_token_id"));
            assertEquals(32000, g.getInt("tokenizer.ggml.padding_token_id"));
            assertTrue(g.getBoolean("tokenizer.ggml.add_bos_token", false));
            assertFalse(g.getBoolean("tokenizer.ggml.add_eos_token", true));
            assertNotNull(g.getString("tokenizer.chat_template"));
        }
        try (GgufFile g = GgufFile.open(testdata("tokenizer/ggml-vocab-llama-spm.gguf"))) {
            assertEquals(3, g.version());
            assertEquals(0, g.tensors().size());
            assertEquals("llama", g.getString("tokenizer.ggml.model"));
        }
    }

    @Test
    void stories260kHasItsReadmeFacts() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("real-tiny/stories260K.gguf"))) {
            assertEquals(1185376L, g.fileSize());
            assertEquals("llama", g.getString("general.architecture"));
            assertEquals(48, g.tensors().size());
            assertTrue(g.tensors().stream().allMatch(t -> t.type() == GgmlType.F32), "all 48 tensors are F32");
            assertEquals(64, g.getInt("llama.embedding_length"));
            assertEquals(5, g.getInt("llama.block_count"));
            assertEquals(8, g.getInt("llama.attention.head_count"));
            assertEquals(4, g.getInt("llama.attention.head_count_kv"));
            assertEquals(172, g.getInt("llama.feed_forward_length"));
            assertEquals(128, g.getInt("llama.context_length"));
            assertFalse(g.has("tokenizer.ggml.add_bos_token"), "no add_bos key (README)");
            assertEquals(512, g.getStringArray("tokenizer.ggml.tokens").length);
            assertTensor(g, "blk.0.ffn_gate.weight", GgmlType.F32, 64, 172);
            assertTensor(g, "blk.0.attn_k.weight", GgmlType.F32, 64, 32);
        }
    }

    @Test
    void quantVectorsFileHasEveryTypeItsReadmeLists() throws IOException {
        try (GgufFile g = GgufFile.open(testdata("quant-vectors/quant-vectors.gguf"))) {
            assertEquals(512, g.getInt("qvec.n_per_row"));
            assertEquals(8, g.getInt("qvec.nrows"));
            assertEquals(4, g.getInt("qvec.nx"));
            assertTensor(g, "src", GgmlType.F32, 512, 8);
            assertTensor(g, "x", GgmlType.F32, 512, 4);
            for (GgmlType t : new GgmlType[] {GgmlType.F16, GgmlType.BF16, GgmlType.Q4_0, GgmlType.Q4_1, GgmlType.Q5_0,
                    GgmlType.Q5_1, GgmlType.Q8_0, GgmlType.Q4_K, GgmlType.Q5_K, GgmlType.Q6_K}) {
                String lower = t.name().toLowerCase(java.util.Locale.ROOT).replace("_k", "_K"); // ggml type names: "q4_K"
                assertTensor(g, "w." + lower, t, 512, 8);
                assertTensor(g, "deq." + lower, GgmlType.F32, 512, 8);
                assertTensor(g, "dot." + lower, GgmlType.F32, 4, 8);
            }
            assertTensorsPacked(g);
        }
    }

    private static void assertTensor(GgufFile g, String name, GgmlType type, long... ne) {
        GgufTensorInfo t = g.tensor(name);
        assertNotNull(t, "tensor " + name + " is missing");
        assertEquals(type, t.type(), name + " type");
        assertArrayEquals(ne, t.shape(), name + " ne");
    }

    /**
     * llama.cpp's gguf.cpp rejects a file unless each tensor starts where the previous one ended,
     * rounded up to the alignment; so every reference file must look like that here too.
     */
    private static void assertTensorsPacked(GgufFile g) {
        long expected = 0;
        for (GgufTensorInfo t : g.tensors()) {
            assertEquals(expected, t.offset(), t.name() + " offset");
            expected = GgufFile.alignUp(t.offset() + t.byteSize(), g.alignment());
            assertTrue(g.dataStart() + t.offset() + t.byteSize() <= g.fileSize(), t.name() + " inside the file");
        }
    }

    static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (InputStream in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
