package dev.phiedge.runtime.synth;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.phiedge.runtime.generate.LanguageModel;
import dev.phiedge.runtime.gguf.GgmlType;
import dev.phiedge.runtime.gguf.GgufFile;
import dev.phiedge.runtime.gguf.GgufTensorInfo;
import dev.phiedge.runtime.gguf.GgufValue;
import dev.phiedge.runtime.model.InferenceState;
import dev.phiedge.runtime.testutil.Json;
import dev.phiedge.runtime.testutil.SharedData;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class SyntheticModelTest {
    private static final String VOCAB = "testdata/tokenizer/ggml-vocab-phi-3.gguf";
    private static final String TINY = "testdata/phi3-tiny/";
    /** Header bytes of a 32-layer file (metadata with the phi-3 vocabulary, 195 tensor infos, padding). */
    private static final long MINI_HEADER = 737_664;

    @TempDir
    Path dir;

    /** The tiny shape gives phi3-tiny-a's exact tensor table (names, order, types, ne), size and metadata. */
    @ParameterizedTest
    @EnumSource(SyntheticType.class)
    void tinyMatchesTheReferenceFile(SyntheticType type) throws Exception {
        Path vocab = SharedData.require(VOCAB);
        Map<String, Object> golden = goldenFile("phi3-tiny-a." + type + ".gguf");
        Path out = dir.resolve("tiny." + type + ".gguf");
        SyntheticModel.Result result = SyntheticModel.plan(SyntheticShape.TINY, type).write(out, 7, vocab);

        assertEquals(Json.lng(golden.get("size")), result.bytes(), "file size equals the llama.cpp-made file's");
        try (GgufFile f = GgufFile.open(out)) {
            List<String> actual = new ArrayList<>();
            for (GgufTensorInfo t : f.tensors()) actual.add(t.name() + " " + t.type() + " " + Arrays.toString(t.shape()));
            List<String> expected = new ArrayList<>();
            for (Object o : Json.list(golden.get("tensors"))) {
                Map<String, Object> t = Json.obj(o);
                expected.add(Json.str(t.get("name")) + " " + Json.str(t.get("type")) + " " + Arrays.toString(longs(t.get("ne"))));
            }
            assertEquals(expected, actual);
            assertEquals(type.fileType(), f.getInt("general.file_type"));
            Path reference = SharedData.root().orElseThrow().resolve(TINY + "phi3-tiny-a." + (type == SyntheticType.F16 ? "Q8_0" : type) + ".gguf");
            try (GgufFile ref = GgufFile.open(reference)) {
                assertEquals(new TreeSet<>(ref.metadata().keySet()), new TreeSet<>(f.metadata().keySet()));
                for (String key : ref.metadata().keySet()) {
                    if (key.equals("general.file_type")) continue;
                    assertSameValue(key, ref.metadata().get(key), f.metadata().get(key));
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(SyntheticType.class)
    void tinyLoadsAndGivesFiniteLogits(SyntheticType type) throws Exception {
        Path out = dir.resolve("tiny." + type + ".gguf");
        SyntheticModel.plan(SyntheticShape.TINY, type).write(out, 3, SharedData.require(VOCAB));
        try (LanguageModel lm = LanguageModel.load(out, 64, 1)) {
            InferenceState s = lm.model().newState(64, 8);
            int[] prompt = lm.encodePrompt("The pump in building 7 stopped at 3:15 pm.");
            lm.model().forward(s, prompt, 0, prompt.length, true);
            float[] logits = s.logits();
            float min = Float.POSITIVE_INFINITY, max = Float.NEGATIVE_INFINITY;
            for (float v : logits) {
                assertTrue(Float.isFinite(v), "finite logits");
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
            assertTrue(max - min > 1f, "logits are not flat: " + min + " .. " + max);
            s.close();
        }
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes() throws Exception {
        Path vocab = SharedData.require(VOCAB);
        SyntheticModel m = SyntheticModel.plan(SyntheticShape.TINY, SyntheticType.Q4_K_M);
        Path a = m.write(dir.resolve("a.gguf"), 5, vocab).path();
        Path b = m.write(dir.resolve("b.gguf"), 5, vocab).path();
        Path c = m.write(dir.resolve("c.gguf"), 6, vocab).path();
        assertEquals(-1, Files.mismatch(a, b));
        assertTrue(Files.mismatch(a, c) > 0);
    }

    /** Phi-3-mini-4k: the table of shared/perf/reference.md, whose file sizes it reproduces exactly. */
    @ParameterizedTest
    @EnumSource(SyntheticType.class)
    void mini4kTableAndSize(SyntheticType type) {
        SyntheticModel m = SyntheticModel.plan(SyntheticShape.PHI3_MINI_4K, type);
        assertEquals(3 + 32 * 6, m.tensors().size());
        long expectedFile = switch (type) {
            case F16 -> 7_643_296_128L;
            case Q4_0 -> 2_176_176_000L;
            case Q8_0 -> 4_061_221_248L;
            case Q4_K_M -> 2_393_231_232L;
        };
        assertEquals(expectedFile, m.tensorBytes() + MINI_HEADER, "reference.md's file size");
        long params = 0;
        for (SyntheticModel.TensorSpec t : m.tensors()) {
            params += Arrays.stream(t.shape()).reduce(1, (x, y) -> x * y);
            GgmlType expected = expectedType(type, t.name());
            assertEquals(expected, t.type(), t.name());
            assertArrayEquals(expectedShape(t.name()), t.shape(), t.name());
        }
        assertEquals(3_821_079_552L, params, "3.82 B parameters");
    }

    @Test
    void mini128kAddsLongRope() throws Exception {
        SyntheticModel m = SyntheticModel.plan(SyntheticShape.PHI3_MINI_128K, SyntheticType.Q4_0);
        Map<String, SyntheticModel.TensorSpec> byName = new java.util.HashMap<>();
        for (SyntheticModel.TensorSpec t : m.tensors()) byName.put(t.name(), t);
        for (String name : List.of("rope_factors_long.weight", "rope_factors_short.weight")) {
            assertEquals(GgmlType.F32, byName.get(name).type());
            assertArrayEquals(new long[] {48}, byName.get(name).shape());
        }
        try (GgufFile vocab = GgufFile.open(SharedData.require(VOCAB))) {
            Map<String, GgufValue> meta = m.metadata(vocab);
            assertEquals(131072L, meta.get("phi3.context_length").value());
            assertEquals(4096L, meta.get("phi3.rope.scaling.original_context_length").value());
            assertEquals(1.19, (Float) meta.get("phi3.rope.scaling.attn_factor").value(), 0.01);
        }
        float[] lng = SyntheticModel.ropeFactors(true, 48);
        float[] shrt = SyntheticModel.ropeFactors(false, 48);
        assertEquals(1f, lng[0]);
        assertTrue(lng[47] > 10 && shrt[47] < 1.5f);
    }

    @Test
    void q4kmDownProjectionLayers() {
        List<Integer> q6 = new ArrayList<>();
        for (int l = 0; l < 32; l++) if (SyntheticType.useMoreBits(l, 32)) q6.add(l);
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), q6);
        assertEquals(List.of(false, true), List.of(SyntheticType.useMoreBits(0, 2), SyntheticType.useMoreBits(1, 2)));
    }

    private static GgmlType expectedType(SyntheticType type, String name) {
        if (name.endsWith("_norm.weight")) return GgmlType.F32;
        return switch (type) {
            case F16 -> GgmlType.F16;
            case Q8_0 -> GgmlType.Q8_0;
            case Q4_0 -> name.equals("output.weight") ? GgmlType.Q6_K : GgmlType.Q4_0;
            case Q4_K_M -> {
                if (name.equals("output.weight")) yield GgmlType.Q6_K;
                if (name.endsWith("attn_qkv.weight")) yield GgmlType.Q5_K;
                if (name.endsWith("ffn_down.weight")) {
                    int layer = Integer.parseInt(name.split("\\.")[1]);
                    yield layer <= 3 || layer >= 27 || (layer % 3 == 0 && layer >= 6) ? GgmlType.Q6_K : GgmlType.Q4_K;
                }
                yield GgmlType.Q4_K;
            }
        };
    }

    private static long[] expectedShape(String name) {
        if (name.endsWith("_norm.weight")) return new long[] {3072};
        if (name.equals("token_embd.weight") || name.equals("output.weight")) return new long[] {3072, 32064};
        if (name.endsWith("attn_qkv.weight")) return new long[] {3072, 9216};
        if (name.endsWith("attn_output.weight")) return new long[] {3072, 3072};
        if (name.endsWith("ffn_up.weight")) return new long[] {3072, 16384};
        if (name.endsWith("ffn_down.weight")) return new long[] {8192, 3072};
        throw new AssertionError("unexpected tensor " + name);
    }

    private static Map<String, Object> goldenFile(String file) throws Exception {
        Object root = Json.parse(SharedData.require(TINY + "golden.json"));
        for (Object f : Json.list(Json.obj(root).get("files"))) {
            if (Json.str(Json.obj(f).get("file")).equals(file)) return Json.obj(f);
        }
        throw new AssertionError(file + " not in golden.json");
    }

    private static long[] longs(Object list) {
        return Json.list(list).stream().mapToLong(Json::lng).toArray();
    }

    private static void assertSameValue(String key, GgufValue expected, GgufValue actual) {
        assertEquals(expected.type(), actual.type(), key);
        assertEquals(expected.elementType(), actual.elementType(), key);
        Object e = expected.value(), a = actual.value();
        boolean same = switch (e) {
            case String[] x -> Arrays.equals(x, (String[]) a);
            case float[] x -> Arrays.equals(x, (float[]) a);
            case int[] x -> Arrays.equals(x, (int[]) a);
            case long[] x -> Arrays.equals(x, (long[]) a);
            default -> Objects.equals(e, a);
        };
        assertTrue(same, key + ": " + expected.display(4) + " vs " + actual.display(4));
    }
}
